"""Restore snapshotted tables safely and prove the data is back.

For each table: pre-checks (same table id, the pinned version still readable
with all its files, the commits the restore will undo, already there →
no-op), then ``RESTORE TABLE ... TO VERSION AS OF`` (or, when the pinned
version is gone but a copy was taken, a copy back from it), retried a bounded
number of times when other writers commit meanwhile; then post-checks
(history shows the restore, row count, schema, properties and an optional
content fingerprint equal the snapshot). ``ignoreMissingFiles`` is never set.

A labelled set is restored table by table in order; when one fails the error
says which tables were restored and which not, and running the same restore
again resumes (tables already back are recognised and skipped). With
``parallel=N`` (opt-in) up to N tables are restored at once, on threads of the
same Spark session: each table's work is a few small queries whose driver-side
latency leaves cores idle, and Delta commands on different tables are
independent. The report, the progress steps and the audit events still follow
the records' order; when a table fails or is refused, tables already running
finish (and are reported and audited as they ended), tables not yet started are
not started and are reported not attempted.

What it costs per table is fixed and small: one ``DESCRIBE DETAIL`` and one
``DESCRIBE HISTORY`` for the plan (the latest commit and the commits to undo
come from the same history read), one ``DESCRIBE HISTORY ... LIMIT 1`` right
before the ``RESTORE`` to see that no writer committed meanwhile when
something ran since the plan (the expected fingerprint's scan, a retry), the
``RESTORE``, then ``DESCRIBE DETAIL``, ``DESCRIBE HISTORY`` and one aggregate
(``count(*)`` from the Delta log, or the fingerprint, which counts too) for
the proof. The label's audit events are read once and the new ones are
appended in one commit at the end of the batch (or when a table fails); a
process killed before that append leaves the RESTORE commits in Delta's
history, and the next run records the events it finds missing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from dbx_ops import runtime
from dbx_ops.clock import Clock, as_utc, utc_now
from dbx_ops.errors import (
    ConcurrentModificationError,
    DbxOpsError,
    InvalidInputError,
    NotFoundError,
    RestoreError,
)
from dbx_ops.names import TableName, parse_table_name, quote_identifier, quote_string
from dbx_ops.progress import NullProgress, Progress
from dbx_ops.snapshots.compare import constraints, properties_diff, property_changes, schema_diff
from dbx_ops.snapshots.fingerprint import Fingerprint, table_fingerprint
from dbx_ops.snapshots.registry import EventKind, Registry, SnapshotEvent, SnapshotRecord, same_table
from dbx_ops.snapshots.report import (
    ALREADY_RESTORED,
    FAILED,
    NO_OP,
    NOT_ATTEMPTED,
    PLANNED,
    REFUSED,
    RESTORED,
    CommitInfo,
    Method,
    RestoreReport,
    Status,
    TableRestoreResult,
)
from dbx_ops.snapshots.tables import (
    DeltaTables,
    TableState,
    first_line,
    is_concurrent_conflict,
    is_missing_data,
)
from dbx_ops.verdict import Check

logger = logging.getLogger(__name__)

METHOD_RESTORE = Method.RESTORE
METHOD_COPY = Method.COPY
METHOD_NONE = Method.NONE

#: Called after the pre-checks and right before each restore attempt (``record, attempt``):
#: a seam for drills and tests that simulate another writer. With ``parallel > 1`` it is
#: called from the worker threads, several tables at once.
BeforeRestore = Callable[[SnapshotRecord, int], None]

#: What one table's task ends with: its result, the error that refused or failed it, or
#: None when it was never started (an earlier failure stopped the batch).
_Outcome = TableRestoreResult | DbxOpsError | None


def validate_parallel(parallel: Any) -> int:
    """``parallel`` as the number of tables restored at once, checked.

    Raises:
        InvalidInputError: it is not a whole number of 1 or more.
    """
    if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
        raise InvalidInputError(
            f"parallel={parallel!r} must be a whole number of tables to restore at once, 1 or more."
        )
    return parallel


@dataclass(frozen=True)
class _Plan:
    state: TableState
    commits: tuple[CommitInfo, ...]
    method: Method
    status: Status
    note: str = ""


class Restorer:
    """Restores snapshot records and checks the result.

    Args:
        spark: a Spark session (classic or Connect).
        registry: the snapshot registry (for resume detection and audit events).
        max_attempts: how many times to try a table when other writers keep committing.
        backoff_seconds: pause between attempts (doubles each time).
        now: the clock (UTC-aware).
        before_restore: optional hook run right before each restore attempt.
        progress: progress display, one step per table.
    """

    def __init__(
        self,
        spark: Any,
        registry: Registry,
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
        now: Clock = utc_now,
        before_restore: BeforeRestore | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.spark = spark
        self.registry = registry
        self.tables = DeltaTables(spark)
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_seconds = backoff_seconds
        self._clock = now
        self.before_restore = before_restore
        self.progress = progress if progress is not None else NullProgress()

    def now(self) -> Any:
        """The injected clock's time, as UTC."""
        return as_utc(self._clock())

    def restore(
        self,
        label: str,
        records: Sequence[SnapshotRecord],
        dry_run: bool = False,
        fingerprint: bool = True,
        events: Sequence[SnapshotEvent] | None = None,
        parallel: int = 1,
    ) -> RestoreReport:
        """Restore the given records of ``label`` in order (or plan it, with ``dry_run``).

        Args:
            label: the snapshot label.
            records: its records to restore, in order.
            dry_run: plan only (every table's plan, refusals included); nothing is written.
            fingerprint: prove the content with the fingerprint (one scan of the table).
            events: the label's audit events when the caller has just read them; read once
                here when None.
            parallel: how many tables to restore (or plan) at once, on threads of the same
                Spark session. 1 (the default) restores them one after another. Whatever
                the number, the report, the progress steps and the audit events follow the
                records' order, and the events are appended in one commit at the end. When
                a table fails or is refused, tables already running finish and are reported
                (and audited) as they ended, tables not yet started are not started and are
                reported not attempted. ``before_restore`` is then called from the threads.

        Returns:
            The report; for a dry run every table's plan, refusals included.

        Raises:
            InvalidInputError: ``parallel`` is not a whole number of 1 or more.
            RestoreError: a table was refused or failed; ``exc.report`` holds the partial
                report and the message says which tables were restored and which not (with
                ``parallel > 1`` and several failures, the first failure in the records'
                order is raised; the report holds every one).
            ConcurrentModificationError: writers kept committing; the table was left untouched.
        """
        validate_parallel(parallel)
        started = self.now()
        user = runtime.current_user(self.spark)
        # A tuple: the tables' tasks (threads, with parallel > 1) only read it.
        known = tuple(events) if events is not None else tuple(self.registry.events(label))
        with self.progress.task(
            f"restore plan {label}" if dry_run else f"restore {label}", len(records)
        ) as bar:
            results = self._restore_all(
                label, records, dry_run, fingerprint, user, started, bar, known, parallel
            )
        report = RestoreReport(label, dry_run, started, self.now(), tuple(results), user)
        logger.info(report.summary())
        return report

    def _restore_all(
        self,
        label: str,
        records: Sequence[SnapshotRecord],
        dry_run: bool,
        fingerprint: bool,
        user: str | None,
        started: Any,
        bar: Progress,
        known: Sequence[SnapshotEvent],
        parallel: int = 1,
    ) -> list[TableRestoreResult]:
        stop = threading.Event()  # set by the first failure of a real run: start no more tables

        def attempt(record: SnapshotRecord) -> _Outcome:
            return self._attempt(label, record, dry_run, fingerprint, known, stop)

        workers = min(parallel, len(records))
        if workers <= 1:
            # One after another: each table starts after the previous one was reported.
            return self._collect(
                label, records, (attempt(r) for r in records), dry_run, user, started, bar, known
            )
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dbx-ops-restore")
        try:
            futures = [pool.submit(attempt, r) for r in records]
            outcomes = (f.result() for f in futures)
            return self._collect(label, records, outcomes, dry_run, user, started, bar, known)
        finally:
            # Normally every task is done here; when the calling thread is interrupted, the
            # queued ones are dropped and the running ones finish before it returns.
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def _attempt(
        self,
        label: str,
        record: SnapshotRecord,
        dry_run: bool,
        fingerprint: bool,
        known: Sequence[SnapshotEvent],
        stop: threading.Event,
    ) -> _Outcome:
        """One table's task: its result, or the error that refused or failed it; None when stopped."""
        if stop.is_set():
            return None
        try:
            try:
                return self._table(label, record, dry_run, fingerprint, known)
            except DbxOpsError:
                raise
            except Exception as unexpected:
                raise RestoreError(
                    f"Restoring {record.table_name} failed unexpectedly: {first_line(unexpected)}; "
                    "its DESCRIBE HISTORY shows whether a RESTORE was committed."
                ) from unexpected
        except DbxOpsError as exc:
            if not dry_run:
                stop.set()
            return exc

    def _collect(
        self,
        label: str,
        records: Sequence[SnapshotRecord],
        outcomes: Iterable[_Outcome],
        dry_run: bool,
        user: str | None,
        started: Any,
        bar: Progress,
        known: Sequence[SnapshotEvent],
    ) -> list[TableRestoreResult]:
        """Report, advance the progress and audit each table in the records' order (calling thread)."""
        results: list[TableRestoreResult] = []
        pending: list[SnapshotEvent] = []  # appended in one commit when the batch ends or fails
        failure: DbxOpsError | None = None  # the first, in the records' order
        for record, outcome in zip(records, outcomes, strict=True):
            if outcome is None:
                results.append(TableRestoreResult(record.table_name, record.version, status=NOT_ATTEMPTED))
                continue
            if isinstance(outcome, DbxOpsError):
                status = REFUSED if getattr(outcome, "_refused", False) else FAILED
                results.append(
                    TableRestoreResult(record.table_name, record.version, status=status, message=str(outcome))
                )
                bar.advance(record.table_name, False, str(status))
                if not dry_run:
                    pending.append(
                        self._new_event(label, record, EventKind.RESTORE_FAILED, user, None, str(outcome))
                    )
                    failure = failure or outcome
                continue
            result = outcome
            results.append(result)
            bar.advance(record.table_name, result.ok, str(result.status))
            if not dry_run and result.status == RESTORED:
                detail = json.dumps({"ok": result.ok, "checks": [c.to_dict() for c in result.checks]})
                pending.append(
                    self._new_event(label, record, EventKind.RESTORED, user, result.version_after, detail)
                )
            elif (
                not dry_run
                and result.status == ALREADY_RESTORED
                and not _recorded(known, record, result.version_after)
            ):
                # Killed after the RESTORE committed and before its event was written: Delta's
                # history is the proof, so the audit gets the event it is missing.
                detail = json.dumps(
                    {
                        "ok": result.ok,
                        "checks": [c.to_dict() for c in result.checks],
                        "recorded_on_resume": True,
                    }
                )
                pending.append(
                    self._new_event(label, record, EventKind.RESTORED, user, result.version_after, detail)
                )
        if failure is not None:
            report = RestoreReport(label, dry_run, started, self.now(), tuple(results), user)
            self._record(pending)
            raise _with_report(failure, report) from failure
        self._record(pending)
        return results

    # -- one table ------------------------------------------------------------------

    def _table(
        self, label: str, r: SnapshotRecord, dry_run: bool, fingerprint: bool, known: Sequence[SnapshotEvent]
    ) -> TableRestoreResult:
        name = r.table
        plan = self._plan(r, known, check_files=dry_run)
        base = TableRestoreResult(
            table_name=r.table_name,
            snapshot_version=r.version,
            version_before=plan.state.version,
            method=plan.method,
            status=plan.status,
            commits_undone=plan.commits,
            message=plan.note,
        )
        if dry_run:
            return base
        if plan.status in (NO_OP, ALREADY_RESTORED):
            expected = self._expected_fingerprint(r, plan.method) if fingerprint else None
            checks = self._checks(r, plan.state, plan.method, expected, fingerprint)
            return replace(base, version_after=plan.state.version, checks=checks)

        expected = None
        # Nothing ran between the plan's history read and the RESTORE unless a fingerprint was
        # computed, the hook ran or an attempt was retried: then the plan is re-checked first.
        # Else a re-check would only move the same few milliseconds' window, and a commit that
        # still lands in it is caught by the proof (the RESTORE's read version is not the plan's).
        stale = self.before_restore is not None
        if fingerprint:
            stale = stale or not r.fingerprint
            try:
                expected = self._expected_fingerprint(r, plan.method)
            except Exception as exc:
                if not is_missing_data(exc):
                    raise
                plan = self._plan(r, known, check_files=True)  # a copy, or a clear refusal
                expected = self._expected_fingerprint(r, plan.method)
        attempt = 0
        while True:
            attempt += 1
            if self.before_restore is not None:
                self.before_restore(r, attempt)
            moved = self._moved_since(r, plan.state) if stale or attempt > 1 else None
            if moved is not None:
                if attempt >= self.max_attempts:
                    raise ConcurrentModificationError(
                        f"{name} kept changing while being restored (now v{moved}); "
                        f"gave up after {attempt} attempts and left the table untouched: "
                        "pause its writers and run the restore again."
                    )
                logger.info("%s moved to v%d since the plan; planning again", name, moved)
                plan = self._plan(r, known, check_files=False)
                self._sleep(attempt)
                continue
            try:
                self._execute(r, name, plan.method)
            except Exception as exc:
                if plan.method == METHOD_RESTORE and is_missing_data(exc):
                    if not (r.clone_target and self._copy_readable(r.clone_target)):
                        raise _unrestorable(r, first_line(exc)) from None
                    plan = replace(plan, method=METHOD_COPY, note=f"will undo {len(plan.commits)} commit(s)")
                    if fingerprint and not r.fingerprint:
                        expected = self._expected_fingerprint(r, METHOD_COPY)
                    self._execute(r, name, METHOD_COPY)
                    break
                if is_concurrent_conflict(exc):
                    if attempt >= self.max_attempts:
                        raise ConcurrentModificationError(
                            f"{name}: Delta refused the restore {attempt} times because other writers "
                            "committed; the table was left untouched: pause its writers and run the restore "
                            "again."
                        ) from exc
                    logger.info("%s: concurrent commit during restore, retrying", name)
                    plan = self._plan(r, known, check_files=False)
                    self._sleep(attempt)
                    continue
                raise RestoreError(
                    f"Restoring {name} failed: {first_line(exc)}; Delta commits atomically, so the table "
                    f"is still at v{plan.state.version}."
                ) from exc
            break
        after = self.tables.state(name, since=plan.state.version)
        checks = self._checks(r, after, plan.method, expected, fingerprint, plan.state.version)
        return replace(
            base,
            version_before=plan.state.version,
            version_after=after.version,
            method=plan.method,
            status=RESTORED,
            commits_undone=plan.commits,
            checks=checks,
            attempts=attempt,
            message=f"undid {len(plan.commits)} commit(s) with {plan.method}",
        )

    def _moved_since(self, r: SnapshotRecord, planned: TableState) -> int | None:
        """The version the table moved to since the plan read it, or None when it did not move.

        One ``DESCRIBE HISTORY ... LIMIT 1``: a new commit changes the latest version, and a
        table dropped and recreated meanwhile has another latest commit time (or none).
        """
        try:
            head = self.tables.latest_commit(r.table)
        except Exception:
            return self._same_table(r).version  # gone or recreated: refused here, with the reason
        if head.version == planned.version and head.timestamp == planned.commit_timestamp:
            return None
        return head.version

    def _sleep(self, attempt: int) -> None:
        if self.backoff_seconds > 0:
            time.sleep(self.backoff_seconds * (2 ** (attempt - 1)))

    def _same_table(self, r: SnapshotRecord) -> TableState:
        name = r.table
        try:
            state = self.tables.state(name, since=r.version)
        except NotFoundError:
            copy = f" Its copy {r.clone_target} still holds the data." if r.clone_target else ""
            raise _refusal(
                f"Table {name} no longer exists, so it cannot be restored in place; "
                f"nothing was changed.{copy}"
            ) from None
        if state.table_id != r.table_id:
            raise _refusal(
                f"Table {name} was dropped and recreated since snapshot {r.label!r} "
                f"(table id {state.table_id}, snapshot had {r.table_id}); restoring it would mix two "
                "tables, so nothing was changed."
            )
        return state

    def _plan(self, r: SnapshotRecord, known: Sequence[SnapshotEvent], check_files: bool = True) -> _Plan:
        name = r.table
        state = self._same_table(r)
        if state.version == r.version:
            return _Plan(
                state, (), METHOD_NONE, NO_OP, f"table is at snapshot version {r.version}; nothing to do"
            )
        if _already_restored(known, r, state):
            return _Plan(
                state,
                (),
                METHOD_NONE,
                ALREADY_RESTORED,
                f"restored to v{r.version} already (now v{state.version})",
            )
        commits = state.commits
        # A dry run checks that the log still reaches the version and opens every data file
        # of it; a real run leaves both to RESTORE, which checks them itself and refuses
        # before committing (the refusal is then told apart from other failures).
        problem = None
        if check_files:
            problem = self.tables.log_reachable(name, r.version)
            if problem is None:
                problem = self.tables.version_readable(name, r.version)
        if problem is None:
            method = METHOD_RESTORE
        elif r.clone_target and self._copy_readable(r.clone_target):
            method = METHOD_COPY
        else:
            raise _unrestorable(r, problem)
        note = f"will undo {len(commits)} commit(s) with {method}"
        return _Plan(state, commits, method, PLANNED, note)

    def _copy_readable(self, clone_target: str) -> bool:
        target = parse_table_name(clone_target)
        try:
            self.spark.sql(f"SELECT count(DISTINCT _metadata.file_path) FROM {target.sql}").first()  # noqa: S608
        except Exception:
            logger.info("copy %s is not readable", clone_target, exc_info=True)
            return False
        return True

    def _expected_fingerprint(self, r: SnapshotRecord, method: str) -> Fingerprint | None:
        if r.fingerprint:
            return Fingerprint.parse(r.fingerprint)
        if method == METHOD_COPY and r.clone_target:
            return table_fingerprint(self.spark, parse_table_name(r.clone_target))
        if method == METHOD_RESTORE:
            return table_fingerprint(self.spark, r.table, r.version, r.schema_json)
        try:
            return table_fingerprint(self.spark, r.table, r.version, r.schema_json)
        except Exception as exc:
            if is_missing_data(exc):
                return None  # the version is gone: the fingerprint check says it was skipped
            raise

    def _execute(self, r: SnapshotRecord, name: TableName, method: str) -> None:
        if method == METHOD_RESTORE:
            logger.info("RESTORE %s TO VERSION AS OF %d", name, r.version)
            self.spark.sql(f"RESTORE TABLE {name.sql} TO VERSION AS OF {int(r.version)}")
            return
        if method != METHOD_COPY or not r.clone_target:
            raise RestoreError(f"Snapshot of {name} has no usable copy to restore from; nothing was changed.")
        source = parse_table_name(r.clone_target)
        logger.info("copying %s back into %s", source, name)
        writer = (
            self.spark.table(source.sql)
            .write.format("delta")
            .mode("overwrite")
            .option("overwriteSchema", "true")
        )
        if r.partition_columns:
            writer = writer.partitionBy(*r.partition_columns)
        if name.is_path:
            writer.save(name.path)
        else:
            writer.saveAsTable(name.sql)
        self._reconcile_metadata(r, name)

    def _reconcile_metadata(self, r: SnapshotRecord, name: TableName) -> None:
        current = self.tables.state(name).properties
        to_set, to_unset = property_changes(r.properties, current)
        if to_set:
            props = ", ".join(f"{quote_string(k)} = {quote_string(v)}" for k, v in sorted(to_set.items()))
            self.spark.sql(f"ALTER TABLE {name.sql} SET TBLPROPERTIES ({props})")
        if to_unset:
            keys = ", ".join(quote_string(k) for k in to_unset)
            self.spark.sql(f"ALTER TABLE {name.sql} UNSET TBLPROPERTIES IF EXISTS ({keys})")
        want, have = constraints(r.properties), constraints(current)
        for cname, expr in have.items():
            if want.get(cname) != expr:
                self.spark.sql(f"ALTER TABLE {name.sql} DROP CONSTRAINT IF EXISTS {quote_identifier(cname)}")
        for cname, expr in want.items():
            if have.get(cname) != expr:
                # The expression is Delta's own stored text of a constraint the table had.
                self.spark.sql(
                    f"ALTER TABLE {name.sql} ADD CONSTRAINT {quote_identifier(cname)} CHECK ({expr})"
                )

    # -- proof -----------------------------------------------------------------------

    def _checks(
        self,
        r: SnapshotRecord,
        state: TableState,
        method: str,
        expected: Fingerprint | None,
        fingerprint: bool,
        version_before: int | None = None,
    ) -> tuple[Check, ...]:
        """The proof, from the state read after the restore (``state``) and one aggregate.

        The fingerprint counts the rows as it hashes them, so with it the row count costs
        nothing more; without it, ``count(*)`` at the state's version comes from the log.
        """
        name = state.name
        checks = [self._history_check(r, state, method, version_before)]
        actual: Fingerprint | None = None
        if fingerprint and expected is not None:
            actual = table_fingerprint(self.spark, name, state.version, state.schema_json or None)
        if r.row_count is not None:
            rows = actual.rows if actual is not None else self.tables.row_count(name, state.version)
            checks.append(Check("row count", rows == r.row_count, str(r.row_count), str(rows)))
        if r.schema_json:
            diff = schema_diff(r.schema_json, state.schema_json)
            checks.append(Check("schema", not diff, "as snapshot", diff or "equal"))
        pdiff = properties_diff(r.properties, state.properties)
        checks.append(Check("properties", not pdiff, f"{len(r.properties)} properties", pdiff or "equal"))
        if fingerprint:
            if expected is None or actual is None:
                checks.append(
                    Check(
                        "fingerprint",
                        True,
                        "not available",
                        "skipped: no recorded fingerprint or readable copy",
                    )
                )
            else:
                checks.append(Check("fingerprint", actual == expected, str(expected), str(actual)))
        return tuple(checks)

    def _history_check(
        self, r: SnapshotRecord, state: TableState, method: str, version_before: int | None
    ) -> Check:
        head = state.head
        if method == METHOD_NONE:
            if head is None or head.version == r.version:
                return Check("history", True, f"v{r.version}", f"table at v{state.version}")
            ok = head.operation == "RESTORE" and head.parameters.get("version") == str(r.version)
            return Check(
                "history",
                ok,
                f"RESTORE to v{r.version}",
                f"v{head.version} {head.operation} {head.parameters}",
            )
        if method == METHOD_RESTORE:
            commit = _find_restore(state.commits, r.version)
            if commit is None:
                return Check("history", False, f"RESTORE to v{r.version}", "no such RESTORE commit found")
            clean = (
                commit.read_version is None or version_before is None or commit.read_version == version_before
            )
            actual = f"v{commit.version} RESTORE to v{commit.parameters.get('version')}"
            if not clean:
                actual += f" (read v{commit.read_version}: another commit landed first)"
            return Check("history", clean, f"RESTORE to v{r.version}", actual)
        op = head.operation if head is not None else "?"
        return Check("history", True, f"copy back from {r.clone_target}", f"v{state.version} {op}")

    def _new_event(
        self,
        label: str,
        r: SnapshotRecord,
        event: EventKind,
        user: str | None,
        version: int | None,
        detail: str,
    ) -> SnapshotEvent:
        return SnapshotEvent(label, r.table_name, event, self.now(), user, version, detail)

    def _record(self, events: list[SnapshotEvent]) -> None:
        """Append the batch's audit events in one commit (a failure to write them is logged, not raised)."""
        if not events:
            return
        try:
            self.registry.add_events(events)
        except Exception:
            names = ", ".join(f"{e.event} {e.table_name}" for e in events)
            logger.warning("could not record the audit events (%s)", names, exc_info=True)


