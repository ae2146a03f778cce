"""ValidationReport renderings and raise_on_failure (no Spark)."""

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from dbx_ops.errors import CheckFailedError
from dbx_ops.validation.report import ValidationReport
from dbx_ops.validation.rules import RuleResult

CHART = {"labels": ["< 10", "[10, 20)", ">= 20"], "baseline": [30, 40, 30], "current": [5, 5, 90]}


def result(rule, passed, severity="fail", chart=None):
    return RuleResult(
        rule,
        rule.split(":")[0],
        severity,
        passed,
        "obs <x>",
        "exp & y",
        f"{rule} says <b>hi</b>",
        chart=chart,
    )


def report(*results):
    return ValidationReport(
        table="sales.orders",
        baseline="previous",
        run_id="r1",
        results=tuple(results),
        current={"table": "sales.orders", "row_count": 1200, "delta_version": 4},
        baseline_profile={"table": "sales.orders", "row_count": 1000, "delta_version": 3},
        validated_at=datetime(2026, 11, 22, tzinfo=UTC),
    )


def test_status_and_counts():
    ok = report(result("row_count_change", True), result("distinct_ratio_delta:c", False, "warn"))
    assert ok.ok and ok.status == "passed with warnings" and ok.broken() == ["distinct_ratio_delta:c"]
    ok.raise_on_failure()  # warnings do not fail a job
    bad = report(result("row_count_change", False), result("null_rate_delta:a", True))
    assert not bad.ok and bad.status == "failed"
    with pytest.raises(CheckFailedError, match="row_count_change") as info:
        bad.raise_on_failure()
    assert info.value.exit_code == 1
    assert bad.result("null_rate_delta:a").ok
    with pytest.raises(KeyError):
        bad.result("nope")


def test_json_and_markdown():
    rep = report(result("row_count_change", False), result("a|b", True))
    data = json.loads(rep.to_json())
    assert data["status"] == "failed" and data["results"][0]["rule"] == "row_count_change"
    assert data["baseline_profile"]["row_count"] == 1000
    md = rep.to_markdown()
    assert md.startswith("## Validation of `sales.orders`")
    broken = next(line for line in md.splitlines() if "`row_count_change`" in line)
    assert "FAIL" in broken and "| fail |" in broken
    assert "`a\\|b`" in md  # pipes escaped inside the table
    assert md.index("FAIL") < md.index("| ok |")


def test_html_escapes_and_charts_only_drifted_distributions():
    drifted = result("distribution_psi:amount", False, chart=CHART)
    stable = result("distribution_psi:qty", True, chart=CHART)
    page = report(drifted, stable).to_html()
    assert "<b>hi</b>" not in page and "&lt;b&gt;hi&lt;/b&gt;" in page
    assert page.count("<svg") == 1
    assert "Distributions that drifted" in page
    assert "<script" not in page
    assert "Distributions that drifted" not in report(stable).to_html()


def test_drift_chart_has_two_readable_bars_per_bin_scaled_to_shares():
    page = report(result("distribution_psi:amount", False, chart=CHART)).to_html()
    svg = page[page.index("<svg") : page.index("</svg>") + 6]
    assert svg.count("<rect") == 2 + 6  # the two legend swatches, then baseline and current per bin
    assert "current &gt;= 20: 0.9" in svg and "baseline [10, 20): 0.4" in svg
    assert int(svg.split("width='", 1)[1].split("'", 1)[0]) >= 600  # sized to read


def test_status_is_an_enum_and_the_error_is_validation_failed():
    from dbx_ops.errors import ValidationFailedError
    from dbx_ops.validation.report import ValidationStatus

    bad = report(result("row_count_change", False))
    assert bad.status is ValidationStatus.FAILED and bad.passed is bad.ok is False
    with pytest.raises(ValidationFailedError, match=r"^Validation of sales.orders against previous failed"):
        bad.raise_on_failure()
    assert "validated at 2026-11-22 00:00:00+00:00" in bad.to_markdown()
    first = dataclasses.replace(report(), first_run=True, note="First run: stored.")
    assert first.ok and first.status is ValidationStatus.FIRST_RUN and "First run: stored." in first.summary()
    assert report().status is ValidationStatus.PASSED


def test_the_report_says_when_the_profile_was_incremental_and_how_large_the_sample_was():
    base = report(result("not_null:id", True))
    plain = base.to_markdown()
    assert "incremental" not in plain and "sample" not in plain
    current = {**base.current, "method": "incremental", "sample": {"fraction": 0.05, "seed": 17, "rows": 60}}
    text = dataclasses.replace(base, current=current).to_markdown()
    assert "incremental (the stored state merged with the appended rows)" in text
    assert "distributions from a sample of 60 rows (5.00%, seed 17)" in text
