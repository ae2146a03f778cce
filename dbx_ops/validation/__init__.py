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

from dbx_ops.progress import Progress
from dbx_ops.state import StateStore
from dbx_ops.validation.baselines import BaselineSpec
from dbx_ops.validation.model import Categories, ColumnProfile, Histogram, TableProfile
from dbx_ops.validation.profile import ProfileOptions
from dbx_ops.validation.report import ValidationBatch, ValidationReport, ValidationStatus
from dbx_ops.validation.rules import (
    Needs,
    Rule,
    RuleResult,
    RuleSet,
    default_rules,
    load_rules,
    register_rule,
)
from dbx_ops.validation.validator import Validator, parse_tables

__all__ = [
    "BaselineSpec",
    "Categories",
    "ColumnProfile",
    "Histogram",
    "Needs",
    "ProfileOptions",
    "Rule",
    "RuleResult",
    "RuleSet",
    "TableProfile",
    "ValidationBatch",
    "ValidationReport",
    "ValidationStatus",
    "Validator",
    "default_rules",
    "load_rules",
    "parse_tables",
    "profile",
    "register_rule",
    "validate",
    "validate_tables",
]


def _validator(spark: Any, store: StateStore | None) -> Validator:
    """The edge for notebooks: the active session and the state schema ``DBX_OPS_SCHEMA`` names."""
    if spark is None:
        from dbx_ops.runtime import get_spark

        spark = get_spark()
    return Validator(spark, store=store if store is not None else StateStore.from_env(spark))


def profile(
    table_or_df: Any,
    columns: Sequence[str] | None = None,
    *,
    where: str | None = None,
    save: bool = True,
    spark: Any = None,
    store: StateStore | None = None,
) -> TableProfile:
    """Profile a table or DataFrame in one Spark pass and store it (see :meth:`Validator.profile`).

    ``spark`` defaults to the active session, ``store`` to the state schema ``DBX_OPS_SCHEMA`` names.
    """
    return _validator(spark, store).profile(table_or_df, columns=columns, where=where, save=save)


def validate(
    table_or_df: Any,
    baseline: Any = None,
    rules: Any = None,
    *,
    where: str | None = None,
    save: bool = True,
    spark: Any = None,
    store: StateStore | None = None,
) -> ValidationReport:
    """Validate a table against a baseline with the given rules or the defaults.

    See :meth:`Validator.validate`; ``spark`` and ``store`` as for :func:`profile`.
    """
    return _validator(spark, store).validate(
        table_or_df, baseline=baseline, rules=rules, where=where, save=save
    )


def validate_tables(
    tables: str | Sequence[str],
    *,
    spark: Any = None,
    store: StateStore | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> ValidationBatch:
    """Validate several tables (a list or comma-separated text) with progress, one report each.

    ``options`` are those of :meth:`Validator.validate_tables` (``baseline``, ``rules``, ``where``,
    ``save``); ``spark`` and ``store`` as for :func:`profile`.
    """
    return _validator(spark, store).validate_tables(tables, progress=progress, **options)
