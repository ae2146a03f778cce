"""The snapshot registry: one Delta row per (label, table) in the state schema.

The ``snapshots`` state table is an append-only audit record: a snapshot is
written once and never updated. Drops, expiries and restores are appended to
the ``snapshot_events`` state table, so the history of every label stays
readable. :func:`lookup_snapshot` is the way other parts of dbx_ops (and
users) find a snapshot's pinned version.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dbx_ops.clock import as_utc
from dbx_ops.errors import InvalidInputError, NotFoundError
from dbx_ops.names import TableName, parse_table_name
from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)

SNAPSHOTS_TABLE = "snapshots"
EVENTS_TABLE = "snapshot_events"


class Mode(StrEnum):
    """What a snapshot keeps: the version only, a shallow clone, or a full copy."""

    PIN = "pin"
    SHALLOW = "shallow"
    DEEP = "deep"


class EventKind(StrEnum):
    """The audit events of the ``snapshot_events`` table."""

    DROPPED = "dropped"
    EXPIRED = "expired"
    RESTORED = "restored"
    RESTORE_FAILED = "restore_failed"
    RETENTION_EXTENDED = "retention_extended"


MODES = tuple(m.value for m in Mode)

SNAPSHOTS_DDL = (
    "label STRING, table_name STRING, table_id STRING, location STRING, version BIGINT, "
    "commit_timestamp TIMESTAMP, schema_json STRING, properties STRING, partition_columns STRING, "
    "clustering_columns STRING, min_reader_version INT, min_writer_version INT, table_features STRING, "
    "row_count BIGINT, num_files BIGINT, size_in_bytes BIGINT, created_by STRING, created_at TIMESTAMP, "
    "mode STRING, clone_target STRING, restorable_until TIMESTAMP, keep_until TIMESTAMP, "
    "fingerprint STRING, note STRING"
)
EVENTS_DDL = (
    "label STRING, table_name STRING, event STRING, at TIMESTAMP, by STRING, version BIGINT, detail STRING"
)

#: Events that end a snapshot's life.
ENDING_EVENTS = (EventKind.DROPPED, EventKind.EXPIRED)

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}")


def validate_label(label: str) -> str:
    """Check a snapshot label: 1-128 letters, digits and ``_ . : @ + -``, starting with a letter or digit.

    Raises:
        InvalidInputError: for anything else.
    """
    if not isinstance(label, str) or not _LABEL.fullmatch(label):
        raise InvalidInputError(
            f"Snapshot label {label!r} is not valid: use 1-128 letters, digits, '_', '.', ':', '@', '+' "
            "or '-', starting with a letter or digit (e.g. pre-deploy-2024-06-01)."
        )
    return label


@dataclass(frozen=True)
class SnapshotRecord:
    """One table's snapshot as the registry holds it.

    Attributes:
        label: the snapshot label (a set of tables shares one label).
        table_name: the table, ``str(TableName)`` (qualified with its schema when taken).
        table_id: Delta's table id (``DESCRIBE DETAIL`` ``id``); changes when a table is recreated.
        version: the pinned Delta version.
        commit_timestamp: commit time of that version.
        mode: ``pin``, ``shallow`` or ``deep``.
        clone_target: the clone or copy holding the data (``shallow``/``deep``), else None.
        location: the table's storage location.
        schema_json: the table schema as Spark JSON.
        properties: table properties at the pinned version.
        partition_columns: partition columns.
        clustering_columns: liquid clustering columns.
        min_reader_version: protocol reader version.
        min_writer_version: protocol writer version.
        table_features: Delta table features.
        row_count: rows at the pinned version (from Delta metadata).
        num_files: data files at the pinned version.
        size_in_bytes: data size at the pinned version.
        created_by: who took the snapshot, where known.
        created_at: when it was taken.
        restorable_until: until when it is restorable under current retention; None = until dropped.
        keep_until: until when the user asked to keep it, or None.
        fingerprint: content fingerprint taken at snapshot time, when asked for.
        note: free text.
    """

    label: str
    table_name: str
    table_id: str
    version: int
    commit_timestamp: datetime
    mode: str = "pin"
    clone_target: str | None = None
    location: str | None = None
    schema_json: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    partition_columns: tuple[str, ...] = ()
    clustering_columns: tuple[str, ...] = ()
    min_reader_version: int | None = None
    min_writer_version: int | None = None
    table_features: tuple[str, ...] = ()
    row_count: int | None = None
    num_files: int | None = None
    size_in_bytes: int | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    restorable_until: datetime | None = None
    keep_until: datetime | None = None
    fingerprint: str | None = None
    note: str | None = None

    @property
    def table(self) -> TableName:
        """The table as a parsed :class:`TableName`."""
        return parse_table_name(self.table_name)

    def to_row(self) -> dict[str, Any]:
        """The registry row (JSON text for the structured fields; times UTC-aware)."""
        row = asdict(self)
        row["mode"] = str(self.mode)
        for key in _TIME_FIELDS:
            row[key] = _utc(row[key])
        row["properties"] = json.dumps(self.properties, sort_keys=True)
        row["partition_columns"] = json.dumps(list(self.partition_columns))
        row["clustering_columns"] = json.dumps(list(self.clustering_columns))
        row["table_features"] = json.dumps(sorted(self.table_features))
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SnapshotRecord:
        """Build a record from a registry row (as ``Row.asDict()``); naive times are read as UTC."""

        def _list(key: str) -> tuple[str, ...]:
            raw = row.get(key)
            return tuple(json.loads(raw)) if raw else ()

        return cls(
            label=row["label"],
            table_name=row["table_name"],
            table_id=row["table_id"],
            version=int(row["version"]),
            commit_timestamp=as_utc(row["commit_timestamp"]),
            mode=row.get("mode") or Mode.PIN,
            clone_target=row.get("clone_target"),
            location=row.get("location"),
            schema_json=row.get("schema_json"),
            properties=json.loads(row["properties"]) if row.get("properties") else {},
            partition_columns=_list("partition_columns"),
            clustering_columns=_list("clustering_columns"),
            min_reader_version=row.get("min_reader_version"),
            min_writer_version=row.get("min_writer_version"),
            table_features=_list("table_features"),
            row_count=row.get("row_count"),
            num_files=row.get("num_files"),
            size_in_bytes=row.get("size_in_bytes"),
            created_by=row.get("created_by"),
            created_at=_utc(row.get("created_at")),
            restorable_until=_utc(row.get("restorable_until")),
            keep_until=_utc(row.get("keep_until")),
            fingerprint=row.get("fingerprint"),
            note=row.get("note"),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        data = asdict(self)
        data["mode"] = str(self.mode)
        for key in _TIME_FIELDS:
            if data[key] is not None:
                data[key] = data[key].isoformat()
        for key in ("partition_columns", "clustering_columns", "table_features"):
            data[key] = list(data[key])
        return data


_TIME_FIELDS = ("commit_timestamp", "created_at", "restorable_until", "keep_until")


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


@dataclass(frozen=True)
class SnapshotEvent:
    """One audit event about a snapshot (an :class:`EventKind`); ``at`` is UTC-aware."""

    label: str
    table_name: str
    event: str
    at: datetime
    by: str | None = None
    version: int | None = None
    detail: str | None = None

    def to_row(self) -> dict[str, Any]:
        """The ``snapshot_events`` row."""
        row = asdict(self)
        row["event"] = str(self.event)
        row["at"] = as_utc(self.at)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SnapshotEvent:
        """Build an event from a row; a naive ``at`` (written before times were UTC-aware) is UTC."""
        data = dict(row)
        data["at"] = as_utc(data["at"])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        row = self.to_row()
        row["at"] = self.at.isoformat()
        return row


def same_table(a: str, b: str) -> bool:
    """True when two ``str(TableName)`` forms name the same table (catalog names are case-insensitive)."""
    ta, tb = parse_table_name(a), parse_table_name(b)
    if ta.is_path or tb.is_path:
        return ta.path is not None and tb.path is not None and ta.path.rstrip("/") == tb.path.rstrip("/")
    return tuple(p.lower() for p in ta.parts) == tuple(p.lower() for p in tb.parts)


def qualify(spark: Any, table: str | TableName) -> TableName:
    """Parse a table name and, for a bare ``table``, prefix the session's current schema."""
    name = parse_table_name(table)
    if name.is_path or len(name.parts) > 1:
        return name
    return TableName(parts=(spark.catalog.currentDatabase(), *name.parts))


