"""File statistics from the Delta log: row counts, null counts and exact bounds without a scan.

Every ``add`` action of a Delta table carries its file's statistics (``numRecords``,
``nullCount``, ``minValues``, ``maxValues``) for the indexed columns. :class:`DeltaLogReader`
replays the log (the newest checkpoint's Parquet plus the JSON commits after it, the latest
action per file) in one of two ways, and sums the statistics:

* **on the driver** (``reader="driver"``), when the table's storage is a folder the Python
  process can read (a local path, ``file:``, ``dbfs:`` through the ``/dbfs`` mount, a
  ``/Volumes`` path): the files are read with the standard library and pyarrow, no Spark job
  at all, a few milliseconds for a table of hundreds of files
  (``benchmarks/bench_delta_log.py``);
* **through Spark** (``reader="spark"``) otherwise (cloud storage, or the driver could not read
  the folder): ``spark.read`` with explicit schemas and ONE aggregation query that returns one
  row, so it runs wherever Spark can read the table, Spark Connect included.

Both replays apply the same rules (:func:`summarise` is the driver's, the Spark query mirrors
it column for column) and give the same numbers; the tests check them against each other and
against a scan.

Only what is *exact* is returned as a number; everything else carries the sentence saying why
it is not, and the planner (:mod:`dbx_ops.validation.planner`) takes it from the data instead:

* the row count: ``sum(numRecords - deletionVector.cardinality)``, exact unless a file has no
  statistics;
* null counts: exact unless a file has no statistics for the column (a column past
  ``delta.dataSkippingNumIndexedCols`` or outside ``delta.dataSkippingStatsColumns``, a file
  written without statistics) or carries a deletion vector (its counts then describe the rows
  before the delete: ``tightBounds`` is false);
* min / max: exact for integers, floats, doubles, decimals and dates; strings only when no bound
  of any file reaches the prefix length (``delta.dataSkippingStringPrefixLength``, 32: a longer
  value is stored as a prefix); never for timestamps (stored truncated to milliseconds) or
  booleans (no bounds); never with deletion vectors;
* partition columns: from each file's partition values, exact even with deletion vectors.

Column mapping is handled: statistics are keyed by each column's
``delta.columnMapping.physicalName``, read from the log's own ``metaData``. When the log cannot
be read (a Unity Catalog managed table whose storage the job may not read directly, a v2
checkpoint, a table that is not Delta), :meth:`DeltaLogReader.read` returns a
:class:`LogStats` whose ``available`` is False and whose ``reason`` says why, never an error:
the caller scans instead. When the driver cannot read the folder but Spark can, the record's
``reason`` says why the driver did not (``available`` stays True, ``reader`` is ``spark``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from dbx_ops.names import TableName, parse_table_name, quote_identifier
from dbx_ops.validation.model import type_kind

logger = logging.getLogger(__name__)

#: Types whose min / max the log stores exactly (``simpleString()`` prefixes).
EXACT_BOUND_TYPES = ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "date")
#: Default of ``delta.dataSkippingStringPrefixLength``.
STRING_PREFIX = 32

_COMMIT = re.compile(r"^(\d{20})\.json$")
_CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint(?:\.(\d{10})\.(\d{10}))?\.parquet$")
_V2_CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint\.[0-9a-fA-F-]{36}\.(?:json|parquet)$")

_DV = "struct<storageType:string,pathOrInlineDv:string,offset:int,sizeInBytes:int,cardinality:bigint>"
_ACTIONS = (
    f"add struct<path:string,partitionValues:map<string,string>,size:bigint,dataChange:boolean,"
    f"stats:string,deletionVector:{_DV}>, "
    f"remove struct<path:string,dataChange:boolean,deletionVector:{_DV}>, "
    "metaData struct<id:string,schemaString:string,partitionColumns:array<string>,"
    "configuration:map<string,string>>"
)


@dataclass(frozen=True)
class ColumnLogStats:
    """What the log knows exactly about one column.

    Attributes:
        name: the column's (logical) name.
        dtype: its Spark type (``simpleString()``).
        null_count: the exact null count, or None when the log cannot give it.
        nulls_note: why ``null_count`` is None (one sentence), else None.
        min: the exact minimum (float for numbers, ISO text for dates, text for strings) when
            ``bounds_note`` is None; None also when every value is null.
        max: the exact maximum, as ``min``.
        bounds_note: why the bounds are not exact, else None.
    """

    name: str
    dtype: str
    null_count: int | None
    nulls_note: str | None
    min: Any = None
    max: Any = None
    bounds_note: str | None = None

    @property
    def bounds_exact(self) -> bool:
        """True when ``min`` / ``max`` are the column's exact bounds."""
        return self.bounds_note is None

    @property
    def max_epoch(self) -> float | None:
        """The maximum of a date column in epoch seconds (freshness), else None."""
        if self.bounds_note is None and isinstance(self.max, str) and type_kind(self.dtype) == "temporal":
            day = date.fromisoformat(self.max)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        return None


