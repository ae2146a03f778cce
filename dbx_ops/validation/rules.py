"""Validation rules: the model, loading from YAML / dicts, and evaluation.

A rules file is YAML::

    rules:
      - type: row_count_change      # within +-10 % of the baseline
        max_pct: 10
      - type: row_count_change      # direction only: no drop over 5 %
        max_pct: 5
        direction: drop
      - type: not_null
        columns: [order_id, amount]
        mostly: 0.99
        severity: warn

Every rule has a ``type`` and an optional ``severity`` (``fail``, the default,
or ``warn``). Rules are validated when loaded: an unknown type or key, a value
of the wrong type or out of range is refused with one sentence naming the rule
(by position) and the key. Evaluation is pure Python over two
:class:`~dbx_ops.validation.model.TableProfile` records.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from dbx_ops.errors import ValidationRuleError
from dbx_ops.validation import drift
from dbx_ops.validation.model import ColumnProfile, TableProfile

SEVERITIES = ("fail", "warn")
SCHEMA_ACTIONS = ("fail", "warn", "ignore")
DEFAULT_RULES_FILE = Path(__file__).with_name("default_rules.yml")


@dataclass(frozen=True)
class RuleResult:
    """The verdict of one rule on one column (or the table).

    Attributes:
        rule: the rule's name (``null_rate_delta:amount``).
        type: the rule type.
        severity: ``fail`` or ``warn``.
        passed: whether the data satisfied the rule.
        observed: what was measured, as text.
        expected: what the rule allows, as text.
        message: one sentence for humans.
        column: the column checked, None for table rules.
        chart: for distribution rules, ``{"labels", "baseline", "current"}`` counts to plot.
    """

    rule: str
    type: str
    severity: str
    passed: bool
    observed: str
    expected: str
    message: str
    column: str | None = None
    chart: Mapping[str, Any] | None = None

    @property
    def failed_hard(self) -> bool:
        """True when this result breaks a fail-severity rule."""
        return not self.passed and self.severity == "fail"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = {
            "rule": self.rule,
            "type": self.type,
            "severity": self.severity,
            "passed": self.passed,
            "observed": self.observed,
            "expected": self.expected,
            "message": self.message,
            "column": self.column,
        }
        if self.chart is not None:
            out["chart"] = dict(self.chart)
        return out


@dataclass(frozen=True)
class Rule(ABC):
    """Base of every rule.

    Attributes:
        severity: ``fail`` (breaks the run) or ``warn`` (reported only).
        name: an optional name shown in reports; defaults to the type.
    """

    TYPE: ClassVar[str] = ""
    NEEDS_BASELINE: ClassVar[bool] = True
    NEEDS_COLUMNS: ClassVar[bool] = True

    severity: str = "fail"
    name: str | None = None

    def label(self, column: str | None = None) -> str:
        """The rule's name in reports, with the column when there is one."""
        base = self.name or self.TYPE
        return f"{base}:{column}" if column else base

    def columns_needed(self) -> tuple[str, ...] | None:
        """Columns to profile: a tuple, or None for "all columns"."""
        return () if not self.NEEDS_COLUMNS else None

    @abstractmethod
    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        """Evaluate against the current profile and the baseline (``now`` for freshness)."""

    def _result(
        self, passed: bool, observed: str, expected: str, message: str, column: str | None = None, **kw: Any
    ) -> RuleResult:
        return RuleResult(
            rule=self.label(column),
            type=self.TYPE,
            severity=self.severity,
            passed=passed,
            observed=observed,
            expected=expected,
            message=message,
            column=column,
            **kw,
        )

    def to_dict(self) -> dict[str, Any]:
        """The rule as it would be written in a rules file."""
        out: dict[str, Any] = {"type": self.TYPE}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or (f.name == "severity" and value == "fail"):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def _pct(value: float) -> str:
    return f"{value:+.1f} %"


def _rate(value: float) -> str:
    return f"{value:.2%}"


def _need_baseline(rule: Rule, baseline: TableProfile | None) -> TableProfile:
    if baseline is None:
        raise ValidationRuleError(f"Rule {rule.label()!r} compares with a baseline; pass one (--baseline).")
    return baseline


def _pick(columns: tuple[str, ...], current: TableProfile, baseline: TableProfile | None) -> list[str]:
    if columns:
        return list(columns)
    names = [n for n in current.columns if baseline is None or n in baseline.columns]
    return names


