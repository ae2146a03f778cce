"""File statistics from the Delta log: row counts, null counts and exact bounds without a scan.

Every ``add`` action of a Delta table carries its file's statistics (``numRecords``,
``nullCount``, ``minValues``, ``maxValues``) for the indexed columns. :class:`DeltaLogReader`
replays the log with ``spark.read`` (the newest checkpoint's Parquet plus the JSON commits after
it, explicit schemas, the latest action per file), so it runs wherever Spark can read the table,
Spark Connect included, and sums the statistics in ONE aggregation query that returns one row.

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
the caller scans instead.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
        reason: why the log was not read (or a note), None when it was.
        location: the table's storage location.
        version: the Delta version described.
        files: live data files at that version.
        row_count: the exact row count, None when some file has no statistics.
        row_count_note: why ``row_count`` is None.
        columns: per column, what the log knows.
        seconds: how long reading took.
        reader: how the log was read (``spark``).
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
    """Reads file statistics from a Delta table's log through Spark.

    Args:
        spark: a Spark session (classic or Connect) that can read the table's storage.
    """

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self._cache: dict[tuple[str, int], LogStats] = {}

    def read(self, table: str | TableName, version: int | None = None) -> LogStats:
        """The statistics of ``table`` at ``version`` (None: the latest), or why there are none.

        Never raises for a log it cannot read: the returned record's ``available`` is False
        and ``reason`` says why (the caller then scans the data).
        """
        started = time.perf_counter()
        name = parse_table_name(table)
        try:
            location = self._location(name)
        except Exception as exc:
            return LogStats.unavailable(str(name), f"its location is not known ({_first_line(exc)})")
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
        if key in self._cache:
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
        stats = _with_seconds(stats, time.perf_counter() - started)
        self._cache[key] = stats
        logger.info(
            "%s v%s: statistics of %d files read from the Delta log in %.2f s",
            name, target, stats.files, stats.seconds,
        )  # fmt: skip
        return stats

    # -- steps -------------------------------------------------------------------------------

    def _location(self, table: TableName) -> str:
        if table.is_path:
            return str(table.path).rstrip("/")
        row = self.spark.sql(f"DESCRIBE DETAIL {table.sql}").collect()[0]
        fmt = str(row["format"] or "").lower()
        if fmt != "delta":
            raise ValueError(f"{table} is {fmt or 'not'} a Delta table")
        return str(row["location"]).rstrip("/")

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
        row = parsed.agg(*aggs).first()
        v = row.asDict() if row is not None else {}
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
        )


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


def _with_seconds(stats: LogStats, seconds: float) -> LogStats:
    import dataclasses

    return dataclasses.replace(stats, seconds=seconds)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:240] if text else type(exc).__name__