@dataclass(frozen=True)
class LogStats:
    """The statistics of one Delta table version, summed over its live files.

    Attributes:
        table: the table as given.
        available: False when the log could not be read; ``reason`` says why.
        reason: why the log was not read; when it was read through Spark, why the driver did
            not read it; None when the driver read it.
        location: the table's storage location.
        version: the Delta version described.
        files: live data files at that version.
        row_count: the exact row count, None when some file has no statistics.
        row_count_note: why ``row_count`` is None.
        columns: per column, what the log knows.
        seconds: how long reading took.
        reader: who replayed the log: ``driver`` (the Python process, no Spark job) or
            ``spark``.
    """

    table: str
    available: bool
    reason: str | None = None
    location: str | None = None
    version: int | None = None
    files: int = 0
    row_count: int | None = None
    row_count_note: str | None = None
    columns: Mapping[str, ColumnLogStats] = field(default_factory=dict)
    seconds: float = 0.0
    reader: str = "spark"

    @property
    def described_by(self) -> str:
        """``delta log (driver)`` or ``delta log (spark)``: which reader answered."""
        return f"delta log ({self.reader})"

    @classmethod
    def unavailable(cls, table: str, reason: str, seconds: float = 0.0) -> LogStats:
        """The record of a log that could not be read."""
        return cls(table=table, available=False, reason=reason, seconds=seconds)

    def column(self, name: str) -> ColumnLogStats | None:
        """What the log knows about ``name``, None when nothing."""
        return self.columns.get(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "table": self.table,
            "available": self.available,
            "reason": self.reason,
            "location": self.location,
            "version": self.version,
            "files": self.files,
            "row_count": self.row_count,
            "row_count_note": self.row_count_note,
            "reader": self.reader,
            "seconds": round(self.seconds, 3),
            "columns": {
                n: {
                    "null_count": c.null_count,
                    "nulls_note": c.nulls_note,
                    "min": c.min,
                    "max": c.max,
                    "bounds_note": c.bounds_note,
                }
                for n, c in self.columns.items()
            },
        }


@dataclass(frozen=True)
class LogFiles:
    """The log files one version is replayed from (pure; see :func:`choose_log_files`)."""

    checkpoint: tuple[str, ...]
    checkpoint_version: int | None
    commits: tuple[tuple[int, str], ...]


def choose_log_files(names: list[str], version: int) -> LogFiles | str:
    """The newest complete checkpoint at or before ``version`` and the JSON commits after it.

    Args:
        names: file names found in ``_delta_log`` (no folders).
        version: the version to describe.

    Returns:
        The :class:`LogFiles`, or one sentence saying why the log cannot be replayed from them.
    """
    commits = {int(m.group(1)): n for n in names if (m := _COMMIT.match(n))}
    parts: dict[int, dict[int, set[int]]] = {}
    for n in names:
        m = _CHECKPOINT.match(n)
        if m:
            v = int(m.group(1))
            total = int(m.group(3)) if m.group(3) else 1
            part = int(m.group(2)) if m.group(2) else 1
            parts.setdefault(v, {}).setdefault(total, set()).add(part)
    complete = sorted(
        (v, total)
        for v, by_total in parts.items()
        for total, seen in by_total.items()
        if v <= version and seen == set(range(1, total + 1))
    )
    if complete:
        ckpt, total = complete[-1]
        if total == 1:
            files: tuple[str, ...] = (f"{ckpt:020d}.checkpoint.parquet",)
        else:
            files = tuple(
                f"{ckpt:020d}.checkpoint.{i:010d}.{total:010d}.parquet" for i in range(1, total + 1)
            )
        start: int | None = ckpt
    else:
        if any(_V2_CHECKPOINT.match(n) for n in names) and 0 not in commits:
            return "the log has only v2 checkpoints, which this reader does not replay"
        files, start = (), None
    first = 0 if start is None else start + 1
    missing = [v for v in range(first, version + 1) if v not in commits]
    if missing:
        return (
            f"commit {missing[0]} is missing from the log (cleaned up, or the version is older than the "
            "log keeps)"
        )
    return LogFiles(files, start, tuple((v, commits[v]) for v in range(first, version + 1)))


