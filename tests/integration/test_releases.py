"""Releases on the stand-in, whose notebook tasks run for real with ``dbx_ops notebook run``.

deploy v1 (a notebook that succeeds, importing its own wheel) -> record + promote (the
smoke run succeeds: last known good) -> deploy v2 (a notebook that raises, a new wheel,
the old wheel removed as a bundle sync does) -> the smoke run fails, the release is
failed -> dry run (nothing changes) -> a rollback killed mid-way (the workspace dies
when the smoke run is triggered) -> run again: it finishes, and the job runs v1's code
again from v1's own wheel. Three notebook runs in all (each starts Spark).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.service.workspace import ExportFormat, ImportFormat
from standin import StandIn

from dbx_ops.cli import main
from dbx_ops.errors import CheckFailedError, InvalidInputError, WorkspaceError
from dbx_ops.jobs.api import RetryPolicy
from dbx_ops.jobs.deploy import DeployOptions, JobDeployer
from dbx_ops.jobs.store import JobDefinitionStore
from dbx_ops.releases import Releases, ReleaseStatus
from dbx_ops.state import StateStore

pytestmark = [pytest.mark.workspace, pytest.mark.slow]

ROOT = "/Workspace/Users/ops@example.com/.bundle/shop/prod/files"
NOTEBOOK = f"{ROOT}/notebooks/smoke"
JOB = "shop-smoke"
FAST = RetryPolicy(attempts=2, base_delay=0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    folder = tmp_path_factory.mktemp("relws")
    # The notebook runs get a state folder of their own (one Spark process per Derby folder).
    srv = StandIn.start(
        state_file=folder / "state.json",
        log=folder / "server.log",
        notebook_python=sys.executable,
        env={"DBX_OPS_HOME": str(folder / "notebook-home")},
    )
    try:
        yield srv
    finally:
        srv.stop()


def _client(server: StandIn) -> WorkspaceClient:
    # gives up quickly once the workspace is gone (the default waits minutes)
    return WorkspaceClient(config=Config(host=server.host, token=server.token, retry_timeout_seconds=2))


def _wheel(folder: Path, version: str) -> Path:
    path = folder / f"relpkg-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("relpkg/__init__.py", f"VERSION = {version!r}\n")
        z.writestr(f"relpkg-{version}.dist-info/METADATA", f"Name: relpkg\nVersion: {version}\n")
    return path


def _upload(ws: WorkspaceClient, path: str, data: bytes) -> None:
    ws.workspace.mkdirs(path.rsplit("/", 1)[0])
    ws.workspace.import_(
        path, content=base64.b64encode(data).decode(), format=ImportFormat.AUTO, overwrite=True
    )


def _spec(wheel_path: str) -> dict[str, Any]:
    return {
        "name": JOB,
        "tasks": [
            {
                "task_key": "smoke",
                "notebook_task": {"notebook_path": NOTEBOOK},
                "libraries": [{"whl": wheel_path}],
                "job_cluster_key": "main",
            }
        ],
        "job_clusters": [
            {
                "job_cluster_key": "main",
                "new_cluster": {
                    "spark_version": "15.4.x-scala2.12",
                    "node_type_id": "i3.xlarge",
                    "num_workers": 1,
                },
            }
        ],
        "max_concurrent_runs": 1,
    }


def _deploy(ws: WorkspaceClient, tmp: Path, version: str, body: str) -> tuple[Path, str]:
    """What ``bundle deploy`` does here: upload the wheel and notebook, apply the job definition."""
    (tmp / f"dist-{version}").mkdir()
    wheel = _wheel(tmp / f"dist-{version}", version)
    wheel_path = f"{ROOT}/artifacts/.internal/{wheel.name}"
    _upload(ws, wheel_path, wheel.read_bytes())
    _upload(ws, f"{NOTEBOOK}.py", f"# Databricks notebook source\n{body}\n".encode())
    deployer = JobDeployer(ws, JobDefinitionStore(ws, tmp / "deploy-backups"), sleep=lambda s: None)
    deployer.deploy(_spec(wheel_path), DeployOptions(validate=False, manifest_dir=tmp / "deploy-manifests"))
    return wheel, wheel_path


def _notebook_source(ws: WorkspaceClient) -> str:
    return base64.b64decode(ws.workspace.export(NOTEBOOK, format=ExportFormat.SOURCE).content or "").decode()


def _job_wheel(ws: WorkspaceClient) -> str:
    job = next(iter(ws.jobs.list(name=JOB)))
    settings = ws.jobs.get(job.job_id).settings  # type: ignore[arg-type]
    assert settings is not None and settings.tasks
    return str(settings.tasks[0].libraries[0].whl)  # type: ignore[index]


def _exit_value(ws: WorkspaceClient, run_id: int) -> str | None:
    run = ws.jobs.get_run(run_id)
    task = (run.tasks or [])[0]
    assert task.run_id is not None
    out = ws.jobs.get_run_output(task.run_id)
    return out.notebook_output.result if out.notebook_output else None


V1 = "import relpkg\ndbutils.notebook.exit(f'v1 code, relpkg {relpkg.VERSION}')"
V2 = "import relpkg\nraise ValueError(f'v2 is broken (relpkg {relpkg.VERSION})')"


def test_deploy_verify_break_and_roll_back_to_the_last_known_good_artifact(
    server: StandIn, spark: object, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    ws = _client(server)
    store = StateStore(spark, schema)
    folder = tmp_path / "releases"

    def releases(client: WorkspaceClient = ws) -> Releases:
        return Releases(client, folder, store=store, retry=FAST, poll_s=0.2, smoke_timeout_s=600)

    orders = f"{schema}.orders"
    spark.range(20).selectExpr("id", "id * 2 AS amount").write.format("delta").saveAsTable(orders)  # type: ignore[attr-defined]

    # -- v1: deployed, recorded, its smoke run succeeds and its table validates: the last known good
    wheel1, wheel1_path = _deploy(ws, tmp_path, "1.0.0", V1)
    v1 = releases().record(
        "shop",
        "prod",
        version="1.0.0",
        git_commit="c0ffee1",
        jobs=[JOB],
        wheel=wheel1,
        smoke_jobs=[JOB],
        validations=[f"{orders}@previous"],
    )
    assert v1.status == ReleaseStatus.RECORDED and v1.wheel is not None
    assert v1.wheel.workspace_path == wheel1_path  # found from the job's library
    assert (folder / v1.wheel.stored).read_bytes() == wheel1.read_bytes()
    assert [f.workspace_path for f in v1.files] == [NOTEBOOK] and v1.files[0].kind == "notebook"
    assert "v1 code" in (folder / v1.files[0].stored).read_text()
    assert v1.jobs[0].settings["tasks"][0]["libraries"] == [{"whl": wheel1_path}]
    v1 = releases().promote(v1.release_id)
    assert v1.status == ReleaseStatus.VERIFIED, v1.to_text()
    assert [(c.name, c.ok) for c in v1.checks] == [(f"smoke {JOB}", True), (f"validation {orders}", True)]
    lkg = releases().last_known_good("shop", "prod")
    assert lkg is not None and lkg.release_id == v1.release_id

    # -- v2: a broken notebook and a new wheel; the old wheel is gone, as a bundle sync leaves it
    wheel2, wheel2_path = _deploy(ws, tmp_path, "2.0.0", V2)
    ws.workspace.delete(wheel1_path)
    v2 = releases().record(
        "shop", "prod", version="2.0.0", git_commit="bad0bad", jobs=[JOB], wheel=wheel2, smoke_jobs=[JOB]
    )
    v2 = releases().promote(v2.release_id)
    assert v2.status == ReleaseStatus.FAILED and not v2.ok
    assert v2.checks[0].actual == "FAILED"
    with pytest.raises(CheckFailedError, match=f"Release {v2.release_id} .* failed its post-deploy checks"):
        v2.raise_on_failure()
    lkg = releases().last_known_good("shop", "prod")
    assert lkg is not None and lkg.release_id == v1.release_id

    # -- dry run: the plan, nothing changed
    plan = releases().plan_rollback("shop", "prod")
    assert plan.restores == v1.release_id and plan.resumes is None
    assert [s["step"] for s in plan.steps] == [
        "upload_wheel",
        "upload_files",
        "restore_jobs",
        "smoke_started",
        "record",
    ]
    assert wheel1_path in plan.steps[0]["detail"]
    assert any(wheel1_path in json.dumps(c["release"]) for c in plan.job_changes[JOB])
    assert "v2 is broken" in _notebook_source(ws) and _job_wheel(ws) == wheel2_path
    assert len(releases().history("shop", "prod")) == 2

    # -- the CLI's dry run says the same and changes nothing either
    monkeypatch.setenv("DATABRICKS_HOST", server.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", server.token)
    base = ["--dir", str(folder), "--no-table"]
    assert (
        main(["release", "rollback", "--bundle", "shop", "--target", "prod", "--dry-run", "--json", *base])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["restores"] == v1.release_id
    assert _job_wheel(ws) == wheel2_path

    # -- the rollback is killed: the workspace dies when the smoke run is triggered
    server.die_on("POST /api/2.2/jobs/run-now")
    with pytest.raises(WorkspaceError, match="run the rollback again to continue"):
        releases().rollback("shop", "prod")
    assert server.wait_dead() is not None
    server.restart()  # same port, state reloaded from its file
    pending = releases().history("shop", "prod")[0]
    assert pending.kind == "rollback" and pending.status == ReleaseStatus.RECORDED
    assert [s["step"] for s in pending.steps] == ["upload_wheel", "upload_files", "restore_jobs"]
    assert "v1 code" in _notebook_source(ws) and _job_wheel(ws) == wheel1_path
    assert releases().plan_rollback("shop", "prod").resumes == pending.release_id
    # the kill also cut the folder's copy of the last event short: the table still has it
    log = folder / pending.release_id / "events.jsonl"
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:-1]))
    assert len(Releases(ws, folder).get(pending.release_id).steps) == 2

    # -- run again: it finishes the same rollback, and the job runs v1's code from v1's wheel
    done = releases().rollback("shop", "prod")
    assert done.release_id == pending.release_id and done.rollback_of == v1.release_id
    assert done.status == ReleaseStatus.VERIFIED, done.to_text()
    assert [c.name for c in done.checks] == [f"smoke {JOB}", f"validation {orders}"]
    assert done.wheel == v1.wheel and done.files == v1.files and done.git_commit == "c0ffee1"
    run_id = int(next(s for s in done.steps if s["step"] == "smoke_started")["runs"][JOB])
    assert _exit_value(ws, run_id) == "v1 code, relpkg 1.0.0"
    lkg = releases().last_known_good("shop", "prod")
    assert lkg is not None and lkg.release_id == done.release_id
    # the live v2 definition was backed up (through the jobs package) before it was replaced
    assert list((folder / "job_backups" / "history").glob("*/*.json"))

    # -- the audit table holds every event, and a folder-only reader sees the same releases
    rows = store.read("releases").select("release_id", "event").collect()
    assert {r["release_id"] for r in rows} == {v1.release_id, v2.release_id, done.release_id}
    assert sum(1 for r in rows if r["event"] == "step") == 4
    on_disk = Releases(ws, folder).history("shop", "prod")
    assert [(r.release_id, r.status) for r in on_disk] == [
        (done.release_id, ReleaseStatus.VERIFIED),
        (v2.release_id, ReleaseStatus.FAILED),
        (v1.release_id, ReleaseStatus.VERIFIED),
    ]
    saved = json.loads((folder / done.release_id / "release.json").read_text())
    assert saved["status"] == "verified" and saved["rollback_of"] == v1.release_id
    assert [s["step"] for s in saved["steps"]] == [
        "upload_wheel",
        "upload_files",
        "restore_jobs",
        "smoke_started",
    ]

    # -- refusals: a changed stored wheel (exit 2 on the CLI), then a bundle with no release
    stored = folder / v1.wheel.stored  # type: ignore[union-attr]
    original = stored.read_bytes()
    stored.write_bytes(original + b"tampered")
    with pytest.raises(InvalidInputError, match=r"sha256 .* the release recorded"):
        releases().plan_rollback("shop", "prod")
    assert main(["release", "rollback", "--bundle", "shop", "--target", "prod", "--yes", *base]) == 2
    assert "was changed after recording; nothing was changed" in capsys.readouterr().err
    stored.write_bytes(original)
    assert main(["release", "rollback", "--bundle", "crm", "--target", "prod", "--yes", *base]) == 2
    assert "No release of crm/prod is recorded" in capsys.readouterr().err

    # -- list and show
    assert main(["release", "list", "--bundle", "shop", *base]) == 0
    out = capsys.readouterr().out
    assert v1.release_id in out and "failed" in out and f"rollback of {v1.release_id}" in out
    assert main(["release", "show", v2.release_id, "--json", *base]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "failed"


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """A stand-in whose notebook tasks run with the suite's fake runner (no Spark: fast)."""
    folder = tmp_path_factory.mktemp("relws-quick")
    fake = Path(__file__).parent / "data" / "fake_notebook_runner.py"
    python = folder / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
    python.chmod(0o755)
    srv = StandIn.start(state_file=folder / "state.json", log=folder / "server.log", notebook_python=python)
    try:
        yield srv
    finally:
        srv.stop()


