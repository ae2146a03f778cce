"""ValidationReport renderings and raise_on_failure (no Spark)."""

import json
from datetime import UTC, datetime

import pytest

from dbx_ops.errors import CheckFailedError
from dbx_ops.validation.report import ValidationReport, bar_chart_svg
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
    assert ok.passed and ok.status == "passed with warnings" and ok.broken() == ["distinct_ratio_delta:c"]
    ok.raise_on_failure()  # warnings do not fail a job
    bad = report(result("row_count_change", False), result("null_rate_delta:a", True))
    assert not bad.passed and bad.status == "failed"
    with pytest.raises(CheckFailedError, match="row_count_change") as info:
        bad.raise_on_failure()
    assert info.value.exit_code == 1
    assert bad.result("null_rate_delta:a").passed
    with pytest.raises(KeyError):
        bad.result("nope")


def test_json_and_markdown():
    rep = report(result("row_count_change", False), result("a|b", True))
    data = json.loads(rep.to_json())
    assert data["status"] == "failed" and data["results"][0]["rule"] == "row_count_change"
    assert data["baseline_profile"]["row_count"] == 1000
    md = rep.to_markdown()
    assert md.startswith("## Validation of `sales.orders`")
    assert "| FAIL | `row_count_change` | fail |" in md
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


def test_bar_chart_svg_has_two_bars_per_bin_scaled_to_shares():
    svg = bar_chart_svg(CHART)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 6
    assert "current 90.0%" in svg and "baseline 40.0%" in svg
    assert bar_chart_svg({"labels": [], "baseline": [], "current": []}).count("<rect") == 2
