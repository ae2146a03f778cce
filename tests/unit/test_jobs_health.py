"""Pure health statistics and alert rules."""

from __future__ import annotations

import pytest

from dbx_ops.errors import InvalidInputError
from dbx_ops.jobs.health import HealthRules, RunRecord, evaluate, linked_tables, percentile
from dbx_ops.jobs.report import health_html, health_markdown

NOW = 10_000_000


def runs(*spec: tuple[str, int]) -> list[RunRecord]:
    """Oldest first: (result, seconds); result 'RUNNING' makes an active run."""
    out, t = [], 1_000_000
    for i, (result, secs) in enumerate(spec):
        if result == "RUNNING":
            out.append(RunRecord(i, t, None, "RUNNING"))
        else:
            out.append(RunRecord(i, t, t + secs * 1000, "TERMINATED", result))
        t += 100_000
    return out


def rules_fired(h) -> list[tuple[str, str]]:
    return [(a.rule, a.severity) for a in h.alerts]


def test_statistics():
    h = evaluate(1, "j", runs(("SUCCESS", 10), ("SUCCESS", 20), ("FAILED", 30), ("SUCCESS", 40)), NOW)
    assert (h.runs, h.success_rate, h.mean_duration_s, h.p95_duration_s) == (4, 0.75, 25.0, 40.0)
    assert (h.last_state, h.last_run_id, h.consecutive_failures) == ("SUCCESS", 3, 0)
    assert h.status == "DEGRADED"  # 75% < 90%
    lenient = evaluate(
        1,
        "j",
        runs(("SUCCESS", 10), ("FAILED", 10), ("SUCCESS", 10)),
        NOW,
        HealthRules(healthy_success_rate=0.5),
    )
    assert lenient.status == "HEALTHY"
    assert percentile([], 95) is None and percentile([5.0], 95) == 5.0


def test_failed_last_run_is_p1_and_three_in_a_row_adds_p1():
    one = evaluate(1, "j", runs(("SUCCESS", 10), ("FAILED", 10)), NOW)
    assert rules_fired(one) == [("job_failed", "P1")] and not one.ok and one.status == "UNHEALTHY"
    three = evaluate(1, "j", runs(("SUCCESS", 10), *[("FAILED", 10)] * 3), NOW)
    assert rules_fired(three) == [("job_failed", "P1"), ("consecutive_fails", "P1")]
    assert three.consecutive_failures == 3
    two = evaluate(1, "j", runs(("FAILED", 10), ("FAILED", 10), ("SUCCESS", 10)), NOW)
    assert rules_fired(two) == []


def test_cancelled_runs_neither_fail_nor_break_a_streak():
    h = evaluate(1, "j", runs(("FAILED", 10), ("FAILED", 10), ("CANCELED", 1), ("FAILED", 10)), NOW)
    assert h.consecutive_failures == 3 and h.runs == 3


def test_long_running_compares_with_the_mean_before():
    h = evaluate(1, "j", runs(*[("SUCCESS", 60)] * 4, ("SUCCESS", 121)), NOW)
    assert rules_fired(h) == [("long_running", "P2")] and "took 121s" in h.alerts[0].message
    assert rules_fired(evaluate(1, "j", runs(*[("SUCCESS", 60)] * 4, ("SUCCESS", 120)), NOW)) == []
    active = runs(*[("SUCCESS", 60)] * 3, ("RUNNING", 0))
    elapsed_ms = active[-1].start_time + 200_000
    h = evaluate(1, "j", active, elapsed_ms)
    assert rules_fired(h) == [("long_running", "P2")] and "has been running for 200s" in h.alerts[0].message
    assert h.last_state == "RUNNING" and h.runs == 3
    custom = evaluate(
        1, "j", runs(*[("SUCCESS", 60)] * 4, ("SUCCESS", 100)), NOW, HealthRules(duration_factor=1.5)
    )
    assert rules_fired(custom) == [("long_running", "P2")]


def test_data_quality_and_no_runs():
    h = evaluate(1, "j", [], NOW, dq_failures={"s.t": "run r1 failed row_count."})
    assert rules_fired(h) == [("data_quality", "P2")] and h.status == "DEGRADED"
    empty = evaluate(1, "j", [], NOW)
    assert empty.status == "NO_RUNS" and empty.success_rate is None and empty.alerts == ()


def test_linked_tables_and_rule_validation():
    assert linked_tables({"dbx_ops_tables": "a.b, c.d"}, ["c.d", "e.f"]) == ["a.b", "c.d", "e.f"]
    with pytest.raises(InvalidInputError):
        linked_tables({"dbx_ops_tables": "x; DROP TABLE y"})
    with pytest.raises(InvalidInputError, match="window"):
        HealthRules(window=0)
    with pytest.raises(InvalidInputError, match="duration_factor"):
        HealthRules(duration_factor=1)


def test_reports_render_and_escape():
    h = evaluate(1, "<b>j</b>", runs(("FAILED", 10)), NOW)
    html = health_html([h])
    assert "&lt;b&gt;j&lt;/b&gt;" in html and "<b>j</b>" not in html and "UNHEALTHY" in html
    md = health_markdown([h])
    assert md.startswith("| job_id |") and "[P1]" in md
