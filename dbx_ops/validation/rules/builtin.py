"""The built-in rule types: each declares its needs, its check and its GE equivalent.

=========================  ==========================================================
``row_count_change``       row count within +-``max_pct`` % of the baseline's
``row_count_bounds``       row count within absolute bounds
``null_rate_delta``        null rate may not rise by more than ``max_delta``
``distinct_ratio_delta``   distinct now / distinct before within 1 +- ``max_delta``
``distribution``           PSI / JS / KS over the baseline's bins or top categories
``schema_contract``        added / removed / retyped columns (baseline or explicit contract)
``freshness``              newest watermark at most ``max_age_hours`` old
``not_null``               at least ``mostly`` of the rows are not null
``value_range``            min and max within ``[min, max]``
``distinct_count_bounds``  distinct count within ``[min, max]``
=========================  ==========================================================
"""

from __future__ import annotations

import math
import re
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from dbx_ops.errors import ValidationRuleError
from dbx_ops.validation import drift
from dbx_ops.validation.model import ColumnProfile, TableProfile
from dbx_ops.validation.rules.base import GE_SEVERITY, Needs, Rule, RuleResult, need_baseline
from dbx_ops.validation.rules.registry import register_rule

SCHEMA_ACTIONS = ("fail", "warn", "ignore")
_NEEDS_BASELINE_FOR_GE = "relative to a baseline: pass baseline= to export it as absolute bounds"


def _pct(value: float) -> str:
    return f"{value:+.1f} %"


def _rate(value: float) -> str:
    return f"{value:.2%}"


def _pick(columns: tuple[str, ...], current: TableProfile, baseline: TableProfile | None) -> list[str]:
    if columns:
        return list(columns)
    return [n for n in current.columns if baseline is None or n in baseline.columns]


def _bounds(lo: Any, hi: Any) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:,} and {hi:,}" if isinstance(lo, int) else f"between {lo} and {hi}"
    if lo is not None:
        return f">= {lo:,}" if isinstance(lo, int) else f">= {lo}"
    if hi is not None:
        return f"<= {hi:,}" if isinstance(hi, int) else f"<= {hi}"
    return "anything"


@dataclass(frozen=True)
class _Bounded(Rule):
    """A rule with ``min`` / ``max`` bounds (``min`` may not exceed ``max``) on one column or the table."""

    def check(self) -> None:
        super().check()
        lo, hi = getattr(self, "min", None), getattr(self, "max", None)
        if lo is not None and hi is not None and lo > hi:
            raise ValidationRuleError(f"min {lo!r} is greater than max {hi!r}.")

    def within(self, n: float) -> bool:
        """Whether ``n`` lies within the bounds (a missing bound is open)."""
        lo, hi = getattr(self, "min", None), getattr(self, "max", None)
        return (lo is None or n >= lo) and (hi is None or n <= hi)

    def _between(self, expectation: Any, column: str | None = None) -> list[Any]:
        """The GE ``Expect...ToBeBetween`` expectation of these bounds."""
        on = {} if column is None else {"column": column}
        return [
            expectation(
                **on,
                min_value=getattr(self, "min", None),
                max_value=getattr(self, "max", None),
                severity=GE_SEVERITY[self.severity],
                meta=self.meta(column),
            )
        ]


