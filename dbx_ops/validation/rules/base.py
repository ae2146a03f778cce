"""What every rule is: the verdict record, what a rule reads from a profile, the base class.

A rule type is a frozen dataclass subclassing :class:`Rule`. It declares

* ``TYPE``: the name a rules file uses (``type: not_null``);
* :meth:`Rule.needs`: what it reads from a profile (:class:`Needs`: columns,
  distinct counts, min / max stats, histograms / top-k, whether it compares
  with a baseline), so a validation measures only that;
* :meth:`Rule.evaluate`: its verdicts, in plain Python over two
  :class:`~dbx_ops.validation.model.TableProfile` records;
* :meth:`Rule.expectations`: its Great Expectations equivalent, or why there is none;
* :meth:`Rule.check`: the checks of its own values, run when a rules file is loaded.

Registered with :func:`~dbx_ops.validation.rules.registry.register_rule`, a
rule type written in a user's own code is accepted in rules files like the
built-in ones.
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from dbx_ops.errors import ValidationRuleError
from dbx_ops.validation.model import TableProfile

SEVERITIES = ("fail", "warn")


@dataclass(frozen=True)
class RuleResult:
    """The verdict of one rule on one column (or the table).

    Attributes:
        rule: the rule's name (``null_rate_delta:amount``).
        type: the rule type.
        severity: ``fail`` or ``warn``.
        ok: whether the data satisfied the rule.
        observed: what was measured, as text.
        expected: what the rule allows, as text.
        message: one sentence for humans.
        column: the column checked, None for table rules.
        chart: for distribution rules, ``{"labels", "baseline", "current"}`` counts to plot.
    """

    rule: str
    type: str
    severity: str
    ok: bool
    observed: str
    expected: str
    message: str
    column: str | None = None
    chart: Mapping[str, Any] | None = None

    @property
    def passed(self) -> bool:
        """Deprecated alias of :attr:`ok`."""
        return self.ok

    @property
    def failed_hard(self) -> bool:
        """True when this result breaks a fail-severity rule."""
        return not self.ok and self.severity == "fail"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``passed`` repeats ``ok`` for readers of the earlier format)."""
        out = {
            "rule": self.rule,
            "type": self.type,
            "severity": self.severity,
            "ok": self.ok,
            "passed": self.ok,
            "observed": self.observed,
            "expected": self.expected,
            "message": self.message,
            "column": self.column,
        }
        if self.chart is not None:
            out["chart"] = dict(self.chart)
        return out


Columns = tuple[str, ...] | None  # a tuple of column names, or None for "every column"


def _union(parts: Iterable[Columns]) -> list[str] | None:
    wanted: list[str] = []
    for cols in parts:
        if cols is None:
            return None
        wanted += [c for c in cols if c not in wanted]
    return wanted


@dataclass(frozen=True)
class Needs:
    """What a rule reads from a profile; a validation measures the union of its rules' needs.

    The row count, the schema and null counts are always measured (they cost next to nothing).
    Each field is a tuple of column names, or None for every column.

    Attributes:
        columns: columns that must be profiled at all.
        distinct: columns that need an approximate distinct count.
        stats: columns that need min / max (and mean / stddev for numbers).
        distributions: columns that need a histogram (numbers) or top-k (categories).
        baseline: whether the rule compares with a baseline profile.
        bounds: columns that need min / max only (no mean / stddev): the Delta log can give
            those exactly, so a rule that reads only bounds should declare them here.
    """

    columns: Columns = ()
    distinct: Columns = ()
    stats: Columns = ()
    distributions: Columns = ()
    baseline: bool = False
    bounds: Columns = ()

    @staticmethod
    def merge(needs: Iterable[Needs]) -> MergedNeeds:
        """The union of several rules' needs."""
        items = list(needs)
        return MergedNeeds(
            columns=_union(n.columns for n in items),
            distinct=_union(n.distinct for n in items),
            stats=_union(n.stats for n in items),
            distributions=_union(n.distributions for n in items),
            baseline=any(n.baseline for n in items),
            bounds=_union(n.bounds for n in items),
        )


@dataclass(frozen=True)
class MergedNeeds:
    """The needs of a rule set: lists of column names, None for every column."""

    columns: list[str] | None
    distinct: list[str] | None
    stats: list[str] | None
    distributions: list[str] | None
    baseline: bool
    bounds: list[str] | None = None

    @property
    def measured_stats(self) -> list[str] | None:
        """Columns a data profile computes min / max / mean / stddev of: ``stats`` and ``bounds``."""
        if self.stats is None or self.bounds is None:
            return None
        return [*self.stats, *(c for c in self.bounds if c not in self.stats)]


