"""Definition backups against the stand-in workspace through the real databricks-sdk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbx_ops.cli import main
from dbx_ops.errors import NotFoundError
from dbx_ops.jobs.store import JobDefinitionStore, settings_sha
from dbx_ops.state import StateStore

pytestmark = pytest.mark.workspace


def _create(ws: WorkspaceClient, name: str) -> int:
    created = ws.jobs.create(
        name=name,
        tasks=[
            jobs.Task(
                task_key="silver",
                notebook_task=jobs.NotebookTask(notebook_path="/Workspace/p/silver"),
                existing_cluster_id="c1",
                depends_on=[jobs.TaskDependency(task_key="bronze")],
            ),
            jobs.Task(
                task_key="bronze",
                notebook_task=jobs.NotebookTask(notebook_path="/Workspace/p/bronze"),
                existing_cluster_id="c1",
            ),
        ],
        schedule=jobs.CronSchedule(quartz_cron_expression="0 0 2 * * ?", timezone_id="UTC"),
        tags={"pipeline": "customer-360"},
    )
    return int(created.job_id or 0)


def _env(monkeypatch: pytest.MonkeyPatch, ws: WorkspaceClient) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", str(ws.config.host))
    monkeypatch.setenv("DATABRICKS_TOKEN", str(ws.config.token))


def test_backup_change_restore_round_trip(
    workspace: WorkspaceClient, spark: object, schema: str, tmp_path: Path
):
    ws = workspace
    job_id = _create(ws, "customer-360")
    store = JobDefinitionStore(ws, tmp_path / "job_backups", store=StateStore(spark, schema))

    [first] = store.backup([job_id])
    newest = tmp_path / "job_backups" / f"customer-360__{job_id}.json"
    text = newest.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"
    assert "job_id" not in data and "created_time" not in data and "creator_user_name" not in data
    assert [t["task_key"] for t in data["tasks"]] == ["bronze", "silver"]  # keyed lists sorted
    assert first.path.read_text() == text

    [again] = store.backup([job_id])  # unchanged job: same file, no new version
    assert again.version == first.version and newest.read_text() == text
    assert len(store.versions(job_id)) == 1

    rows = StateStore(spark, schema).read("job_backups").collect()  # type: ignore[arg-type]
    assert [(r["job_id"], r["job_name"], r["sha256"]) for r in rows] == [
        (job_id, "customer-360", first.sha256)
    ] * 2
    assert json.loads(rows[0]["settings_json"]) == data

    ws.jobs.update(job_id, new_settings=jobs.JobSettings(max_concurrent_runs=4, tags={"pipeline": "changed"}))
    diff = store.diff(job_id)
    assert {c.path: (c.before, c.after) for c in diff.changes} == {
        "max_concurrent_runs": (None, 4),
        "tags.pipeline": ("customer-360", "changed"),
    }
    assert '+  "max_concurrent_runs": 4,' in diff.text

    store.restore(job_id)
    assert store.diff(job_id).changes == []
    live = ws.jobs.get(job_id).settings
    assert (
        live is not None
        and live.tags == {"pipeline": "customer-360"}
        and live.max_concurrent_runs in (None, 1)
    )
    assert settings_sha(live.as_dict()) == first.sha256


def test_cli_backup_diff_restore(
    workspace: WorkspaceClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
):
    ws = workspace
    _env(monkeypatch, ws)
    job_id = _create(ws, "orders")
    folder = str(tmp_path / "bk")
    assert main(["jobs", "backup", "--job", "orders", "--dir", folder, "--no-table", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["backups"][0]["job_id"] == job_id
    assert main(["jobs", "diff", "--job", str(job_id), "--dir", folder]) == 0
    assert "matches backup" in capsys.readouterr().out

    ws.jobs.update(job_id, new_settings=jobs.JobSettings(timeout_seconds=600))
    assert main(["jobs", "diff", "--job", str(job_id), "--dir", folder, "--json"]) == 1
    changed = json.loads(capsys.readouterr().out)
    assert changed["differs"] and changed["changes"][0]["path"] == "timeout_seconds"

    assert main(["jobs", "restore", "--job", str(job_id), "--dir", folder, "--dry-run"]) == 0
    assert "would apply" in capsys.readouterr().out
    assert ws.jobs.get(job_id).settings.timeout_seconds == 600  # dry run changed nothing

    assert main(["jobs", "restore", "--job", str(job_id), "--dir", folder, "--yes"]) == 0
    assert not ws.jobs.get(job_id).settings.timeout_seconds


def test_unknown_jobs_and_backups_are_clear_errors(
    workspace: WorkspaceClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
):
    store = JobDefinitionStore(workspace, tmp_path)
    with pytest.raises(NotFoundError, match=r"Job 424242 does not exist"):
        store.backup([424242])
    with pytest.raises(NotFoundError, match=r"No job is named 'nope'"):
        store.diff("nope")
    job_id = _create(workspace, "never-backed-up")
    with pytest.raises(NotFoundError, match=r"has no backup"):
        store.diff(job_id)

    _env(monkeypatch, workspace)
    assert main(["jobs", "diff", "--job", "424242", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "424242 does not exist" in err and err.count("\n") == 1


def test_real_binaries_against_the_stand_in(workspace: WorkspaceClient, tmp_path: Path):
    """`dbx-ops` as a process and the real `databricks` CLI v1.9.0 see the same workspace."""
    import subprocess
    import sys

    import standin

    server = standin.of(str(workspace.config.host))
    env = {**server.env(), "DBX_OPS_HOME": str(tmp_path / "home")}
    repo = Path(__file__).resolve().parents[2]
    databricks = repo / ".cache" / "bin" / "databricks"
    created = subprocess.run(
        [
            str(databricks),
            "jobs",
            "create",
            "--json",
            json.dumps({"name": "from-cli", "max_concurrent_runs": 2}),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    job_id = int(json.loads(created.stdout)["job_id"])
    dbx_ops = Path(sys.executable).with_name("dbx-ops")
    backup = subprocess.run(
        [
            str(dbx_ops),
            "jobs",
            "backup",
            "--job",
            "from-cli",
            "--dir",
            str(tmp_path / "bk"),
            "--no-table",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert backup.returncode == 0, backup.stderr
    assert json.loads(backup.stdout)["backups"][0]["job_id"] == job_id
    subprocess.run(
        [
            str(databricks),
            "jobs",
            "update",
            "--json",
            json.dumps({"job_id": job_id, "new_settings": {"max_concurrent_runs": 5}}),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    diff = subprocess.run(
        [str(dbx_ops), "jobs", "diff", "--job", str(job_id), "--dir", str(tmp_path / "bk")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert diff.returncode == 1 and '+  "max_concurrent_runs": 5' in diff.stdout