@register_rule
@dataclass(frozen=True)
class RowCountChange(Rule):
    """Row count within ``max_pct`` percent of the baseline's.

    Attributes:
        max_pct: allowed change in percent.
        direction: ``both`` (+-), ``drop`` (only a fall is checked) or ``increase``.
    """

    TYPE: ClassVar[str] = "row_count_change"
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {"direction": ("both", "drop", "increase")}
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = ("max_pct",)
    max_pct: float = 10.0
    direction: str = "both"

    def needs(self) -> Needs:
        return Needs(baseline=True)

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        base = need_baseline(self, baseline)
        cur, old = current.row_count, base.row_count
        change = ((cur - old) / old * 100.0) if old else (0.0 if cur == 0 else math.inf)
        if self.direction == "drop":
            ok = change >= -self.max_pct
            expected = f"no drop over {self.max_pct:g} %"
        elif self.direction == "increase":
            ok = change <= self.max_pct
            expected = f"no increase over {self.max_pct:g} %"
        else:
            ok = abs(change) <= self.max_pct
            expected = f"within +-{self.max_pct:g} % of {old:,}"
        observed = f"{cur:,} rows ({_pct(change)} vs {old:,})"
        msg = f"Row count {cur:,} vs baseline {old:,} ({_pct(change)})" + (
            "." if ok else f": outside {expected}."
        )
        return [self.result(ok, observed, expected, msg)]

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        if baseline is None:
            return _NEEDS_BASELINE_FOR_GE
        n = baseline.row_count
        lo = int(n * (1 - self.max_pct / 100.0) + 0.999999) if self.direction != "increase" else None
        hi = int(n * (1 + self.max_pct / 100.0)) if self.direction != "drop" else None
        return [
            gxe.ExpectTableRowCountToBeBetween(
                min_value=lo, max_value=hi, severity=GE_SEVERITY[self.severity], meta=self.meta()
            )
        ]


@register_rule
@dataclass(frozen=True)
class RowCountBounds(_Bounded):
    """Row count within absolute bounds (no baseline needed)."""

    TYPE: ClassVar[str] = "row_count_bounds"
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = ("min", "max")
    min: int | None = None
    max: int | None = None

    def needs(self) -> Needs:
        return Needs()

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        n = current.row_count
        ok = self.within(n)
        expected = _bounds(self.min, self.max)
        msg = f"Row count {n:,} " + ("is " if ok else "is not ") + expected + "."
        return [self.result(ok, f"{n:,}", expected, msg)]

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        return self._between(gxe.ExpectTableRowCountToBeBetween)


@dataclass(frozen=True)
class _ColumnDelta(Rule):
    """A per-column comparison with the baseline: each of ``columns`` (empty: every shared one)."""

    columns: tuple[str, ...] = ()

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        base = need_baseline(self, baseline)
        out = []
        for name in _pick(self.columns, current, base):
            cur_c, old_c = current.column(name), base.column(name)
            if cur_c is None or old_c is None:
                out.append(self.missing(name))
            else:
                out.append(self.compare(name, cur_c, old_c, current, base))
        return out

    @abstractmethod
    def compare(
        self, name: str, cur_c: ColumnProfile, old_c: ColumnProfile, current: TableProfile, base: TableProfile
    ) -> RuleResult:
        """The verdict on one column present in both profiles."""


def _null_rate(col: ColumnProfile, profile: TableProfile) -> float:
    return col.null_count / profile.row_count if profile.row_count else 0.0


@register_rule
@dataclass(frozen=True)
class NullRateDelta(_ColumnDelta):
    """Null rate may not rise by more than ``max_delta`` (absolute, 0.05 = 5 points).

    Attributes:
        columns: columns to check; empty means every profiled column.
        max_delta: largest allowed change of the null rate.
        direction: ``increase`` (only a rise is checked) or ``both``.
    """

    TYPE: ClassVar[str] = "null_rate_delta"
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {"direction": ("increase", "both")}
    FRACTIONS: ClassVar[tuple[str, ...]] = ("max_delta",)
    max_delta: float = 0.05
    direction: str = "increase"

    def needs(self) -> Needs:
        return Needs(columns=self.columns or None, baseline=True)

    def compare(
        self, name: str, cur_c: ColumnProfile, old_c: ColumnProfile, current: TableProfile, base: TableProfile
    ) -> RuleResult:
        cur = _null_rate(cur_c, current)
        old = _null_rate(old_c, base)
        delta = cur - old
        ok = (delta <= self.max_delta) if self.direction == "increase" else abs(delta) <= self.max_delta
        expected = f"null rate change <= {self.max_delta:.2%} (baseline {_rate(old)})"
        msg = f"Null rate of {name!r} went from {_rate(old)} to {_rate(cur)}" + (
            "." if ok else f", more than the {self.max_delta:.2%} allowed."
        )
        return self.result(ok, _rate(cur), expected, msg, name)

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        if baseline is None:
            return _NEEDS_BASELINE_FOR_GE
        if self.direction != "increase":
            return "a null-rate fall has no Great Expectations equivalent (direction: both)"
        out = []
        for name in self.columns or tuple(baseline.columns):
            col = baseline.column(name)
            if col is None or not baseline.row_count:
                continue
            allowed_nulls = col.null_count / baseline.row_count + self.max_delta
            mostly = max(0.0, min(1.0, 1.0 - allowed_nulls))
            out.append(
                gxe.ExpectColumnValuesToNotBeNull(
                    column=name, mostly=mostly, severity=GE_SEVERITY[self.severity], meta=self.meta(name)
                )
            )
        return out


