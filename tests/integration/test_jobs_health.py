"""Health rules on scripted run histories, read back through the real databricks-sdk."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import standin
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbx_ops.cli import main
from dbx_ops.jobs.health import JobHealthChecker
from dbx_ops.state import StateStore
from dbx_ops.validation.metrics import RESULTS_DDL

pytestmark = pytest.mark.workspace


def _job(ws: WorkspaceClient, name: str, tags: dict[str, str] | None = None) -> int:
    task = jobs.Task(
        task_key="main",
        notebook_task=jobs.NotebookTask(notebook_path="/Workspace/p/main"),
        existing_cluster_id="c1",
    )
    return int(ws.jobs.create(name=name, tasks=[task], tags=tags).job_id or 0)


def _history(ws: WorkspaceClient, job_id: int, outcomes: list[tuple[str, int]]) -> list[int]:
    """Runs started with jobs.run_now, finished through the stand-in's admin endpoint (oldest first)."""
    server = standin.of(str(ws.config.host))
    ids = []
    for result, seconds in outcomes:
        run_id = int(ws.jobs.run_now(job_id).response.run_id or 0)
        server.complete_run(run_id, result, seconds * 1000)
        ids.append(run_id)
    return ids


@pytest.fixture(scope="module")
def histories(workspace: WorkspaceClient) -> dict[str, int]:
    ws = workspace
    steady = _job(ws, "steady")
    _history(ws, steady, [("SUCCESS", 60)] * 6)
    slow = _job(ws, "slow-last")
    _history(ws, slow, [("SUCCESS", 60)] * 5 + [("SUCCESS", 200)])
    broken = _job(ws, "broken")
    _history(ws, broken, [("SUCCESS", 60), ("FAILED", 30), ("FAILED", 30), ("FAILED", 30)])
    recovered = _job(ws, "recovered")
    _history(ws, recovered, [("FAILED", 60), ("FAILED", 60), ("SUCCESS", 60)])
    linked = _job(ws, "linked", tags={"dbx_ops_tables": "sales.orders, sales.customers"})
    _history(ws, linked, [("SUCCESS", 60)] * 3)
    return {"steady": steady, "slow": slow, "broken": broken, "recovered": recovered, "linked": linked}


def test_statistics_and_quiet_job(workspace: WorkspaceClient, histories: dict[str, int]):
    h = JobHealthChecker(workspace).check(histories["steady"])
    assert (h.runs, h.success_rate, h.mean_duration_s, h.p95_duration_s) == (6, 1.0, 60.0, 60.0)
    assert (h.last_state, h.consecutive_failures, h.alerts, h.status) == ("SUCCESS", 0, (), "HEALTHY")


def test_duration_over_twice_the_mean_is_p2(workspace: WorkspaceClient, histories: dict[str, int]):
    h = JobHealthChecker(workspace).check("slow-last")
    assert [(a.rule, a.severity) for a in h.alerts] == [("long_running", "P2")]
    assert "took 200s" in h.alerts[0].message and h.status == "DEGRADED" and h.ok


def test_failed_run_and_three_in_a_row_are_p1(workspace: WorkspaceClient, histories: dict[str, int]):
    h = JobHealthChecker(workspace).check(histories["broken"])
    assert [(a.rule, a.severity) for a in h.alerts] == [("job_failed", "P1"), ("consecutive_fails", "P1")]
    assert (h.consecutive_failures, h.success_rate, h.status) == (3, 0.25, "UNHEALTHY")

    r = JobHealthChecker(workspace).check(histories["recovered"])
    assert r.alerts == () and r.consecutive_failures == 0 and r.status == "DEGRADED"


def test_data_quality_failure_is_p2(
    workspace: WorkspaceClient, histories: dict[str, int], spark, schema: str
):
    cols = [c.split()[0] for c in RESULTS_DDL.split(", ")]

    def row(run_id: str, table: str, at: str, rule: str, severity: str, passed: bool) -> dict:
        base = dict.fromkeys(cols)
        base.update(
            run_id=run_id,
            table_name=table,
            validated_at=datetime.fromisoformat(at),
            rule=rule,
            severity=severity,
            passed=passed,
            message="",
        )
        return base

    StateStore(spark, schema).append(
        "validation_results",
        [
            row(
                "v1", "sales.orders", "2026-01-01 00:00:00", "row_count", "fail", False
            ),  # old run, superseded
            row("v2", "sales.orders", "2026-01-02 00:00:00", "row_count", "fail", True),
            row("v3", "sales.customers", "2026-01-02 00:00:00", "null_rate:email", "fail", False),
            row(
                "v3", "sales.customers", "2026-01-02 00:00:00", "distinct:id", "warn", False
            ),  # a warning only
            row("v9", "other.table", "2026-01-03 00:00:00", "row_count", "fail", False),  # not linked
        ],
        RESULTS_DDL,
    )
    h = JobHealthChecker(workspace, store=StateStore(spark, schema)).check(histories["linked"])
    assert [(a.rule, a.severity) for a in h.alerts] == [("data_quality", "P2")]
    assert (
        h.alerts[0].message
        == "Data quality failed on sales.customers: validation run v3 failed null_rate:email."
    )
    assert h.tables == ("sales.orders", "sales.customers")


def test_cli_exit_codes_and_reports(
    workspace: WorkspaceClient,
    histories: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys,
):
    monkeypatch.setenv("DATABRICKS_HOST", str(workspace.config.host))
    monkeypatch.setenv("DATABRICKS_TOKEN", str(workspace.config.token))
    assert main(["jobs", "health", "--job", "steady", "--job", "slow-last", "--no-data-quality"]) == 0
    out = capsys.readouterr().out
    assert "HEALTHY" in out and "[P2] Run" in out

    html = tmp_path / "health.html"
    code = main(
        [
            "jobs",
            "health",
            "--job",
            str(histories["broken"]),
            "--no-data-quality",
            "--json",
            "--html",
            str(html),
        ]
    )
    assert code == 1
    data = json.loads(capsys.readouterr().out)
    assert data["p1"] and data["jobs"][0]["status"] == "UNHEALTHY"
    assert "<table" in html.read_text() and "UNHEALTHY" in html.read_text()

    assert main(["jobs", "health", "--job", "no-such-job", "--no-data-quality"]) == 2
    assert "No job is named 'no-such-job'" in capsys.readouterr().err