class DeltaLogReader:
    """Reads file statistics from a Delta table's log: on the driver when it can, else through Spark.

    Args:
        spark: a Spark session (classic or Connect) that can read the table's storage.
        driver: try the driver-side replay first (False: always through Spark).
    """

    def __init__(self, spark: Any, driver: bool = True) -> None:
        self.spark = spark
        self.driver = driver
        self._cache: dict[tuple[str, int], LogStats] = {}
        self._locations: dict[str, str] = {}

    def read(self, table: str | TableName, version: int | None = None) -> LogStats:
        """The statistics of ``table`` at ``version`` (None: the latest), or why there are none.

        Never raises for a log it cannot read: the returned record's ``available`` is False
        and ``reason`` says why (the caller then scans the data). The driver's replay is tried
        first; when it cannot read the folder, Spark's, and the record says why.
        """
        started = time.perf_counter()
        name = parse_table_name(table)
        try:
            location = self._location(name)
        except Exception as exc:
            return LogStats.unavailable(str(name), f"its location is not known ({_first_line(exc)})")
        driver_note = None
        if self.driver:
            local = local_log_folder(location)
            if local is None:
                driver_note = f"{location} is not storage the driver process can read as files"
            else:
                try:
                    stats = self._read_on_driver(str(name), location, local, version)
                except Exception as exc:
                    self._locations.pop(str(name), None)  # resolved afresh next time (a re-created table)
                    driver_note = f"the driver could not read {local} ({_first_line(exc)})"
                else:  # the driver read the log: what it found (or found missing) Spark would too
                    return self._done(name, stats, started)
            logger.info("%s: %s; reading its Delta log through Spark", name, driver_note)
        stats = self._read_with_spark(name, location, version)
        if driver_note is not None:
            if stats.available:
                stats = dataclasses.replace(stats, reason=f"{driver_note}: read through Spark")
            else:
                stats = dataclasses.replace(stats, reason=f"{stats.reason}; on the driver: {driver_note}")
        return self._done(name, stats, started)

    def latest_version(self, table: str | TableName) -> int | None:
        """The table's latest version from a driver-side listing of its log; None when the driver
        cannot list it (the caller asks Spark). Costs no Spark job for a path table, and one
        ``DESCRIBE DETAIL`` (no job, remembered) for a catalog table.
        """
        if not self.driver:
            return None
        try:
            name = parse_table_name(table)
            folder = local_log_folder(self._location(name))
            if folder is None:
                return None
            commits = [int(m.group(1)) for n in os.listdir(folder) if (m := _COMMIT.match(n))]
        except Exception as exc:
            self._locations.pop(str(table) if isinstance(table, TableName) else table, None)
            logger.debug("%s: no driver-side listing of the log (%s)", table, _first_line(exc))
            return None
        return max(commits) if commits else None

    def _done(self, name: TableName, stats: LogStats, started: float) -> LogStats:
        if stats.seconds == 0.0:
            stats = dataclasses.replace(stats, seconds=time.perf_counter() - started)
        if stats.available and stats.location is not None and stats.version is not None:
            self._cache[(stats.location, stats.version)] = stats
            logger.info(
                "%s v%s: statistics of %d files read from the Delta log (%s) in %.3f s",
                name, stats.version, stats.files, stats.reader, stats.seconds,
            )  # fmt: skip
        return stats

    def _read_on_driver(self, table: str, location: str, folder: str, version: int | None) -> LogStats:
        """The replay on the driver: listing, checkpoint Parquet and JSON commits, no Spark."""
        listing = os.listdir(folder)  # OSError (missing, permission denied) → the caller falls back
        commits = [int(m.group(1)) for n in listing if (m := _COMMIT.match(n))]
        if not commits:
            return LogStats.unavailable(table, f"{folder} has no Delta commits")
        target = max(commits) if version is None else int(version)
        cached = self._cache.get((location, target))
        if cached is not None:
            return cached
        chosen = choose_log_files(listing, target)
        if isinstance(chosen, str):
            return LogStats.unavailable(table, chosen)
        actions = read_log_actions(folder, chosen)
        meta, live = replay(actions)
        if meta is None:
            return LogStats.unavailable(table, "the log holds no metaData action")
        return stats_from_actions(table, location, target, meta, live)

    def _read_with_spark(self, name: TableName, location: str, version: int | None) -> LogStats:
        started = time.perf_counter()
        try:
            listing = self._list(location)
        except Exception as exc:
            reason = f"its Delta log at {location}/_delta_log cannot be read here ({_first_line(exc)})"
            logger.info("%s: %s; scanning instead", name, reason)
            return LogStats.unavailable(str(name), reason, time.perf_counter() - started)
        commits = [int(m.group(1)) for n in listing if (m := _COMMIT.match(n))]
        if not commits:
            return LogStats.unavailable(str(name), f"{location} has no Delta commits")
        target = max(commits) if version is None else int(version)
        key = (location, target)
        if key in self._cache and self._cache[key].reader == "spark":
            return self._cache[key]
        chosen = choose_log_files(listing, target)
        if isinstance(chosen, str):
            return LogStats.unavailable(str(name), chosen, time.perf_counter() - started)
        try:
            stats = self._replay(str(name), location, target, chosen)
        except Exception as exc:
            reason = f"its Delta log could not be replayed ({_first_line(exc)})"
            logger.info("%s: %s; scanning instead", name, reason)
            return LogStats.unavailable(str(name), reason, time.perf_counter() - started)
        return dataclasses.replace(stats, seconds=time.perf_counter() - started)

    # -- steps -------------------------------------------------------------------------------

    def _location(self, table: TableName) -> str:
        if table.is_path:
            return str(table.path).rstrip("/")
        key = str(table)
        if key not in self._locations:  # a table's location does not change under it
            row = self.spark.sql(f"DESCRIBE DETAIL {table.sql}").collect()[0]
            fmt = str(row["format"] or "").lower()
            if fmt != "delta":
                raise ValueError(f"{table} is {fmt or 'not'} a Delta table")
            self._locations[key] = str(row["location"]).rstrip("/")
        return self._locations[key]

    def _list(self, location: str) -> list[str]:
        """File names in ``_delta_log``: a listing through Spark (file contents are not read)."""
        found = (
            self.spark.read.format("binaryFile")
            .option("pathGlobFilter", "*.{json,parquet}")
            .load(f"{location}/_delta_log")
            .select("path")
            .collect()
        )
        return [str(r["path"]).rstrip("/").rsplit("/", 1)[-1] for r in found]

    def _actions(self, location: str, files: LogFiles) -> Any:
        """Every action of the replay, with the version it belongs to."""
        from pyspark.sql import functions as F

        log = f"{location}/_delta_log"
        parts = []
        if files.checkpoint:
            ckpt = self.spark.read.schema(_ACTIONS).parquet(*[f"{log}/{n}" for n in files.checkpoint])
            parts.append(ckpt.select(F.lit(files.checkpoint_version).cast("bigint").alias("v"), "*"))
        if files.commits:
            commits = self.spark.read.schema(_ACTIONS).json([f"{log}/{n}" for _, n in files.commits])
            version = F.regexp_extract(F.col("_metadata.file_name"), r"^(\d+)\.json$", 1).cast("bigint")
            parts.append(commits.select(version.alias("v"), "add", "remove", "metaData"))
        out = parts[0]
        for p in parts[1:]:
            out = out.unionByName(p)
        return out

    def _replay(self, table: str, location: str, version: int, files: LogFiles) -> LogStats:
        from pyspark.sql import functions as F

        actions = self._actions(location, files)
        meta_row = (
            actions.where(F.col("metaData").isNotNull())
            .orderBy(F.col("v").desc())
            .select("metaData.schemaString", "metaData.partitionColumns", "metaData.configuration")
            .first()
        )
        if meta_row is None:
            return LogStats.unavailable(table, "the log holds no metaData action")
        schema = json.loads(meta_row["schemaString"])
        partitions = list(meta_row["partitionColumns"] or [])
        config = dict(meta_row["configuration"] or {})
        prefix = int(config.get("delta.dataSkippingStringPrefixLength", STRING_PREFIX))
        columns = [_field(f) for f in schema.get("fields", [])]

        def dv_id(dv: Any) -> Any:
            return F.coalesce(
                F.concat_ws("|", dv["storageType"], dv["pathOrInlineDv"], dv["offset"].cast("string")),
                F.lit(""),
            )

        adds = actions.where(F.col("add").isNotNull()).select(
            "v",
            F.col("add.path").alias("path"),
            dv_id(F.col("add.deletionVector")).alias("dv"),
            F.lit(True).alias("live"),
            F.col("add.stats").alias("stats"),
            F.col("add.partitionValues").alias("pv"),
            F.col("add.deletionVector.cardinality").alias("card"),
        )
        removes = actions.where(F.col("remove").isNotNull()).select(
            "v",
            F.col("remove.path").alias("path"),
            dv_id(F.col("remove.deletionVector")).alias("dv"),
            F.lit(False).alias("live"),
            F.lit(None).cast("string").alias("stats"),
            F.lit(None).cast("map<string,string>").alias("pv"),
            F.lit(None).cast("bigint").alias("card"),
        )
        latest = (
            adds.unionByName(removes)
            .groupBy("path", "dv")
            .agg(F.max_by(F.struct("live", "stats", "pv", "card"), F.col("v")).alias("a"))
            .where(F.col("a.live"))
            .select("a.*")
        )
        stats_schema = _stats_schema(columns, partitions)
        parsed = latest.select(F.from_json("stats", stats_schema).alias("s"), "pv", "card")
        aggs = [
            F.count(F.lit(1)).alias("files"),
            F.count(F.when(F.col("s.numRecords").isNull(), 1)).alias("no_stats"),
            F.sum(F.col("s.numRecords") - F.coalesce(F.col("card"), F.lit(0))).alias("rows"),
            F.count(F.when(F.col("card") > 0, 1)).alias("dv_files"),
            F.count(F.when(F.col("s.tightBounds") == F.lit(False), 1)).alias("loose"),
        ]
        live_rows = F.col("s.numRecords") - F.coalesce(F.col("card"), F.lit(0))
        for i, c in enumerate(columns):
            p = f"c{i}_"
            if c["name"] in partitions:
                raw = F.col("pv")[c["physical"]]  # keyed by physical name under column mapping
                value = raw.cast(c["spark"]) if c["bounded"] else raw
                aggs += [
                    F.sum(F.when(raw.isNull(), live_rows).otherwise(0)).alias(p + "nulls"),
                    F.min(F.when(live_rows > 0, value)).alias(p + "min"),
                    F.max(F.when(live_rows > 0, value)).alias(p + "max"),
                ]
                continue
            if c["kind"] == "nested":
                continue
            phys = quote_identifier(c["physical"])
            nulls = F.col(f"s.nullCount.{phys}")
            aggs += [
                F.sum(nulls).alias(p + "nulls"),
                F.count(F.when(nulls.isNull(), 1)).alias(p + "no_nulls"),
            ]
            if c["bounded"]:
                lo, hi = F.col(f"s.minValues.{phys}"), F.col(f"s.maxValues.{phys}")
                all_null = nulls.isNotNull() & (nulls == F.col("s.numRecords"))
                aggs += [
                    F.min(lo).alias(p + "min"),
                    F.max(hi).alias(p + "max"),
                    F.count(
                        F.when((lo.isNull() | hi.isNull()) & ~F.coalesce(all_null, F.lit(False)), 1)
                    ).alias(p + "no_bounds"),
                ]
                if c["kind"] == "string":
                    aggs.append(
                        F.count(F.when((F.length(lo) >= prefix) | (F.length(hi) >= prefix), 1)).alias(
                            p + "long"
                        )
                    )
        row = parsed.agg(*aggs).first()  # the same sums as summarise() on the driver
        v = row.asDict() if row is not None else {}
        return _log_stats(table, location, version, columns, partitions, prefix, v, "spark")