def _missing(rule: Rule, column: str) -> RuleResult:
    return rule._result(
        False, "column missing", "column present", f"Column {column!r} is not in the data.", column
    )


@dataclass(frozen=True)
class RowCountChange(Rule):
    """Row count within ``max_pct`` percent of the baseline's.

    Attributes:
        max_pct: allowed change in percent.
        direction: ``both`` (+-), ``drop`` (only a fall is checked) or ``increase``.
    """

    TYPE: ClassVar[str] = "row_count_change"
    NEEDS_COLUMNS: ClassVar[bool] = False
    max_pct: float = 10.0
    direction: str = "both"

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        base = _need_baseline(self, baseline)
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
        return [self._result(ok, observed, expected, msg)]


@dataclass(frozen=True)
class RowCountBounds(Rule):
    """Row count within absolute bounds (no baseline needed)."""

    TYPE: ClassVar[str] = "row_count_bounds"
    NEEDS_BASELINE: ClassVar[bool] = False
    NEEDS_COLUMNS: ClassVar[bool] = False
    min: int | None = None
    max: int | None = None

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        n = current.row_count
        ok = (self.min is None or n >= self.min) and (self.max is None or n <= self.max)
        expected = _bounds(self.min, self.max)
        msg = f"Row count {n:,} " + ("is " if ok else "is not ") + expected + "."
        return [self._result(ok, f"{n:,}", expected, msg)]


def _bounds(lo: Any, hi: Any) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:,} and {hi:,}" if isinstance(lo, int) else f"between {lo} and {hi}"
    if lo is not None:
        return f">= {lo:,}" if isinstance(lo, int) else f">= {lo}"
    if hi is not None:
        return f"<= {hi:,}" if isinstance(hi, int) else f"<= {hi}"
    return "anything"


@dataclass(frozen=True)
class NullRateDelta(Rule):
    """Null rate may not rise by more than ``max_delta`` (absolute, 0.05 = 5 points).

    Attributes:
        columns: columns to check; empty means every profiled column.
        max_delta: largest allowed change of the null rate.
        direction: ``increase`` (only a rise is checked) or ``both``.
    """

    TYPE: ClassVar[str] = "null_rate_delta"
    columns: tuple[str, ...] = ()
    max_delta: float = 0.05
    direction: str = "increase"

    def columns_needed(self) -> tuple[str, ...] | None:
        return self.columns or None

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        base = _need_baseline(self, baseline)
        out = []
        for name in _pick(self.columns, current, base):
            cur_c, old_c = current.column(name), base.column(name)
            if cur_c is None or old_c is None:
                out.append(_missing(self, name))
                continue
            cur = _null_rate(cur_c, current)
            old = _null_rate(old_c, base)
            delta = cur - old
            ok = (delta <= self.max_delta) if self.direction == "increase" else abs(delta) <= self.max_delta
            expected = f"null rate change <= {self.max_delta:.2%} (baseline {_rate(old)})"
            msg = f"Null rate of {name!r} went from {_rate(old)} to {_rate(cur)}" + (
                "." if ok else f", more than the {self.max_delta:.2%} allowed."
            )
            out.append(self._result(ok, _rate(cur), expected, msg, name))
        return out


def _null_rate(col: ColumnProfile, profile: TableProfile) -> float:
    return col.null_count / profile.row_count if profile.row_count else 0.0


@dataclass(frozen=True)
class DistinctRatioDelta(Rule):
    """Approximate distinct count within ``max_delta`` of the baseline's, as a ratio.

    ``observed = distinct_now / distinct_baseline``; the rule passes when
    ``|observed - 1| <= max_delta`` (0.5: between half and one and a half times).
    A collapsed category column (10 values down to 1) gives 0.1 and fails.
    """

    TYPE: ClassVar[str] = "distinct_ratio_delta"
    columns: tuple[str, ...] = ()
    max_delta: float = 0.5

    def columns_needed(self) -> tuple[str, ...] | None:
        return self.columns or None

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        base = _need_baseline(self, baseline)
        out = []
        for name in _pick(self.columns, current, base):
            cur_c, old_c = current.column(name), base.column(name)
            if cur_c is None or old_c is None:
                out.append(_missing(self, name))
                continue
            cur, old = cur_c.distinct or 0, old_c.distinct or 0
            if old == 0:
                ratio = 1.0 if cur == 0 else math.inf
            else:
                ratio = cur / old
            ok = abs(ratio - 1.0) <= self.max_delta
            expected = f"ratio within 1 +- {self.max_delta:g} (baseline ~{old:,} distinct)"
            msg = f"Distinct values of {name!r}: ~{cur:,} now vs ~{old:,} (ratio {ratio:.2f})" + (
                "." if ok else ", outside the allowed change."
            )
            out.append(self._result(ok, f"~{cur:,} (ratio {ratio:.2f})", expected, msg, name))
        return out