#: What a rule that does not declare its needs gets: everything (safe, but a full profile).
MEASURE_EVERYTHING = Needs(columns=None, distinct=None, stats=None, distributions=None, baseline=True)


@dataclass(frozen=True)
class Rule(ABC):
    """Base of every rule type.

    Attributes:
        severity: ``fail`` (breaks the run) or ``warn`` (reported only).
        name: an optional name shown in reports; defaults to the type.
    """

    TYPE: ClassVar[str] = ""
    #: Keys a rules file must give (checked at load time).
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    #: Allowed values of text keys (``{"direction": ("both", "drop")}``).
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: Number keys that must lie in [0, 1].
    FRACTIONS: ClassVar[tuple[str, ...]] = ()
    #: Number keys that must not be negative.
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = ()

    severity: str = "fail"
    name: str | None = None

    def label(self, column: str | None = None) -> str:
        """The rule's name in reports, with the column when there is one."""
        base = self.name or self.TYPE
        return f"{base}:{column}" if column else base

    def needs(self) -> Needs:
        """What this rule reads from a profile (default: everything, compared with a baseline)."""
        return MEASURE_EVERYTHING

    def named_columns(self) -> tuple[str, ...]:
        """The columns this rule names explicitly (a name missing from the data is a rules error)."""
        cols = self.needs().columns
        return cols or ()

    @abstractmethod
    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime
    ) -> list[RuleResult]:
        """Evaluate against the current profile and the baseline (``now`` for freshness)."""

    def expectations(self, gxe: Any, baseline: TableProfile | None) -> list[Any] | str:
        """Great Expectations 1.x expectations equivalent to this rule, or why there are none.

        Args:
            gxe: the ``great_expectations.expectations`` module.
            baseline: a baseline profile, to turn rules relative to it into absolute bounds.

        Returns:
            The expectations, or one sentence saying why the rule has no equivalent.
        """
        return f"Great Expectations has no equivalent of {self.TYPE}"

    def check(self) -> None:
        """Check this rule's values; raise :class:`ValidationRuleError` with what is wrong.

        The message names the key, not the rule: the loader adds the rule's position.
        Subclasses extend it (call ``super().check()``).
        """
        if self.severity not in SEVERITIES:
            raise ValidationRuleError(f"severity {self.severity!r} is not one of {', '.join(SEVERITIES)}.")
        for key in self.REQUIRED:
            if not getattr(self, key, None):
                raise ValidationRuleError(f"{key!r} is required.")
        for key, allowed in self.CHOICES.items():
            value = getattr(self, key)
            if value not in allowed:
                raise ValidationRuleError(f"{key} {value!r} is not one of {', '.join(allowed)}.")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValidationRuleError(f"{f.name} must be a finite number, got {value!r}.")
        for key in self.FRACTIONS:
            value = getattr(self, key, None)
            if value is not None and not 0.0 <= float(value) <= 1.0:
                raise ValidationRuleError(f"{key} must be between 0 and 1, got {value!r}.")
        for key in self.NON_NEGATIVE:
            value = getattr(self, key, None)
            if isinstance(value, int | float) and value < 0:
                raise ValidationRuleError(f"{key} must not be negative, got {value!r}.")

    def result(
        self, ok: bool, observed: str, expected: str, message: str, column: str | None = None, **kw: Any
    ) -> RuleResult:
        """A :class:`RuleResult` of this rule (its name, type and severity filled in)."""
        return RuleResult(
            rule=self.label(column),
            type=self.TYPE,
            severity=self.severity,
            ok=ok,
            observed=observed,
            expected=expected,
            message=message,
            column=column,
            **kw,
        )

    def missing(self, column: str) -> RuleResult:
        """The failed verdict for a column the data does not have."""
        return self.result(
            False, "column missing", "column present", f"Column {column!r} is not in the data.", column
        )

    def meta(self, column: str | None = None) -> dict[str, Any]:
        """The ``meta`` of an exported GE expectation: which dbx_ops rule it came from."""
        return {"dbx_ops_rule": self.label(column), "dbx_ops_type": self.TYPE}

    def to_dict(self) -> dict[str, Any]:
        """The rule as it would be written in a rules file."""
        out: dict[str, Any] = {"type": self.TYPE}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None or (f.name == "severity" and value == "fail"):
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def need_baseline(rule: Rule, baseline: TableProfile | None) -> TableProfile:
    """The baseline, or the error saying the rule needs one."""
    if baseline is None:
        raise ValidationRuleError(f"Rule {rule.label()!r} compares with a baseline; pass one (--baseline).")
    return baseline


GE_SEVERITY = {"fail": "critical", "warn": "warning"}