def test_cli_record_with_promote_and_the_exit_codes_of_good_and_bad_releases(
    quick_server: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    ws = _client(quick_server)
    monkeypatch.setenv("DATABRICKS_HOST", quick_server.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", quick_server.token)
    monkeypatch.setenv("GITHUB_SHA", "feedf00d")
    base = ["--dir", str(tmp_path / "releases"), "--no-table", "--poll", "0.05", "--timeout", "60"]
    wheel1, _ = _deploy(ws, tmp_path, "1.0.0", V1)
    record = ["release", "record", "--bundle", "shop", "--target", "dev", "--job", JOB, "--smoke", JOB]
    assert main([*record, "--wheel", str(wheel1), "--promote", "--json", *base]) == 0
    good = json.loads(capsys.readouterr().out)
    assert good["status"] == "verified" and good["version"] == "1.0.0" and good["git_commit"] == "feedf00d"
    assert good["wheel"]["sha256"] == hashlib.sha256(wheel1.read_bytes()).hexdigest()

    wheel2, _ = _deploy(ws, tmp_path, "2.0.0", V2)
    assert main([*record, "--wheel", str(wheel2), *base]) == 0  # recorded, not checked yet
    bad_id = capsys.readouterr().out.split("Recorded release ", 1)[1].split(".\n", 1)[0]
    assert main(["release", "promote", bad_id, *base]) == 1  # the smoke run said no
    out = capsys.readouterr().out
    assert "failed" in out and "ended FAILED" in out
    assert main(["release", "rollback", "--bundle", "shop", "--target", "dev", "--yes", "--json", *base]) == 0
    back = json.loads(capsys.readouterr().out)
    assert back["status"] == "verified" and back["rollback_of"] == good["release_id"]
    run_id = int(next(s for s in back["steps"] if s["step"] == "smoke_started")["runs"][JOB])
    assert _exit_value(ws, run_id) == "v1 code, relpkg 1.0.0"
