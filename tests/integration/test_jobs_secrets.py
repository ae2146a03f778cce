"""Hard-coded credentials in job definitions: refused, masked in every file and output (stand-in)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient

from dbx_ops.cli import main
from dbx_ops.errors import DeployFailedError, InvalidInputError
from dbx_ops.jobs.deploy import DeployOptions, JobDeployer
from dbx_ops.jobs.store import JobDefinitionStore

pytestmark = pytest.mark.workspace

TOKEN = "dapi" + "5f1e0c9a" * 4
PASSWORD = "Tr0ub4dor&3horse"


def _spec(name: str, **env: str) -> dict:
    return {
        "name": name,
        "tasks": [
            {
                "task_key": "ingest",
                "existing_cluster_id": "c1",
                "notebook_task": {"notebook_path": "/n", "base_parameters": {"db_password": PASSWORD}},
            }
        ],
        "job_clusters": [],
        "parameters": [{"name": "api_token", "default": TOKEN}],
        **({"environments": []} if not env else {}),
    }


@pytest.fixture(scope="module")
def ws(workspace: WorkspaceClient) -> WorkspaceClient:
    import base64

    from databricks.sdk.service.workspace import ImportFormat, Language

    workspace.workspace.import_(
        "/n",
        content=base64.b64encode(b"# Databricks notebook source\n").decode(),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
    )
    workspace.secrets.create_scope("ops")
    workspace.secrets.put_secret("ops", "token", string_value="not-a-real-one")
    return workspace


def _env(monkeypatch: pytest.MonkeyPatch, ws: WorkspaceClient) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", str(ws.config.host))
    monkeypatch.setenv("DATABRICKS_TOKEN", str(ws.config.token))


def _no_secret_in(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text and PASSWORD not in text


def _all_files(folder: Path) -> str:
    return "\n".join(p.read_text() for p in folder.rglob("*") if p.is_file())


def test_a_hard_coded_token_is_refused_and_never_printed(
    ws: WorkspaceClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    spec = tmp_path / "job.json"
    spec.write_text(json.dumps(_spec("leaky")))
    deployer = JobDeployer(ws, JobDefinitionStore(ws, tmp_path / "bk"), sleep=lambda s: None)
    with pytest.raises(
        DeployFailedError, match=r"parameters\[api_token\]\.default holds a hard-coded"
    ) as err:
        deployer.deploy(spec, DeployOptions(dry_run=True))
    _no_secret_in(str(err.value))
    assert "leaky" not in [j.settings.name for j in ws.jobs.list() if j.settings]

    _env(monkeypatch, ws)
    base = ["jobs", "deploy", str(spec), "--dir", str(tmp_path / "bk"), "--manifest-dir", str(tmp_path / "m")]
    assert main([*base, "--dry-run", "--json"]) == 1
    out = capsys.readouterr()
    _no_secret_in(out.out, out.err)
    assert "--allow-secrets" in out.err and len(out.err.strip().splitlines()) == 1


def test_allowed_secrets_deploy_but_are_masked_in_plan_report_manifest_and_backups(
    ws: WorkspaceClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    _env(monkeypatch, ws)
    spec = tmp_path / "job.json"
    spec.write_text(json.dumps(_spec("leaky-allowed")))
    report = tmp_path / "report.json"
    base = ["jobs", "deploy", str(spec), "--dir", str(tmp_path / "bk"), "--manifest-dir", str(tmp_path / "m")]
    assert main([*base, "--allow-secrets", "--dry-run"]) == 0
    plan = capsys.readouterr()
    _no_secret_in(plan.out, plan.err)
    assert main([*base, "--allow-secrets", "--yes", "--report", str(report)]) == 0
    first = capsys.readouterr()
    spec.write_text(json.dumps({**_spec("leaky-allowed"), "max_concurrent_runs": 2}))
    assert main([*base, "--allow-secrets", "--yes", "--json", "--report", str(report)]) == 0  # backs up first
    second = capsys.readouterr()
    _no_secret_in(first.out, first.err, second.out, second.err, report.read_text())
    _no_secret_in(_all_files(tmp_path / "m"), _all_files(tmp_path / "bk"))
    assert "**masked**" in _all_files(tmp_path / "bk") and "**masked**" in report.read_text()
    # The workspace has the real value: the job needs it (that is what --allow-secrets means).
    [job] = [j for j in ws.jobs.list() if j.settings and j.settings.name == "leaky-allowed"]
    live = ws.jobs.get(job.job_id).settings
    assert live is not None and live.parameters and live.parameters[0].default == TOKEN


def test_backups_mask_secrets_and_a_masked_backup_is_not_restored(ws: WorkspaceClient, tmp_path: Path):
    from databricks.sdk.service.jobs import JobSettings

    job_id = int(ws.jobs.create(**vars(JobSettings.from_dict(_spec("leaky-backup")))).job_id or 0)  # type: ignore[arg-type]
    store = JobDefinitionStore(ws, tmp_path / "bk")
    [backup] = store.backup([job_id])
    _no_secret_in(_all_files(tmp_path / "bk"))
    assert backup.masked == (
        "parameters[api_token].default",
        "tasks[ingest].notebook_task.base_parameters.db_password",
    )
    ws.jobs.update(job_id, new_settings=JobSettings(max_concurrent_runs=3))
    with pytest.raises(InvalidInputError, match=r"masked.*secret scope"):
        store.restore(job_id)
    assert ws.jobs.get(job_id).settings.max_concurrent_runs == 3  # type: ignore[union-attr]


def test_a_secret_reference_needs_its_key_not_just_its_scope(ws: WorkspaceClient, tmp_path: Path):
    deployer = JobDeployer(ws, JobDefinitionStore(ws, tmp_path / "bk"))
    spec = {
        "name": "refs",
        "tasks": [
            {
                "task_key": "t",
                "existing_cluster_id": "c1",
                "spark_python_task": {
                    "python_file": "x.py",
                    "parameters": ["--token", "{{secrets/ops/token}}"],
                },
            }
        ],
    }
    checks = {(c.name, c.ok, c.message) for c in deployer.validate(spec)}
    assert ("secret", True, "secret 'ops/token' exists") in checks
    missing = json.loads(json.dumps(spec).replace("ops/token", "ops/nope"))
    checks = {(c.name, c.ok, c.message) for c in deployer.validate(missing)}
    assert ("secret", False, "secret 'ops/nope' does not exist (scope 'ops' has no key 'nope')") in checks
