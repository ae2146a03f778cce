"""The metrics store: every profile appended to the Delta state table ``metrics``.

One row per (run, column, metric)::

    run_id STRING, table_name STRING, delta_version BIGINT, filter STRING,
    profiled_at TIMESTAMP, source STRING, column_name STRING, metric STRING,
    bucket STRING, value DOUBLE, text STRING

Table-level metrics (``row_count``) have ``column_name`` NULL; so has the one
``profile`` row of each run, whose ``text`` is the whole profile as JSON and
whose ``bucket`` lists the columns measured (a JSON array): a later run reads
its baseline back with one small query on those rows. Histogram bins
are ``bin_edge`` / ``bin_count`` rows whose ``bucket`` is the bin number
(``000``, ``001``...); top-k frequencies are ``top_count`` rows whose
``bucket`` is the value, with ``other_count`` for the rest. Text-valued
metrics (a column's type, the min / max of dates and strings) go in ``text``.
So history is plain SQL::

    SELECT profiled_at, value FROM dbx_ops.metrics
    WHERE table_name = 'sales.orders' AND column_name = 'amount' AND metric = 'null_rate'
    ORDER BY profiled_at

and a later run reads a stored profile back as its baseline (``previous``)
without rescanning the table. Validation verdicts go to ``validation_results``.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dbx_ops.errors import NotFoundError
from dbx_ops.state import StateStore
from dbx_ops.validation.model import Categories, ColumnProfile, Histogram, TableProfile

logger = logging.getLogger(__name__)

METRICS_TABLE = "metrics"
RESULTS_TABLE = "validation_results"

METRICS_DDL = (
    "run_id STRING, table_name STRING, delta_version BIGINT, filter STRING, profiled_at TIMESTAMP, "
    "source STRING, column_name STRING, metric STRING, bucket STRING, value DOUBLE, text STRING"
)
RESULTS_DDL = (
    "run_id STRING, table_name STRING, validated_at TIMESTAMP, rule STRING, rule_type STRING, "
    "column_name STRING, severity STRING, passed BOOLEAN, observed STRING, expected STRING, "
    "message STRING, baseline STRING, baseline_run_id STRING"
)


#: Optional per-column measures stored by name in the profile JSON.
_MEASURES = ("distinct", "min", "max", "max_epoch", "mean", "stddev", "sum", "m2")


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def profile_to_rows(profile: TableProfile) -> list[dict[str, Any]]:
    """The metrics-table rows of one profile (pure; see the module docstring for the layout)."""
    head = {
        "run_id": profile.run_id,
        "table_name": profile.table_name,
        "delta_version": profile.delta_version,
        "filter": profile.filter,
        "profiled_at": profile.profiled_at,
        "source": profile.source,
    }
    rows: list[dict[str, Any]] = []

    def add(column: str | None, metric: str, value: Any = None, text: str | None = None, bucket: Any = None):
        rows.append(
            {
                **head,
                "column_name": column,
                "metric": metric,
                "bucket": None if bucket is None else str(bucket),
                "value": _num(value),
                "text": text,
            }
        )

    add(None, "row_count", profile.row_count)
    add(None, "profile", len(profile.columns), profile_to_json(profile), json.dumps(sorted(profile.columns)))
    for position, (name, dtype) in enumerate(profile.schema):
        add(name, "dtype", position, dtype)
    n = profile.row_count
    for c in profile.columns.values():
        add(c.name, "null_count", c.null_count)
        add(c.name, "null_rate", (c.null_count / n) if n else 0.0)
        if c.distinct is not None:
            add(c.name, "distinct_approx", c.distinct)
        for metric in ("min", "max"):
            value = getattr(c, metric)
            if value is None:
                continue
            if isinstance(value, int | float):
                add(c.name, metric, value)
            else:
                add(c.name, metric, c.max_epoch if metric == "max" else None, str(value))
        if c.mean is not None:
            add(c.name, "mean", c.mean)
        if c.stddev is not None:
            add(c.name, "stddev", c.stddev)
        if c.sum is not None:
            add(c.name, "sum", c.sum)
        if c.histogram is not None:
            for b, edge in enumerate(c.histogram.edges):
                add(c.name, "bin_edge", edge, bucket=f"{b:03d}")
            for b, count in enumerate(c.histogram.counts):
                add(c.name, "bin_count", count, bucket=f"{b:03d}")
        if c.categories is not None:
            for rank, (key, count) in enumerate(c.categories.counts):
                add(c.name, "top_count", count, text=f"{rank:04d}", bucket=key)
            add(c.name, "other_count", c.categories.other)
    return rows


def profile_to_json(profile: TableProfile) -> str:
    """The whole profile as compact JSON (the ``text`` of its ``profile`` row; pure)."""
    cols = []
    for c in profile.columns.values():
        item: dict[str, Any] = {"name": c.name, "dtype": c.dtype, "nulls": c.null_count}
        for key in _MEASURES:
            if getattr(c, key) is not None:
                item[key] = getattr(c, key)
        if c.histogram is not None:
            item["edges"], item["bins"] = list(c.histogram.edges), list(c.histogram.counts)
        if c.categories is not None:
            item["top"], item["other"] = [list(kv) for kv in c.categories.counts], c.categories.other
        if c.sketch is not None:
            item["hll"] = base64.b64encode(c.sketch).decode("ascii")
        cols.append(item)
    return json.dumps(
        {
            "run_id": profile.run_id,
            "table_name": profile.table_name,
            "delta_version": profile.delta_version,
            "filter": profile.filter,
            "profiled_at": profile.profiled_at.isoformat(),
            "row_count": profile.row_count,
            "schema": [list(pair) for pair in profile.schema],
            "source": profile.source,
            "method": profile.method,
            "method_note": profile.method_note,
            "sample": None if profile.sample is None else dict(profile.sample),
            "columns": cols,
        },
        separators=(",", ":"),
        allow_nan=True,
    )


def _column(
    name: str,
    dtype: str,
    nulls: int,
    d: dict[str, Any],
    hist: Histogram | None,
    cats: Categories | None,
    sketch: bytes | None = None,
) -> ColumnProfile:
    """One column profile from its stored measures (``distinct``, ``min``, ``max``... in ``d``)."""
    return ColumnProfile(
        name=name,
        dtype=dtype,
        null_count=nulls,
        histogram=hist,
        categories=cats,
        sketch=sketch,
        **{key: d.get(key) for key in _MEASURES},
    )


def profile_from_json(text: str) -> TableProfile:
    """Rebuild a :class:`TableProfile` from :func:`profile_to_json` (pure)."""
    d = json.loads(text)
    columns: dict[str, ColumnProfile] = {}
    for c in d["columns"]:
        hist = Histogram(tuple(c["edges"]), tuple(c["bins"])) if "bins" in c else None
        cats = Categories(tuple((k, int(n)) for k, n in c["top"]), int(c["other"])) if "top" in c else None
        sketch = base64.b64decode(c["hll"]) if "hll" in c else None
        columns[c["name"]] = _column(c["name"], c["dtype"], int(c["nulls"]), c, hist, cats, sketch)
    return TableProfile(
        run_id=d["run_id"],
        table_name=d["table_name"],
        delta_version=d["delta_version"],
        filter=d["filter"],
        profiled_at=datetime.fromisoformat(d["profiled_at"]),
        row_count=int(d["row_count"]),
        schema=tuple((name, dtype) for name, dtype in d["schema"]),
        columns=columns,
        source=d.get("source") or "current",
        method=d.get("method") or "full",
        method_note=d.get("method_note"),
        sample=d.get("sample"),
    )


def profile_from_rows(rows: Iterable[Any]) -> TableProfile:
    """Rebuild a :class:`TableProfile` from its metrics-table rows (pure).

    Raises:
        NotFoundError: when there are no rows.
    """
    items = [r if isinstance(r, dict) else r.asDict() for r in rows]
    if not items:
        raise NotFoundError("No stored metrics for that profile.")
    head = items[0]
    schema: list[tuple[int, str, str]] = []
    per_col: dict[str, dict[str, Any]] = {}
    row_count = 0
    for r in items:
        col, metric = r["column_name"], r["metric"]
        if col is None:
            if metric == "row_count":
                row_count = int(r["value"] or 0)
            continue
        if metric == "dtype":
            schema.append((int(r["value"] or 0), col, r["text"]))
            continue
        d = per_col.setdefault(col, {"edges": {}, "bins": {}, "top": []})
        if metric == "bin_edge":
            d["edges"][r["bucket"]] = float(r["value"])
        elif metric == "bin_count":
            d["bins"][r["bucket"]] = int(r["value"])
        elif metric == "top_count":
            d["top"].append((r["text"] or "", r["bucket"], int(r["value"])))
        elif metric in ("min", "max"):
            d[metric] = r["text"] if r["text"] is not None else r["value"]
            if metric == "max" and r["text"] is not None:
                d["max_epoch"] = r["value"]
        else:
            d[metric] = r["value"]
    types = {name: dtype for _, name, dtype in schema}
    columns: dict[str, ColumnProfile] = {}
    for name, d in per_col.items():
        hist = None
        if d["bins"]:
            edges = tuple(d["edges"][k] for k in sorted(d["edges"]))
            hist = Histogram(edges, tuple(d["bins"][k] for k in sorted(d["bins"])))
        cats = None
        if d["top"] or "other_count" in d:
            top = tuple((key, n) for _, key, n in sorted(d["top"]))
            cats = Categories(top, int(d.get("other_count") or 0))
        d["distinct"] = None if d.get("distinct_approx") is None else int(d["distinct_approx"])
        columns[name] = _column(
            name, types.get(name, "unknown"), int(d.get("null_count") or 0), d, hist, cats
        )
    at = head["profiled_at"]
    if isinstance(at, datetime) and at.tzinfo is None:
        at = at.astimezone(UTC)
    return TableProfile(
        run_id=head["run_id"],
        table_name=head["table_name"],
        delta_version=None if head["delta_version"] is None else int(head["delta_version"]),
        filter=head["filter"],
        profiled_at=at,
        row_count=row_count,
        schema=tuple((name, dtype) for _, name, dtype in sorted(schema)),
        columns=columns,
        source=head.get("source") or "current",
    )


@dataclass(frozen=True)
class MetricsStore:
    """Appends profiles and validation verdicts to Delta and reads them back.

    Args:
        state: the state store holding the ``metrics`` and ``validation_results`` tables.
    """

    state: StateStore

    @classmethod
    def from_env(cls, spark: Any) -> MetricsStore:
        """A store on the state schema ``DBX_OPS_SCHEMA`` names."""
        return cls(StateStore.from_env(spark))

    def save(self, *profiles: TableProfile) -> int:
        """Append profiles in one Delta commit; returns the number of metric rows written."""
        rows = [row for p in profiles for row in profile_to_rows(p)]
        for p in profiles:
            logger.info("storing the metrics of %s (run %s)", p.describe(), p.run_id)
        return self.state.append(METRICS_TABLE, rows, METRICS_DDL)

    def save_results(self, rows: list[dict[str, Any]]) -> int:
        """Append validation verdict rows (see ``RESULTS_DDL``)."""
        return self.state.append(RESULTS_TABLE, rows, RESULTS_DDL)

    def history(self) -> Any:
        """The whole metrics table as a DataFrame (created empty when missing)."""
        self.state.ensure_table(METRICS_TABLE, METRICS_DDL)
        return self.state.read(METRICS_TABLE)

    def history_of(
        self, tables: Iterable[str], metrics: Iterable[str] = ("row_count", "null_rate"), limit: int = 200
    ) -> Any:
        """Stored metrics of some tables, newest first, at most ``limit`` rows (a DataFrame)."""
        from pyspark.sql import functions as F

        names, wanted = list(tables), list(metrics)
        return (
            self.history()
            .where(F.col("table_name").isin(*names) & F.col("metric").isin(*wanted))
            .orderBy(F.col("profiled_at").desc())
            .limit(int(limit))
        )

    def results(self) -> Any:
        """The validation results table as a DataFrame (created empty when missing)."""
        self.state.ensure_table(RESULTS_TABLE, RESULTS_DDL)
        return self.state.read(RESULTS_TABLE)

    def get(self, run_id: str) -> TableProfile:
        """The stored profile with this run id.

        Raises:
            NotFoundError: when no profile has that id.
        """
        from pyspark.sql import functions as F

        if not self.state.exists(METRICS_TABLE):
            raise NotFoundError(f"No profile {run_id!r}: nothing has been profiled yet.")
        rows = self.state.read(METRICS_TABLE).where(F.col("run_id") == F.lit(run_id)).collect()
        if not rows:
            raise NotFoundError(f"No stored profile has run id {run_id!r}.")
        return profile_from_rows(rows)

    def latest(
        self,
        table_name: str,
        filter: str | None = None,
        delta_version: int | None = None,
        with_columns: Iterable[str] | None = None,
    ) -> TableProfile | None:
        """The most recent stored profile of ``table_name`` with the same filter, or None.

        One query over the ``profile`` rows (one per run), newest first, limit 1.

        Args:
            table_name: the table as dbx_ops names it (``str(TableName)``).
            filter: the ``where`` text the profile used (None: whole table).
            delta_version: only profiles of this Delta version.
            with_columns: only profiles that measured all these columns; None: profiles that
                measured columns at all (not a bare row count); ``()``: any profile.
        """
        exact, _ = self.lookup(table_name, filter, delta_version, with_columns, fallback=False)
        return exact

    def lookup(
        self,
        table_name: str,
        filter: str | None,
        delta_version: int | None,
        with_columns: Iterable[str] | None,
        fallback: bool = True,
    ) -> tuple[TableProfile | None, TableProfile | None]:
        """The newest matching profile and, in the same query, the table's newest own profile.

        The second is what a baseline that is not stored yet is counted over (its bins and
        categories), so that baseline costs one aggregation query instead of two.

        Args:
            table_name: the table as dbx_ops names it.
            filter: the ``where`` text (None: whole table).
            delta_version: the Delta version wanted (None: the table's own profiles, ``previous``).
            with_columns: as for :meth:`latest`.
            fallback: also return the newest own profile of the table (any version).
        """
        from pyspark.sql import functions as F

        if not self.state.exists(METRICS_TABLE):
            return None, None
        df = self.state.read(METRICS_TABLE)
        cond = (
            (F.col("metric") == F.lit("profile"))
            & (F.col("table_name") == F.lit(table_name))
            & F.col("filter").eqNullSafe(F.lit(filter))
        )
        if with_columns is None:
            cond = cond & (F.col("value") > F.lit(0))
        else:
            wanted = list(dict.fromkeys(with_columns))
            if wanted:
                measured = F.from_json(F.col("bucket"), "array<string>")
                missing = F.array_except(F.array(*[F.lit(c) for c in wanted]), measured)
                cond = cond & (F.size(missing) == F.lit(0))
        own = F.col("source") == F.lit("current")
        exact = own if delta_version is None else F.col("delta_version") == F.lit(int(delta_version))
        either = (exact | own) if fallback else exact
        row = (
            df.where(cond & either)
            .agg(
                F.max_by("text", F.when(exact, F.col("profiled_at"))).alias("exact"),
                F.max_by("text", F.when(own, F.col("profiled_at"))).alias("own"),
            )
            .first()
        )
        if row is None:
            return None, None
        first = profile_from_json(row["exact"]) if row["exact"] is not None else None
        second = profile_from_json(row["own"]) if fallback and row["own"] is not None else None
        return first, second
