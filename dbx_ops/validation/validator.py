"""Profile and validate: the orchestration over profiles, baselines, rules and the store.

A validation runs, in order:

1. the baseline: read back from the metrics store (``previous``, ``run:``, a
   snapshot or version profiled before: no Spark scan) or profiled from data
   (one aggregation query plus one grouped query for its bins and top values);
2. the current data: ONE aggregation query, counted over the baseline's bins
   and categories;
3. the rules, in plain Python;
4. the current profile (and a freshly profiled baseline) appended to
   ``metrics``, every verdict appended to ``validation_results``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dbx_ops.errors import InvalidInputError
from dbx_ops.names import TableName, parse_table_name
from dbx_ops.state import StateStore
from dbx_ops.validation.baselines import BaselineResolver, BaselineSpec
from dbx_ops.validation.metrics import MetricsStore
from dbx_ops.validation.model import TableProfile
from dbx_ops.validation.profile import ProfileOptions, Profiler
from dbx_ops.validation.report import ValidationReport
from dbx_ops.validation.rules import RuleSet, load_rules

logger = logging.getLogger(__name__)


class Validator:
    """Profiles tables, validates them against a baseline, and keeps everything in Delta.

    Args:
        spark: a Spark session (classic or Connect).
        store: the state store (default: the schema ``DBX_OPS_SCHEMA`` names).
        options: profile settings (approximate distinct error, bins, top-k).
    """

    def __init__(
        self, spark: Any, store: StateStore | None = None, options: ProfileOptions | None = None
    ) -> None:
        self.spark = spark
        self.store = store or StateStore.from_env(spark)
        self.metrics = MetricsStore(self.store)
        self.profiler = Profiler(spark, options)
        self.baselines = BaselineResolver(spark, self.profiler, self.metrics)

    def profile(
        self,
        table_or_df: Any,
        columns: Sequence[str] | None = None,
        where: str | None = None,
        save: bool = True,
    ) -> TableProfile:
        """Profile a table or DataFrame and append the profile to ``metrics``.

        The first profile of a table computes its histogram bins and top values
        (the reference later runs are counted over); later ones reuse the last
        stored profile's bins, so each is one aggregation query.

        Args:
            table_or_df: a table name or a DataFrame.
            columns: columns to measure; None for all, ``[]`` for the row count only (from
                Delta metadata when there is no filter).
            where: a boolean SQL expression selecting the rows.
            save: append the profile to the metrics store (tables only; DataFrames are not stored).
        """
        src = self.profiler.source(table_or_df, where)
        reference = None
        if src.table_name is not None and columns != []:
            reference = self.metrics.latest(src.table_name, src.filter, with_columns=columns)
        result = self.profiler.profile_source(src, columns, reference)
        if save and result.table_name is not None:
            self.metrics.save(result)
        return result

    def validate(
        self,
        table_or_df: Any,
        baseline: str | BaselineSpec | TableProfile | Any | None = None,
        rules: Any = None,
        where: str | None = None,
        columns: Sequence[str] | None = None,
        save: bool = True,
        now: datetime | None = None,
    ) -> ValidationReport:
        """Validate a table (or DataFrame) against a baseline.

        Args:
            table_or_df: a table name or a DataFrame.
            baseline: ``snapshot:LABEL``, ``version:N``, ``previous``, ``run:ID``, ``table:NAME``,
                ``partition:EXPR``, a :class:`TableProfile`, a DataFrame, or None for rules that
                need no baseline.
            rules: a YAML path, a list of dicts / rules, a ``RuleSet``; None for the default set.
            where: filter of the current data (``date = current_date()``).
            columns: limit profiling to these columns (None: what the rules need).
            save: append the profiles and the verdicts to Delta.
            now: the time freshness is measured against (default: now, UTC).

        Returns:
            The :class:`ValidationReport`; call ``raise_on_failure()`` in a job.
        """
        ruleset = load_rules(rules)
        wanted = _columns(ruleset, columns)
        needed = ruleset.distributions_needed()
        distributions: bool | list[str] = True if needed is None else needed
        distinct = ruleset.distinct_needed()
        stats = ruleset.stats_needed()
        src = self.profiler.source(table_or_df, where)
        table = parse_table_name(src.table_name) if src.table_name is not None else None
        if wanted is not None:
            missing = [c for c in wanted if c not in {f.name for f in src.df.schema.fields}]
            wanted = [c for c in wanted if c not in missing]
        base_profile, stored = self._baseline(
            baseline, ruleset, table, src.filter, wanted, distributions, distinct, stats
        )
        current = self.profiler.profile_source(src, wanted, base_profile, distributions, distinct, stats)
        results = ruleset.evaluate(current, base_profile, now)
        report = ValidationReport(
            table=current.table_name or "DataFrame",
            baseline=_baseline_text(baseline, base_profile),
            run_id=current.run_id,
            results=tuple(results),
            current=current.summary(),
            baseline_profile=None if base_profile is None else base_profile.summary(),
            validated_at=datetime.now(UTC),
        )
        if save:
            self._save(report, current, base_profile, stored)
        logger.info("%s", report.summary())
        return report

    def _baseline(
        self,
        baseline: Any,
        ruleset: RuleSet,
        table: TableName | None,
        where: str | None,
        columns: list[str] | None,
        distributions: bool | list[str],
        distinct: list[str] | None,
        stats: list[str] | None = None,
    ) -> tuple[TableProfile | None, bool]:
        if baseline is None:
            if ruleset.needs_baseline:
                needing = sorted({r.TYPE for r in ruleset if r.NEEDS_BASELINE})
                raise InvalidInputError(
                    f"Rules {', '.join(needing)} compare with a baseline; give one "
                    "(snapshot:LABEL, version:N, previous, table:NAME or partition:EXPR)."
                )
            return None, False
        if isinstance(baseline, TableProfile):
            return baseline, True
        if isinstance(baseline, str | BaselineSpec):
            spec = BaselineSpec.parse(baseline)
            return self.baselines.resolve(spec, table, where, columns, distributions, distinct, stats)
        if hasattr(baseline, "agg") and hasattr(baseline, "schema"):
            src = self.profiler.source(baseline, where, label="dataframe")
            return self.profiler.profile_source(src, columns, None, distributions, distinct, stats), False
        raise InvalidInputError(
            "Baseline must be a baseline string, a TableProfile or a DataFrame, "
            f"got {type(baseline).__name__}."
        )

    def _save(
        self, report: ValidationReport, current: TableProfile, baseline: TableProfile | None, stored: bool
    ) -> None:
        keep = [current] if current.table_name is not None else []
        if baseline is not None and not stored and baseline.table_name is not None:
            keep.insert(0, baseline)
        if keep:
            self.metrics.save(*keep)
        rows = [
            {
                "run_id": report.run_id,
                "table_name": report.table,
                "validated_at": report.validated_at,
                "rule": r.rule,
                "rule_type": r.type,
                "column_name": r.column,
                "severity": r.severity,
                "passed": r.passed,
                "observed": r.observed,
                "expected": r.expected,
                "message": r.message,
                "baseline": report.baseline,
                "baseline_run_id": None if baseline is None else baseline.run_id,
            }
            for r in report.results
        ]
        self.metrics.save_results(rows)


def _columns(ruleset: RuleSet, columns: Sequence[str] | None) -> list[str] | None:
    needed = ruleset.columns_needed()
    if columns is None:
        return needed
    chosen = list(dict.fromkeys(columns))
    if needed is not None:
        chosen += [c for c in needed if c not in chosen]
    return chosen


def _baseline_text(baseline: Any, profile: TableProfile | None) -> str | None:
    if baseline is None:
        return None
    if isinstance(baseline, str | BaselineSpec):
        return str(BaselineSpec.parse(baseline))
    if isinstance(baseline, TableProfile):
        return f"run:{baseline.run_id}"
    return profile.describe() if profile is not None else "DataFrame"
