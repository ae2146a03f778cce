"""Profiles of a table in one Spark aggregation query.

:class:`Profiler` builds every aggregate it needs — the row count, per column
null counts, min / max, mean / stddev of numbers, histogram bin counts over
bins taken from a reference (baseline) profile, counts of the reference's
categories, distinct counts — into ONE Spark query that returns one row,
whatever the size of the table. No data row ever reaches the driver.

How the query is shaped, and why (measured in ``benchmarks/bench_validation.py``):

* the cheap aggregates (counts, ``count_if``, min / max / avg / stddev) are
  all *declarative*, so Spark generates one compiled loop for them
  (whole-stage code generation) and each costs a few nanoseconds a row;
* ``approx_count_distinct`` (HyperLogLog++) and ``percentile_approx`` are
  *imperative* aggregates: one of them in an aggregation switches the whole
  aggregation to the interpreted path, which made a 90-aggregate profile 5x
  slower. They go in a second aggregate of the same query
  (``declarative.crossJoin(imperative)``: still one query, one result row);
* a string or boolean column whose reference profile enumerated every value
  (no ``other``) gets its distinct count exactly, from the per-value counts,
  instead of from HyperLogLog++; when new values appeared since (``other`` is
  not zero) one small extra query counts them approximately;
* histograms and category counts are computed only for the columns that
  need them (``distributions``), distinct counts only where asked
  (``distinct``).

When there is no reference yet (the first profile of a table, or a baseline
that is not stored), the same query also computes approximate deciles of
every numeric column, and one more grouped query over the same data counts
the values per decile bin and the frequencies of the low-cardinality columns
(those whose distinct count is at most ``max_categories``). Those bins and
categories are what later profiles are counted over, so the two sides of a
distribution comparison always use the same bins.

A row count alone of a Delta table without a filter (``columns=[]``) is read
from the Delta log: ``COUNT(*)`` on a Delta table is answered from metadata.
"""

from __future__ import annotations

import itertools
import logging
import re
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import InvalidInputError, NotFoundError
from dbx_ops.names import TableName, parse_table_name, quote_identifier
from dbx_ops.validation.model import Categories, ColumnProfile, Histogram, TableProfile, type_kind

if TYPE_CHECKING:
    from pyspark.sql import Column

logger = logging.getLogger(__name__)

#: log2 of the HyperLogLog sketches' bucket count: fixed, so every stored sketch of a table can be
#: unioned with every other (relative standard error about 1.04 / sqrt(2 ** 12) = 1.6 %).
HLL_LGK = 12

#: The projected column marking the rows of a distribution sample (dropped with the query).
SAMPLED = "__dbx_ops_sampled"

_FORBIDDEN_FILTER = re.compile(r";|--|/\*|\*/|\bselect\b", re.IGNORECASE)


def parse_sample(text: str | None) -> float | int | None:
    """``--sample`` / the ``sample`` job parameter: a fraction in (0, 1), a row count, or empty.

    Raises:
        InvalidInputError: for anything else.
    """
    raw = (text or "").strip()
    if not raw:
        return None
    value: float | int
    try:
        value = float(raw) if any(ch in raw for ch in ".eE") else int(raw.replace("_", ""))
    except ValueError:
        value = -1
    ok = (isinstance(value, float) and 0.0 < value < 1.0) or (isinstance(value, int) and value >= 1)
    if not ok:
        raise InvalidInputError(
            f"sample={raw!r} must be a fraction between 0 and 1 (0.1) or a number of rows (1000000)."
        )
    return value


