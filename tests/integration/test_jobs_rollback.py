"""Rollback from a broken deployment against the stand-in, with faults and a killed server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import standin
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config

from dbx_ops.cli import main
from dbx_ops.errors import NotFoundError, WorkspaceError
from dbx_ops.jobs.api import RetryPolicy
from dbx_ops.jobs.deploy import DeployOptions, JobDeployer
from dbx_ops.jobs.rollback import JobRollback, RollbackOptions
from dbx_ops.jobs.store import JobDefinitionStore

pytestmark = pytest.mark.workspace

FAST = RollbackOptions(poll_s=0.05, timeout_s=30, reason="a schema mismatch on critical assets")


def _spec(name: str, notebook: str) -> dict:
    return {
        "name": name,
        "tasks": [
            {"task_key": "gold", "notebook_task": {"notebook_path": notebook}, "existing_cluster_id": "c1"}
        ],
        "schedule": {
            "quartz_cron_expression": "0 0 2 * * ?",
            "timezone_id": "UTC",
            "pause_status": "UNPAUSED",
        },
        "max_concurrent_runs": 1,
    }


def _broken_deployment(ws: WorkspaceClient, store: JobDefinitionStore, name: str, tmp: Path) -> int:
    """A good job, backed up, then a direct deployment of a broken definition over it."""
    deployer = JobDeployer(ws, store, sleep=lambda s: None)
    opts = DeployOptions(validate=False, manifest_dir=tmp / "manifests")
    job_id = int(deployer.deploy(_spec(name, "/Workspace/p/gold"), opts).job_id or 0)
    store.backup([job_id])
    deployer.deploy(_spec(name, "/Workspace/p/gold_BROKEN"), opts)
    return job_id


def _notebook(ws: WorkspaceClient, job_id: int) -> str:
    settings = ws.jobs.get(job_id).settings
    assert settings is not None and settings.tasks
    return str(settings.tasks[0].notebook_task.notebook_path)  # type: ignore[union-attr]


def _schedule(ws: WorkspaceClient, job_id: int) -> str:
    settings = ws.jobs.get(job_id).settings
    assert settings is not None and settings.schedule is not None
    return str(settings.schedule.pause_status.value if settings.schedule.pause_status else "UNPAUSED")


def test_rollback_from_broken_deployment(workspace: WorkspaceClient, tmp_path: Path):
    ws = workspace
    store = JobDefinitionStore(ws, tmp_path / "bk")
    job_id = _broken_deployment(ws, store, "gold-daily", tmp_path)
    server = standin.of(str(ws.config.host))
    server.queue_outcomes("gold-daily", {"hold": True})  # a run of the broken version is still going
    active = int(ws.jobs.run_now(job_id).response.run_id or 0)
    rollback = JobRollback(ws, store, journal_dir=tmp_path / "journal", sleep=lambda s: None)

    plan = rollback.plan(job_id, FAST)
    assert plan.status == "planned" and [s["step"] for s in plan.steps][:3] == [
        "pause",
        "cancel_runs",
        "restore",
    ]
    assert str(active) in plan.steps[1]["detail"]
    assert plan.changes == [
        {
            "path": "tasks[gold].notebook_task.notebook_path",
            "kind": "changed",
            "live": "/Workspace/p/gold_BROKEN",
            "backup": "/Workspace/p/gold",
        }
    ]
    assert _notebook(ws, job_id) == "/Workspace/p/gold_BROKEN"  # the plan changed nothing

    result = rollback.run(job_id, FAST)
    assert result.status == "completed" and not result.resumed
    assert _notebook(ws, job_id) == "/Workspace/p/gold"
    assert _schedule(ws, job_id) == "UNPAUSED"
    assert ws.jobs.get_run(active).state.result_state.value == "CANCELED"  # type: ignore[union-attr]
    verification = ws.jobs.get_run(int(result.verification_run_id or 0))
    assert verification.job_id == job_id and verification.state.result_state.value == "SUCCESS"  # type: ignore[union-attr]
    assert "schema mismatch" in result.summary and "1 active run(s) cancelled" in result.summary
    assert (
        "passed" in result.summary
        and "Next update in 30 minutes. Owner: tester@databricks.com." in result.summary
    )
    assert Path(str(result.summary_path)).read_text().endswith(result.summary + "\n")

    again = rollback.run(job_id, FAST)  # idempotent: nothing is redone
    assert again.status == "already_rolled_back"
    assert len(list(ws.jobs.list_runs(job_id=job_id))) == 2


def test_failed_verification_is_reported(workspace: WorkspaceClient, tmp_path: Path):
    ws = workspace
    store = JobDefinitionStore(ws, tmp_path / "bk")
    job_id = _broken_deployment(ws, store, "still-broken", tmp_path)
    standin.of(str(ws.config.host)).queue_outcomes("still-broken", {"result_state": "FAILED"})
    result = JobRollback(ws, store, journal_dir=tmp_path / "j", sleep=lambda s: None).run(job_id, FAST)
    assert result.status == "verification_failed" and not result.ok
    assert "ended FAILED" in result.summary and "escalate" in result.summary


def test_transient_faults_are_retried(workspace: WorkspaceClient, tmp_path: Path):
    ws = workspace
    store = JobDefinitionStore(ws, tmp_path / "bk", retry=RetryPolicy(attempts=4, base_delay=0.05))
    job_id = _broken_deployment(ws, store, "flaky", tmp_path)
    server = standin.of(str(ws.config.host))
    server.fault("POST /api/2.2/jobs/reset", status=500, times=2)
    server.fault("POST /api/2.2/jobs/update", status=502, times=1)
    server.fault("GET /api/2.2/jobs/runs/list", status=429, times=2, retry_after=1)
    server.fault("GET /api/2.2/jobs/runs/get", status=503, times=1, retry_after=1)
    rollback = JobRollback(
        ws, store, journal_dir=tmp_path / "j", retry=RetryPolicy(attempts=4, base_delay=0.05)
    )
    result = rollback.run(job_id, FAST)
    assert result.status == "completed"
    assert _notebook(ws, job_id) == "/Workspace/p/gold" and _schedule(ws, job_id) == "UNPAUSED"


def test_persistent_faults_stop_with_a_clear_error_and_resume(workspace: WorkspaceClient, tmp_path: Path):
    ws = workspace
    store = JobDefinitionStore(ws, tmp_path / "bk")
    job_id = _broken_deployment(ws, store, "down", tmp_path)
    server = standin.of(str(ws.config.host))
    server.fault("POST /api/2.2/jobs/reset", status=500, times=3)  # as many as the policy's attempts
    rollback = JobRollback(
        ws, store, journal_dir=tmp_path / "j", retry=RetryPolicy(attempts=3, base_delay=0.01)
    )
    with pytest.raises(
        WorkspaceError, match=r"kept failing after 3 attempts.*run the rollback again to continue"
    ):
        rollback.run(job_id, FAST)
    journal = json.loads(rollback.journal_path(job_id).read_text())
    assert journal["status"] == "in_progress" and set(journal["steps"]) == {"pause", "cancel_runs"}
    assert _schedule(ws, job_id) == "PAUSED"  # contained while the workspace misbehaves
    assert _notebook(ws, job_id) == "/Workspace/p/gold_BROKEN"
    result = rollback.run(job_id, FAST)
    assert result.status == "completed" and result.resumed
    assert _notebook(ws, job_id) == "/Workspace/p/gold" and _schedule(ws, job_id) == "UNPAUSED"


def test_server_killed_mid_rollback_resumes_from_the_journal(workspace: WorkspaceClient, tmp_path: Path):
    server = standin.of(str(workspace.config.host))
    # A client that gives up quickly once the workspace is gone (the default waits minutes).
    ws = WorkspaceClient(config=Config(host=server.host, token=server.token, retry_timeout_seconds=2))
    fast = RetryPolicy(attempts=2, base_delay=0.05)
    store = JobDefinitionStore(ws, tmp_path / "bk", retry=fast)
    job_id = _broken_deployment(ws, store, "killed", tmp_path)
    server.queue_outcomes("killed", {"hold": True})
    active = int(ws.jobs.run_now(job_id).response.run_id or 0)
    server.die_on("POST /api/2.2/jobs/reset")  # the process exits when the restore arrives
    rollback = JobRollback(ws, store, journal_dir=tmp_path / "j", retry=fast, sleep=lambda s: None)

    with pytest.raises(WorkspaceError, match=r"run the rollback again"):
        rollback.run(job_id, FAST)
    assert server.wait_dead() == 3
    journal = json.loads(rollback.journal_path(job_id).read_text())
    assert set(journal["steps"]) == {"pause", "cancel_runs"} and journal["cancelled_runs"] == [active]
    assert journal["remembered_schedule"] == {"schedule": "UNPAUSED"}

    server.restart()  # same port, state reloaded from its file
    assert _schedule(ws, job_id) == "PAUSED" and _notebook(ws, job_id) == "/Workspace/p/gold_BROKEN"
    result = rollback.run(job_id, FAST)
    assert result.status == "completed" and result.resumed
    assert _notebook(ws, job_id) == "/Workspace/p/gold" and _schedule(ws, job_id) == "UNPAUSED"
    assert ws.jobs.get_run(active).state.result_state.value == "CANCELED"  # type: ignore[union-attr]
    assert "1 active run(s) cancelled" in result.summary


def test_cli_rollback_dry_run_and_run(
    workspace: WorkspaceClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
):
    ws = workspace
    store = JobDefinitionStore(ws, tmp_path / "bk")
    job_id = _broken_deployment(ws, store, "cli-rollback", tmp_path)
    monkeypatch.setenv("DATABRICKS_HOST", str(ws.config.host))
    monkeypatch.setenv("DATABRICKS_TOKEN", str(ws.config.token))
    base = [
        "jobs",
        "rollback",
        "--job",
        "cli-rollback",
        "--dir",
        str(tmp_path / "bk"),
        "--journal-dir",
        str(tmp_path / "j"),
        "--poll",
        "0.05",
    ]
    assert main([*base, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "**pause**" in out and "gold_BROKEN" in out
    assert _notebook(ws, job_id) == "/Workspace/p/gold_BROKEN"
    assert main([*base, "--yes", "--json", "--owner", "oncall@example.com"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "completed" and data["summary"].endswith("Owner: oncall@example.com.")
    assert _notebook(ws, job_id) == "/Workspace/p/gold"
    assert main(["jobs", "rollback", "--job", "999", "--dir", str(tmp_path / "bk"), "--dry-run"]) == 2
    assert "Job 999 does not exist" in capsys.readouterr().err


def test_rollback_without_a_backup_is_refused(workspace: WorkspaceClient, tmp_path: Path):
    ws = workspace
    job_id = int(ws.jobs.create(name="no-backup").job_id or 0)
    with pytest.raises(NotFoundError, match=r"has no backup"):
        JobRollback(ws, JobDefinitionStore(ws, tmp_path / "bk"), journal_dir=tmp_path / "j").run(job_id)