@register_rule
@dataclass(frozen=True)
class DistinctRatioDelta(_ColumnDelta):
    """Approximate distinct count within ``max_delta`` of the baseline's, as a ratio.

    ``observed = distinct_now / distinct_baseline``; the rule passes when
    ``|observed - 1| <= max_delta`` (0.5: between half and one and a half times).
    A collapsed category column (10 values down to 1) gives 0.1 and fails.
    """

    TYPE: ClassVar[str] = "distinct_ratio_delta"
    FRACTIONS: ClassVar[tuple[str, ...]] = ("max_delta",)
    max_delta: float = 0.5

    def needs(self) -> Needs:
        cols = self.columns or None
        return Needs(columns=cols, distinct=cols, baseline=True)

    def compare(
        self, name: str, cur_c: ColumnProfile, old_c: ColumnProfile, current: TableProfile, base: TableProfile
    ) -> RuleResult:
        cur, old = cur_c.distinct or 0, old_c.distinct or 0
        ratio = (1.0 if cur == 0 else math.inf) if old == 0 else cur / old
        ok = abs(ratio - 1.0) <= self.max_delta
        expected = f"ratio within 1 +- {self.max_delta:g} (baseline ~{old:,} distinct)"
        msg = f"Distinct values of {name!r}: ~{cur:,} now vs ~{old:,} (ratio {ratio:.2f})" + (
            "." if ok else ", outside the allowed change."
        )
        return self.result(ok, f"~{cur:,} (ratio {ratio:.2f})", expected, msg, name)

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        if baseline is None:
            return _NEEDS_BASELINE_FOR_GE
        out = []
        for name in self.columns or tuple(baseline.columns):
            col = baseline.column(name)
            if col is None or col.distinct is None:
                continue
            out.append(
                gxe.ExpectColumnUniqueValueCountToBeBetween(
                    column=name,
                    min_value=int(col.distinct * (1 - self.max_delta) + 0.999999),
                    max_value=int(col.distinct * (1 + self.max_delta)),
                    severity=GE_SEVERITY[self.severity],
                    meta=self.meta(name),
                )
            )
        return out


def _bin_points(old: ColumnProfile, cur: ColumnProfile) -> list[float] | None:
    """Where each numeric bin's mass sits (for ``wasserstein``), None for categories."""
    if old.histogram is None or cur.histogram is None:
        return None
    lows = [v for v in (old.min, cur.min) if isinstance(v, int | float)]
    highs = [v for v in (old.max, cur.max) if isinstance(v, int | float)]
    return drift.bin_points(old.histogram.edges, min(lows, default=None), max(highs, default=None))


def _binned(old: ColumnProfile, cur: ColumnProfile) -> tuple[list[str], list[int], list[int]] | None:
    if old.histogram is not None and cur.histogram is not None:
        if tuple(old.histogram.edges) != tuple(cur.histogram.edges):
            return None
        return old.histogram.labels(), list(old.histogram.counts), list(cur.histogram.counts)
    if old.categories is not None and cur.categories is not None:
        keys = old.categories.keys
        labels = [*keys, "(other)"]
        return labels, old.categories.aligned(keys), cur.categories.aligned(keys)
    return None


