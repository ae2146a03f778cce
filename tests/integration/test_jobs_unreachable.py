"""A workspace that goes away: every jobs command stops with one sentence, the journal intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import standin
from databricks.sdk import WorkspaceClient

from dbx_ops.jobs.deploy import DeployOptions, JobDeployer
from dbx_ops.jobs.store import JobDefinitionStore

pytestmark = pytest.mark.workspace

#: A guard, not an assertion on speed: a hang (the SDK's 5 minutes of retries) fails the test.
GUARD_S = 120


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbx_ops", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        check=False,
    )


def _base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    return {**env, "DBX_OPS_RETRY_TIMEOUT": "3", "DBX_OPS_HTTP_TIMEOUT": "3", **extra}


def _one_sentence(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["jobs", "health", "--job", "1", "--no-data-quality"],
        ["jobs", "backup", "--no-table"],
        ["jobs", "diff", "--job", "1"],
        ["jobs", "rollback", "--job", "1", "--dry-run", "--journal-dir", "j"],
        ["jobs", "deploy", "spec.json", "--dry-run", "--manifest-dir", "m"],
    ],
)
def test_an_unreachable_host_is_one_sentence(args: list[str], tmp_path: Path):
    spec = {
        "name": "x",
        "tasks": [{"task_key": "t", "existing_cluster_id": "c", "notebook_task": {"notebook_path": "/n"}}],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    proc = _cli(args, _base_env(DATABRICKS_HOST="http://127.0.0.1:1", DATABRICKS_TOKEN="dapi-x"), tmp_path)
    assert proc.returncode == 2
    assert "did not answer" in _one_sentence(proc) and "dapi-x" not in proc.stderr + proc.stdout


def test_a_host_that_is_not_a_url_is_exit_2(tmp_path: Path):
    proc = _cli(
        ["jobs", "health", "--job", "1"],
        _base_env(DATABRICKS_HOST="not a url", DATABRICKS_TOKEN="t"),
        tmp_path,
    )
    assert proc.returncode == 2 and "is not a workspace URL" in _one_sentence(proc)


def test_rollback_with_the_server_killed_mid_call_stops_resumes_and_then_says_only_already_done(
    workspace: WorkspaceClient, tmp_path: Path
):
    server = standin.of(str(workspace.config.host))
    ws = workspace
    store = JobDefinitionStore(ws, tmp_path / "bk")
    deployer = JobDeployer(ws, store, sleep=lambda s: None)
    spec = {
        "name": "vanishing",
        "tasks": [
            {"task_key": "t", "existing_cluster_id": "c1", "notebook_task": {"notebook_path": "/good"}}
        ],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
    }
    opts = DeployOptions(validate=False, manifest_dir=tmp_path / "m")
    job_id = int(deployer.deploy(spec, opts).job_id or 0)
    store.backup([job_id])
    spec["tasks"][0]["notebook_task"]["notebook_path"] = "/broken"  # type: ignore[index]
    deployer.deploy(spec, opts)

    env = _base_env(DATABRICKS_HOST=server.host, DATABRICKS_TOKEN=server.token)
    args = [
        "jobs",
        "rollback",
        "--job",
        str(job_id),
        "--dir",
        str(tmp_path / "bk"),
        "--journal-dir",
        str(tmp_path / "j"),
        "--yes",
        "--poll",
        "0.05",
    ]
    server.die_on("POST /api/2.2/jobs/reset")
    proc = _cli(args, env, tmp_path)
    assert proc.returncode == 2
    line = _one_sentence(proc)
    assert "run the rollback again to continue" in line and server.token not in line
    journal = json.loads((tmp_path / "j" / f"{job_id}.json").read_text())
    assert journal["status"] == "in_progress" and set(journal["steps"]) == {"pause", "cancel_runs"}

    server.wait_dead()
    server.restart()
    proc = _cli(args, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert ws.jobs.get(job_id).settings.tasks[0].notebook_task.notebook_path == "/good"  # type: ignore[union-attr,index]

    again = _cli(args, env, tmp_path)
    assert again.returncode == 0 and again.stderr == ""
    assert (
        again.stdout.strip()
        == f"Job {job_id} is already rolled back to {journal['backup_version']}: nothing to do."
    )
