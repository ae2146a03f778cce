"""Incremental profiles: profile(v_new) = merge(profile(v_old), profile(rows appended since)).

A stored profile is mergeable state: per column the row and null counts, the sum and the sum
of squared deviations (``m2``) of numbers, min / max, the HyperLogLog sketch of the distinct
values (Spark 4, fixed lgK), histogram counts over the stored bins and counts of the stored
categories, with the Delta version it describes. When every commit since that version only
appended rows, the new rows are profiled over the stored bins and categories (ONE aggregation
query over the added files only) and the two profiles are merged here, in plain Python (the
sketches are unioned in one tiny query that reads no table).

Since a stored version N, the table changed only by appends when no later commit holds a
``remove`` action with ``dataChange = true`` (a DELETE, UPDATE, MERGE or overwrite; a
deletion-vector DELETE too, which removes no file but re-adds it with its vector) and the
schema is the stored one. OPTIMIZE (``dataChange = false``) and property changes are harmless.
Anything else — a log that no longer holds commit N + 1 (cleaned up), a log that cannot be
read (a Unity Catalog table whose ``_delta_log`` the job may not open), a filtered profile, a
stored profile without the state a metric needs (no sketch on Spark 3.5, no histogram) — makes
the profile a full scan, and :attr:`TableProfile.method_note` says why.

The new rows are read from the data files the append commits added (their Parquet files, with
the table's schema; for a column-mapped table through Delta at the version the files were
live). ``skipChangeCommits`` is never used: it silently skips deletes.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from dbx_ops.errors import DbxOpsError
from dbx_ops.names import TableName
from dbx_ops.validation.model import Categories, ColumnProfile, Histogram, TableProfile
from dbx_ops.validation.profile import DataSource, Profiler

logger = logging.getLogger(__name__)

#: The parts of Delta log actions the append-only check reads (explicit: no schema inference).
_LOG_SCHEMA = (
    "add struct<path: string, dataChange: boolean, deletionVector: struct<storageType: string>>, "
    "remove struct<path: string, dataChange: boolean>, "
    "metaData struct<schemaString: string>, "
    "commitInfo struct<operation: string>"
)


class CannotMerge(DbxOpsError):
    """Two profiles cannot be merged; the message says why (the caller profiles in full)."""


#: Unions HyperLogLog sketches: ``{column: [sketch, ...]}`` -> ``{column: (sketch, estimate)}``.
SketchUnion = Callable[[Mapping[str, Sequence[bytes]]], Mapping[str, tuple[bytes, int]]]


# -- merging (pure but for the sketch union handed in) --------------------------------------------


def merge_profiles(
    old: TableProfile,
    new: TableProfile,
    union: SketchUnion | None = None,
    delta_version: int | None = None,
) -> TableProfile:
    """The profile of the rows of ``old`` and ``new`` together.

    ``new`` must have been counted over ``old``'s bins and categories (``reference=old``).
    Counts, null counts, sums, histogram and category counts add up exactly; mean and standard
    deviation come from the merged ``n`` / ``sum`` / ``m2`` (Chan et al.); distinct counts from
    the union of the two sketches.

    Args:
        old: the stored profile (the state).
        new: the profile of the rows added since.
        union: unions sketches (see :class:`IncrementalProfiler`); None when no sketch is needed.
        delta_version: the version the merged profile describes (default ``new``'s).

    Raises:
        CannotMerge: when a column lacks the state to merge (the message says which and why).
    """
    if tuple(old.schema) != tuple(new.schema):
        raise CannotMerge("the schema changed since the stored profile")
    missing = [n for n in new.columns if n not in old.columns]
    if missing:
        raise CannotMerge(f"the stored profile did not measure {', '.join(missing)}")
    pending: dict[str, list[bytes]] = {}
    merged: dict[str, ColumnProfile] = {}
    for name, b in new.columns.items():
        a = old.columns[name]
        merged[name], sketches = _merge_column(a, b, old.row_count, new.row_count)
        if sketches:
            pending[name] = sketches
    if pending:
        if union is None:
            raise CannotMerge("distinct counts need their sketches unioned")
        for name, (sketch, estimate) in union(pending).items():
            merged[name] = dataclasses.replace(merged[name], sketch=sketch, distinct=int(estimate))
    return dataclasses.replace(
        new,
        run_id=new.run_id,
        row_count=old.row_count + new.row_count,
        columns=merged,
        delta_version=new.delta_version if delta_version is None else delta_version,
    )


def _merge_column(
    a: ColumnProfile, b: ColumnProfile, rows_a: int, rows_b: int
) -> tuple[ColumnProfile, list[bytes]]:
    """One merged column, and the sketches still to union (the result is ``b``'s shape)."""
    if a.dtype != b.dtype:
        raise CannotMerge(f"column {a.name!r} changed type from {a.dtype} to {b.dtype}")
    n_a, n_b = rows_a - a.null_count, rows_b - b.null_count
    out: dict[str, Any] = {"null_count": a.null_count + b.null_count}
    sketches: list[bytes] = []
    if n_b == 0:  # nothing new to count: the stored measures stand
        out.update(
            {
                k: getattr(a, k)
                for k in ("distinct", "sketch", "min", "max", "max_epoch", "mean", "stddev", "sum", "m2")
            }
        )
    elif b.distinct is not None:
        if n_a == 0:
            out["distinct"], out["sketch"] = b.distinct, b.sketch
        elif a.sketch is not None and b.sketch is not None:
            sketches = [a.sketch, b.sketch]
        elif not _enumerated(a, b):
            raise CannotMerge(
                f"the distinct count of {a.name!r} has no mergeable sketch "
                "(Spark 3.5 has no HyperLogLog sketch functions, or the stored profile predates them)"
            )
    measured = b.min is not None or b.mean is not None  # the new side measured min / max / mean
    if n_b and measured and a.kind == "numeric":
        out.update(_merge_moments(a, b, n_a, n_b))
    elif n_b and measured and a.kind == "temporal":
        out["min"] = _pick(a.min, b.min, min)
        out["max"] = _pick(a.max, b.max, max)
        out["max_epoch"] = _pick(a.max_epoch, b.max_epoch, max)
    if b.histogram is not None:
        if a.histogram is None or a.histogram.edges != b.histogram.edges:
            raise CannotMerge(f"the histogram of {a.name!r} was not counted over the stored bins")
        counts = tuple(x + y for x, y in zip(a.histogram.counts, b.histogram.counts, strict=True))
        out["histogram"] = Histogram(a.histogram.edges, counts)
    if b.categories is not None:
        if a.categories is None or b.categories.keys != a.categories.keys:
            raise CannotMerge(f"the categories of {a.name!r} were not counted over the stored ones")
        counts_b = dict(b.categories.counts)
        cats = Categories(
            tuple((k, n + counts_b[k]) for k, n in a.categories.counts),
            a.categories.other + b.categories.other,
        )
        out["categories"] = cats
        if n_a and n_b and b.distinct is not None and not sketches and _enumerated(a, b):
            out["distinct"] = sum(1 for _, n in cats.counts if n > 0)  # exact: every value is a key
    return dataclasses.replace(b, **out), sketches


def _enumerated(a: ColumnProfile, b: ColumnProfile) -> bool:
    """Both sides counted every value as one of the stored categories (distinct is exact)."""
    return (
        a.categories is not None
        and b.categories is not None
        and a.categories.other == 0
        and b.categories.other == 0
    )


def _pick(x: Any, y: Any, choose: Callable[[Any, Any], Any]) -> Any:
    if x is None:
        return y
    if y is None:
        return x
    return choose(x, y)


def _merge_moments(a: ColumnProfile, b: ColumnProfile, n_a: int, n_b: int) -> dict[str, Any]:
    """min, max, sum, mean, m2 and stddev of two numeric sides (Chan et al.'s parallel variance)."""
    out: dict[str, Any] = {"min": _pick(a.min, b.min, min), "max": _pick(a.max, b.max, max)}
    if n_a == 0:
        return {**out, "sum": b.sum, "mean": b.mean, "m2": b.m2, "stddev": b.stddev}
    if a.mean is None and b.mean is None:
        return out  # stats were not measured on either side
    if None in (a.sum, a.m2, a.mean, b.sum, b.m2, b.mean):
        raise CannotMerge(f"the stored profile of {a.name!r} has no sum / m2 to merge")
    assert a.sum is not None and b.sum is not None and a.m2 is not None and b.m2 is not None
    n = n_a + n_b
    total = a.sum + b.sum
    delta = float(b.mean) - float(a.mean)  # type: ignore[arg-type]
    m2 = a.m2 + b.m2 + delta * delta * n_a * n_b / n
    stddev = math.sqrt(max(m2, 0.0) / (n - 1)) if n > 1 else None
    return {**out, "sum": total, "mean": total / n, "m2": m2, "stddev": stddev}


def mergeable(
    state: TableProfile,
    columns: Collection[str] | None,
    distributions: bool | Collection[str],
    distinct: Collection[str] | None,
    stats: Collection[str] | None,
) -> str | None:
    """Why ``state`` cannot be the base of an incremental profile of ``columns``, or None when it can.

    Checked before any data is read, so a profile that has to be full costs no wasted query.
    """
    if state.filter is not None:
        return "a filtered profile is taken in full (the filter may select other rows as time passes)"
    if state.sample is not None:
        return "the stored profile sampled its distributions"
    names = list(state.columns) if columns is None else list(columns)
    for name in names:
        c = state.columns.get(name)
        if c is None:
            return f"the stored profile did not measure {name!r}"
        wants_dist = distributions if isinstance(distributions, bool) else name in distributions
        if wants_dist and c.kind == "numeric" and c.histogram is None and state.row_count > c.null_count:
            return f"the stored profile has no histogram of {name!r}"
        wants_stats = stats is None or name in stats
        if wants_stats and c.kind == "numeric" and c.mean is not None and c.m2 is None:
            return f"the stored profile of {name!r} has no sum / m2 to merge (profiled by an older version)"
        wants_distinct = distinct is None or name in distinct
        enumerated = c.categories is not None and c.categories.other == 0
        if wants_distinct and c.distinct is not None and c.sketch is None and not enumerated:
            return (
                f"the distinct count of {name!r} has no mergeable sketch (Spark 3.5 has no "
                "HyperLogLog sketch functions, or the stored profile predates them)"
            )
    return None


# -- what changed since the stored version -------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    """What the Delta log says happened between a stored version and now.

    Attributes:
        since: the stored version N.
        until: the current version.
        append_only: True when every commit after N only added rows.
        reason: why not, when ``append_only`` is False.
        files: the data files appended since N, each with the version it is live at (a file
            that OPTIMIZE compacted later is read where it still was).
        column_mapping: the table maps column names to physical names (its files are read
            through Delta, not as bare Parquet).
    """

    since: int
    until: int
    append_only: bool
    reason: str | None = None
    files: tuple[tuple[str, int], ...] = ()
    column_mapping: bool = False
    location: str = ""


def changes_since(spark: Any, table: TableName, since: int, until: int) -> Changes:
    """Read the commits ``since + 1 .. until`` of ``table`` and decide whether they only appended.

    Never raises for an unreadable log: the answer is then ``append_only=False`` with the reason.
    """
    if until < since:
        return Changes(since, until, False, f"the table is at version {until}, before the stored {since}")
    if until == since:
        return Changes(since, until, True)
    try:
        detail = spark.sql(f"DESCRIBE DETAIL {table.sql}").collect()[0]
        location = str(detail["location"]).rstrip("/")
        properties = dict(detail["properties"] or {})
    except Exception as exc:  # any failure means: profile in full, saying why
        return Changes(since, until, False, f"the table's location could not be read ({_short(exc)})")
    mapping = str(properties.get("delta.columnMapping.mode", "none")).lower() not in ("none", "")
    paths = [f"{location}/_delta_log/{v:020d}.json" for v in range(since + 1, until + 1)]
    try:
        from pyspark.sql import functions as F

        actions = (
            spark.read.schema(_LOG_SCHEMA)
            .json(paths)
            .select(F.col("_metadata.file_name").alias("file"), "add", "remove", "metaData", "commitInfo")
            .where("add IS NOT NULL OR remove IS NOT NULL OR metaData IS NOT NULL OR commitInfo IS NOT NULL")
            .collect()
        )
    except Exception as exc:
        return Changes(
            since, until, False,
            f"the Delta log since version {since} could not be read: it may have been cleaned up, "
            f"or this job may not read the table's _delta_log ({_short(exc)})",
        )  # fmt: skip
    operations: dict[int, str] = {}
    added: dict[str, int] = {}
    compacted: dict[str, int] = {}
    seen: set[int] = set()
    for r in actions:
        version = int(str(r["file"]).split(".", 1)[0])
        seen.add(version)
        if r["commitInfo"] is not None and r["commitInfo"]["operation"]:
            operations[version] = str(r["commitInfo"]["operation"])
        rm = r["remove"]
        if rm is not None:
            if rm["dataChange"] is not False:
                what = operations.get(version) or _operation(actions, version)
                return Changes(
                    since, until, False,
                    f"commit {version} ({what}) removed or rewrote rows since the stored version {since}",
                )  # fmt: skip
            compacted[rm["path"]] = version
        add = r["add"]
        if add is not None and add["dataChange"] is not False:
            if add["deletionVector"] is not None:
                what = operations.get(version) or _operation(actions, version)
                return Changes(
                    since, until, False,
                    f"commit {version} ({what}) marked rows deleted in place (a deletion vector) since "
                    f"the stored version {since}",
                )  # fmt: skip
            added[add["path"]] = version
    missing = sorted(set(range(since + 1, until + 1)) - seen)
    if missing:
        return Changes(since, until, False, f"the Delta log has no commit {missing[0]} any more")
    files = tuple(
        (_absolute(location, path), compacted[path] - 1 if path in compacted else until) for path in added
    )
    return Changes(since, until, True, None, files, mapping, location)


def _operation(actions: Sequence[Any], version: int) -> str:
    for r in actions:
        if int(str(r["file"]).split(".", 1)[0]) == version and r["commitInfo"] is not None:
            return str(r["commitInfo"]["operation"] or "a change")
    return "a change"


def _absolute(location: str, path: str) -> str:
    text = unquote(path)
    if "://" in text or text.startswith("/"):
        return text
    return f"{location}/{text}"


def _short(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0][:200] if lines else type(exc).__name__).rstrip(".")


# -- the incremental profiler ---------------------------------------------------------------------


class IncrementalProfiler:
    """Profiles only the rows appended since a stored profile, and merges.

    Args:
        profiler: profiles the new rows (its Spark session and options).
    """

    def __init__(self, profiler: Profiler) -> None:
        self.profiler = profiler
        self.spark = profiler.spark

    def profile(
        self,
        src: DataSource,
        state: TableProfile,
        columns: Sequence[str] | None = None,
        distributions: bool | Collection[str] = True,
        distinct: Collection[str] | None = None,
        stats: Collection[str] | None = None,
    ) -> TableProfile:
        """An incremental profile of ``src`` on top of ``state``, or a full one saying why not.

        Args:
            src: the current table (no filter), as :meth:`Profiler.source` resolved it.
            state: the stored profile of the same table (the merge base and the reference).
            columns, distributions, distinct, stats: as for :meth:`Profiler.profile_source`.
        """
        if columns is None:
            columns = [f.name for f in src.df.schema.fields]
        why = self._why_full(src, state, columns, distributions, distinct, stats)
        if why is None:
            assert src.table_name is not None and src.delta_version is not None
            assert state.delta_version is not None
            from dbx_ops.names import parse_table_name

            table = parse_table_name(src.table_name)
            changes = changes_since(self.spark, table, state.delta_version, src.delta_version)
            if changes.append_only:
                try:
                    return self._merged(src, state, table, changes, columns, distributions, distinct, stats)
                except CannotMerge as exc:
                    why = str(exc)
            else:
                why = changes.reason
        logger.info("full profile of %s: %s", src.table_name, why)
        full = self.profiler.profile_source(src, columns, state, distributions, distinct, stats)
        return dataclasses.replace(full, method_note=f"full scan: {why}")

    def _why_full(
        self,
        src: DataSource,
        state: TableProfile,
        columns: Sequence[str] | None,
        distributions: bool | Collection[str],
        distinct: Collection[str] | None,
        stats: Collection[str] | None,
    ) -> str | None:
        if src.table_name is None or src.delta_version is None:
            return "a DataFrame has no Delta log to read"
        if src.filter is not None:
            return "a filtered profile is taken in full (the filter may select other rows as time passes)"
        if state.table_name != src.table_name or state.delta_version is None:
            return "no stored profile of this table with its Delta version"
        if self.profiler.options.sample is not None:
            return "distributions are sampled"
        schema = tuple((f.name, f.dataType.simpleString()) for f in src.df.schema.fields)
        if schema != tuple(state.schema):
            return f"the schema changed since the stored version {state.delta_version}"
        return mergeable(state, columns, distributions, distinct, stats)

    def _merged(
        self,
        src: DataSource,
        state: TableProfile,
        table: TableName,
        changes: Changes,
        columns: Sequence[str] | None,
        distributions: bool | Collection[str],
        distinct: Collection[str] | None,
        stats: Collection[str] | None,
    ) -> TableProfile:
        chosen = list(state.columns) if columns is None else list(columns)
        new_rows = self._new_rows(src, table, changes)
        label = f"appended since v{changes.since}"
        part = DataSource(new_rows, src.table_name, src.delta_version, None, src.label, False)
        if new_rows is None:  # nothing appended: the stored state is the answer
            fresh = dataclasses.replace(
                state,
                run_id=uuid.uuid4().hex,
                profiled_at=self.profiler.now(),
                columns={n: state.columns[n] for n in chosen},
                row_count=0,
            )
            fresh = dataclasses.replace(fresh, columns=_empty_columns(fresh.columns))
        else:
            fresh = self.profiler.profile_source(part, chosen, state, distributions, distinct, stats)
        base = dataclasses.replace(state, columns={n: state.columns[n] for n in chosen})
        merged = merge_profiles(base, fresh, self._union, src.delta_version)
        note = (
            f"incremental: the stored profile of v{changes.since} ({state.run_id}) merged with "
            f"{fresh.row_count} row(s) {label} (v{changes.since + 1}-v{changes.until}, "
            f"{len(changes.files)} file(s))"
            if changes.until > changes.since
            else f"incremental: the table is still at the stored version v{changes.since}"
        )
        logger.info("%s", note)
        return dataclasses.replace(
            merged, method="incremental", method_note=note, source=src.label, schema=state.schema
        )

    def _new_rows(self, src: DataSource, table: TableName, changes: Changes) -> Any:
        """A DataFrame of the rows appended since the stored version (None when there are none)."""
        if not changes.files:
            return None
        from pyspark.sql import functions as F

        schema = src.df.schema
        if not changes.column_mapping:
            base = changes.location
            df = (
                self.spark.read.schema(schema)
                .option("basePath", base)
                .parquet(*[p for p, _ in changes.files])
            )
            return df.select(*[F.col(f"`{f.name}`") for f in schema.fields])
        by_version: dict[int, list[str]] = {}
        for path, version in changes.files:
            by_version.setdefault(version, []).append(path.rsplit("/", 1)[-1])
        parts = [
            self.spark.read.option("versionAsOf", v)
            .table(table.sql)
            .where(F.col("_metadata.file_name").isin(*names))
            for v, names in sorted(by_version.items())
        ]
        out = parts[0]
        for p in parts[1:]:
            out = out.unionByName(p)
        return out

    def _union(self, sketches: Mapping[str, Sequence[bytes]]) -> dict[str, tuple[bytes, int]]:
        """Union each column's sketches and estimate them: one query that reads no table."""
        from pyspark.sql import functions as F

        names = list(sketches)
        exprs = []
        for i, name in enumerate(names):
            parts = [F.lit(bytearray(b)) for b in sketches[name]]
            unioned = parts[0]
            for nxt in parts[1:]:
                unioned = F.hll_union(unioned, nxt)
            exprs += [unioned.alias(f"s{i}"), F.hll_sketch_estimate(unioned).alias(f"e{i}")]
        row = self.spark.range(1).select(*exprs).first()
        return {name: (bytes(row[f"s{i}"]), int(row[f"e{i}"])) for i, name in enumerate(names)}


def _empty_columns(columns: Mapping[str, ColumnProfile]) -> dict[str, ColumnProfile]:
    """The columns of zero rows, counted over the same bins and categories (merge identity)."""
    out = {}
    for name, c in columns.items():
        hist = (
            None
            if c.histogram is None
            else Histogram(c.histogram.edges, tuple(0 for _ in c.histogram.counts))
        )
        cats = None if c.categories is None else Categories(tuple((k, 0) for k in c.categories.keys), 0)
        out[name] = ColumnProfile(name, c.dtype, 0, histogram=hist, categories=cats)
    return out
