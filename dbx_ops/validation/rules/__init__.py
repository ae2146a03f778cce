"""Validation rules: the verdict model and base class, the built-in types, the registry, the loader.

* :mod:`~dbx_ops.validation.rules.base`: :class:`RuleResult`, :class:`Needs`, :class:`Rule`;
* :mod:`~dbx_ops.validation.rules.builtin`: the ten built-in rule types;
* :mod:`~dbx_ops.validation.rules.registry`: :func:`register_rule` (add a rule type in your code);
* :mod:`~dbx_ops.validation.rules.loader`: :func:`load_rules` (YAML, mappings, rules) and :class:`RuleSet`.

A rules file is YAML::

    rules:
      - type: row_count_change      # within +-10 % of the baseline
        max_pct: 10
      - type: not_null
        columns: [order_id, amount]
        mostly: 0.99
        severity: warn
"""

from __future__ import annotations

from dbx_ops.validation.rules.base import SEVERITIES, MergedNeeds, Needs, Rule, RuleResult
from dbx_ops.validation.rules.builtin import (
    SCHEMA_ACTIONS,
    DistinctCountBounds,
    DistinctRatioDelta,
    Distribution,
    Freshness,
    NotNull,
    NullRateDelta,
    RowCountBounds,
    RowCountChange,
    SchemaContract,
    ValueRange,
    normalise_type,
)
from dbx_ops.validation.rules.loader import (
    DEFAULT_RULES_FILE,
    RuleSet,
    check_rules_path,
    default_rules,
    load_rules,
    parse_rule,
)
from dbx_ops.validation.rules.registry import register_rule, rule_type, rule_types, unregister_rule

__all__ = [
    "DEFAULT_RULES_FILE",
    "SCHEMA_ACTIONS",
    "SEVERITIES",
    "DistinctCountBounds",
    "DistinctRatioDelta",
    "Distribution",
    "Freshness",
    "MergedNeeds",
    "Needs",
    "NotNull",
    "NullRateDelta",
    "RowCountBounds",
    "RowCountChange",
    "Rule",
    "RuleResult",
    "RuleSet",
    "SchemaContract",
    "ValueRange",
    "check_rules_path",
    "default_rules",
    "load_rules",
    "normalise_type",
    "parse_rule",
    "register_rule",
    "rule_type",
    "rule_types",
    "unregister_rule",
]
