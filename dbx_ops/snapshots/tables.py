"""Delta table metadata through SQL only (works in classic Spark and Spark Connect).

``DESCRIBE DETAIL`` gives id, location, files, size, partitioning, clustering,
properties and protocol; ``DESCRIBE HISTORY`` gives versions and commits;
``count(*)`` at a version is answered from the Delta log. Errors Delta raises
are sorted into the few cases restore and snapshot must tell apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dbx_ops.clock import as_utc
from dbx_ops.errors import NotFoundError, SnapshotError
from dbx_ops.names import TableName
from dbx_ops.snapshots.report import CommitInfo

logger = logging.getLogger(__name__)

_CONCURRENT_MARKERS = (
    "DELTA_CONCURRENT",
    "ConcurrentAppendException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    "ConcurrentTransactionException",
    "ConcurrentWriteException",
    "MetadataChangedException",
    "ProtocolChangedException",
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
)
_MISSING_MARKERS = (
    "FILE_NOT_EXIST",
    "FileNotFoundException",
    "DELTA_FILE_NOT_FOUND",
    "Cannot time travel",
    "DELTA_VERSIONS_NOT_CONTIGUOUS",
    "DELTA_STATE_RECOVER_ERROR",
    "does not exist",
    "No such file",
    "Not all files from version",
    "Missed files",
)
_NOT_FOUND_MARKERS = (
    "TABLE_OR_VIEW_NOT_FOUND",
    "is not a Delta table",
    "DELTA_MISSING_DELTA_TABLE",
    "DELTA_TABLE_NOT_FOUND",
    "PATH_NOT_FOUND",
    "doesn't exist",
)


def is_concurrent_conflict(exc: BaseException) -> bool:
    """True when Delta refused a commit because another writer committed first."""
    text = f"{type(exc).__name__}: {exc}"
    return any(m in text for m in _CONCURRENT_MARKERS)


def is_missing_data(exc: BaseException) -> bool:
    """True when a version cannot be read because its log or data files are gone."""
    text = str(exc)
    return any(m in text for m in _MISSING_MARKERS)


def first_line(exc: BaseException) -> str:
    """The first line of an exception message, trimmed (Spark errors carry long plans and traces)."""
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


@dataclass(frozen=True)
class TableState:
    """A Delta table as it is now (from ``DESCRIBE DETAIL`` and the latest commit)."""

    name: TableName
    table_id: str
    location: str
    version: int
    commit_timestamp: datetime
    properties: dict[str, str] = field(default_factory=dict)
    partition_columns: tuple[str, ...] = ()
    clustering_columns: tuple[str, ...] = ()
    min_reader_version: int | None = None
    min_writer_version: int | None = None
    table_features: tuple[str, ...] = ()
    num_files: int | None = None
    size_in_bytes: int | None = None
    schema_json: str = ""
    #: The latest commit (the one ``version`` names).
    head: CommitInfo | None = None
    #: Commits after the ``since`` version :meth:`DeltaTables.state` was asked for, oldest first.
    commits: tuple[CommitInfo, ...] = ()


class DeltaTables:
    """Reads Delta metadata for snapshot and restore.

    Args:
        spark: a Spark session (classic or Connect).
    """

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def _detail(self, table: TableName) -> dict[str, Any]:
        try:
            row = self.spark.sql(f"DESCRIBE DETAIL {table.sql}").first()
        except Exception as exc:
            if any(m in str(exc) for m in _NOT_FOUND_MARKERS):
                raise NotFoundError(f"Table {table} does not exist (or is not a Delta table).") from None
            raise
        detail = row.asDict() if row is not None else {}
        if (detail.get("format") or "").lower() != "delta":
            raise SnapshotError(
                f"Table {table} is a {detail.get('format') or 'non'}-format table; only Delta tables "
                "can be snapshotted and restored."
            )
        return detail

    def latest_commit(self, table: TableName) -> CommitInfo:
        """The table's most recent commit."""
        rows = self.spark.sql(f"DESCRIBE HISTORY {table.sql} LIMIT 1").collect()
        if not rows:
            raise NotFoundError(f"Table {table} has no Delta history.")
        return _commit(rows[0].asDict())

    def state(self, table: TableName, attempts: int = 5, since: int | None = None) -> TableState:
        """The table's current state, read consistently (again if a commit lands while reading).

        ``DESCRIBE DETAIL``'s ``lastModified`` is the latest commit's time, so detail and
        history agree when the two timestamps match.

        Args:
            table: the table.
            attempts: reads to try while commits keep landing.
            since: also return the commits after this version (``TableState.commits``), read
                by the same ``DESCRIBE HISTORY`` that finds the latest commit: one history
                read gives both.
        """
        for _ in range(max(1, attempts)):
            detail = self._detail(table)
            commits: tuple[CommitInfo, ...] = ()
            if since is None:
                head = self.latest_commit(table)
            else:
                newest_first = self.history(table, since)
                head = newest_first[0] if newest_first else self.latest_commit(table)
                commits = tuple(reversed([c for c in newest_first if c.version > since]))
            modified = detail.get("lastModified")
            if modified is not None and as_utc(modified) != head.timestamp:
                logger.info("%s changed while being read; reading again", table)
                continue
            return TableState(
                name=table,
                table_id=str(detail["id"]),
                location=str(detail.get("location") or ""),
                version=head.version,
                commit_timestamp=head.timestamp,
                properties=dict(detail.get("properties") or {}),
                partition_columns=tuple(detail.get("partitionColumns") or ()),
                clustering_columns=tuple(detail.get("clusteringColumns") or ()),
                min_reader_version=detail.get("minReaderVersion"),
                min_writer_version=detail.get("minWriterVersion"),
                table_features=tuple(detail.get("tableFeatures") or ()),
                num_files=detail.get("numFiles"),
                size_in_bytes=detail.get("sizeInBytes"),
                schema_json=self.schema_json(table, head.version),
                head=head,
                commits=commits,
            )
        raise SnapshotError(
            f"Table {table} kept changing while its state was read; try again when writes pause."
        )

    def history(self, table: TableName, since: int, limit: int = 1000) -> list[CommitInfo]:
        """Commits from ``since`` on (``since`` itself included), newest first, at most ``limit``.

        One ``DESCRIBE HISTORY``; the first row is the latest commit.
        """
        from pyspark.sql import functions as F

        df = self.spark.sql(f"DESCRIBE HISTORY {table.sql}").where(F.col("version") >= F.lit(int(since)))
        rows = df.orderBy(F.col("version").desc()).limit(limit + 1).collect()
        return [_commit(r.asDict()) for r in rows]

    def exists(self, table: TableName) -> bool:
        """True when the table exists and is a Delta table."""
        try:
            self._detail(table)
        except NotFoundError:
            return False
        return True

    def commits_since(self, table: TableName, version: int, limit: int = 1000) -> list[CommitInfo]:
        """Commits after ``version``, oldest first (at most ``limit``)."""
        from pyspark.sql import functions as F

        df = self.spark.sql(f"DESCRIBE HISTORY {table.sql}").where(F.col("version") > F.lit(int(version)))
        rows = df.orderBy("version").limit(limit).collect()
        return [_commit(r.asDict()) for r in rows]

    def commit(self, table: TableName, version: int) -> CommitInfo | None:
        """One commit of the history, or None when it is no longer listed."""
        from pyspark.sql import functions as F

        rows = (
            self.spark.sql(f"DESCRIBE HISTORY {table.sql}")
            .where(F.col("version") == F.lit(int(version)))
            .collect()
        )
        return _commit(rows[0].asDict()) if rows else None

    def row_count(self, table: TableName, version: int | None = None) -> int:
        """``count(*)`` at a version (answered from Delta metadata, no file scan)."""
        source = table.sql if version is None else f"{table.sql} VERSION AS OF {int(version)}"
        return int(self.spark.sql(f"SELECT count(*) AS n FROM {source}").first()["n"])  # noqa: S608

    def schema_json(self, table: TableName, version: int | None = None) -> str:
        """The schema (Spark JSON) of the table, at ``version`` when given."""
        source = table.sql if version is None else f"{table.sql} VERSION AS OF {int(version)}"
        return str(self.spark.sql(f"SELECT * FROM {source}").schema.json())  # noqa: S608

    def log_reachable(self, table: TableName, version: int) -> str | None:
        """Check that the Delta log can still rebuild ``version`` (metadata only, no data files read).

        Returns:
            None when it can, else one sentence saying why not.
        """
        try:
            self.row_count(table, version)
        except Exception as exc:
            if is_missing_data(exc):
                return first_line(exc)
            raise
        return None

    def version_readable(self, table: TableName, version: int) -> str | None:
        """Check that ``version`` can still be read with all its data files.

        Touches every file of the version (the file-path metadata column forces each
        file to be opened) without reading column data, and never ignores missing files.

        Returns:
            None when readable, else one sentence saying why not.
        """
        try:
            files = "count(DISTINCT _metadata.file_path) AS f"
            self.spark.sql(f"SELECT {files} FROM {table.sql} VERSION AS OF {int(version)}").first()  # noqa: S608
        except Exception as exc:
            if is_missing_data(exc):
                return first_line(exc)
            raise
        return None


def _commit(row: dict[str, Any]) -> CommitInfo:
    params = row.get("operationParameters") or {}
    return CommitInfo(
        version=int(row["version"]),
        timestamp=as_utc(row["timestamp"]),
        operation=str(row.get("operation") or ""),
        user=row.get("userName") or row.get("userId"),
        parameters={str(k): ("" if v is None else str(v)) for k, v in dict(params).items()},
        read_version=row.get("readVersion"),
    )