@register_rule
@dataclass(frozen=True)
class Distribution(Rule):
    """Distribution distance over the baseline's bins (numeric) or top categories.

    Attributes:
        columns: columns to check; empty means every column with a histogram or top-k.
        metric: ``psi``, ``js`` (Jensen-Shannon distance), ``ks`` (from bins), ``tvd`` (total
            variation distance), ``wasserstein`` (numeric columns, in the column's units) or
            ``chi2`` (the chi-square test's p-value).
        max: the largest distance allowed (every metric but ``chi2``).
        min_p: for ``chi2``, the smallest p-value allowed (0.05: a shift that would occur by
            chance less than 5 % of the time fails).
    """

    TYPE: ClassVar[str] = "distribution"
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {"metric": tuple(drift.METRICS)}
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = ("max", "min_p")
    columns: tuple[str, ...] = ()
    metric: str = "psi"
    max: float = 0.25
    min_p: float = 0.05

    def needs(self) -> Needs:
        cols = self.columns or None
        # distinct counts everywhere: they decide which columns get top-k
        return Needs(columns=cols, distinct=None, distributions=cols, baseline=True)

    def label(self, column: str | None = None) -> str:
        base = self.name or f"{self.TYPE}_{self.metric}"
        return f"{base}:{column}" if column else base

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        base = need_baseline(self, baseline)
        out = []
        names = list(self.columns) or [
            n
            for n, c in base.columns.items()
            if n in current.columns
            and current.columns[n].kind == c.kind  # a retyped column is the schema rule's finding
            and (c.histogram is not None or c.categories is not None)
        ]
        for name in names:
            cur_c, old_c = current.column(name), base.column(name)
            if cur_c is None or old_c is None:
                out.append(self.missing(name))
                continue
            pair = _binned(old_c, cur_c)
            if pair is None:
                out.append(
                    self.result(
                        False,
                        "no comparable bins",
                        self._bound(),
                        f"Column {name!r} has no distribution to compare (not numeric or too many distinct "
                        "values, or the profiles used different bins).",
                        name,
                    )
                )
                continue
            labels, old_counts, cur_counts = pair
            points = _bin_points(old_c, cur_c)
            if self.metric in drift.NUMERIC_ONLY and points is None:
                if self.columns:  # asked for by name: say why it cannot be measured
                    why = (
                        f"{self.metric} needs a numeric column; {name!r} is {old_c.dtype}: "
                        "use tvd, chi2, js or psi for categories."
                    )
                    out.append(self.result(False, "not numeric", self._bound(), why, name))
                continue
            pvalue = self.metric == "chi2"
            if sum(old_counts) == 0 or sum(cur_counts) == 0:
                ok = sum(old_counts) == sum(cur_counts)
                value = (1.0 if ok else 0.0) if pvalue else (0.0 if ok else math.inf)
            else:
                value = drift.distance(self.metric, old_counts, cur_counts, points)
                ok = value >= self.min_p if pvalue else value <= self.max
            if pvalue:
                msg = f"Chi-square p-value of {name!r} is {value:.4g}" + (
                    "." if ok else f", below the {self.min_p:g} allowed: the distribution shifted."
                )
            else:
                msg = f"{self.metric.upper()} of {name!r} is {value:.4f}" + (
                    "." if ok else f", above the {self.max:g} allowed: the distribution shifted."
                )
            chart = {"labels": labels, "baseline": old_counts, "current": cur_counts}
            shown = f"p={value:.4g}" if pvalue else f"{value:.4f}"
            out.append(self.result(ok, f"{self.metric}={shown}", self._bound(), msg, name, chart=chart))
        return out

    def _bound(self) -> str:
        return f"p >= {self.min_p:g}" if self.metric == "chi2" else f"{self.metric} <= {self.max:g}"


#: Spark SQL type names a schema contract may use (``DataType.simpleString()``), and common aliases.
SPARK_TYPES = frozenset(
    "tinyint smallint int bigint float double decimal string boolean binary date timestamp "
    "timestamp_ntz void variant".split()
)
_TYPE_ALIASES = {
    "byte": "tinyint",
    "short": "smallint",
    "integer": "int",
    "long": "bigint",
    "real": "float",
    "bool": "boolean",
    "dec": "decimal",
    "numeric": "decimal",
}
_PARAMETRIC = re.compile(r"(decimal|dec|numeric)\(\s*\d+\s*(,\s*\d+\s*)?\)|(varchar|char)\(\s*\d+\s*\)")
_COMPLEX = re.compile(r"(array|map|struct)<.*>|interval.*")


