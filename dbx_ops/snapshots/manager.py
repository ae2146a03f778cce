"""Take, list, show, verify, drop and expire snapshots; restore delegates to :mod:`.restore`.

``pin`` records the current version (restore by ``RESTORE ... TO VERSION AS
OF``); ``shallow`` also makes a ``SHALLOW CLONE`` into the snapshot schema;
``deep`` makes an independent copy (``DEEP CLONE`` on Databricks; locally
``CREATE TABLE ... LIKE`` + an insert from the pinned version, which keeps
partitioning, properties, constraints and generated columns).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from dbx_ops import runtime
from dbx_ops.clock import Clock, as_utc, utc_now
from dbx_ops.errors import InvalidInputError, NotFoundError, SnapshotError
from dbx_ops.names import TableName, parse_table_name, quote_string
from dbx_ops.progress import NullProgress, Progress
from dbx_ops.snapshots.compare import clone_table_name
from dbx_ops.snapshots.fingerprint import table_fingerprint
from dbx_ops.snapshots.registry import (
    MODES,
    EventKind,
    Registry,
    SnapshotEvent,
    SnapshotRecord,
    qualify,
    same_table,
    validate_label,
)
from dbx_ops.snapshots.report import (
    LabelList,
    LabelStatus,
    LabelSummary,
    RestoreReport,
    SnapshotSet,
    VerifyReport,
    VerifyResult,
)
from dbx_ops.snapshots.retention import RetentionWindow, parse_keep, retention_plan
from dbx_ops.snapshots.tables import DeltaTables, TableState, first_line
from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)


def _keep(keep: str | timedelta | None) -> timedelta | None:
    if keep is None or isinstance(keep, timedelta):
        return keep
    return parse_keep(keep)


class Snapshots:
    """Delta snapshots and restores for one Spark session and state store.

    This is the notebook-facing entry point: ``Snapshots(spark)`` uses the state
    schema ``DBX_OPS_SCHEMA`` names; everything below it (registry, restorer) is
    handed this store.

    Args:
        spark: a Spark session (classic or Connect).
        store: the state store; when None, :meth:`StateStore.from_env` (read once, here).
        clone_schema: schema for shallow/deep copies; ``<state schema>_snapshots`` when None.
        env: environment mapping (decides Databricks vs local); ``os.environ`` when None.
        now: the clock (UTC-aware); every stored time comes from it.
        progress: progress display for multi-table snapshots and restores.
    """

    def __init__(
        self,
        spark: Any,
        store: StateStore | None = None,
        clone_schema: str | None = None,
        env: Any = None,
        now: Clock = utc_now,
        progress: Progress | None = None,
    ) -> None:
        self.spark = spark
        self.store = store if store is not None else StateStore.from_env(spark, env)
        self.registry = Registry(spark, self.store)
        self.tables = DeltaTables(spark)
        self.clone_schema = clone_schema or f"{self.store.schema}_snapshots"
        self.env = env
        self._clock = now
        self.progress = progress if progress is not None else NullProgress()
        parse_table_name(self.clone_schema)

    def now(self) -> Any:
        """The injected clock's time, as UTC."""
        return as_utc(self._clock())

    # -- taking snapshots -------------------------------------------------------------

    def snapshot(
        self,
        tables: str | TableName | Iterable[str | TableName],
        label: str,
        mode: str = "pin",
        note: str | None = None,
        keep: str | timedelta | None = None,
        extend_retention: bool = False,
        fingerprint: bool = False,
    ) -> SnapshotSet:
        """Snapshot one table or a labelled set of tables.

        All tables are checked before anything is written; a failure part-way
        drops the copies already made, so a label is either complete or absent.

        Args:
            tables: one table name or several (``schema.table``, ``catalog.schema.table``,
                ``delta.`/path```).
            label: the label the set is restored by (e.g. ``pre-deploy-2024-06-01``).
            mode: ``pin`` (metadata only), ``shallow`` (shallow clone) or ``deep`` (full copy).
            note: free text kept with the snapshot.
            keep: how long it must stay restorable (``30d``, ``12h``, a timedelta).
            extend_retention: allow raising the tables' ``delta.logRetentionDuration`` /
                ``delta.deletedFileRetentionDuration`` so that ``keep`` holds.
            fingerprint: also record a content fingerprint (one full scan per table).

        Returns:
            The records written to the registry, one per table (a list that renders).

        Raises:
            InvalidInputError: bad label, mode, keep or table name.
            NotFoundError: a table does not exist.
            SnapshotError: the label is taken, or ``keep`` exceeds retention without
                ``extend_retention``.
        """
        validate_label(label)
        if mode not in MODES:
            raise InvalidInputError(f"Snapshot mode {mode!r} is not one of {', '.join(MODES)}.")
        keep_for = _keep(keep)
        names = self._table_list(tables)
        existing = self.registry.records(label)
        for name in names:
            if any(same_table(r.table_name, str(name)) for r in existing):
                raise SnapshotError(
                    f"Snapshot {label!r} already holds {name}; labels are never reused, pick a new one "
                    "(e.g. add the date)."
                )
        user = runtime.current_user(self.spark)

        # 1. Read every table and plan retention before changing anything.
        plans: list[tuple[TableName, dict[str, str]]] = []
        states: dict[str, TableState] = {}
        for name in names:
            state = self.tables.state(name)
            window = RetentionWindow.from_properties(state.properties)
            _, changes = retention_plan(window, mode, self.now(), keep_for, extend_retention)
            plans.append((name, changes))
            if not changes:
                states[str(name)] = state

        # 2. Raise retention where the user opted in (a commit of its own, so it is pinned too).
        events: list[SnapshotEvent] = []
        for name, changes in plans:
            if changes:
                props = ", ".join(
                    f"{quote_string(k)} = {quote_string(v)}" for k, v in sorted(changes.items())
                )
                logger.info("raising retention of %s: %s", name, changes)
                self.spark.sql(f"ALTER TABLE {name.sql} SET TBLPROPERTIES ({props})")
                events.append(
                    SnapshotEvent(
                        label, str(name), EventKind.RETENTION_EXTENDED, self.now(), user, None, str(changes)
                    )
                )

        # 3. Pin, copy, record.
        records: list[SnapshotRecord] = []
        created: list[TableName] = []
        try:
            with self.progress.task(f"snapshot {label}", len(names)) as bar:
                for name in names:
                    state = states.get(str(name)) or self.tables.state(name)
                    record = self._pin(state, label, mode, note, keep_for, user, fingerprint)
                    if mode != "pin":
                        target = self._copy(name, record, label)
                        created.append(target)
                        record = replace(record, clone_target=str(target))
                    records.append(record)
                    bar.advance(str(name), True, f"v{record.version}")
        except Exception as exc:
            for target in created:
                self._drop_table(target)
            if isinstance(exc, SnapshotError | NotFoundError | InvalidInputError):
                raise
            raise SnapshotError(
                f"Snapshot {label!r} failed at {names[len(records)]}: {first_line(exc)}; "
                "nothing was recorded."
            ) from exc
        self.registry.add(records)
        if events:
            self.registry.add_events(events)
        logger.info("snapshot %s: %d table(s), mode %s", label, len(records), mode)
        return SnapshotSet(label, records)

    def _table_list(self, tables: str | TableName | Iterable[str | TableName]) -> list[TableName]:
        items = [tables] if isinstance(tables, str | TableName) else list(tables)
        if not items:
            raise InvalidInputError("Name at least one table to snapshot.")
        names: list[TableName] = []
        for item in items:
            name = qualify(self.spark, item)
            if not any(same_table(str(name), str(n)) for n in names):
                names.append(name)
        return names

    def _pin(
        self,
        state: TableState,
        label: str,
        mode: str,
        note: str | None,
        keep: timedelta | None,
        user: str | None,
        fingerprint: bool,
    ) -> SnapshotRecord:
        name = state.name
        window = RetentionWindow.from_properties(state.properties)
        until, _ = retention_plan(window, mode, state.commit_timestamp, None, False)
        return SnapshotRecord(
            label=label,
            table_name=str(name),
            table_id=state.table_id,
            version=state.version,
            commit_timestamp=state.commit_timestamp,
            mode=mode,
            location=state.location,
            schema_json=state.schema_json,
            properties=state.properties,
            partition_columns=state.partition_columns,
            clustering_columns=state.clustering_columns,
            min_reader_version=state.min_reader_version,
            min_writer_version=state.min_writer_version,
            table_features=state.table_features,
            row_count=self.tables.row_count(name, state.version),
            num_files=state.num_files,
            size_in_bytes=state.size_in_bytes,
            created_by=user,
            created_at=self.now(),
            restorable_until=until,
            keep_until=(state.commit_timestamp + keep) if keep else None,
            fingerprint=str(table_fingerprint(self.spark, name, state.version)) if fingerprint else None,
            note=note,
        )

    def _copy(self, name: TableName, record: SnapshotRecord, label: str) -> TableName:
        schema = parse_table_name(self.clone_schema)
        target = TableName(parts=(*schema.parts, clone_table_name(name.table, label)))
        self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {schema.sql}")
        if self.tables.exists(target):
            raise SnapshotError(
                f"The copy target {target} already exists; drop it or use another label or clone schema."
            )
        version = int(record.version)
        if record.mode == "shallow":
            self.spark.sql(f"CREATE TABLE {target.sql} SHALLOW CLONE {name.sql} VERSION AS OF {version}")
        elif runtime.is_databricks(self.env):
            self.spark.sql(f"CREATE TABLE {target.sql} DEEP CLONE {name.sql} VERSION AS OF {version}")
        else:
            # Open-source Delta has no DEEP CLONE: LIKE keeps partitioning, properties,
            # constraints and generated columns; the rows come from the pinned version.
            self.spark.sql(f"CREATE TABLE {target.sql} LIKE {name.sql}")
            try:
                self.spark.sql(
                    f"INSERT INTO {target.sql} SELECT * FROM {name.sql} VERSION AS OF {version}"  # noqa: S608
                )
            except Exception:
                self._drop_table(target)
                raise
        logger.info("copied %s v%d to %s (%s)", name, version, target, record.mode)
        return target

    def _drop_table(self, target: TableName) -> None:
        try:
            self.spark.sql(f"DROP TABLE IF EXISTS {target.sql}")
        except Exception:
            logger.warning("could not drop %s", target, exc_info=True)

    # -- reading the registry ---------------------------------------------------------

    def list_labels(self, include_ended: bool = False) -> LabelList:
        """One summary per label, newest first (dropped/expired ones only with ``include_ended``)."""
        records = self.registry.records()
        ended = self.registry.ended()
        labels: dict[str, list[SnapshotRecord]] = {}
        for r in records:
            labels.setdefault(r.label, []).append(r)
        out = []
        for label, recs in labels.items():
            gone = [ended[(r.label, r.table_name)] for r in recs if (r.label, r.table_name) in ended]
            status = LabelStatus.of((e.event for e in gone), partly=0 < len(gone) < len(recs))
            if not status.live and not include_ended:
                continue
            untils = [r.restorable_until for r in recs if r.restorable_until is not None]
            out.append(
                LabelSummary(
                    label=label,
                    tables=len(recs),
                    modes=",".join(sorted({r.mode for r in recs})),
                    created_at=min((r.created_at for r in recs if r.created_at), default=None),
                    created_by=recs[0].created_by,
                    restorable_until=min(untils) if untils else None,
                    status=status,
                    note=recs[0].note,
                )
            )
        return LabelList(
            sorted(out, key=lambda s: s.created_at.timestamp() if s.created_at else 0.0, reverse=True)
        )

    def show(self, label: str) -> dict[str, Any]:
        """Everything about one label: its records and its audit events."""
        records = self.registry.label_records(label, include_ended=True)
        return {
            "label": label,
            "records": [r.to_dict() for r in records],
            "events": [e.to_dict() for e in self.registry.events(label)],
        }

    def verify(self, label: str) -> VerifyReport:
        """Check that every table of a label is still restorable.

        A pin is restorable when the table is the same table (same id) and the pinned
        version can still be read with all its files; a copy, when the copy can be read.
        """
        report = VerifyReport(label)
        for r in self.registry.label_records(label):
            restorable, reason = self._restorable(r)
            report.append(
                VerifyResult(r.table_name, r.version, r.mode, restorable, reason, r.restorable_until)
            )
        return report

    def _restorable(self, r: SnapshotRecord) -> tuple[bool, str]:
        name = r.table
        if r.clone_target:
            target = parse_table_name(r.clone_target)
            try:
                self.spark.sql(f"SELECT count(DISTINCT _metadata.file_path) FROM {target.sql}").first()  # noqa: S608
                copy_ok = True
            except Exception as exc:
                copy_ok, copy_reason = False, first_line(exc)
            if copy_ok:
                return True, f"copy {r.clone_target} is readable"
        try:
            state = self.tables.state(name)
        except NotFoundError:
            return False, f"table {name} no longer exists" + (
                "" if not r.clone_target else f"; {copy_reason}"
            )
        if state.table_id != r.table_id:
            return False, f"table {name} was dropped and recreated (id {state.table_id}, was {r.table_id})"
        problem = self.tables.version_readable(name, r.version)
        if problem:
            return False, f"version {r.version} can no longer be read: {problem}"
        until = r.restorable_until
        note = f"; safe under current retention until {until:%Y-%m-%d %H:%M}" if until else ""
        return True, f"version {r.version} is readable with all its files{note}"

    # -- ending snapshots -------------------------------------------------------------

    def drop(self, label: str, tables: Iterable[str] | None = None, dry_run: bool = False) -> list[str]:
        """Drop a label (or some of its tables): record it as dropped and delete its copies.

        The registry rows stay (audit); a ``dropped`` event ends them.

        Returns:
            What was (or, for a dry run, would be) done, one line per action.
        """
        records = self._select(label, tables)
        actions = []
        for r in records:
            actions.append(f"mark snapshot {label} of {r.table_name} (v{r.version}) dropped")
            if r.clone_target:
                actions.append(f"DROP TABLE {r.clone_target}")
        if dry_run:
            return actions
        user = runtime.current_user(self.spark)
        for r in records:
            if r.clone_target:
                self._drop_table(parse_table_name(r.clone_target))
        self.registry.add_events(
            [
                SnapshotEvent(label, r.table_name, EventKind.DROPPED, self.now(), user, r.version)
                for r in records
            ]
        )
        return actions

    def expire(self, dry_run: bool = False) -> list[str]:
        """Mark snapshots past both their restorable-until and keep-until times expired (copies dropped).

        Returns:
            One line per expired table snapshot.
        """
        now = self.now()
        ended = self.registry.ended()
        due = [
            r
            for r in self.registry.records()
            if (r.label, r.table_name) not in ended
            and r.restorable_until is not None
            and r.restorable_until < now
            and (r.keep_until is None or r.keep_until < now)
        ]
        lines = [
            f"{r.label}: {r.table_name} v{r.version} (restorable until {r.restorable_until})" for r in due
        ]
        if dry_run or not due:
            return lines
        user = runtime.current_user(self.spark)
        for r in due:
            if r.clone_target:
                self._drop_table(parse_table_name(r.clone_target))
        self.registry.add_events(
            [SnapshotEvent(r.label, r.table_name, EventKind.EXPIRED, now, user, r.version) for r in due]
        )
        return lines

    def _select(
        self, label: str, tables: Iterable[str] | None, events: list[SnapshotEvent] | None = None
    ) -> list[SnapshotRecord]:
        records = self.registry.label_records(label, events=events)
        if tables is None:
            return records
        wanted = [qualify(self.spark, t) for t in tables]
        chosen = [r for r in records if any(same_table(r.table_name, str(w)) for w in wanted)]
        missing = [str(w) for w in wanted if not any(same_table(r.table_name, str(w)) for r in records)]
        if missing:
            held = ", ".join(r.table_name for r in records)
            raise NotFoundError(f"Snapshot {label!r} has no table {', '.join(missing)}; it holds: {held}.")
        return chosen

    # -- restoring --------------------------------------------------------------------

    def restore(
        self,
        label: str,
        tables: Iterable[str] | None = None,
        dry_run: bool = False,
        fingerprint: bool = True,
        max_attempts: int = 3,
        parallel: int = 1,
    ) -> RestoreReport:
        """Restore a label's tables (or some of them); see :class:`~dbx_ops.snapshots.restore.Restorer`.

        Args:
            label: the snapshot label.
            tables: restore only these tables of the label; all of them when None.
            dry_run: plan only (every table's plan, refusals included); nothing is written.
            fingerprint: prove the content with the fingerprint (one scan per table).
            max_attempts: tries per table while other writers keep committing.
            parallel: how many tables to restore at once (threads of this Spark session);
                1 (the default) restores them one after another. The report and the audit
                keep the label's order; on a failure the tables already running finish and
                the ones not started are reported not attempted (see
                :meth:`~dbx_ops.snapshots.restore.Restorer.restore`).

        Returns:
            The :class:`RestoreReport`; ``report.raise_on_failure()`` raises :class:`RestoreError`
            when a post-check disagrees.

        Raises:
            InvalidInputError: bad label, or ``parallel`` is not a whole number of 1 or more.
            RestoreError: a table was refused or failed (``exc.report`` holds the partial report).
        """
        from dbx_ops.snapshots.restore import Restorer, validate_parallel

        validate_label(label)
        validate_parallel(parallel)
        events = self.registry.events(label)  # read once: for the live records and for resume
        records = self._select(label, tables, events)
        restorer = Restorer(
            self.spark, self.registry, max_attempts=max_attempts, now=self.now, progress=self.progress
        )
        return restorer.restore(
            label, records, dry_run=dry_run, fingerprint=fingerprint, events=events, parallel=parallel
        )


