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
from datetime import datetime
from typing import Any

from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import InvalidInputError, ValidationRuleError
from dbx_ops.names import TableName, parse_table_name
from dbx_ops.progress import NullProgress, Progress
from dbx_ops.state import StateStore
from dbx_ops.validation.baselines import BaselineResolver, BaselineSpec
from dbx_ops.validation.incremental import IncrementalProfiler
from dbx_ops.validation.metrics import MetricsStore
from dbx_ops.validation.model import TableProfile
from dbx_ops.validation.planner import MetricSources, SourcedProfiler
from dbx_ops.validation.profile import DataSource, ProfileOptions, Profiler
from dbx_ops.validation.report import ValidationBatch, ValidationReport
from dbx_ops.validation.rules import RuleSet, load_rules

logger = logging.getLogger(__name__)


class Validator:
    """Profiles tables, validates them against a baseline, and keeps everything in Delta.

    Args:
        spark: a Spark session (classic or Connect).
        store: the state store holding the ``metrics`` and ``validation_results`` tables.
        options: profile settings (approximate distinct error, bins, top-k).
        now: the clock stamping profiles and reports (UTC-aware).
        use_log: take row counts, null counts and exact bounds from the Delta log when it can
            give them (False: every metric from the data).
    """

    def __init__(
        self,
        spark: Any,
        store: StateStore,
        options: ProfileOptions | None = None,
        now: Clock = utc_now,
        use_log: bool = True,
    ) -> None:
        if not isinstance(store, StateStore):
            raise InvalidInputError(
                f"Validator needs store=StateStore(spark, schema), got {type(store).__name__}."
            )
        self.spark = spark
        self.store = store
        self.now = now
        self.metrics = MetricsStore(self.store)
        self.profiler = Profiler(spark, options, now=now)
        self.baselines = BaselineResolver(spark, self.profiler, self.metrics)
        self.incremental = IncrementalProfiler(self.profiler)
        # where each metric comes from: the Delta log, a stored profile of this version, the
        # stored state merged with the rows appended since, the data
        self.sourcing = SourcedProfiler(
            self.profiler, self.metrics, use_log=use_log, incremental=self.incremental
        )
        if use_log:  # the latest version from a driver-side listing of the log, when it can
            self.profiler.latest_version = self.sourcing.log_reader.latest_version

    def profile(
        self,
        table_or_df: Any,
        columns: Sequence[str] | None = None,
        where: str | None = None,
        save: bool = True,
        full: bool = False,
    ) -> TableProfile:
        """Profile a table or DataFrame and append the profile to ``metrics``.

        The first profile of a table computes its histogram bins and top values
        (the reference later runs are counted over); later ones reuse the last
        stored profile's bins, so each is one aggregation query. When the table only
        grew by appends since that stored profile, only the new rows are profiled and
        merged into it (``method == "incremental"``, see :mod:`dbx_ops.validation.incremental`).

        Args:
            table_or_df: a table name or a DataFrame.
            columns: columns to measure; None for all, ``[]`` for the row count only (from
                Delta metadata when there is no filter).
            where: a boolean SQL expression selecting the rows.
            save: append the profile to the metrics store (tables only; DataFrames are not stored).
            full: scan every row even when an incremental profile is possible.
        """
        return self.profile_with_sources(table_or_df, columns, where, save, full)[0]

    def profile_with_sources(
        self,
        table_or_df: Any,
        columns: Sequence[str] | None = None,
        where: str | None = None,
        save: bool = True,
        full: bool = False,
    ) -> tuple[TableProfile, MetricSources]:
        """:meth:`profile`, and where each metric came from (the log, a stored profile, the
        stored state merged with the appended rows, the data)."""
        src = self.profiler.source(table_or_df, where)
        reference = None
        if src.table_name is not None and columns != []:
            reference = self.metrics.latest(src.table_name, src.filter, with_columns=columns)
        state = None if full or src.filter is not None else reference
        result, sources = self.sourcing.profile(
            src, columns, reference, True, None, None, None, state=state, full=full
        )
        if save and result.table_name is not None:
            self.metrics.save(result)
            self.sourcing.remember(result)
        return result, sources

    def validate(
        self,
        table_or_df: Any,
        baseline: str | BaselineSpec | TableProfile | Any | None = None,
        rules: Any = None,
        where: str | None = None,
        columns: Sequence[str] | None = None,
        save: bool = True,
        now: datetime | None = None,
        full: bool = False,
    ) -> ValidationReport:
        """Validate a table (or DataFrame) against a baseline.

        With ``baseline="previous"`` and nothing stored yet for the table (its first run), the
        current profile is stored as the next run's baseline and the report passes with a note
        (status ``first run``); only the rules that need no baseline are checked.

        Args:
            table_or_df: a table name or a DataFrame.
            baseline: ``snapshot:LABEL``, ``version:N``, ``previous``, ``run:ID``, ``table:NAME``,
                ``partition:EXPR``, a :class:`TableProfile`, a DataFrame, or None for rules that
                need no baseline.
            rules: a YAML path, a list of dicts / rules, a ``RuleSet``; None for the default set.
            where: filter of the current data (``date = current_date()``).
            columns: limit profiling to these columns (None: what the rules need).
            save: append the profiles and the verdicts to Delta.
            now: the time freshness is measured against (default: the validator's clock).
            full: profile every row even when the table only grew by appends since the stored
                profile the current data would otherwise be merged into.

        Returns:
            The :class:`ValidationReport`; call ``raise_on_failure()`` in a job.

        Raises:
            ValidationRuleError: when the rules are malformed or name a column that neither the
                data nor the baseline has.
        """
        ruleset = load_rules(rules)
        needs = ruleset.needs()
        wanted = _columns(needs.columns, columns)
        distributions: bool | list[str] = True if needs.distributions is None else needs.distributions
        src = self.profiler.source(table_or_df, where)
        table = parse_table_name(src.table_name) if src.table_name is not None else None
        present = [f.name for f in src.df.schema.fields]
        if baseline is None:
            _refuse_unknown_columns(ruleset, src, present)
        if wanted is not None:
            wanted = [c for c in wanted if c in present]
        base_profile, stored = self._baseline(
            baseline, ruleset, table, src.filter, wanted, distributions, needs.distinct, needs.measured_stats
        )
        first_run = baseline is not None and base_profile is None
        if base_profile is not None:
            _refuse_unknown_columns(ruleset, src, present, [n for n, _ in base_profile.schema])
        applied = ruleset.baseline_free() if first_run else ruleset
        if first_run:
            _refuse_unknown_columns(ruleset, src, present)
        state = None if full else self._state(src, baseline, base_profile, stored, wanted)
        current, sources = self.sourcing.profile(
            src, wanted, base_profile, distributions, needs.distinct, needs.stats, needs.bounds,
            stored=base_profile if stored else None, state=state, full=full,
        )  # fmt: skip
        stamp = self.now()
        results = applied.evaluate(current, base_profile, now or stamp)
        report = ValidationReport(
            table=current.table_name or "DataFrame",
            baseline=_baseline_text(baseline, base_profile),
            run_id=current.run_id,
            results=tuple(results),
            current=current.summary(),
            baseline_profile=None if base_profile is None else base_profile.summary(),
            first_run=first_run,
            note=_first_run_note(current, len(ruleset) - len(applied), save) if first_run else None,
            validated_at=stamp,
            sources=sources,
        )
        if save:
            self._save(report, current, base_profile, stored)
        logger.info("%s", report.summary())
        return report

    def validate_tables(
        self,
        tables: str | Sequence[str],
        baseline: str | BaselineSpec | None = None,
        rules: Any = None,
        where: str | None = None,
        save: bool = True,
        progress: Progress | None = None,
        full: bool = False,
    ) -> ValidationBatch:
        """Validate several tables under the same baseline kind and rules, one after the other.

        Args:
            tables: table names, or one text of comma-separated names (a job parameter).
            baseline: as for :meth:`validate` (a text or spec: each table gets its own).
            rules: as for :meth:`validate`; loaded once.
            where: as for :meth:`validate`.
            save: as for :meth:`validate`.
            progress: shows one step per table (default: nothing shown).
            full: as for :meth:`validate`.

        Returns:
            The :class:`ValidationBatch` of every table's report.

        Raises:
            InvalidInputError: when no table is named or a name is invalid (before any work).
        """
        names = parse_tables(tables)
        spec = BaselineSpec.parse(baseline) if baseline is not None else None
        ruleset = load_rules(rules)
        shown = progress or NullProgress()
        reports = []
        with shown.task("validating", len(names)):
            for name in names:
                report = self.validate(name, spec, ruleset, where=where, save=save, full=full)
                shown.advance(name, ok=report.ok, detail="" if report.ok else str(report.status))
                reports.append(report)
        return ValidationBatch(tuple(reports))

    def _state(
        self,
        src: DataSource,
        baseline: Any,
        base_profile: TableProfile | None,
        stored: bool,
        wanted: list[str] | None,
    ) -> TableProfile | None:
        """The stored profile an incremental profile of ``src`` merges into, or None (a full scan).

        The baseline's own stored profile when it is the table's (``previous``), so the current
        data stays counted over the baseline's bins; the table's newest profile when no baseline
        is compared.
        """
        if src.table_name is None or src.filter is not None:
            return None
        if base_profile is not None:
            own = stored and base_profile.table_name == src.table_name and base_profile.source == "current"
            return base_profile if own and base_profile.filter is None else None
        if baseline is None:
            return self.metrics.latest(src.table_name, None, with_columns=wanted)
        return None

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
                needing = sorted({r.TYPE for r in ruleset if r.needs().baseline})
                raise InvalidInputError(
                    f"Rules {', '.join(needing)} compare with a baseline; give one "
                    "(snapshot:LABEL, version:N, previous, table:NAME or partition:EXPR)."
                )
            return None, False
        if isinstance(baseline, TableProfile):
            return baseline, True
        if isinstance(baseline, str | BaselineSpec):
            spec = BaselineSpec.parse(baseline)
            return self.baselines.resolve(
                spec, table, where, columns, distributions, distinct, stats, first_run_ok=True
            )
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
            self.sourcing.remember(*keep)
        rows = [
            {
                "run_id": report.run_id,
                "table_name": report.table,
                "validated_at": report.validated_at,
                "rule": r.rule,
                "rule_type": r.type,
                "column_name": r.column,
                "severity": r.severity,
                "passed": r.ok,
                "observed": r.observed,
                "expected": r.expected,
                "message": r.message,
                "baseline": report.baseline,
                "baseline_run_id": None if baseline is None else baseline.run_id,
            }
            for r in report.results
        ]
        self.metrics.save_results(rows)


