"""Deployment strategies against the stand-in through the real databricks-sdk."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import standin
import yaml
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.workspace import ImportFormat, Language

from dbx_ops.cli import main
from dbx_ops.errors import CheckFailedError, InvalidInputError
from dbx_ops.jobs.deploy import DeployOptions, JobDeployer
from dbx_ops.jobs.rollback import JobRollback, RollbackOptions
from dbx_ops.jobs.store import JobDefinitionStore

pytestmark = pytest.mark.workspace


def _spec(name: str, notebook: str = "/Workspace/pipelines/c360/gold", **extra) -> dict:
    return {
        "name": name,
        "job_clusters": [
            {
                "job_cluster_key": "main",
                "new_cluster": {
                    "spark_version": "15.4.x-scala2.12",
                    "node_type_id": "i3.xlarge",
                    "autoscale": {"min_workers": 1, "max_workers": 4},
                    "spark_conf": {"spark.password": "{{secrets/c360/db-password}}"},
                },
            }
        ],
        "tasks": [
            {"task_key": "gold", "job_cluster_key": "main", "notebook_task": {"notebook_path": notebook}}
        ],
        "schedule": {
            "quartz_cron_expression": "0 0 2 * * ?",
            "timezone_id": "UTC",
            "pause_status": "UNPAUSED",
        },
        **extra,
    }


@pytest.fixture(scope="module")
def ws(workspace: WorkspaceClient) -> WorkspaceClient:
    """The workspace with the notebooks and the secret scope the definitions use."""
    workspace.workspace.mkdirs("/Workspace/pipelines/c360")
    for nb in ("gold", "gold_v2"):
        workspace.workspace.import_(
            f"/Workspace/pipelines/c360/{nb}",
            content=base64.b64encode(b"# Databricks notebook source\n").decode(),
            format=ImportFormat.SOURCE,
            language=Language.PYTHON,
        )
    workspace.secrets.create_scope("c360")
    workspace.secrets.put_secret("c360", "db-password", string_value="x")  # the key must exist too
    return workspace


def _deployer(ws: WorkspaceClient, tmp: Path) -> tuple[JobDeployer, JobDefinitionStore]:
    store = JobDefinitionStore(ws, tmp / "bk")
    return JobDeployer(ws, store, sleep=lambda s: None), store


def _opts(tmp: Path, **kw) -> DeployOptions:
    return DeployOptions(manifest_dir=tmp / "manifests", poll_s=0.01, smoke_timeout_s=30, **kw)


def _names(ws: WorkspaceClient) -> list[str]:
    return sorted(str(j.settings.name) for j in ws.jobs.list() if j.settings)


def test_validation_blocks_missing_notebooks_and_scopes(ws: WorkspaceClient, tmp_path: Path):
    deployer, _ = _deployer(ws, tmp_path)
    bad = _spec("validated", notebook="/Workspace/pipelines/c360/missing")
    bad["job_clusters"][0]["new_cluster"]["spark_env_vars"] = {"TOKEN": "{{secrets/nope/token}}"}
    checks = {(c.name, c.ok, c.message) for c in deployer.validate(bad)}
    assert ("notebook", False, "/Workspace/pipelines/c360/missing does not exist in the workspace") in checks
    assert ("secret_scope", False, "scope 'nope' does not exist") in checks
    assert ("secret_scope", True, "scope 'c360' exists") in checks
    with pytest.raises(CheckFailedError, match=r"validation of 'validated' failed .*nothing was changed"):
        deployer.deploy(bad, _opts(tmp_path))
    assert "validated" not in _names(ws)
    assert all(c.ok for c in deployer.validate(_spec("validated")))


def test_malformed_specs_are_clear_errors(ws: WorkspaceClient, tmp_path: Path):
    deployer, _ = _deployer(ws, tmp_path)
    with pytest.raises(InvalidInputError, match=r"'tasks' must be a non-empty list"):
        deployer.deploy({"name": "x"}, _opts(tmp_path))
    cyclic = _spec("cyclic")
    cyclic["tasks"] = [
        {"task_key": "a", "depends_on": [{"task_key": "b"}], "notebook_task": {"notebook_path": "/n"}},
        {"task_key": "b", "depends_on": [{"task_key": "a"}], "notebook_task": {"notebook_path": "/n"}},
    ]
    with pytest.raises(InvalidInputError, match=r"cycle: a -> b -> a"):
        deployer.deploy(cyclic, _opts(tmp_path))
    broken = tmp_path / "broken.yml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(InvalidInputError, match=r"is not valid YAML/JSON"):
        deployer.deploy(broken, _opts(tmp_path))


def test_direct_creates_then_updates_with_backup_and_manifest(ws: WorkspaceClient, tmp_path: Path):
    deployer, store = _deployer(ws, tmp_path)
    first = deployer.deploy(_spec("direct-job"), _opts(tmp_path))
    assert first.ok and first.previous_job_id is None and first.steps == [f"created job {first.job_id}"]

    server = standin.of(str(ws.config.host))
    server.queue_outcomes("direct-job", {"hold": True})
    running = int(ws.jobs.run_now(int(first.job_id or 0)).response.run_id or 0)
    second = deployer.deploy(
        _spec("direct-job", notebook="/Workspace/pipelines/c360/gold_v2"), _opts(tmp_path)
    )
    assert second.ok and second.job_id == first.job_id == second.previous_job_id
    assert f"cancelled run {running}" in second.steps
    assert ws.jobs.get_run(running).state.result_state.value == "CANCELED"  # type: ignore[union-attr]
    assert second.changes == [
        {
            "path": "tasks[gold].notebook_task.notebook_path",
            "kind": "changed",
            "previous": "/Workspace/pipelines/c360/gold",
            "new": "/Workspace/pipelines/c360/gold_v2",
        }
    ]
    manifest = json.loads(Path(str(second.manifest_path)).read_text())
    assert manifest["previous_config"]["tasks"][0]["notebook_task"]["notebook_path"].endswith("/gold")
    assert manifest["new_config"]["tasks"][0]["notebook_task"]["notebook_path"].endswith("/gold_v2")
    assert manifest["backup_version"] == store.versions(int(first.job_id or 0))[-1].version
    assert store.diff(int(first.job_id or 0)).differs  # the backup holds the previous definition


def test_blue_green_failing_smoke_run_leaves_production_untouched(ws: WorkspaceClient, tmp_path: Path):
    deployer, store = _deployer(ws, tmp_path)
    prod = deployer.deploy(_spec("bg-fail"), _opts(tmp_path))
    before = store.live(int(prod.job_id or 0))[2]
    standin.of(str(ws.config.host)).queue_outcomes("bg-fail-green", {"result_state": "FAILED"})
    result = deployer.deploy(
        _spec("bg-fail", notebook="/Workspace/pipelines/c360/gold_v2"), _opts(tmp_path, strategy="blue-green")
    )
    assert not result.ok and result.test_run_result == "FAILED" and "smoke run" in str(result.error)
    assert result.job_id == prod.job_id
    assert store.live(int(prod.job_id or 0))[2] == before
    assert "bg-fail-green" not in _names(ws) and _names(ws).count("bg-fail") == 1


def test_blue_green_success_swaps_names_and_keeps_blue(ws: WorkspaceClient, tmp_path: Path):
    deployer, store = _deployer(ws, tmp_path)
    blue = deployer.deploy(_spec("bg-ok"), _opts(tmp_path))
    result = deployer.deploy(
        _spec("bg-ok", notebook="/Workspace/pipelines/c360/gold_v2"), _opts(tmp_path, strategy="blue-green")
    )
    assert result.ok and result.test_run_result == "SUCCESS" and result.job_id != blue.job_id
    green = ws.jobs.get(int(result.job_id or 0)).settings
    old = ws.jobs.get(int(blue.job_id or 0)).settings
    assert green is not None and old is not None
    assert green.name == "bg-ok" and green.schedule.pause_status.value == "UNPAUSED"  # type: ignore[union-attr]
    assert old.name == "bg-ok-blue-backup" and old.schedule.pause_status.value == "PAUSED"  # type: ignore[union-attr]
    assert green.tasks[0].notebook_task.notebook_path.endswith("gold_v2")  # type: ignore[index,union-attr]
    smoke = ws.jobs.get_run(int(result.test_run_id or 0))
    assert smoke.job_id == result.job_id

    # Production has a new job id; it still rolls back to the previous definition by name.
    rolled = JobRollback(ws, store, journal_dir=tmp_path / "j", sleep=lambda s: None).run(
        "bg-ok", RollbackOptions(poll_s=0.01)
    )
    assert rolled.status == "completed" and rolled.job_id == result.job_id
    back = ws.jobs.get(int(result.job_id or 0)).settings
    assert back is not None and back.name == "bg-ok" and back.schedule.pause_status.value == "UNPAUSED"  # type: ignore[union-attr]
    assert back.tasks[0].notebook_task.notebook_path.endswith("/gold")  # type: ignore[index,union-attr]


def test_canary_runs_a_subset_then_cuts_over(ws: WorkspaceClient, tmp_path: Path):
    deployer, store = _deployer(ws, tmp_path)
    prod = deployer.deploy(_spec("canary-job"), _opts(tmp_path))
    prod_id = int(prod.job_id or 0)
    server = standin.of(str(ws.config.host))

    server.queue_outcomes("canary-job-canary", {"result_state": "FAILED"})
    failed = deployer.deploy(
        _spec("canary-job", notebook="/Workspace/pipelines/c360/gold_v2"), _opts(tmp_path, strategy="canary")
    )
    assert not failed.ok and failed.job_id == prod_id
    assert store.live(prod_id)[2]["tasks"][0]["notebook_task"]["notebook_path"].endswith("/gold")
    assert "canary-job-canary" not in _names(ws)

    ok = deployer.deploy(
        _spec("canary-job", notebook="/Workspace/pipelines/c360/gold_v2"),
        _opts(tmp_path, strategy="canary", canary_parameters={"sample_pct": "5"}),
    )
    assert ok.ok and ok.job_id == prod_id
    canary_run = ws.jobs.get_run(int(ok.test_run_id or 0))
    assert {p.name: p.value for p in canary_run.job_parameters or []}["sample_pct"] == "5"
    assert store.live(prod_id)[2]["tasks"][0]["notebook_task"]["notebook_path"].endswith("/gold_v2")
    assert "canary-job-canary" not in _names(ws)


def test_faults_during_deploy_are_retried(ws: WorkspaceClient, tmp_path: Path):
    deployer, _ = _deployer(ws, tmp_path)
    prod = deployer.deploy(_spec("flaky-deploy"), _opts(tmp_path))
    server = standin.of(str(ws.config.host))
    server.fault("POST /api/2.2/jobs/create", status=500, times=1)
    server.fault("GET /api/2.0/workspace/get-status", status=429, times=1, retry_after=1)
    server.fault("POST /api/2.2/jobs/run-now", status=503, times=1, retry_after=1)
    result = deployer.deploy(
        _spec("flaky-deploy", notebook="/Workspace/pipelines/c360/gold_v2"),
        _opts(tmp_path, strategy="blue-green"),
    )
    assert result.ok and _names(ws).count("flaky-deploy") == 1
    assert _names(ws).count("flaky-deploy-green") == 0 and "flaky-deploy-blue-backup" in _names(ws)
    assert prod.job_id != result.job_id


def test_cli_deploy_dry_run_and_report(
    ws: WorkspaceClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
):
    monkeypatch.setenv("DATABRICKS_HOST", str(ws.config.host))
    monkeypatch.setenv("DATABRICKS_TOKEN", str(ws.config.token))
    spec = tmp_path / "job.yml"
    spec.write_text(yaml.safe_dump(_spec("cli-deploy")))
    common = ["--dir", str(tmp_path / "bk"), "--manifest-dir", str(tmp_path / "m"), "--poll", "0.01"]
    assert main(["jobs", "deploy", str(spec), "--strategy", "blue-green", "--dry-run", *common]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "cli-deploy-green" in out and "cli-deploy" not in _names(ws)

    report = tmp_path / "report.json"
    assert main(["jobs", "deploy", str(spec), "--yes", "--json", "--report", str(report), *common]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and json.loads(report.read_text())["deployment_id"] == data["deployment_id"]
    assert Path(data["manifest_path"]).is_file() and "cli-deploy" in _names(ws)

    assert main(["jobs", "deploy", str(tmp_path / "missing.yml"), "--yes", *common]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["jobs", "deploy", str(spec), "--yes", "--canary-param", "oops", *common]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
