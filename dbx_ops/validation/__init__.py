"""Row-count and drift validation: one Spark pass per table, any baseline, metrics kept in Delta.

In a notebook::

    from dbx_ops.validation import validate
    report = validate("sales.orders", baseline="partition:date = current_date() - 1",
                      where="date = current_date()")
    displayHTML(report.to_html())
    report.raise_on_failure()

The parts: :mod:`~dbx_ops.validation.profile` (the single aggregation pass),
:mod:`~dbx_ops.validation.metrics` (the Delta ``metrics`` and
``validation_results`` tables), :mod:`~dbx_ops.validation.baselines`,
:mod:`~dbx_ops.validation.rules`, :mod:`~dbx_ops.validation.drift` (PSI, JS, KS),
:mod:`~dbx_ops.validation.report` and :mod:`~dbx_ops.validation.ge`
(Great Expectations 1.x interop). Importing this package starts no Spark.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dbx_ops.validation.baselines import BaselineSpec
from dbx_ops.validation.model import Categories, ColumnProfile, Histogram, TableProfile
from dbx_ops.validation.profile import ProfileOptions
from dbx_ops.validation.report import ValidationReport
from dbx_ops.validation.rules import RuleResult, RuleSet, default_rules, load_rules
from dbx_ops.validation.validator import Validator

__all__ = [
    "BaselineSpec",
    "Categories",
    "ColumnProfile",
    "Histogram",
    "ProfileOptions",
    "RuleResult",
    "RuleSet",
    "TableProfile",
    "ValidationReport",
    "Validator",
    "default_rules",
    "load_rules",
    "profile",
    "validate",
]


def _validator(spark: Any) -> Validator:
    if spark is None:
        from dbx_ops.runtime import get_spark

        spark = get_spark()
    return Validator(spark)


def profile(
    table_or_df: Any,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    spark: Any = None,
    save: bool = True,
) -> TableProfile:
    """Profile a table or DataFrame in one Spark pass and store it (see :meth:`Validator.profile`)."""
    return _validator(spark).profile(table_or_df, columns=columns, where=where, save=save)


def validate(
    table_or_df: Any,
    baseline: Any = None,
    rules: Any = None,
    where: str | None = None,
    spark: Any = None,
    save: bool = True,
) -> ValidationReport:
    """Validate a table against a baseline with the given rules or the defaults.

    See :meth:`Validator.validate`.
    """
    return _validator(spark).validate(table_or_df, baseline=baseline, rules=rules, where=where, save=save)