def _columns(needed: list[str] | None, columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return needed
    chosen = list(dict.fromkeys(columns))
    if needed is not None:
        chosen += [c for c in needed if c not in chosen]
    return chosen


def _refuse_unknown_columns(
    ruleset: RuleSet, src: DataSource, present: Sequence[str], baseline: Sequence[str] = ()
) -> None:
    """A rule naming a column that neither the data nor the baseline has is a rules error (exit 2).

    A column the baseline has and the data lost is a finding (the rule fails), not an input error.
    """
    unknown = ruleset.missing_columns(present, baseline)
    if unknown:
        rule, column = unknown[0]
        raise ValidationRuleError(
            f"Rule {rule.label()!r} names column {column!r}, which {src.table_name or 'the DataFrame'} "
            f"does not have; its columns are {', '.join(present) or 'none'}."
        )


def parse_tables(tables: str | Sequence[str]) -> list[str]:
    """Table names from a list or a comma-separated text, each validated, duplicates dropped.

    Raises:
        InvalidInputError: when no table is named or a name is invalid.
    """
    items = tables.split(",") if isinstance(tables, str) else list(tables)
    names: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidInputError(f"Table names must be text, got {type(item).__name__}.")
        if item.strip():
            name = str(parse_table_name(item.strip()))
            if name not in names:
                names.append(name)
    if not names:
        raise InvalidInputError("No table to validate: give one or more names, comma-separated.")
    return names


def _first_run_note(current: TableProfile, skipped: int, saved: bool) -> str:
    stored = "stored as the baseline of the next run" if saved else "not stored (save=False)"
    rules = f"; {skipped} rule(s) that compare with a baseline were skipped" if skipped else ""
    return f"First run: no stored profile of {current.table_name} yet, so this profile was {stored}{rules}."


def _baseline_text(baseline: Any, profile: TableProfile | None) -> str | None:
    if baseline is None:
        return None
    if isinstance(baseline, str | BaselineSpec):
        return str(BaselineSpec.parse(baseline))
    if isinstance(baseline, TableProfile):
        return f"run:{baseline.run_id}"
    return profile.describe() if profile is not None else "DataFrame"