@dataclass(frozen=True)
class ProfileOptions:
    """How a profile is computed.

    Attributes:
        rsd: maximum relative standard deviation of ``approx_count_distinct`` (Spark's default 0.05).
        bins: number of quantile bins for numeric histograms when no reference gives the edges.
        top_k: most frequent values kept per low-cardinality column.
        max_categories: a string/boolean column with at most this many distinct values gets top-k.
        quantile_accuracy: ``percentile_approx`` accuracy for the bin edges (relative error
            ``1 / accuracy``: 0.1 % of the rank is plenty for decile bins, and it is 1.8x
            cheaper than Spark's default of 10000).
        sample: distributions (histogram bins, category counts, bin edges) from a seeded
            random sample: a fraction in ``(0, 1)`` or a number of rows (an int >= 1); None
            for every row. Row counts, null counts, min / max, sums and distinct counts always
            read every row.
        seed: the sample's random seed.
    """

    rsd: float = 0.05
    bins: int = 10
    top_k: int = 20
    max_categories: int = 100
    quantile_accuracy: int = 1000
    sample: float | int | None = None
    seed: int = 17

    def __post_init__(self) -> None:
        if self.sample is not None:
            ok = (isinstance(self.sample, float) and 0.0 < self.sample < 1.0) or (
                isinstance(self.sample, int) and not isinstance(self.sample, bool) and self.sample >= 1
            )
            if not ok:
                raise InvalidInputError(
                    f"sample must be a fraction between 0 and 1 (0.1) or a number of rows (100000), "
                    f"got {self.sample!r}."
                )
        if not 0.0 < self.rsd <= 0.4:
            raise InvalidInputError(f"rsd must be in (0, 0.4], got {self.rsd!r}.")
        if not 2 <= self.bins <= 100:
            raise InvalidInputError(f"bins must be between 2 and 100, got {self.bins!r}.")
        if self.top_k < 1 or self.max_categories < 1:
            raise InvalidInputError("top_k and max_categories must be at least 1.")


@dataclass(frozen=True)
class DataSource:
    """What to profile: a DataFrame plus where it came from.

    Attributes:
        df: the (already filtered) DataFrame.
        table_name: the table, None for a bare DataFrame.
        delta_version: the Delta version read, when known.
        filter: the ``where`` text applied, None for all rows.
        label: how it was chosen (``current``, ``version:3``, ``snapshot:pre``, ...).
        metadata_count: True when ``df.count()`` is answered from Delta metadata (no filter).
    """

    df: Any
    table_name: str | None
    delta_version: int | None
    filter: str | None
    label: str = "current"
    metadata_count: bool = False


