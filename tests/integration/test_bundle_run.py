"""The bundle end to end: the real ``databricks`` CLI deploys it and runs its jobs, the stand-in runs them.

``bundle validate`` → ``bundle deploy -t dev`` → ``bundle run dbx_ops_snapshot`` (the pre-deploy
snapshot of the critical table) → ``bundle run dbx_ops_validation`` against that snapshot on clean
data (succeeds) → a bad change drops rows and nulls a column → ``bundle run dbx_ops_validation``
again (fails at the validation cell, and the job's on_failure email alert fires) → ``bundle destroy``.

The stand-in runs each notebook task with the real runner (``python -m dbx_ops notebook run``) in
a process of its own, with the wheel ``bundle deploy`` built and uploaded unpacked on its path and
no other dbx_ops importable. The critical table is a Delta path table the test writes with the
suite's session: the job processes read it by path, as a job on a cluster reads storage the
deployer wrote, so no shared metastore server is needed; the jobs' own state (snapshots,
metrics, validation results) lives in one state folder the job runs share, one at a time, as
``max_concurrent_runs: 1`` has them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".cache" / "bin" / "databricks"

pytestmark = [pytest.mark.slow]

IGNORE = shutil.ignore_patterns(
    ".venv*",
    ".cache",
    ".git",
    ".dbx_ops",
    "dist",
    "build",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".databricks",
    "tests",
    "benchmarks",
    "tools",
    "test-artifacts",
)


class Bundle:
    """A copy of the repository deployed with the real CLI to a stand-in that executes notebook tasks."""

    def __init__(self, root: Path, env: dict[str, str], server: Any, job_home: Path) -> None:
        self.root, self.env, self.server, self.job_home = root, env, server, job_home

    def cli(self, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), "bundle", *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def start_bundle(tmp: Path, table: str) -> tuple[Bundle, Any]:
    from standin import StandIn

    from dbx_ops.runtime import jars_dir

    root = tmp / "bundle"
    shutil.copytree(REPO, root, ignore=IGNORE)
    job_home = tmp / "job-home"
    (tmp / "ws").mkdir()
    server = StandIn.start(
        state_file=tmp / "ws" / "state.json",
        log=tmp / "server.log",
        notebook_python=sys.executable,
        env={
            # the job processes' own state folder (shared by the runs, one at a time)
            "DBX_OPS_HOME": str(job_home),
            "DBX_OPS_SPARK": "classic",
            # a Databricks cluster has Delta built in; locally the job processes use the project's JARs
            "DBX_OPS_JARS": str(jars_dir()),
            # only the deployed wheel provides dbx_ops to the notebooks (runner.go puts it first)
            "PYTHONPATH": "",
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env.update(
        DATABRICKS_HOST=server.host,
        DATABRICKS_TOKEN=server.token,
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        DATABRICKS_CLI_DO_NOT_TRACK="true",
        BUNDLE_VAR_critical_tables=table,
    )
    return Bundle(root, env, server, job_home), server


@pytest.fixture(scope="module")
def orders(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The critical table: a Delta path table of 300 orders."""
    path = tmp_path_factory.mktemp("critical") / "orders"
    spark.range(300).selectExpr("id", "CAST(id % 5 AS STRING) AS region", "id * 2.5 AS amount").write.format(
        "delta"
    ).save(str(path))
    return f"delta.`{path}`"


@pytest.fixture(scope="module")
def bundle(orders: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bundle]:
    b, server = start_bundle(tmp_path_factory.mktemp("bundle_run"), orders)
    try:
        yield b
    finally:
        server.stop()


def job_runs(ws: Any, name_part: str) -> list[Any]:
    job = next(j for j in ws.jobs.list() if name_part in (j.settings.name or ""))
    return list(ws.jobs.list_runs(job_id=job.job_id))


def task_result(bundle: Bundle, run: Any, key: str) -> dict[str, Any]:
    result = bundle.server.run_dir(run.run_id) / "tasks" / key / "result.json"
    return dict(json.loads(result.read_text()))