def _recorded(known: Sequence[SnapshotEvent], r: SnapshotRecord, version: int | None) -> bool:
    return any(
        e.event == EventKind.RESTORED and e.version == version and same_table(e.table_name, r.table_name)
        for e in known
    )


def _already_restored(known: Sequence[SnapshotEvent], r: SnapshotRecord, state: TableState) -> bool:
    head = state.head
    if head is not None and head.operation == "RESTORE" and head.parameters.get("version") == str(r.version):
        return True
    return _recorded(known, r, state.version)


def _find_restore(commits: Sequence[CommitInfo], version: int) -> CommitInfo | None:
    for commit in reversed(commits):
        if commit.operation == "RESTORE" and commit.parameters.get("version") == str(version):
            return commit
    return None


def _unrestorable(r: SnapshotRecord, problem: str) -> RestoreError:
    return _refusal(
        f"Version {r.version} of {r.table_name} can no longer be restored: {problem} (VACUUM or log "
        "retention removed it); the table was left untouched. Take deep snapshots "
        "(--mode deep) or raise the retention to keep versions restorable longer."
    )


def _refusal(message: str) -> RestoreError:
    exc = RestoreError(message)
    exc._refused = True  # type: ignore[attr-defined]
    return exc


def _with_report(exc: DbxOpsError, report: RestoreReport) -> DbxOpsError:
    restored = report.restored
    pending = [t.table_name for t in report.tables if t.table_name not in restored]
    msg = str(exc)
    if len(report.tables) > 1:
        msg += (
            f" Restored: {', '.join(restored) or 'none'}; not restored: {', '.join(pending)}. "
            "Run the same restore again to resume."
        )
    new = type(exc)(msg)
    new.report = report  # type: ignore[attr-defined]
    return new