def _log_stats(
    table: str,
    location: str,
    version: int,
    columns: list[dict[str, Any]],
    partitions: list[str],
    prefix: int,
    v: Mapping[str, Any],
    reader: str,
) -> LogStats:
    """The :class:`LogStats` of the summed statistics ``v`` (keys as :func:`summarise` names them)."""
    n_files = int(v.get("files") or 0)
    no_stats = int(v.get("no_stats") or 0)
    dv_files = int(v.get("dv_files") or 0)
    loose = max(int(v.get("loose") or 0), dv_files)
    rows_note = f"{no_stats} of {n_files} files have no statistics" if no_stats else None
    out: dict[str, ColumnLogStats] = {}
    for i, c in enumerate(columns):
        out[c["name"]] = _column_stats(c, f"c{i}_", v, partitions, n_files, no_stats, loose, prefix)
    return LogStats(
        table=table,
        available=True,
        location=location,
        version=version,
        files=n_files,
        row_count=None if no_stats else int(v.get("rows") or 0),
        row_count_note=rows_note,
        columns=out,
        reader=reader,
    )


# -- the driver's replay (pure but for read_log_actions) ---------------------------------------


def local_log_folder(location: str, isdir: Any = os.path.isdir) -> str | None:
    """The ``_delta_log`` folder of ``location`` as a path the driver process can open, or None.

    ``file:`` URIs and plain paths map to themselves, ``dbfs:/...`` to the ``/dbfs`` mount when
    it is there; cloud URIs (``s3://``, ``abfss://``, ``gs://``) have no local path.

    Args:
        location: the table's storage location.
        isdir: the folder test (injected by tests).
    """
    text = location.rstrip("/")
    if text.startswith("file:"):
        text = text[len("file:") :]
        if text.startswith("//"):  # file:///tmp/x
            text = text[2:]
    elif text.startswith("dbfs:"):
        if not isdir("/dbfs"):  # the FUSE mount of a Databricks driver
            return None
        text = "/dbfs" + text[len("dbfs:") :]
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text):
        return None
    if not text.startswith("/"):
        return None
    return f"{text}/_delta_log"