def test_bundle_validate_deploy_run_and_destroy(bundle: Bundle, orders: str, spark: Any) -> None:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service import jobs

    from dbx_ops import __version__

    ws = WorkspaceClient(host=bundle.server.host, token=bundle.server.token)

    out = bundle.cli("validate", "-t", "dev", "--output", "json")
    assert out.returncode == 0, out.stderr[-3000:]
    config = json.loads(out.stdout)
    assert config["resources"]["jobs"]["dbx_ops_validation"]["parameters"][0]["default"] == orders

    out = bundle.cli("deploy", "-t", "dev")
    assert out.returncode == 0, out.stderr[-3000:]
    built = next((bundle.root / "dist").glob("dbx_ops-*.whl"))

    # 1. The deploy pipeline's pre-deploy snapshot of the critical table.
    out = bundle.cli("run", "-t", "dev", "dbx_ops_snapshot")
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    (snap_run,) = job_runs(ws, "dbx_ops snapshot")
    assert snap_run.state.result_state == jobs.RunResultState.SUCCESS
    # The notebook imported the wheel bundle deploy built and uploaded, and nothing else.
    library = task_result(bundle, snap_run, "snapshot")["library"]
    site = bundle.server.run_dir(snap_run.run_id) / "site"
    assert library == {"dbx_ops": __version__, "path": str((site / "dbx_ops").resolve())}
    uploaded = ws.workspace.download(
        next(lib.whl for t in ws.jobs.get(snap_run.job_id).settings.tasks for lib in t.libraries)
    ).read()
    assert hashlib.sha256(uploaded).hexdigest() == hashlib.sha256(built.read_bytes()).hexdigest()
    with zipfile.ZipFile(built) as whl:
        assert (site / "dbx_ops" / "notebooks" / "runner.py").read_bytes() == whl.read(
            "dbx_ops/notebooks/runner.py"
        )

    # 2. Validation against the snapshot on clean data: the run succeeds, no alert.
    out = bundle.cli("run", "-t", "dev", "dbx_ops_validation", "--params", "baseline=snapshot:pre-deploy")
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    (clean,) = job_runs(ws, "dbx_ops validation")
    assert clean.state.result_state == jobs.RunResultState.SUCCESS
    assert [n["event"] for n in bundle.server.notifications(clean.run_id)] == []

    # 3. A bad change: a third of the orders gone, amounts nulled. The run fails where the job
    #    should (the validation cell), and the job's failure alert goes to the on-call address.
    spark.sql(f"DELETE FROM {orders} WHERE id >= 200")
    spark.sql(f"UPDATE {orders} SET amount = NULL WHERE id % 3 = 0")
    out = bundle.cli("run", "-t", "dev", "dbx_ops_validation", "--params", "baseline=snapshot:pre-deploy")
    assert out.returncode != 0
    drift = job_runs(ws, "dbx_ops validation")[0]
    assert drift.run_id != clean.run_id
    assert drift.state.result_state == jobs.RunResultState.FAILED
    failed = ws.jobs.get_run_output(drift.tasks[0].run_id)
    assert "ValidationFailedError" in (failed.error or ""), failed.error
    result = task_result(bundle, drift, "validate")
    source = (REPO / "notebooks" / "validate_table.py").read_text().splitlines()
    assert "job.finish(batch)" in source[result["error"]["line"] - 1]
    alerts = bundle.server.notifications(drift.run_id)
    assert [(n["event"], n["recipients"], n["result_state"]) for n in alerts] == [
        ("on_failure", ["oncall@company.com"], "FAILED")
    ]
    # the evidence the data-quality alert rule of job health reads: a failed fail-severity rule
    results = bundle.job_home / "warehouse" / "dbx_ops_dev.db" / "validation_results"
    stored = spark.read.format("delta").load(str(results))
    latest = stored.orderBy(stored.validated_at.desc()).first()["run_id"]
    broken = stored.where(f"run_id = '{latest}' AND severity = 'fail' AND NOT passed").collect()
    assert broken, "the failed validation run stored no failed rule"

    # 4. Destroy: the jobs and the files are gone.
    out = bundle.cli("destroy", "-t", "dev", "--auto-approve")
    assert out.returncode == 0, out.stderr[-3000:]
    assert not [j for j in ws.jobs.list() if "dbx_ops" in (j.settings.name or "")]