def normalise_type(text: str) -> str | None:
    """A contract's type name as Spark's ``simpleString()`` writes it, or None when unknown."""
    t = " ".join(str(text).strip().lower().split())
    if t in SPARK_TYPES:
        return t
    if t in _TYPE_ALIASES:
        return _TYPE_ALIASES[t]
    if _PARAMETRIC.fullmatch(t):
        t = re.sub(r"\s+", "", t)
        return re.sub(r"^(dec|numeric)\(", "decimal(", t)
    if _COMPLEX.fullmatch(t) and t.count("<") == t.count(">"):
        return t.replace(" ", "").replace(":", ":")
    return None


@register_rule
@dataclass(frozen=True)
class SchemaContract(Rule):
    """Added / removed / retyped columns, against the baseline or an explicit contract.

    Attributes:
        added: what an added column is: ``fail``, ``warn`` or ``ignore``.
        removed: what a removed column is.
        retyped: what a column whose type changed is.
        columns: an explicit contract ``{column: type}`` (Spark SQL type names); when given,
            the baseline is not needed.
    """

    TYPE: ClassVar[str] = "schema_contract"
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "added": SCHEMA_ACTIONS,
        "removed": SCHEMA_ACTIONS,
        "retyped": SCHEMA_ACTIONS,
    }
    added: str = "warn"
    removed: str = "fail"
    retyped: str = "fail"
    columns: Mapping[str, str] | None = None

    def needs(self) -> Needs:
        return Needs(baseline=self.columns is None)  # the schema is always known

    def named_columns(self) -> tuple[str, ...]:
        return ()  # a contract's missing column is its finding, not a rules error

    def check(self) -> None:
        super().check()
        for column, dtype in (self.columns or {}).items():
            if normalise_type(dtype) is None:
                raise ValidationRuleError(
                    f"column {column!r} has unknown type {dtype!r}; use a Spark SQL type such as "
                    "bigint, double, string, date, timestamp or decimal(10,2)."
                )

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        if self.columns is not None:
            expected_types = {k: normalise_type(v) or v.lower() for k, v in self.columns.items()}
            against = "the contract"
        else:
            expected_types = need_baseline(self, baseline).types
            against = "the baseline"
        actual = current.types
        changes = {
            "added": [c for c in actual if c not in expected_types],
            "removed": [c for c in expected_types if c not in actual],
            "retyped": [
                f"{c} {expected_types[c]} -> {actual[c]}"
                for c in actual
                if c in expected_types and expected_types[c] != actual[c]
            ],
        }
        out = []
        for kind, items in changes.items():
            action = getattr(self, kind)
            if action == "ignore":
                continue
            ok = not items
            observed = ", ".join(items) if items else "none"
            msg = (
                f"No columns {kind} against {against}."
                if ok
                else f"Columns {kind} against {against}: {observed}."
            )
            out.append(
                RuleResult(
                    rule=f"{self.name or self.TYPE}:{kind}",
                    type=self.TYPE,
                    severity=action,
                    ok=ok,
                    observed=observed,
                    expected=f"no {kind} columns",
                    message=msg,
                )
            )
        return out

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        if self.columns is not None:
            names = list(self.columns)
        elif baseline is not None:
            names = [n for n, _ in baseline.schema]
        else:
            return "needs an explicit column contract or a baseline profile"
        return [
            gxe.ExpectTableColumnsToMatchSet(
                column_set=names,
                exact_match=self.added != "ignore",
                severity=GE_SEVERITY[self.severity],
                meta=self.meta(),
            )
        ]


@register_rule
@dataclass(frozen=True)
class Freshness(Rule):
    """The newest value of a watermark column is at most ``max_age_hours`` old."""

    TYPE: ClassVar[str] = "freshness"
    REQUIRED: ClassVar[tuple[str, ...]] = ("column",)
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = ("max_age_hours",)
    column: str = ""
    max_age_hours: float = 24.0

    def needs(self) -> Needs:
        return Needs(columns=(self.column,), bounds=(self.column,))

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        col = current.column(self.column)
        expected = f"newest value within {self.max_age_hours:g} h of {now:%Y-%m-%d %H:%M} UTC"
        if col is None:
            return [self.missing(self.column)]
        if col.max_epoch is None:
            return [
                self.result(
                    False, "no values", expected, f"Watermark {self.column!r} has no values.", self.column
                )
            ]
        age_h = (now.timestamp() - col.max_epoch) / 3600.0
        ok = age_h <= self.max_age_hours
        msg = f"Newest {self.column!r} is {col.max} ({age_h:.1f} h old)" + (
            "." if ok else f": stale, more than {self.max_age_hours:g} h."
        )
        return [self.result(ok, f"{col.max} ({age_h:.1f} h old)", expected, msg, self.column)]

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        return "freshness is relative to the run time; Great Expectations has no equivalent"


