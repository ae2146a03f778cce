"""Plain records of a table profile: what one Spark pass measured.

These are pure data (no Spark) so rules, reports and the metrics store can be
tested without a session. A :class:`TableProfile` is what
:func:`dbx_ops.validation.profile` returns and what the metrics store keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Spark type names (``DataType.simpleString()`` prefixes) profiled as numbers.
NUMERIC_TYPES = ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal")
#: Types profiled as categories (top-k frequencies) when their cardinality is low.
CATEGORICAL_TYPES = ("string", "boolean", "varchar", "char")
#: Types whose maximum serves as a freshness watermark.
TEMPORAL_TYPES = ("date", "timestamp", "timestamp_ntz")


def type_kind(dtype: str) -> str:
    """``numeric``, ``categorical``, ``temporal`` or ``other`` for a Spark type name."""
    base = dtype.split("(", 1)[0].strip().lower()
    if base in NUMERIC_TYPES:
        return "numeric"
    if base in CATEGORICAL_TYPES:
        return "categorical"
    if base in TEMPORAL_TYPES:
        return "temporal"
    return "other"


@dataclass(frozen=True)
class Histogram:
    """Counts of non-null values over bins with open ends.

    With edges ``e0 < e1 < ... < ek`` the bins are ``(-inf, e0)``, ``[e0, e1)``,
    ..., ``[ek, +inf)``: ``len(counts) == len(edges) + 1``.
    """

    edges: tuple[float, ...]
    counts: tuple[int, ...]

    def labels(self) -> list[str]:
        """Human labels of the bins, e.g. ``< 3``, ``[3, 7)``, ``>= 9``."""
        if not self.edges:
            return ["all"]
        out = [f"< {_num(self.edges[0])}"]
        out += [f"[{_num(a)}, {_num(b)})" for a, b in zip(self.edges, self.edges[1:], strict=False)]
        out.append(f">= {_num(self.edges[-1])}")
        return out


@dataclass(frozen=True)
class Categories:
    """Frequencies of the most common values, plus everything else as ``other``."""

    counts: tuple[tuple[str, int], ...]
    other: int = 0

    @property
    def keys(self) -> tuple[str, ...]:
        """The category values, most frequent first (as the baseline ordered them)."""
        return tuple(k for k, _ in self.counts)

    def aligned(self, keys: tuple[str, ...]) -> list[int]:
        """Counts for ``keys`` followed by the count of everything else."""
        lookup = dict(self.counts)
        picked = [int(lookup.get(k, 0)) for k in keys]
        rest = sum(c for k, c in self.counts if k not in set(keys)) + self.other
        return [*picked, rest]


@dataclass(frozen=True)
class ColumnProfile:
    """What one pass measured for one column.

    Attributes:
        name: the column name.
        dtype: the Spark type (``bigint``, ``string``, ``decimal(10,2)``...).
        null_count: rows where the column is null.
        distinct: approximate distinct count of non-null values.
        min: minimum (a float for numbers, ISO text for dates/timestamps, text for strings).
        max: maximum, same types as ``min``.
        max_epoch: the maximum of a date/timestamp column in epoch seconds (freshness).
        mean: mean of a numeric column.
        stddev: sample standard deviation of a numeric column.
        histogram: bin counts of a numeric column.
        categories: top-k frequencies of a low-cardinality column.
        sum: sum of a numeric column's values (mergeable state).
        m2: sum of squared deviations from the mean of a numeric column (mergeable state:
            ``stddev = sqrt(m2 / (n - 1))``).
        sketch: the HyperLogLog sketch of the distinct values (Spark 4 ``hll_sketch_agg`` bytes,
            fixed lgK), so two profiles' distinct counts can be merged; None on Spark 3.5.
    """

    name: str
    dtype: str
    null_count: int = 0
    distinct: int | None = None
    min: Any = None
    max: Any = None
    max_epoch: float | None = None
    mean: float | None = None
    stddev: float | None = None
    histogram: Histogram | None = None
    categories: Categories | None = None
    sum: float | None = None
    m2: float | None = None
    sketch: bytes | None = None

    @property
    def kind(self) -> str:
        """``numeric``, ``categorical``, ``temporal`` or ``other``."""
        return type_kind(self.dtype)


@dataclass(frozen=True)
class TableProfile:
    """One profile of a table (or a filtered part of it, or a DataFrame).

    Attributes:
        run_id: the profile's id in the metrics store.
        table_name: the table profiled, None for an unnamed DataFrame.
        delta_version: the Delta version read, None when not known.
        filter: the ``where`` expression applied, None for the whole table.
        profiled_at: when it was taken (UTC).
        row_count: rows profiled.
        schema: ``(column, type)`` for every column of the source, in order.
        columns: per-column measurements (only the columns profiled).
        source: how the data was chosen (``current``, ``version:3``, ``snapshot:pre``...).
        method: ``full`` (every row scanned) or ``incremental`` (a stored profile merged with
            a profile of the rows appended since its version).
        method_note: why a profile that could have been incremental was taken in full, or what
            an incremental one merged.
        sample: how distributions were sampled (``fraction``, ``seed``, ``rows``), None for all rows.
    """

    run_id: str
    table_name: str | None
    delta_version: int | None
    filter: str | None
    profiled_at: datetime
    row_count: int
    schema: tuple[tuple[str, str], ...] = ()
    columns: Mapping[str, ColumnProfile] = field(default_factory=dict)
    source: str = "current"
    method: str = "full"
    method_note: str | None = None
    sample: Mapping[str, Any] | None = None

    def column(self, name: str) -> ColumnProfile | None:
        """The profile of ``name``, or None when it was not profiled."""
        return self.columns.get(name)

    @property
    def types(self) -> dict[str, str]:
        """Column name to Spark type."""
        return dict(self.schema)

    def describe(self) -> str:
        """A short description: table, version, filter."""
        parts = [self.table_name or "DataFrame"]
        if self.delta_version is not None:
            parts.append(f"v{self.delta_version}")
        if self.filter:
            parts.append(f"where {self.filter}")
        return " ".join(parts)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (no per-bin detail)."""
        return {
            "run_id": self.run_id,
            "table": self.table_name,
            "delta_version": self.delta_version,
            "filter": self.filter,
            "source": self.source,
            "profiled_at": self.profiled_at.isoformat(),
            "row_count": self.row_count,
            "method": self.method,
            "method_note": self.method_note,
            "sample": None if self.sample is None else dict(self.sample),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        cols = []
        for c in self.columns.values():
            item: dict[str, Any] = {
                "name": c.name,
                "type": c.dtype,
                "null_count": c.null_count,
                "null_rate": (c.null_count / self.row_count) if self.row_count else 0.0,
                "distinct_approx": c.distinct,
                "min": c.min,
                "max": c.max,
                "mean": c.mean,
                "stddev": c.stddev,
            }
            if c.histogram is not None:
                item["histogram"] = {"edges": list(c.histogram.edges), "counts": list(c.histogram.counts)}
            if c.categories is not None:
                item["top_values"] = [{"value": k, "count": n} for k, n in c.categories.counts]
                item["other_count"] = c.categories.other
            cols.append(item)
        return {**self.summary(), "schema": [list(p) for p in self.schema], "columns": cols}


def _num(value: float) -> str:
    return f"{value:.6g}"