def check_filter(expression: str) -> str:
    """Validate a ``where`` expression given as SQL text before Spark parses it.

    The text becomes one expression through ``F.expr`` on the DataFrame API
    (never pasted into a SQL statement); statements, comments and subqueries
    are refused.

    Raises:
        InvalidInputError: when the text is empty or holds ``;``, a comment or ``SELECT``.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise InvalidInputError("The filter expression is empty.")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in expression):
        raise InvalidInputError("The filter expression has control characters.")
    found = _FORBIDDEN_FILTER.search(expression)
    if found:
        raise InvalidInputError(
            f"The filter {expression!r} holds {found.group(0)!r}: give one boolean expression such as "
            "\"date = current_date() - 1\", without ';', comments or subqueries."
        )
    return expression.strip()


#: Spark's ``format.`path``` prefixes: SQL straight on files, not a table.
FILE_FORMATS = ("parquet", "csv", "json", "orc", "text", "avro", "binaryfile", "xml")


def check_delta_source(name: str | TableName) -> TableName:
    """A table name dbx_ops may profile and store: a catalog table or ``delta.`/path```.

    ``parquet.`/path``` and the other ``format.`path``` forms read files directly; they are refused
    here, before Spark starts (a catalog table that is not Delta is refused when it is read).

    Raises:
        InvalidInputError: for a ``format.`path``` name (and any invalid table name).
    """
    table = parse_table_name(name)
    if not table.is_path and len(table.parts) == 2 and table.parts[0].lower() in FILE_FORMATS:
        raise InvalidInputError(
            f"{table} reads {table.parts[0]} files directly; dbx_ops profiles and stores only Delta tables: "
            "give a catalog table or delta.`/path`, or pass a DataFrame to profile it without storing."
        )
    return table


def _is_analysis_error(exc: Exception) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"AnalysisException", "ParseException", "IllegalArgumentException"})


class Profiler:
    """Profiles tables and DataFrames in one aggregation pass each.

    Args:
        spark: a Spark session (classic or Connect).
        options: profile settings.
        now: the clock stamping ``profiled_at`` (UTC-aware).
    """

    def __init__(self, spark: Any, options: ProfileOptions | None = None, now: Clock = utc_now) -> None:
        self.spark = spark
        self.options = options or ProfileOptions()
        self.now = now
        self._sketches: bool | None = None
        #: asked first for a table's latest version (the Delta log read on the driver: no Spark
        #: job); None, or an answer of None, falls back to ``DESCRIBE HISTORY``
        self.latest_version: Callable[[TableName], int | None] | None = None

    @property
    def sketches(self) -> bool:
        """Whether distinct counts are HyperLogLog sketches that merge (Spark 4), see :func:`has_sketches`."""
        if self._sketches is None:
            self._sketches = has_sketches(self.spark)
        return self._sketches

    # -- sources ---------------------------------------------------------------------------

    def delta_version(self, table: TableName) -> int | None:
        """The latest Delta version of ``table``, or None when it is not a Delta table."""
        if self.latest_version is not None:
            found_on_driver = self.latest_version(table)
            if found_on_driver is not None:
                return found_on_driver
        try:
            # collect() on the command's own result: no further Spark job for a select / first
            found = self.spark.sql(f"DESCRIBE HISTORY {table.sql} LIMIT 1").collect()
        except Exception as exc:
            if _is_analysis_error(exc):
                logger.debug("no Delta history for %s: %s", table, exc)
                return None
            raise
        return int(found[0]["version"]) if found else None

    def source(
        self,
        table_or_df: Any,
        where: str | None = None,
        version: int | None = None,
        label: str = "current",
    ) -> DataSource:
        """Resolve a table name (optionally at a Delta version) or DataFrame, and apply ``where``.

        Raises:
            NotFoundError: when the table does not exist.
            InvalidInputError: when the table is not a Delta table, or the filter is not a valid
                boolean expression on the data.
        """
        if isinstance(table_or_df, str | TableName):
            name = check_delta_source(table_or_df)
            try:
                reader = self.spark.read
                if version is not None:
                    reader = reader.option("versionAsOf", int(version))
                df = reader.table(name.sql)
                df.schema  # noqa: B018 - resolves the table now, so a missing one is reported here
            except Exception as exc:
                if _is_analysis_error(exc):
                    at = f" at version {version}" if version is not None else ""
                    raise NotFoundError(f"Table {name}{at} cannot be read: {_first_line(exc)}") from exc
                raise
            table_name: str | None = str(name)
            delta_version = int(version) if version is not None else self.delta_version(name)
            if delta_version is None:
                raise InvalidInputError(
                    f"Table {name} is not a Delta table; dbx_ops profiles and stores only Delta tables "
                    "(pass a DataFrame to profile other data without storing it)."
                )
        else:
            if not hasattr(table_or_df, "agg") or not hasattr(table_or_df, "schema"):
                raise InvalidInputError(
                    f"Expected a table name or a Spark DataFrame, got {type(table_or_df).__name__}."
                )
            df, table_name, delta_version = table_or_df, None, None
        text = None
        if where is not None:
            text = check_filter(where)
            df = self._filtered(df, text)
        metadata = table_name is not None and text is None and delta_version is not None
        return DataSource(df, table_name, delta_version, text, label, metadata)

    def _filtered(self, df: Any, text: str) -> Any:
        from pyspark.sql import functions as F
        from pyspark.sql.types import BooleanType

        try:
            probe = df.select(F.expr(text).alias("_f")).schema
        except Exception as exc:
            if _is_analysis_error(exc):
                raise InvalidInputError(f"The filter {text!r} is not valid here: {_first_line(exc)}") from exc
            raise
        if not isinstance(probe.fields[0].dataType, BooleanType):
            raise InvalidInputError(f"The filter {text!r} is not a true/false expression.")
        return df.where(F.expr(text))

    # -- profiling -------------------------------------------------------------------------

    def profile(
        self,
        table_or_df: Any,
        columns: Sequence[str] | None = None,
        where: str | None = None,
        reference: TableProfile | None = None,
        distributions: bool = True,
    ) -> TableProfile:
        """Profile a table or DataFrame.

        Args:
            table_or_df: a table name (``schema.table``, ``delta.`/path```) or a DataFrame.
            columns: columns to measure; None for all, ``[]`` for the row count only.
            where: a boolean SQL expression selecting the rows (``date = current_date()``).
            reference: a profile whose histogram edges and top categories are reused, so the
                two can be compared bin by bin (a baseline).
            distributions: compute histograms / top-k for columns the reference does not cover.

        Returns:
            The :class:`TableProfile`.
        """
        return self.profile_source(self.source(table_or_df, where), columns, reference, distributions)

    def profile_source(
        self,
        src: DataSource,
        columns: Sequence[str] | None = None,
        reference: TableProfile | None = None,
        distributions: bool | Collection[str] = True,
        distinct: Collection[str] | None = None,
        stats: Collection[str] | None = None,
    ) -> TableProfile:
        """Profile an already resolved :class:`DataSource` (see :meth:`profile`).

        Args:
            src: the data.
            columns: columns to measure; None for all, ``[]`` for the row count only.
            reference: a baseline profile whose bins and categories are counted.
            distributions: histograms / top-k: True for every column, False for none, or the
                columns that need them.
            distinct: columns that get a distinct count; None for every column.
            stats: columns that get min / max (and mean / stddev for numbers); None for every
                column. Null counts are always measured.
        """
        schema = tuple((f.name, f.dataType.simpleString()) for f in src.df.schema.fields)
        types = dict(schema)
        if columns is None:
            chosen = [n for n, _ in schema]
        else:
            missing = [c for c in columns if c not in types]
            if missing:
                raise InvalidInputError(
                    f"Column(s) {', '.join(repr(c) for c in missing)} are not in "
                    f"{src.table_name or 'the DataFrame'}; it has {', '.join(types)}."
                )
            chosen = list(dict.fromkeys(columns))
        run_id = uuid.uuid4().hex
        profiled_at = self.now()
        if not chosen:
            logger.info("row count of %s (%s)", src.table_name, "metadata" if src.metadata_count else "scan")
            return TableProfile(
                run_id, src.table_name, src.delta_version, src.filter, profiled_at,
                int(src.df.count()), schema, {}, src.label,
            )  # fmt: skip

        from pyspark.sql import functions as F

        declarative: list[Column] = [F.count(F.lit(1)).alias("__rows")]
        imperative: list[tuple[Column, Any, str]] = []
        plans: dict[str, dict[str, Any]] = {}
        wants_any = (
            bool(distributions) if isinstance(distributions, bool) else bool(set(distributions) & set(chosen))
        )
        fraction = self._sample_fraction(src) if wants_any else None
        df = src.df
        flag = None
        if fraction is not None:
            # one seeded draw per row in a projection; every distribution aggregate reads the flag
            df = df.withColumn(SAMPLED, F.rand(self.options.seed) < F.lit(fraction))
            flag = F.col(SAMPLED)
            declarative.append(_count_if(flag).alias("__sampled"))
        for i, name in enumerate(chosen):
            wants_distribution = distributions if isinstance(distributions, bool) else name in distributions
            wants_distinct = distinct is None or name in distinct
            wants_stats = stats is None or name in stats
            ref = reference.column(name) if reference is not None else None
            plan = self._plan(
                i, name, types[name], ref, wants_distribution, wants_distinct, wants_stats, flag
            )
            plans[name] = plan
            declarative += plan["declarative"]
            imperative += plan["imperative"]
        logger.info(
            "profiling %s: %d columns, %d aggregates (%d imperative) in one query",
            src.label, len(chosen), len(declarative) + len(imperative), len(imperative),
        )  # fmt: skip
        query = df.agg(*declarative)
        if imperative:
            # inputs are computed in a compiled projection first (hashing, casts); the imperative
            # aggregates then read plain columns
            inputs = [expr.alias(f"__in{j}") for j, (expr, _, _) in enumerate(imperative)]
            aggs = [make(F.col(f"__in{j}")).alias(alias) for j, (_, make, alias) in enumerate(imperative)]
            second = _with_estimates(df.select(*inputs).agg(*aggs), [a for _, _, a in imperative])
            query = query.crossJoin(second)
        row = query.first()
        values = row.asDict() if row is not None else {}
        rows = int(values.get("__rows") or 0)
        cols = {name: self._column(name, types[name], plan, values, rows) for name, plan in plans.items()}
        unknown = [
            n for n, c in cols.items() if plans[n].get("distinct_from_categories") and c.distinct is None
        ]
        if unknown and rows:
            cols.update(self._approx_distinct(src.df, unknown, cols))
        pending = {name: plan for name, plan in plans.items() if plan.get("needs_distribution")}
        if pending and rows:
            cols.update(self._distributions(df if flag is None else df.where(flag), pending, cols))
        sample = None
        if fraction is not None:
            sample = {
                "fraction": round(fraction, 6),
                "seed": self.options.seed,
                "rows": int(values.get("__sampled") or 0),
                "of_rows": rows,
            }
        return TableProfile(
            run_id, src.table_name, src.delta_version, src.filter, profiled_at,
            rows, schema, {n: c for n, c in cols.items()}, src.label, sample=sample,
        )  # fmt: skip

    def _sample_fraction(self, src: DataSource) -> float | None:
        """The share of rows the distributions are counted over, None for all of them."""
        sample = self.options.sample
        if sample is None:
            return None
        if isinstance(sample, float):
            return sample
        total = int(src.df.count())  # answered from the Delta log for an unfiltered table
        if total <= sample:
            return None  # the table is smaller than the sample: count every row
        return sample / total

    def _plan(
        self,
        i: int,
        name: str,
        dtype: str,
        ref: ColumnProfile | None,
        wants_distribution: bool,
        wants_distinct: bool,
        wants_stats: bool = True,
        sampled: Any = None,
    ) -> dict[str, Any]:
        """The aggregates of one column: ``declarative`` ones and ``imperative`` ones.

        ``sampled`` is the boolean column of the rows in the sample (None: no sampling): the
        histogram and category counts and the bin edges are taken over those rows only.
        """
        from pyspark.sql import functions as F

        def in_sample(cond: Any) -> Any:
            return cond if sampled is None else sampled & cond

        col = F.col(quote_identifier(name))
        kind = type_kind(dtype)
        p = f"c{i}_"
        declarative = [_count_if(col.isNull()).alias(p + "nulls")]
        imperative: list[tuple[Column, Any, str]] = []  # (input, aggregate of it, alias)
        plan: dict[str, Any] = {
            "prefix": p,
            "kind": kind,
            "declarative": declarative,
            "imperative": imperative,
        }
        if kind == "other":
            return plan
        if kind == "numeric":
            num = col.cast("double")
            if wants_stats:
                declarative += [
                    F.min(num).alias(p + "min"),
                    F.max(num).alias(p + "max"),
                    F.avg(num).alias(p + "mean"),
                    F.stddev(num).alias(p + "stddev"),
                    F.sum(num).alias(p + "sum"),
                ]
            if wants_distribution and ref is not None and ref.histogram is not None:
                edges = list(ref.histogram.edges)
                plan["edges"] = edges
                for b, cond in enumerate(_bin_conditions(num, edges)):
                    declarative.append(_count_if(in_sample(cond)).alias(f"{p}bin{b}"))
            elif wants_distribution:  # no bins to reuse: deciles now, counted by the grouped query
                quantiles = [k / self.options.bins for k in range(1, self.options.bins)]
                accuracy = self.options.quantile_accuracy
                source = num if sampled is None else F.when(sampled, num)
                imperative.append(
                    (source, lambda c: F.percentile_approx(c, quantiles, accuracy), p + "quantiles")
                )
                plan["needs_distribution"] = True
        elif kind == "categorical":
            cats = ref.categories if ref is not None and ref.kind == "categorical" else None
            enumerated = (
                sampled is None
                and cats is not None
                and cats.other == 0
                and 0 < len(cats.counts) <= self.options.top_k
            )  # a sampled count may miss a key: the distinct count then comes from every row
            if cats is not None and (wants_distribution or (wants_distinct and enumerated)):
                keys = list(cats.keys)
                plan["keys"] = keys
                text = col.cast("string")
                for k, key in enumerate(keys):
                    declarative.append(_count_if(in_sample(text == F.lit(key))).alias(f"{p}cat{k}"))
                if sampled is not None:
                    declarative.append(_count_if(in_sample(col.isNotNull())).alias(p + "sampled"))
                if wants_distinct and enumerated:
                    plan["distinct_from_categories"] = True
                    wants_distinct = False
            elif wants_distribution and (
                ref is None or ref.distinct is None or ref.distinct <= self.options.max_categories
            ):
                plan["needs_distribution"] = True
                wants_distinct = True  # the distinct count decides whether it gets top-k
        elif kind == "temporal" and wants_stats:
            declarative += [F.min(col).alias(p + "min"), F.max(col).alias(p + "max")]
        if wants_distinct:
            # distinct 64-bit hashes = distinct values (nulls stay null); hashing in the projection
            # is cheaper than HyperLogLog++ hashing typed values itself (measured 1.3x)
            rsd = self.options.rsd
            hashed = F.when(col.isNotNull(), F.xxhash64(col))
            if self.sketches:  # a mergeable sketch; its estimate is the distinct count
                imperative.append((hashed, lambda c: F.hll_sketch_agg(c, HLL_LGK), p + "hll"))
            else:
                imperative.append((hashed, lambda c: F.approx_count_distinct(c, rsd), p + "distinct"))
            plan["distinct"] = True
        return plan

    def _column(
        self, name: str, dtype: str, plan: dict[str, Any], v: dict[str, Any], rows: int
    ) -> ColumnProfile:
        p = plan["prefix"]
        nulls = int(v.get(p + "nulls") or 0)
        kind = plan["kind"]
        base: dict[str, Any] = {"name": name, "dtype": dtype, "null_count": nulls}
        if kind == "other":
            return ColumnProfile(**base)
        if plan.get("distinct"):
            base["distinct"] = int(v.get(p + "distinct") or 0)
            if v.get(p + "hll") is not None:
                base["sketch"] = bytes(v[p + "hll"])
        if kind == "numeric":
            stddev = _float(v.get(p + "stddev"))
            n = rows - nulls
            base.update(
                min=_float(v.get(p + "min")),
                max=_float(v.get(p + "max")),
                mean=_float(v.get(p + "mean")),
                stddev=stddev,
                sum=_float(v.get(p + "sum")),
                m2=(stddev * stddev * (n - 1)) if stddev is not None and n > 1 else (0.0 if n == 1 else None),
            )
            if "edges" in plan:
                bins = tuple(int(v.get(f"{p}bin{b}") or 0) for b in range(len(plan["edges"]) + 1))
                base["histogram"] = Histogram(tuple(plan["edges"]), bins)
            quantiles = v.get(p + "quantiles")
            if quantiles:
                plan["quantile_edges"] = sorted({float(q) for q in quantiles if q is not None})
        elif kind == "categorical" and "keys" in plan:
            counts = [(key, int(v.get(f"{p}cat{k}") or 0)) for k, key in enumerate(plan["keys"])]
            seen = int(v[p + "sampled"] or 0) if p + "sampled" in v else rows - nulls
            other = max(seen - sum(n for _, n in counts), 0)
            base["categories"] = Categories(tuple(counts), other)
            if plan.get("distinct_from_categories") and other == 0:
                base["distinct"] = sum(1 for _, n in counts if n > 0)  # exact: every value is a known key
        elif kind == "temporal":
            lo, hi = v.get(p + "min"), v.get(p + "max")
            base.update(min=_iso(lo), max=_iso(hi), max_epoch=_epoch(hi))
        return ColumnProfile(**base)

    def _approx_distinct(
        self, df: Any, names: list[str], cols: dict[str, ColumnProfile]
    ) -> dict[str, ColumnProfile]:
        """Distinct counts of categorical columns where values outside the reference's appeared."""
        from pyspark.sql import functions as F

        logger.info("new values in %s: counting their distinct values in one more query", ", ".join(names))
        if self.sketches:
            hashed = [
                F.when(F.col(quote_identifier(n)).isNotNull(), F.xxhash64(F.col(quote_identifier(n))))
                for n in names
            ]
            aggs = [F.hll_sketch_agg(h, HLL_LGK).alias(f"d{i}hll") for i, h in enumerate(hashed)]
            row = _with_estimates(df.agg(*aggs), [f"d{i}hll" for i in range(len(names))]).first()
            return {
                n: _replace(cols[n], distinct=int(row[f"d{i}distinct"] or 0), sketch=bytes(row[f"d{i}hll"]))
                for i, n in enumerate(names)
            }
        exprs = [
            F.approx_count_distinct(F.col(quote_identifier(n)), self.options.rsd).alias(f"d{i}")
            for i, n in enumerate(names)
        ]
        row = df.agg(*exprs).first()
        return {n: _replace(cols[n], distinct=int(row[f"d{i}"] or 0)) for i, n in enumerate(names)}

    def _distributions(
        self, df: Any, pending: dict[str, dict[str, Any]], cols: dict[str, ColumnProfile]
    ) -> dict[str, ColumnProfile]:
        """One grouped query: values per decile bin and frequencies of low-cardinality columns."""
        from pyspark.sql import functions as F

        entries = []
        tagged: dict[int, str] = {}
        for idx, (name, plan) in enumerate(pending.items()):
            column = F.col(quote_identifier(name))
            if plan["kind"] == "numeric":
                edges = plan.get("quantile_edges")
                if not edges:
                    continue
                key = _bucket(column.cast("double"), edges).cast("string")
            else:
                measured = cols[name].distinct
                if measured is None or measured > self.options.max_categories:
                    continue
                key = column.cast("string")
            tagged[idx] = name
            entries.append(F.struct(F.lit(idx).alias("c"), key.alias("k")))
        if not entries:
            return {}
        logger.info("counting bins and top values of %d columns in one grouped query", len(entries))
        grouped = (
            df.select(F.explode(F.array(*entries)).alias("e"))
            .where(F.col("e.k").isNotNull())
            .groupBy(F.col("e.c").alias("c"), F.col("e.k").alias("k"))
            .count()
        )
        found: dict[int, list[tuple[str, int]]] = {}
        for r in grouped.collect():  # at most max_categories + bins rows per column
            found.setdefault(int(r["c"]), []).append((str(r["k"]), int(r["count"])))
        out: dict[str, ColumnProfile] = {}
        for idx, name in tagged.items():
            plan, col = pending[name], cols[name]
            pairs = found.get(idx, [])
            if plan["kind"] == "numeric":
                edges = plan["quantile_edges"]
                bins = [0] * (len(edges) + 1)
                for k, n in pairs:
                    bins[int(k)] = n
                out[name] = _replace(col, histogram=Histogram(tuple(edges), tuple(bins)))
            else:
                ranked = sorted(pairs, key=lambda kv: (-kv[1], kv[0]))
                top = tuple(ranked[: self.options.top_k])
                other = sum(n for _, n in ranked[self.options.top_k :])
                out[name] = _replace(col, categories=Categories(top, other))
        return out