def read_log_actions(folder: str, files: LogFiles) -> list[tuple[int, dict[str, Any]]]:
    """Every ``add``, ``remove`` and ``metaData`` action of the replay, with its version.

    The checkpoint's Parquet is read with pyarrow (only its ``add``, ``remove`` and ``metaData``
    columns), each JSON commit line by line.
    """
    out: list[tuple[int, dict[str, Any]]] = []
    if files.checkpoint:
        import pyarrow.parquet as pq

        version = int(files.checkpoint_version or 0)
        for name in files.checkpoint:
            path = os.path.join(folder, name)
            present = set(pq.read_schema(path).names)
            wanted = [k for k in ("add", "remove", "metaData") if k in present]
            table = pq.read_table(path, columns=wanted)
            for kind in wanted:
                column = table.column(kind)
                if column.null_count == len(column):
                    continue
                for item in column.to_pylist():
                    if item is not None:
                        out.append((version, {kind: _maps_as_dicts(item)}))
    for version, name in files.commits:
        with open(os.path.join(folder, name), encoding="utf-8") as fh:
            for line in fh:
                if '"add"' in line or '"remove"' in line or '"metaData"' in line:
                    action = json.loads(line)
                    if "add" in action or "remove" in action or "metaData" in action:
                        out.append((version, action))
    return out


