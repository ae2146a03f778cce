"""Great Expectations 1.x interop.

* :func:`to_expectation_suite` exports dbx_ops rules as a GE ``ExpectationSuite``
  wherever GE has an equivalent expectation. Rules relative to a baseline
  (row count change, null-rate delta, distinct ratio) become absolute bounds
  when a baseline profile is given; rules with no GE equivalent (PSI / JS / KS
  distribution distances, freshness relative to the run time) are listed as
  skipped, with the reason.
* :func:`run_expectation_suite` runs a user's GE suite on a Spark DataFrame
  (ephemeral context, Spark datasource, whole-DataFrame batch) and returns the
  results as a :class:`~dbx_ops.validation.report.ValidationReport`, so GE and
  dbx_ops verdicts render the same way.

``great_expectations`` is imported only when these functions run (the ``ge`` extra).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import EnvironmentSetupError, InvalidInputError
from dbx_ops.validation.model import TableProfile
from dbx_ops.validation.report import ValidationReport
from dbx_ops.validation.rules import RuleResult, load_rules

logger = logging.getLogger(__name__)

_SEVERITY_FROM_GE = {"critical": "fail", "warning": "warn", "info": "warn"}


@dataclass(frozen=True)
class SuiteExport:
    """The exported suite and what could not be exported.

    Attributes:
        suite: the ``great_expectations.ExpectationSuite``.
        skipped: ``(rule, reason)`` for each rule without a GE equivalent.
    """

    suite: Any
    skipped: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _gx() -> Any:
    try:
        import great_expectations as gx
    except ImportError as exc:  # the ge extra is optional
        raise EnvironmentSetupError(
            "Great Expectations is not installed; pip install 'dbx-ops[ge]' (great-expectations 1.x)."
        ) from exc
    return gx


def to_expectation_suite(
    rules: Any, name: str = "dbx_ops", baseline: TableProfile | None = None
) -> SuiteExport:
    """Export rules as a Great Expectations ``ExpectationSuite``.

    Args:
        rules: anything :func:`~dbx_ops.validation.rules.load_rules` accepts.
        name: the suite name.
        baseline: a baseline profile; turns relative rules into absolute bounds.

    Returns:
        The suite and the rules that were skipped, with reasons.
    """
    gx = _gx()
    collected: list[Any] = []
    skipped: list[tuple[str, str]] = []
    for rule in load_rules(rules):
        found = rule.expectations(gx.expectations, baseline)  # each rule knows its GE equivalent
        if isinstance(found, str):
            skipped.append((rule.label(), found))
        else:
            collected += found
    # Built in one go: add_expectation() on a suite needs an active GE data context.
    return SuiteExport(gx.ExpectationSuite(name=name, expectations=collected), tuple(skipped))


def run_expectation_suite(
    spark: Any, df: Any, suite: Any, table: str = "DataFrame", *, now: Clock = utc_now
) -> ValidationReport:
    """Run a GE 1.x suite on a Spark DataFrame and report it in dbx_ops' format.

    Args:
        spark: the Spark session (unused by GE itself; kept for symmetry with the other entry points).
        df: the Spark DataFrame to validate.
        suite: a ``great_expectations.ExpectationSuite`` (or a :class:`SuiteExport`).
        table: the name shown in the report.
        now: the clock stamping the report.

    Raises:
        InvalidInputError: when ``suite`` is not an expectation suite.
    """
    gx = _gx()
    if isinstance(suite, SuiteExport):
        suite = suite.suite
    if not isinstance(suite, gx.ExpectationSuite):
        raise InvalidInputError(
            f"Expected a Great Expectations ExpectationSuite, got {type(suite).__name__}."
        )
    run = uuid.uuid4().hex
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_spark(name=f"dbx_ops_{run[:8]}")
    asset = source.add_dataframe_asset(name="data")
    batch = asset.add_batch_definition_whole_dataframe("whole")
    copy = gx.ExpectationSuite(name=suite.name, expectations=[e.copy() for e in suite.expectations])
    copy = context.suites.add(copy)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=copy, name=f"dbx_ops_{run[:8]}")
    )
    logger.info("running Great Expectations suite %s (%d expectations)", suite.name, len(suite.expectations))
    outcome = definition.run(batch_parameters={"dataframe": df})
    results = tuple(_result(r) for r in outcome.results)
    return ValidationReport(
        table=table,
        baseline=None,
        run_id=run,
        results=results,
        current={"table": table, "suite": suite.name},
        validated_at=now(),
        engine="great_expectations",
    )


def _result(r: Any) -> RuleResult:
    config = r.expectation_config
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k not in ("batch_id", "result_format")}
    column = kwargs.get("column")
    meta = dict(config.meta or {})
    severity = str(getattr(config, "severity", "critical") or "critical")
    severity = _SEVERITY_FROM_GE.get(severity.rsplit(".", 1)[-1].lower(), "fail")
    detail = dict(r.result or {})
    if "observed_value" in detail:
        observed = str(detail["observed_value"])
    elif "unexpected_percent" in detail:
        observed = f"{detail.get('unexpected_count', 0)} unexpected ({detail['unexpected_percent']:.2f} %)"
    elif r.exception_info and r.exception_info.get("raised_exception"):
        observed = "error: " + str(r.exception_info.get("exception_message"))[:200]
    else:
        observed = "-"
    expected = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "column")
    name = meta.get("dbx_ops_rule") or (f"{config.type}:{column}" if column else config.type)
    message = (
        f"{config.type}" + (f" on {column!r}" if column else "") + (" passed." if r.success else " failed.")
    )
    return RuleResult(
        rule=str(name),
        type=str(config.type),
        severity=severity,
        ok=bool(r.success),
        observed=observed,
        expected=expected,
        message=message,
        column=column,
    )