def has_sketches(spark: Any) -> bool:
    """Whether this Spark has mergeable HyperLogLog sketches (``hll_sketch_agg``: Spark 4.0+).

    Spark 3.5 has none: profiles there use ``approx_count_distinct``, whose result cannot be merged.
    """
    from pyspark.sql import functions as F

    try:
        major = int(str(spark.version).split(".", 1)[0])
    except (AttributeError, ValueError):
        return False
    return major >= 4 and hasattr(F, "hll_sketch_agg")


def _with_estimates(agg: Any, aliases: list[str]) -> Any:
    """``agg`` plus, for each ``<prefix>hll`` sketch column, its estimate as ``<prefix>distinct``."""
    from pyspark.sql import functions as F

    sketches = [a for a in aliases if a.endswith("hll")]
    if not sketches:
        return agg
    estimates = [F.hll_sketch_estimate(F.col(a)).alias(a[: -len("hll")] + "distinct") for a in sketches]
    return agg.select("*", *estimates)


def _replace(col: ColumnProfile, **changes: Any) -> ColumnProfile:
    import dataclasses

    return dataclasses.replace(col, **changes)


def _count_if(cond: Any) -> Any:
    """Rows where ``cond`` holds: ``count(CASE WHEN cond THEN 1 END)``.

    Measured 1.5x cheaper per row than ``count_if`` (which Spark rewrites to a ``count`` over a
    null-if of the condition) in the compiled aggregation loop.
    """
    from pyspark.sql import functions as F

    return F.count(F.when(cond, F.lit(1)))


def _bin_conditions(num: Any, edges: list[float]) -> list[Any]:
    from pyspark.sql import functions as F

    conds = [num < F.lit(edges[0])]
    conds += [(num >= F.lit(a)) & (num < F.lit(b)) for a, b in itertools.pairwise(edges)]
    conds.append(num >= F.lit(edges[-1]))
    return conds


def _bucket(num: Any, edges: list[float]) -> Any:
    from pyspark.sql import functions as F

    expr = F.when(num.isNull(), F.lit(None))
    for b, edge in enumerate(edges):
        expr = expr.when(num < F.lit(edge), F.lit(b))
    return expr.otherwise(F.lit(len(edges)))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        # pyspark hands timestamps back as naive local wall-clock time; timestamp() reads them so.
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    return None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