def _maps_as_dicts(item: dict[str, Any]) -> dict[str, Any]:
    """pyarrow gives a Parquet map as a list of pairs: make ``partitionValues`` / ``configuration`` dicts."""
    for key in ("partitionValues", "configuration"):
        value = item.get(key)
        if isinstance(value, list):
            item[key] = dict(value)
    return item


def _dv_key(dv: Mapping[str, Any] | None) -> str:
    """A deletion vector's identity, as the Spark replay builds it (``concat_ws`` skips nulls)."""
    if not dv:
        return ""
    parts = [dv.get("storageType"), dv.get("pathOrInlineDv"), dv.get("offset")]
    return "|".join(str(p) for p in parts if p is not None)


def replay(
    actions: Iterable[tuple[int, Mapping[str, Any]]],
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The newest ``metaData`` and the live ``add`` actions after replaying ``actions`` (pure).

    A file is identified by its path and deletion vector (a DELETE with deletion vectors removes
    ``(path, old DV)`` and adds ``(path, new DV)``); the action of the highest version wins.
    """
    meta: tuple[int, dict[str, Any]] | None = None
    latest: dict[tuple[str, str], tuple[int, dict[str, Any] | None]] = {}
    for version, action in actions:
        if action.get("metaData") is not None and (meta is None or version >= meta[0]):
            meta = (version, dict(action["metaData"]))
        for kind in ("add", "remove"):
            a = action.get(kind)
            if a is None:
                continue
            key = (str(a.get("path")), _dv_key(a.get("deletionVector")))
            seen = latest.get(key)
            if seen is None or version >= seen[0]:
                latest[key] = (version, dict(a) if kind == "add" else None)
    live = [a for _, a in latest.values() if a is not None]
    return (None if meta is None else meta[1]), live


def stats_from_actions(
    table: str, location: str, version: int, meta: Mapping[str, Any], live: list[dict[str, Any]]
) -> LogStats:
    """The :class:`LogStats` of a replayed version on the driver (pure)."""
    schema = json.loads(meta["schemaString"])
    partitions = list(meta.get("partitionColumns") or [])
    config = dict(meta.get("configuration") or {})
    prefix = int(config.get("delta.dataSkippingStringPrefixLength", STRING_PREFIX))
    columns = [_field(f) for f in schema.get("fields", [])]
    v = summarise(live, columns, partitions, prefix)
    return _log_stats(table, location, version, columns, partitions, prefix, v, "driver")


def summarise(
    live: list[dict[str, Any]], columns: list[dict[str, Any]], partitions: list[str], prefix: int
) -> dict[str, Any]:
    """The sums the Spark replay's aggregation computes, over the live ``add`` actions (pure).

    Keys: ``files``, ``no_stats``, ``rows``, ``dv_files``, ``loose``, and per column ``c{i}_``
    ``nulls``, ``no_nulls``, ``min``, ``max``, ``no_bounds``, ``long`` (the Spark query's
    aliases), so both readers share :func:`_column_stats`.
    """
    v: dict[str, Any] = {"files": len(live), "no_stats": 0, "rows": None, "dv_files": 0, "loose": 0}
    parsed = []
    for a in live:
        raw = a.get("stats")
        s = json.loads(raw, parse_float=Decimal) if raw else {}
        dv = a.get("deletionVector") or {}
        card = dv.get("cardinality")
        n = s.get("numRecords")
        if n is None:
            v["no_stats"] += 1
        else:
            v["rows"] = (v["rows"] or 0) + int(n) - int(card or 0)
        if card is not None and int(card) > 0:
            v["dv_files"] += 1
        if s.get("tightBounds") is False:
            v["loose"] += 1
        live_rows = None if n is None else int(n) - int(card or 0)
        parsed.append((s, a.get("partitionValues") or {}, live_rows))
    for i, c in enumerate(columns):
        p = f"c{i}_"
        if c["name"] in partitions:
            nulls, lo, hi = None, None, None
            for _, pv, live_rows in parsed:
                raw = pv.get(c["physical"])
                value = _typed(raw, c) if c["bounded"] else raw
                if live_rows is not None:
                    nulls = (nulls or 0) + (live_rows if raw is None else 0)
                if live_rows is not None and live_rows > 0 and value is not None:
                    lo = value if lo is None or value < lo else lo
                    hi = value if hi is None or value > hi else hi
            v.update({p + "nulls": nulls, p + "min": lo, p + "max": hi})
            continue
        if c["kind"] == "nested":
            continue
        phys = c["physical"]
        total, missing, lo, hi, no_bounds, long = None, 0, None, None, 0, 0
        for s, _, _ in parsed:
            count = (s.get("nullCount") or {}).get(phys)
            count = count if isinstance(count, int) else None  # a nested field's counts are a dict
            if count is None:
                missing += 1
            else:
                total = (total or 0) + count
            if not c["bounded"]:
                continue
            f_lo = _typed((s.get("minValues") or {}).get(phys), c)
            f_hi = _typed((s.get("maxValues") or {}).get(phys), c)
            if f_lo is not None:
                lo = f_lo if lo is None or f_lo < lo else lo
            if f_hi is not None:
                hi = f_hi if hi is None or f_hi > hi else hi
            all_null = count is not None and count == s.get("numRecords")
            if (f_lo is None or f_hi is None) and not all_null:
                no_bounds += 1
            if c["kind"] == "string" and (
                (f_lo is not None and len(f_lo) >= prefix) or (f_hi is not None and len(f_hi) >= prefix)
            ):
                long += 1
        v.update({p + "nulls": total, p + "no_nulls": missing})
        if c["bounded"]:
            v.update({p + "min": lo, p + "max": hi, p + "no_bounds": no_bounds})
            if c["kind"] == "string":
                v[p + "long"] = long
    return v


def _typed(value: Any, c: Mapping[str, Any]) -> Any:
    """A statistic or partition value as Spark's typed parse gives it; None when it does not parse."""
    if value is None:
        return None
    base = c["base"]
    try:
        if base == "string":
            return str(value)
        if value == "":
            return None
        if base in ("tinyint", "smallint", "int", "bigint"):
            return int(value)
        if base in ("float", "double"):
            return float(value)
        if base == "decimal":
            return Decimal(str(value))
        if base == "date":
            return date.fromisoformat(str(value)[:10])
    except (ValueError, TypeError, InvalidOperation):
        return None
    return None


def _field(f: Mapping[str, Any]) -> dict[str, Any]:
    """A schema field of the log's ``metaData``: names, Spark type, and what its stats can give."""
    spark_type = _simple(f["type"])
    dtype = spark_type.simpleString()
    base = dtype.split("(", 1)[0]
    meta = f.get("metadata") or {}
    if base in ("struct", "array", "map"):
        kind = "nested"
    else:
        kind = "string" if base == "string" else ("exact" if base in EXACT_BOUND_TYPES else "other")
    return {
        "name": f["name"],
        "physical": meta.get("delta.columnMapping.physicalName", f["name"]),
        "spark": spark_type,
        "dtype": dtype,
        "kind": kind,
        "bounded": kind in ("string", "exact"),
        "base": base,
    }


def _simple(value: Any) -> Any:
    """A Spark type from the log's JSON schema (a name such as ``decimal(10,2)``, or a struct)."""
    from pyspark.sql.types import _parse_datatype_json_value

    return _parse_datatype_json_value(value)


def _stats_schema(columns: list[dict[str, Any]], partitions: list[str]) -> Any:
    from pyspark.sql.types import LongType, StructField, StructType

    stats_cols = [c for c in columns if c["name"] not in partitions and c["kind"] != "nested"]
    bounded = [c for c in stats_cols if c["bounded"]]
    return StructType(
        [
            StructField("numRecords", LongType()),
            StructField("tightBounds", _bool()),
            StructField(
                "nullCount", StructType([StructField(c["physical"], LongType()) for c in stats_cols])
            ),
            StructField("minValues", StructType([StructField(c["physical"], c["spark"]) for c in bounded])),
            StructField("maxValues", StructType([StructField(c["physical"], c["spark"]) for c in bounded])),
        ]
    )


def _bool() -> Any:
    from pyspark.sql.types import BooleanType

    return BooleanType()


def _column_stats(
    c: dict[str, Any],
    p: str,
    v: Mapping[str, Any],
    partitions: list[str],
    n_files: int,
    no_stats: int,
    loose: int,
    prefix: int,
) -> ColumnLogStats:
    name, dtype = c["name"], c["dtype"]
    if name in partitions:
        lo, hi = _value(v.get(p + "min")), _value(v.get(p + "max"))
        note = None if c["bounded"] else _no_bounds_note(c)
        if no_stats:
            return ColumnLogStats(
                name, dtype, None, f"{no_stats} of {n_files} files have no statistics", lo, hi, note
            )
        return ColumnLogStats(name, dtype, int(v.get(p + "nulls") or 0), None, lo, hi, note)
    if c["kind"] == "nested":
        note = "the log keeps null counts of nested fields, not of the column as a whole"
        return ColumnLogStats(name, dtype, None, note, None, None, note)
    missing = int(v.get(p + "no_nulls") or 0)
    if missing:
        nulls_note = (
            f"{missing} of {n_files} files have no statistics for it (not indexed: past "
            "delta.dataSkippingNumIndexedCols or outside delta.dataSkippingStatsColumns, or written without "
            "statistics)"
        )
    elif loose:
        nulls_note = (
            f"{loose} of {n_files} files have deletion vectors, so their statistics predate the delete"
        )
    else:
        nulls_note = None
    nulls = None if nulls_note else int(v.get(p + "nulls") or 0)
    if not c["bounded"]:
        return ColumnLogStats(name, dtype, nulls, nulls_note, None, None, _no_bounds_note(c))
    bounds_note = nulls_note
    if bounds_note is None and int(v.get(p + "no_bounds") or 0):
        bounds_note = f"{int(v.get(p + 'no_bounds') or 0)} of {n_files} files have no min/max for it"
    if bounds_note is None and int(v.get(p + "long") or 0):
        bounds_note = (
            f"{int(v.get(p + 'long') or 0)} of {n_files} files hold values of {prefix} characters or more, "
            "whose bounds the log keeps as prefixes"
        )
    if bounds_note is not None:
        return ColumnLogStats(name, dtype, nulls, nulls_note, None, None, bounds_note)
    return ColumnLogStats(name, dtype, nulls, None, _value(v.get(p + "min")), _value(v.get(p + "max")), None)


def _no_bounds_note(c: dict[str, Any]) -> str:
    if c["base"] in ("timestamp", "timestamp_ntz"):
        return "the log keeps timestamp bounds truncated to milliseconds"
    if c["base"] == "boolean":
        return "the log keeps no bounds for booleans"
    return f"the log keeps no exact bounds for {c['dtype']}"


def _value(value: Any) -> Any:
    """A bound as a profile keeps it: float for numbers, ISO text for dates, text for strings."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return float(value)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:240] if text else type(exc).__name__