@dataclass(frozen=True)
class Distribution(Rule):
    """Distribution distance over the baseline's bins (numeric) or top categories.

    Attributes:
        columns: columns to check; empty means every column with a histogram or top-k.
        metric: ``psi``, ``js`` (Jensen-Shannon distance) or ``ks`` (from bins).
        max: the largest distance allowed.
    """

    TYPE: ClassVar[str] = "distribution"
    columns: tuple[str, ...] = ()
    metric: str = "psi"
    max: float = 0.25

    def columns_needed(self) -> tuple[str, ...] | None:
        return self.columns or None

    def label(self, column: str | None = None) -> str:
        base = self.name or f"{self.TYPE}_{self.metric}"
        return f"{base}:{column}" if column else base

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        base = _need_baseline(self, baseline)
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
                out.append(_missing(self, name))
                continue
            pair = _binned(old_c, cur_c)
            if pair is None:
                out.append(
                    self._result(
                        False,
                        "no comparable bins",
                        f"{self.metric} <= {self.max:g}",
                        f"Column {name!r} has no distribution to compare (not numeric or too many distinct "
                        "values, or the profiles used different bins).",
                        name,
                    )
                )
                continue
            labels, old_counts, cur_counts = pair
            if sum(old_counts) == 0 or sum(cur_counts) == 0:
                ok = sum(old_counts) == sum(cur_counts)
                value = 0.0 if ok else math.inf
            else:
                value = drift.distance(self.metric, old_counts, cur_counts)
                ok = value <= self.max
            msg = f"{self.metric.upper()} of {name!r} is {value:.4f}" + (
                "." if ok else f", above the {self.max:g} allowed: the distribution shifted."
            )
            chart = {"labels": labels, "baseline": old_counts, "current": cur_counts}
            out.append(
                self._result(ok, f"{self.metric}={value:.4f}", f"<= {self.max:g}", msg, name, chart=chart)
            )
        return out


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


@dataclass(frozen=True)
class SchemaContract(Rule):
    """Added / removed / retyped columns, against the baseline or an explicit contract.

    Attributes:
        added: what an added column is: ``fail``, ``warn`` or ``ignore``.
        removed: what a removed column is.
        retyped: what a column whose type changed is.
        columns: an explicit contract ``{column: type}``; when given, the baseline is not needed.
    """

    TYPE: ClassVar[str] = "schema_contract"
    NEEDS_COLUMNS: ClassVar[bool] = False
    added: str = "warn"
    removed: str = "fail"
    retyped: str = "fail"
    columns: Mapping[str, str] | None = None

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        if self.columns is not None:
            expected_types = {k: v.lower() for k, v in self.columns.items()}
            against = "the contract"
        else:
            expected_types = _need_baseline(self, baseline).types
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
                    passed=ok,
                    observed=observed,
                    expected=f"no {kind} columns",
                    message=msg,
                )
            )
        return out


@dataclass(frozen=True)
class Freshness(Rule):
    """The newest value of a watermark column is at most ``max_age_hours`` old."""

    TYPE: ClassVar[str] = "freshness"
    NEEDS_BASELINE: ClassVar[bool] = False
    column: str = ""
    max_age_hours: float = 24.0

    def columns_needed(self) -> tuple[str, ...] | None:
        return (self.column,)

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        col = current.column(self.column)
        expected = f"newest value within {self.max_age_hours:g} h of {now:%Y-%m-%d %H:%M} UTC"
        if col is None:
            return [_missing(self, self.column)]
        if col.max_epoch is None:
            return [
                self._result(
                    False, "no values", expected, f"Watermark {self.column!r} has no values.", self.column
                )
            ]
        age_h = (now.timestamp() - col.max_epoch) / 3600.0
        ok = age_h <= self.max_age_hours
        msg = f"Newest {self.column!r} is {col.max} ({age_h:.1f} h old)" + (
            "." if ok else f": stale, more than {self.max_age_hours:g} h."
        )
        return [self._result(ok, f"{col.max} ({age_h:.1f} h old)", expected, msg, self.column)]