class Registry:
    """Reads and appends the ``snapshots`` and ``snapshot_events`` state tables.

    Args:
        spark: a Spark session (classic or Connect).
        store: the state store holding both tables.
    """

    def __init__(self, spark: Any, store: StateStore) -> None:
        self.spark = spark
        self.store = store

    def add(self, records: list[SnapshotRecord]) -> None:
        """Append snapshot records (one per table)."""
        self.store.append(SNAPSHOTS_TABLE, [r.to_row() for r in records], SNAPSHOTS_DDL)

    def add_events(self, events: list[SnapshotEvent]) -> None:
        """Append audit events."""
        self.store.append(EVENTS_TABLE, [e.to_row() for e in events], EVENTS_DDL)

    def records(self, label: str | None = None) -> list[SnapshotRecord]:
        """Every snapshot record, or those of one label, oldest first (small: collected)."""
        if not self.store.exists(SNAPSHOTS_TABLE):
            return []
        from pyspark.sql import functions as F

        df = self.store.read(SNAPSHOTS_TABLE)
        if label is not None:
            df = df.where(F.col("label") == F.lit(label))
        rows = [SnapshotRecord.from_row(r.asDict()) for r in df.collect()]
        return sorted(rows, key=lambda r: (r.created_at or r.commit_timestamp, r.table_name))

    def events(self, label: str | None = None) -> list[SnapshotEvent]:
        """Audit events, or those of one label, oldest first."""
        if not self.store.exists(EVENTS_TABLE):
            return []
        from pyspark.sql import functions as F

        df = self.store.read(EVENTS_TABLE)
        if label is not None:
            df = df.where(F.col("label") == F.lit(label))
        return sorted((SnapshotEvent.from_row(r.asDict()) for r in df.collect()), key=lambda e: e.at)

    def ended(
        self, label: str | None = None, events: list[SnapshotEvent] | None = None
    ) -> dict[tuple[str, str], SnapshotEvent]:
        """The drop/expiry event of each ``(label, table_name)`` that has one.

        ``events``: the label's events when the caller has read them already (not read again).
        """
        known = self.events(label) if events is None else events
        return {(e.label, e.table_name): e for e in known if e.event in ENDING_EVENTS}

    def label_records(
        self, label: str, include_ended: bool = False, events: list[SnapshotEvent] | None = None
    ) -> list[SnapshotRecord]:
        """The records of one label (live ones unless ``include_ended``).

        ``events``: the label's events when the caller has read them already (not read again).

        Raises:
            NotFoundError: when the label has no (live) snapshot.
        """
        validate_label(label)
        records = self.records(label)
        if not records:
            raise NotFoundError(
                f"There is no snapshot labelled {label!r}; `dbx-ops snapshot list` shows the labels."
            )
        if include_ended:
            return records
        ended = self.ended(label, events)
        live = [r for r in records if (r.label, r.table_name) not in ended]
        if not live:
            how = sorted({e.event for e in ended.values()})
            raise NotFoundError(
                f"Snapshot {label!r} was {' and '.join(how)}; it can no longer be used "
                "(`dbx-ops snapshot show` lists its history)."
            )
        return live

    def lookup(self, label: str, table: str | TableName) -> SnapshotRecord:
        """The snapshot of ``table`` under ``label``.

        Raises:
            NotFoundError: for an unknown label, a table not in it, or a dropped/expired snapshot.
        """
        records = self.label_records(label, include_ended=True)
        wanted = qualify(self.spark, table)
        match = [r for r in records if same_table(r.table_name, str(wanted))]
        if not match:
            tables = ", ".join(sorted({r.table_name for r in records}))
            raise NotFoundError(f"Snapshot {label!r} has no table {str(wanted)!r}; it holds: {tables}.")
        record = match[-1]
        ended = self.ended(label).get((record.label, record.table_name))
        if ended is not None:
            raise NotFoundError(
                f"The snapshot of {record.table_name} under {label!r} was {ended.event} at "
                f"{ended.at:%Y-%m-%d %H:%M} and can no longer be used."
            )
        return record


def lookup_snapshot(spark: Any, label: str, table: str, store: StateStore | None = None) -> SnapshotRecord:
    """Find the snapshot of ``table`` taken under ``label``.

    Args:
        spark: a Spark session.
        label: the snapshot label.
        table: the table name as the user wrote it (a bare name is qualified with the current schema).
        store: the state store; when None, the one ``DBX_OPS_SCHEMA`` names (this helper is an edge).

    Returns:
        The :class:`SnapshotRecord`; time-travel to ``.version`` to read the data as it was.

    Raises:
        NotFoundError: for an unknown label, a table not in that label, or a dropped snapshot.
        InvalidInputError: for a malformed label or table name.
    """
    return Registry(spark, store if store is not None else StateStore.from_env(spark)).lookup(label, table)