def snapshot(
    tables: str | TableName | Iterable[str | TableName],
    label: str,
    *,
    mode: str = "pin",
    note: str | None = None,
    keep: str | timedelta | None = None,
    extend_retention: bool = False,
    fingerprint: bool = False,
    spark: Any = None,
    store: StateStore | None = None,
    progress: Progress | None = None,
) -> SnapshotSet:
    """Snapshot tables under a label (see :meth:`Snapshots.snapshot`).

    ``spark`` defaults to :func:`dbx_ops.runtime.get_spark`, ``store`` to the
    state schema ``DBX_OPS_SCHEMA`` names.
    """
    session = spark if spark is not None else runtime.get_spark()
    return Snapshots(session, store, progress=progress).snapshot(
        tables,
        label,
        mode=mode,
        note=note,
        keep=keep,
        extend_retention=extend_retention,
        fingerprint=fingerprint,
    )


def restore(
    label: str,
    *,
    tables: Iterable[str] | None = None,
    dry_run: bool = False,
    fingerprint: bool = True,
    max_attempts: int = 3,
    parallel: int = 1,
    spark: Any = None,
    store: StateStore | None = None,
    progress: Progress | None = None,
) -> RestoreReport:
    """Restore a snapshot label (see :meth:`Snapshots.restore`); returns the :class:`RestoreReport`.

    ``spark`` defaults to :func:`dbx_ops.runtime.get_spark`, ``store`` to the
    state schema ``DBX_OPS_SCHEMA`` names; ``parallel`` restores that many tables at once.
    """
    session = spark if spark is not None else runtime.get_spark()
    return Snapshots(session, store, progress=progress).restore(
        label,
        tables,
        dry_run=dry_run,
        fingerprint=fingerprint,
        max_attempts=max_attempts,
        parallel=parallel,
    )