@dataclass(frozen=True)
class NotNull(Rule):
    """At least ``mostly`` of the rows are not null (1.0: none may be null)."""

    TYPE: ClassVar[str] = "not_null"
    NEEDS_BASELINE: ClassVar[bool] = False
    columns: tuple[str, ...] = ()
    mostly: float = 1.0

    def columns_needed(self) -> tuple[str, ...] | None:
        return self.columns

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        out = []
        for name in self.columns:
            col = current.column(name)
            if col is None:
                out.append(_missing(self, name))
                continue
            n = current.row_count
            share = 1.0 - (col.null_count / n) if n else 1.0
            ok = share >= self.mostly
            expected = f">= {self.mostly:.2%} not null"
            msg = f"{share:.2%} of {name!r} is not null ({col.null_count:,} nulls)" + (
                "." if ok else f", below the {self.mostly:.2%} required."
            )
            out.append(self._result(ok, f"{share:.2%} not null", expected, msg, name))
        return out


@dataclass(frozen=True)
class ValueRange(Rule):
    """Every non-null value lies within ``[min, max]`` (checked on the column's min and max)."""

    TYPE: ClassVar[str] = "value_range"
    NEEDS_BASELINE: ClassVar[bool] = False
    column: str = ""
    min: float | None = None
    max: float | None = None

    def columns_needed(self) -> tuple[str, ...] | None:
        return (self.column,)

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        col = current.column(self.column)
        if col is None:
            return [_missing(self, self.column)]
        expected = f"values {_bounds(self.min, self.max)}"
        if col.kind != "numeric":
            return [
                self._result(
                    False, col.dtype, expected, f"{self.column!r} is {col.dtype}, not numeric.", self.column
                )
            ]
        lo, hi = col.min, col.max
        ok = lo is None or (
            (self.min is None or float(lo) >= self.min) and (self.max is None or float(hi) <= self.max)
        )
        observed = "no values" if lo is None else f"min {lo:g}, max {hi:g}"
        msg = f"{self.column!r} ranges {observed}" + ("." if ok else f", outside {expected}.")
        return [self._result(ok, observed, expected, msg, self.column)]


@dataclass(frozen=True)
class DistinctCountBounds(Rule):
    """The approximate distinct count lies within ``[min, max]``."""

    TYPE: ClassVar[str] = "distinct_count_bounds"
    NEEDS_BASELINE: ClassVar[bool] = False
    column: str = ""
    min: int | None = None
    max: int | None = None

    def columns_needed(self) -> tuple[str, ...] | None:
        return (self.column,)

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        col = current.column(self.column)
        if col is None:
            return [_missing(self, self.column)]
        n = col.distinct or 0
        ok = (self.min is None or n >= self.min) and (self.max is None or n <= self.max)
        expected = _bounds(self.min, self.max)
        msg = f"{self.column!r} has ~{n:,} distinct values" + ("." if ok else f", not {expected}.")
        return [self._result(ok, f"~{n:,}", expected, msg, self.column)]


RULE_TYPES: dict[str, type[Rule]] = {
    cls.TYPE: cls
    for cls in (
        RowCountChange,
        RowCountBounds,
        NullRateDelta,
        DistinctRatioDelta,
        Distribution,
        SchemaContract,
        Freshness,
        NotNull,
        ValueRange,
        DistinctCountBounds,
    )
}

_CHOICES = {
    "severity": SEVERITIES,
    "direction": None,  # per type below
    "metric": drift.METRICS,
    "added": SCHEMA_ACTIONS,
    "removed": SCHEMA_ACTIONS,
    "retyped": SCHEMA_ACTIONS,
}
_DIRECTIONS = {"row_count_change": ("both", "drop", "increase"), "null_rate_delta": ("increase", "both")}
_REQUIRED = {"freshness": ("column",), "not_null": ("columns",), "value_range": ("column",)}
_REQUIRED["distinct_count_bounds"] = ("column",)
_FRACTIONS = ("mostly", "max_delta")
_NON_NEGATIVE = ("max_pct", "max", "max_age_hours", "min")


def _where(index: int | None, rtype: str | None) -> str:
    pos = f"rule {index}" if index is not None else "rule"
    return f"{pos} ({rtype})" if rtype else pos