@register_rule
@dataclass(frozen=True)
class NotNull(Rule):
    """At least ``mostly`` of the rows are not null (1.0: none may be null)."""

    TYPE: ClassVar[str] = "not_null"
    REQUIRED: ClassVar[tuple[str, ...]] = ("columns",)
    FRACTIONS: ClassVar[tuple[str, ...]] = ("mostly",)
    columns: tuple[str, ...] = ()
    mostly: float = 1.0

    def needs(self) -> Needs:
        return Needs(columns=self.columns)

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        out = []
        for name in self.columns:
            col = current.column(name)
            if col is None:
                out.append(self.missing(name))
                continue
            n = current.row_count
            share = 1.0 - (col.null_count / n) if n else 1.0
            ok = share >= self.mostly
            expected = f">= {self.mostly:.2%} not null"
            msg = f"{share:.2%} of {name!r} is not null ({col.null_count:,} nulls)" + (
                "." if ok else f", below the {self.mostly:.2%} required."
            )
            out.append(self.result(ok, f"{share:.2%} not null", expected, msg, name))
        return out

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        return [
            gxe.ExpectColumnValuesToNotBeNull(
                column=c, mostly=self.mostly, severity=GE_SEVERITY[self.severity], meta=self.meta(c)
            )
            for c in self.columns
        ]


@dataclass(frozen=True)
class _ColumnBounds(_Bounded):
    """Bounds on a measure of one ``column``: finds the column, then :meth:`judge` decides."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("column",)
    column: str = ""

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        col = current.column(self.column)
        return [self.missing(self.column) if col is None else self.judge(col)]

    @abstractmethod
    def judge(self, col: ColumnProfile) -> RuleResult:
        """The verdict on the column's profile."""


@register_rule
@dataclass(frozen=True)
class ValueRange(_ColumnBounds):
    """Every non-null value lies within ``[min, max]`` (checked on the column's min and max)."""

    TYPE: ClassVar[str] = "value_range"
    min: float | None = None
    max: float | None = None

    def needs(self) -> Needs:
        return Needs(columns=(self.column,), bounds=(self.column,))

    def judge(self, col: ColumnProfile) -> RuleResult:
        expected = f"values {_bounds(self.min, self.max)}"
        if col.kind != "numeric":
            return self.result(
                False, col.dtype, expected, f"{self.column!r} is {col.dtype}, not numeric.", self.column
            )
        lo, hi = col.min, col.max
        ok = lo is None or (
            (self.min is None or float(lo) >= self.min) and (self.max is None or float(hi) <= self.max)
        )
        observed = "no values" if lo is None else f"min {lo:g}, max {hi:g}"
        msg = f"{self.column!r} ranges {observed}" + ("." if ok else f", outside {expected}.")
        return self.result(ok, observed, expected, msg, self.column)

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        return self._between(gxe.ExpectColumnValuesToBeBetween, self.column)


@register_rule
@dataclass(frozen=True)
class DistinctCountBounds(_ColumnBounds):
    """The approximate distinct count lies within ``[min, max]``."""

    TYPE: ClassVar[str] = "distinct_count_bounds"
    min: int | None = None
    max: int | None = None
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = ("min", "max")

    def judge(self, col: ColumnProfile) -> RuleResult:
        n = col.distinct or 0
        ok, expected = self.within(n), _bounds(self.min, self.max)
        msg = f"{self.column!r} has ~{n:,} distinct values" + ("." if ok else f", not {expected}.")
        return self.result(ok, f"~{n:,}", expected, msg, self.column)

    def needs(self) -> Needs:
        return Needs(columns=(self.column,), distinct=(self.column,))

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        return self._between(gxe.ExpectColumnUniqueValueCountToBeBetween, self.column)
