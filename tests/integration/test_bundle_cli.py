"""The real ``databricks`` CLI validates and deploys the bundle to the stand-in workspace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".cache" / "bin" / "databricks"


@pytest.fixture
def cli_env(workspace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        DATABRICKS_HOST=workspace.config.host,
        DATABRICKS_TOKEN=workspace.config.token,
        PATH=venv_bin + os.pathsep + env.get("PATH", ""),
        DATABRICKS_CLI_DO_NOT_TRACK="true",
    )
    return env


def _bundle(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "bundle", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.mark.parametrize("target", ["dev", "staging", "prod"])
def test_bundle_validates_for_every_target(cli_env, target):
    out = _bundle(["validate", "-t", target, "--output", "json"], cli_env, REPO)
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)
    jobs = config["resources"]["jobs"]
    assert set(jobs) == {"dbx_ops_validation", "dbx_ops_env_check", "dbx_ops_job_health", "dbx_ops_snapshot"}
    cluster = jobs["dbx_ops_validation"]["job_clusters"][0]["new_cluster"]
    assert cluster["init_scripts"][0]["workspace"]["destination"].endswith(
        "/init/15.4.x-scala2.12/enforce-lock.sh"
    )
    expected_schema = {"dev": "dbx_ops_dev", "staging": "dbx_ops_staging", "prod": "dbx_ops"}[target]
    assert cluster["spark_env_vars"]["DBX_OPS_SCHEMA"] == expected_schema


def test_bundle_deploys_jobs_and_files(cli_env, workspace, tmp_path):
    # Deploy a copy so the build leaves no dist/ or .databricks/ in the checkout.
    copy = tmp_path / "bundle"
    shutil.copytree(
        REPO,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv",
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
        ),
    )
    out = _bundle(["deploy", "-t", "staging"], cli_env, copy)
    assert out.returncode == 0, out.stderr[-3000:]
    names = {j.settings.name: j for j in workspace.jobs.list()}
    assert "dbx_ops validation (staging)" in names
    job = workspace.jobs.get(names["dbx_ops validation (staging)"].job_id)
    assert job.settings.schedule.quartz_cron_expression == "0 30 6 * * ?"
    me = workspace.current_user.me().user_name
    root = f"/Workspace/Users/{me}/.bundle/dbx_ops/staging/files"
    uploaded = {o.path for o in workspace.workspace.list(f"{root}/init/15.4.x-scala2.12")}
    assert f"{root}/init/15.4.x-scala2.12/enforce-lock.sh" in uploaded
    assert not any(o.path.endswith("/tests") for o in workspace.workspace.list(root))
    wheels = list((copy / "dist").glob("dbx_ops-*.whl"))
    assert wheels, "the bundle did not build the dbx_ops wheel"