def parse_rule(spec: Mapping[str, Any] | Rule, index: int | None = None) -> Rule:
    """Build one rule from a mapping (``{"type": ..., ...}``), validating every key.

    Args:
        spec: the rule as written in a rules file, or a Rule (returned as is after checks).
        index: its 1-based position, used in error messages.

    Raises:
        ValidationRuleError: for an unknown type or key, a missing key, or a bad value.
    """
    if isinstance(spec, Rule):
        return _check(spec, index)
    if not isinstance(spec, Mapping):
        raise ValidationRuleError(
            f"{_where(index, None)} must be a mapping with a 'type' key, got {type(spec).__name__}."
        )
    rtype = spec.get("type")
    if not isinstance(rtype, str) or rtype not in RULE_TYPES:
        raise ValidationRuleError(
            f"{_where(index, None)}: unknown rule type {rtype!r}; use one of {', '.join(sorted(RULE_TYPES))}."
        )
    cls = RULE_TYPES[rtype]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "type":
            continue
        if key == "column" and "columns" in fields and "column" not in fields:
            key, value = "columns", [value]
        if key not in fields:
            raise ValidationRuleError(
                f"{_where(index, rtype)}: unknown key {key!r}; allowed: {', '.join(sorted(fields))}."
            )
        kwargs[key] = _coerce(key, value, fields[key].type, index, rtype)
    for key in _REQUIRED.get(rtype, ()):
        if not kwargs.get(key):
            raise ValidationRuleError(f"{_where(index, rtype)}: {key!r} is required.")
    return _check(cls(**kwargs), index)


def _coerce(key: str, value: Any, annotation: Any, index: int | None, rtype: str) -> Any:
    where = _where(index, rtype)
    text = str(annotation)
    if key == "columns" and "Mapping" in text:
        if value is None:
            return None
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValidationRuleError(f"{where}: 'columns' must map column names to type names.")
        return dict(value)
    if "tuple[str" in text:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
            raise ValidationRuleError(f"{where}: {key!r} must be a list of column names.")
        return tuple(value)
    if text.startswith("str"):
        if not isinstance(value, str):
            raise ValidationRuleError(f"{where}: {key!r} must be text, got {value!r}.")
        return value
    if "int" in text or "float" in text:
        if value is None and "None" in text:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationRuleError(f"{where}: {key!r} must be a number, got {value!r}.")
        if "int" in text and "float" not in text:
            if not float(value).is_integer():
                raise ValidationRuleError(f"{where}: {key!r} must be a whole number, got {value!r}.")
            return int(value)
        return float(value)
    return value


def _check(rule: Rule, index: int | None) -> Rule:
    where = _where(index, rule.TYPE)
    for key, choices in _CHOICES.items():
        if not hasattr(rule, key):
            continue
        value = getattr(rule, key)
        allowed = _DIRECTIONS.get(rule.TYPE) if key == "direction" else choices
        if allowed is not None and value not in allowed:
            raise ValidationRuleError(f"{where}: {key} {value!r} is not one of {', '.join(allowed)}.")
    for key in _FRACTIONS:
        value = getattr(rule, key, None)
        if value is not None and not 0.0 <= float(value) <= 1.0:
            raise ValidationRuleError(f"{where}: {key} must be between 0 and 1, got {value!r}.")
    for key in _NON_NEGATIVE:
        value = getattr(rule, key, None)
        if isinstance(value, int | float) and not isinstance(rule, ValueRange) and value < 0:
            raise ValidationRuleError(f"{where}: {key} must not be negative, got {value!r}.")
    lo, hi = getattr(rule, "min", None), getattr(rule, "max", None)
    if not isinstance(rule, Distribution) and lo is not None and hi is not None and lo > hi:
        raise ValidationRuleError(f"{where}: min {lo!r} is greater than max {hi!r}.")
    if isinstance(rule, Distribution) and rule.max < 0:
        raise ValidationRuleError(f"{where}: max must not be negative.")
    if isinstance(rule, Freshness | ValueRange | DistinctCountBounds) and not rule.column:
        raise ValidationRuleError(f"{where}: 'column' is required.")
    if isinstance(rule, NotNull) and not rule.columns:
        raise ValidationRuleError(f"{where}: 'columns' is required.")
    return rule


