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
again resumes (tables already back are recognised and skipped).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dbx_ops import runtime
from dbx_ops.clock import Clock, as_utc, utc_now
from dbx_ops.errors import ConcurrentModificationError, DbxOpsError, NotFoundError, RestoreError
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
#: a seam for drills and tests that simulate another writer.
BeforeRestore = Callable[[SnapshotRecord, int], None]


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
    ) -> RestoreReport:
        """Restore the given records of ``label`` in order (or plan it, with ``dry_run``).

        Returns:
            The report; for a dry run every table's plan, refusals included.

        Raises:
            RestoreError: a table was refused or failed; ``exc.report`` holds the partial
                report and the message says which tables were restored and which not.
            ConcurrentModificationError: writers kept committing; the table was left untouched.
        """
        started = self.now()
        user = runtime.current_user(self.spark)
        with self.progress.task(
            f"restore plan {label}" if dry_run else f"restore {label}", len(records)
        ) as bar:
            results = self._restore_all(label, records, dry_run, fingerprint, user, started, bar)
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
    ) -> list[TableRestoreResult]:
        results: list[TableRestoreResult] = []
        for i, record in enumerate(records):
            try:
                try:
                    result = self._table(label, record, dry_run, fingerprint)
                except DbxOpsError:
                    raise
                except Exception as unexpected:
                    raise RestoreError(
                        f"Restoring {record.table_name} failed unexpectedly: {first_line(unexpected)}; "
                        "its DESCRIBE HISTORY shows whether a RESTORE was committed."
                    ) from unexpected
            except DbxOpsError as exc:
                status = REFUSED if getattr(exc, "_refused", False) else FAILED
                results.append(
                    TableRestoreResult(record.table_name, record.version, status=status, message=str(exc))
                )
                bar.advance(record.table_name, False, str(status))
                if dry_run:
                    continue
                results += [
                    TableRestoreResult(r.table_name, r.version, status=NOT_ATTEMPTED)
                    for r in records[i + 1 :]
                ]
                report = RestoreReport(label, dry_run, started, self.now(), tuple(results), user)
                self._event(label, record, EventKind.RESTORE_FAILED, user, None, str(exc))
                raise _with_report(exc, report) from exc
            results.append(result)
            bar.advance(record.table_name, result.ok, str(result.status))
            if not dry_run and result.status == RESTORED:
                detail = json.dumps({"ok": result.ok, "checks": [c.to_dict() for c in result.checks]})
                self._event(label, record, EventKind.RESTORED, user, result.version_after, detail)
            elif (
                not dry_run
                and result.status == ALREADY_RESTORED
                and not self._recorded(label, record, result)
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
                self._event(label, record, EventKind.RESTORED, user, result.version_after, detail)
        return results

    def _recorded(self, label: str, r: SnapshotRecord, result: TableRestoreResult) -> bool:
        return any(
            e.event == EventKind.RESTORED
            and e.version == result.version_after
            and same_table(e.table_name, r.table_name)
            for e in self.registry.events(label)
        )

    # -- one table ------------------------------------------------------------------

    def _table(self, label: str, r: SnapshotRecord, dry_run: bool, fingerprint: bool) -> TableRestoreResult:
        name = r.table
        plan = self._plan(label, r, check_files=dry_run)
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
            checks = self._checks(r, name, plan.state.version, plan.method, expected, fingerprint)
            return replace(base, version_after=plan.state.version, checks=checks)

        expected = None
        if fingerprint:
            try:
                expected = self._expected_fingerprint(r, plan.method)
            except Exception as exc:
                if not is_missing_data(exc):
                    raise
                plan = self._plan(label, r, check_files=True)  # a copy, or a clear refusal
                expected = self._expected_fingerprint(r, plan.method)
        attempt = 0
        while True:
            attempt += 1
            if self.before_restore is not None:
                self.before_restore(r, attempt)
            now_state = self._same_table(r)
            if now_state.version != plan.state.version:
                if attempt >= self.max_attempts:
                    raise ConcurrentModificationError(
                        f"{name} kept changing while being restored (now v{now_state.version}); "
                        f"gave up after {attempt} attempts and left the table untouched: "
                        "pause its writers and run the restore again."
                    )
                logger.info("%s moved to v%d since the plan; planning again", name, now_state.version)
                plan = self._plan(label, r, check_files=False)
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
                    plan = self._plan(label, r, check_files=False)
                    self._sleep(attempt)
                    continue
                raise RestoreError(
                    f"Restoring {name} failed: {first_line(exc)}; Delta commits atomically, so the table "
                    f"is still at v{plan.state.version}."
                ) from exc
            break
        after = self.tables.latest_commit(name).version
        checks = self._checks(r, name, after, plan.method, expected, fingerprint, plan.state.version)
        return replace(
            base,
            version_before=plan.state.version,
            version_after=after,
            method=plan.method,
            status=RESTORED,
            commits_undone=plan.commits,
            checks=checks,
            attempts=attempt,
            message=f"undid {len(plan.commits)} commit(s) with {plan.method}",
        )

    def _sleep(self, attempt: int) -> None:
        if self.backoff_seconds > 0:
            time.sleep(self.backoff_seconds * (2 ** (attempt - 1)))

    def _same_table(self, r: SnapshotRecord) -> TableState:
        name = r.table
        try:
            state = self.tables.state(name)
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

    def _plan(self, label: str, r: SnapshotRecord, check_files: bool = True) -> _Plan:
        name = r.table
        state = self._same_table(r)
        if state.version == r.version:
            return _Plan(
                state, (), METHOD_NONE, NO_OP, f"table is at snapshot version {r.version}; nothing to do"
            )
        if self._already_restored(label, r, state):
            return _Plan(
                state,
                (),
                METHOD_NONE,
                ALREADY_RESTORED,
                f"restored to v{r.version} already (now v{state.version})",
            )
        commits = tuple(self.tables.commits_since(name, r.version))
        # A dry run opens every data file of the version; a real run leaves that to
        # RESTORE, which checks them itself and refuses before committing.
        problem = self.tables.log_reachable(name, r.version)
        if problem is None and check_files:
            problem = self.tables.version_readable(name, r.version)
        if problem is None:
            method = METHOD_RESTORE
        elif r.clone_target and self._copy_readable(r.clone_target):
            method = METHOD_COPY
        else:
            raise _unrestorable(r, problem)
        note = f"will undo {len(commits)} commit(s) with {method}"
        return _Plan(state, commits, method, PLANNED, note)

    def _already_restored(self, label: str, r: SnapshotRecord, state: TableState) -> bool:
        head = self.tables.latest_commit(r.table)
        if head.operation == "RESTORE" and head.parameters.get("version") == str(r.version):
            return True
        return any(
            e.event == EventKind.RESTORED
            and e.version == state.version
            and same_table(e.table_name, r.table_name)
            for e in self.registry.events(label)
        )

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
        if method == METHOD_RESTORE or self.tables.version_readable(r.table, r.version) is None:
            return table_fingerprint(self.spark, r.table, r.version)
        return None

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
        name: TableName,
        version_after: int,
        method: str,
        expected: Fingerprint | None,
        fingerprint: bool,
        version_before: int | None = None,
    ) -> tuple[Check, ...]:
        checks = [self._history_check(r, name, version_after, method, version_before)]
        state = self.tables.state(name)
        rows = self.tables.row_count(name)
        if r.row_count is not None:
            checks.append(Check("row count", rows == r.row_count, str(r.row_count), str(rows)))
        if r.schema_json:
            diff = schema_diff(r.schema_json, state.schema_json)
            checks.append(Check("schema", not diff, "as snapshot", diff or "equal"))
        pdiff = properties_diff(r.properties, state.properties)
        checks.append(Check("properties", not pdiff, f"{len(r.properties)} properties", pdiff or "equal"))
        if fingerprint:
            if expected is None:
                checks.append(
                    Check(
                        "fingerprint",
                        True,
                        "not available",
                        "skipped: no recorded fingerprint or readable copy",
                    )
                )
            else:
                actual = table_fingerprint(self.spark, name)
                checks.append(Check("fingerprint", actual == expected, str(expected), str(actual)))
        return tuple(checks)

    def _history_check(
        self, r: SnapshotRecord, name: TableName, version_after: int, method: str, version_before: int | None
    ) -> Check:
        if method == METHOD_NONE:
            head = self.tables.latest_commit(name)
            if head.version == r.version:
                return Check("history", True, f"v{r.version}", f"table at v{head.version}")
            ok = head.operation == "RESTORE" and head.parameters.get("version") == str(r.version)
            return Check(
                "history",
                ok,
                f"RESTORE to v{r.version}",
                f"v{head.version} {head.operation} {head.parameters}",
            )
        if method == METHOD_RESTORE:
            commit = self._find_restore(name, r.version, version_before)
            if commit is None:
                return Check("history", False, f"RESTORE to v{r.version}", "no such RESTORE commit found")
            clean = (
                commit.read_version is None or version_before is None or commit.read_version == version_before
            )
            actual = f"v{commit.version} RESTORE to v{commit.parameters.get('version')}"
            if not clean:
                actual += f" (read v{commit.read_version}: another commit landed first)"
            return Check("history", clean, f"RESTORE to v{r.version}", actual)
        commit_after = self.tables.commit(name, version_after)
        op = commit_after.operation if commit_after else "?"
        return Check("history", True, f"copy back from {r.clone_target}", f"v{version_after} {op}")

    def _find_restore(self, name: TableName, version: int, since: int | None) -> CommitInfo | None:
        for commit in reversed(self.tables.commits_since(name, since if since is not None else version)):
            if commit.operation == "RESTORE" and commit.parameters.get("version") == str(version):
                return commit
        return None

    def _event(
        self,
        label: str,
        r: SnapshotRecord,
        event: EventKind,
        user: str | None,
        version: int | None,
        detail: str,
    ) -> None:
        try:
            self.registry.add_events(
                [SnapshotEvent(label, r.table_name, event, self.now(), user, version, detail)]
            )
        except Exception:
            logger.warning("could not record the %s event of %s", event, r.table_name, exc_info=True)


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
