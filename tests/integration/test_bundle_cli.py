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


PROD_SP = "6f1c0b7e-0000-4000-8000-00000000d0a1"


def _target_args(target: str) -> list[str]:
    return ["--var", f"run_as_service_principal={PROD_SP}"] if target == "prod" else []


@pytest.mark.parametrize("target", ["dev", "staging", "prod"])
def test_bundle_validates_for_every_target(cli_env, target):
    out = _bundle(["validate", "-t", target, "--output", "json", *_target_args(target)], cli_env, REPO)
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)
    if target == "prod":
        assert config["run_as"] == {"service_principal_name": PROD_SP}
        assert {"service_principal_name": PROD_SP, "level": "CAN_MANAGE"} in config["permissions"]
        assert config["workspace"]["root_path"].startswith(f"/Workspace/Users/{PROD_SP}/")
    else:
        assert "run_as" not in config or not config["run_as"].get("service_principal_name")
    jobs = config["resources"]["jobs"]
    assert set(jobs) == {
        "dbx_ops_validation",
        "dbx_ops_env_check",
        "dbx_ops_job_health",
        "dbx_ops_snapshot",
        "dbx_ops_rollback_drill",
        "dbx_ops_checklist_gate",
    }
    gate = jobs["dbx_ops_checklist_gate"]
    assert {p["name"]: p["default"] for p in gate["parameters"]}["state_schema"] == {
        "dev": "dbx_ops_dev",
        "staging": "dbx_ops_staging",
        "prod": "dbx_ops",
    }[target]
    assert gate["queue"] == {"enabled": True} and gate["tasks"][0]["max_retries"] == 0
    cluster = jobs["dbx_ops_validation"]["job_clusters"][0]["new_cluster"]
    assert cluster["init_scripts"][0]["workspace"]["destination"].endswith(
        "/init/15.4.x-scala2.12/enforce-lock.sh"
    )
    expected_schema = {"dev": "dbx_ops_dev", "staging": "dbx_ops_staging", "prod": "dbx_ops"}[target]
    assert cluster["spark_env_vars"]["DBX_OPS_SCHEMA"] == expected_schema


def test_prod_requires_the_service_principal(cli_env):
    out = _bundle(["validate", "-t", "prod"], cli_env, REPO)
    assert out.returncode != 0
    assert "run_as_service_principal" in out.stderr


@pytest.mark.parametrize(
    ("runtime", "spark_line"), [("16.4.x-scala2.12", "3.5"), ("17.3.x-scala2.13", "4.0")]
)
def test_bundle_picks_the_runtime_from_the_supported_table(cli_env, runtime, spark_line):
    from dbx_ops.runtime import runtime_info

    info = runtime_info(runtime.split(".x")[0])
    assert info is not None and info.library and info.spark.startswith(spark_line)
    out = _bundle(
        ["validate", "-t", "staging", "--output", "json", "--var", f"spark_version={runtime}"], cli_env, REPO
    )
    assert out.returncode == 0, out.stderr
    jobs = json.loads(out.stdout)["resources"]["jobs"]
    for job in jobs.values():
        for cluster in job.get("job_clusters", []):
            assert cluster["new_cluster"]["spark_version"] == runtime
            assert cluster["new_cluster"]["init_scripts"][0]["workspace"]["destination"].endswith(
                f"/init/{runtime}/enforce-lock.sh"
            )
    assert (REPO / "init" / runtime / "enforce-lock.sh").is_file()


def test_bundle_deploys_jobs_and_files(cli_env, workspace, tmp_path):
    # Deploy a copy so the build leaves no dist/ or .databricks/ in the checkout.
    copy = tmp_path / "bundle"
    shutil.copytree(
        REPO,
        copy,
        ignore=shutil.ignore_patterns(
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
    # The README's install line: the wheel sits in the bundle's artifacts folder, and the jobs
    # attach that same file.
    from dbx_ops import __version__

    artifacts = f"/Workspace/Users/{me}/.bundle/dbx_ops/staging/artifacts/.internal"
    wheel_path = f"{artifacts}/dbx_ops-{__version__}-py3-none-any.whl"
    assert wheel_path in {o.path for o in workspace.workspace.list(artifacts)}
    libraries = [lib.whl for t in job.settings.tasks for lib in (t.libraries or [])]
    assert libraries and all(lib == wheel_path for lib in libraries)