@dataclass(frozen=True)
class RuleSet:
    """An ordered, validated set of rules."""

    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def __iter__(self) -> Any:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def needs_baseline(self) -> bool:
        """True when some rule compares with a baseline."""
        return any(
            r.NEEDS_BASELINE and not (isinstance(r, SchemaContract) and r.columns is not None)
            for r in self.rules
        )

    def columns_needed(self) -> list[str] | None:
        """Columns the rules read: a list, or None for every column."""
        wanted: list[str] = []
        for rule in self.rules:
            cols = rule.columns_needed()
            if cols is None:
                return None
            wanted += [c for c in cols if c not in wanted]
        return wanted

    def distinct_needed(self) -> list[str] | None:
        """Columns whose approximate distinct count the rules read: a list, or None for every column.

        Distribution rules need it everywhere (it decides which columns get top-k).
        """
        wanted: list[str] = []
        for rule in self.rules:
            if isinstance(rule, Distribution) or (isinstance(rule, DistinctRatioDelta) and not rule.columns):
                return None
            cols = rule.columns if isinstance(rule, DistinctRatioDelta) else ()
            if isinstance(rule, DistinctCountBounds):
                cols = (rule.column,)
            wanted += [c for c in cols if c not in wanted]
        return wanted

    def stats_needed(self) -> list[str]:
        """Columns whose min / max the rules read (value ranges, freshness watermarks)."""
        wanted: list[str] = []
        for rule in self.rules:
            if isinstance(rule, ValueRange | Freshness) and rule.column not in wanted:
                wanted.append(rule.column)
        return wanted

    def distributions_needed(self) -> list[str] | None:
        """Columns whose histogram / top-k the rules compare: a list, or None for every column."""
        wanted: list[str] = []
        for rule in self.rules:
            if isinstance(rule, Distribution):
                if not rule.columns:
                    return None
                wanted += [c for c in rule.columns if c not in wanted]
        return wanted

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime | None = None
    ) -> list[RuleResult]:
        """Every rule's results, in rule order."""
        moment = now or datetime.now(UTC)
        results: list[RuleResult] = []
        for rule in self.rules:
            results += rule.evaluate(current, baseline, moment)
        return results

    def to_dict(self) -> dict[str, Any]:
        """The rules as a rules-file mapping."""
        return {"rules": [r.to_dict() for r in self.rules]}


def load_rules(source: RuleSet | Sequence[Any] | Mapping[str, Any] | str | Path | None) -> RuleSet:
    """Rules from a RuleSet, a list of dicts/Rules, a ``{"rules": [...]}`` mapping or a YAML file.

    Args:
        source: the rules; None gives the default set (:data:`DEFAULT_RULES_FILE`).

    Raises:
        ValidationRuleError: when the rules are malformed (one sentence saying which and why).
    """
    if source is None:
        source = DEFAULT_RULES_FILE
    if isinstance(source, RuleSet):
        return source
    if isinstance(source, str | Path):
        return _load_file(Path(source))
    if isinstance(source, Mapping):
        extra = set(source) - {"rules"}
        if extra:
            raise ValidationRuleError(
                f"The rules mapping has unknown top-level keys {sorted(extra)}; only 'rules' is allowed."
            )
        items = source.get("rules")
        if not isinstance(items, list):
            raise ValidationRuleError("The rules mapping needs a 'rules' list.")
        source = items
    if isinstance(source, Rule):
        source = [source]
    if not isinstance(source, Iterable):
        raise ValidationRuleError(f"Rules must be a list, a mapping or a file, got {type(source).__name__}.")
    rules = tuple(parse_rule(item, i) for i, item in enumerate(source, start=1))
    return RuleSet(rules)


def _load_file(path: Path) -> RuleSet:
    import yaml

    if not path.is_file():
        raise ValidationRuleError(f"Rules file {path} does not exist.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ValidationRuleError(f"Rules file {path} is not valid YAML{where}: {problem}.") from exc
    except UnicodeDecodeError as exc:
        raise ValidationRuleError(f"Rules file {path} is not UTF-8 text.") from exc
    if data is None:
        raise ValidationRuleError(f"Rules file {path} is empty; it needs a 'rules:' list.")
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, Mapping):
        raise ValidationRuleError(f"Rules file {path} must hold a mapping with a 'rules:' list.")
    try:
        return load_rules(data)
    except ValidationRuleError as exc:
        raise ValidationRuleError(f"Rules file {path}: {exc}") from exc


def default_rules() -> RuleSet:
    """The default rule set (see ``default_rules.yml``)."""
    return _load_file(DEFAULT_RULES_FILE)
