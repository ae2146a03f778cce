"""Rule types carry their own needs, and a user's rule type registers like a built-in (no Spark)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from dbx_ops.errors import InvalidInputError, ValidationRuleError
from dbx_ops.validation import rules as R
from dbx_ops.validation.model import ColumnProfile, TableProfile

DOC = Path(__file__).resolve().parents[2] / "docs" / "validation.md"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _blocks(language: str) -> list[str]:
    section = DOC.read_text(encoding="utf-8").split("## Your own rule types", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def _profile(nulls: int) -> TableProfile:
    cols = {"amount": ColumnProfile("amount", "double", nulls)}
    return TableProfile("r", "s.t", 1, None, NOW, 100, (("amount", "double"),), cols)


@pytest.fixture
def documented_rule():
    (code,) = _blocks("python")
    namespace: dict[str, object] = {"__name__": "users_rules"}
    exec(compile(code, str(DOC), "exec", dont_inherit=True), namespace)  # the documented example
    yield namespace["MaxNullCount"]
    R.unregister_rule("max_null_count")


def test_the_documented_rule_type_works_in_a_rules_file(documented_rule):
    (text,) = _blocks("yaml")
    rules = R.load_rules(yaml.safe_load(text))
    (rule,) = rules.rules
    assert isinstance(rule, documented_rule)
    assert rules.columns_needed() == ["amount"] and not rules.needs_baseline
    assert rules.distinct_needed() == [] and rules.distributions_needed() == []
    (ok,) = rules.evaluate(_profile(nulls=3), None, NOW)
    (bad,) = rules.evaluate(_profile(nulls=30), None, NOW)
    assert ok.ok and not bad.ok and bad.message == "'amount' has 30 nulls, more than 10."
    with pytest.raises(ValidationRuleError, match=r"rule 1 \(max_null_count\): 'column' is required"):
        R.load_rules([{"type": "max_null_count", "max": 1}])
    with pytest.raises(ValidationRuleError, match="must be a whole number"):
        R.load_rules([{"type": "max_null_count", "column": "a", "max": 1.5}])
    assert "max_null_count" in R.rule_types()


def test_registering_needs_a_frozen_rule_dataclass_and_a_free_name():
    class NotARule:
        TYPE = "x"

    with pytest.raises(InvalidInputError, match="subclass of Rule"):
        R.register_rule(NotARule)  # type: ignore[type-var]

    class Loose(R.Rule):  # not a dataclass itself: its fields would not be rule keys
        TYPE: ClassVar[str] = "loose"

        def evaluate(self, current, baseline, now):
            return []

    with pytest.raises(InvalidInputError, match="frozen dataclass"):
        R.register_rule(Loose)

    @dataclass(frozen=True)
    class Clash(R.Rule):
        TYPE: ClassVar[str] = "not_null"

        def evaluate(self, current, baseline, now):
            return []

    with pytest.raises(InvalidInputError, match="already registered"):
        R.register_rule(Clash)
    assert R.rule_type("not_null") is R.NotNull


def test_each_built_in_rule_declares_what_it_reads():
    assert R.NotNull(columns=("a",)).needs() == R.Needs(columns=("a",))
    # bounds only (no mean / stddev): the Delta log can answer them
    assert R.ValueRange(column="a", min=0).needs() == R.Needs(columns=("a",), bounds=("a",))
    assert R.Freshness(column="ts").needs().bounds == ("ts",)
    assert R.DistinctCountBounds(column="c").needs().distinct == ("c",)
    assert R.Distribution().needs() == R.Needs(columns=None, distinct=None, distributions=None, baseline=True)
    assert R.Distribution(columns=("x",)).needs().distributions == ("x",)
    assert R.SchemaContract(columns={"a": "int"}).needs().baseline is False
    assert R.SchemaContract().needs().baseline is True
    specs = [{"type": "not_null", "columns": ["a"]}, {"type": "value_range", "column": "b"}]
    merged = R.load_rules(specs).needs()
    assert merged.columns == ["a", "b"] and merged.bounds == ["b"] and merged.baseline is False
    assert merged.stats == [] and merged.measured_stats == ["b"]
