"""The asset bundle refers only to files that exist and is shaped as Databricks expects."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _bundle() -> tuple[dict, dict]:
    root = _load(REPO / "databricks.yml")
    jobs: dict = {}
    for pattern in root["include"]:
        for f in sorted(REPO.glob(pattern)):
            jobs.update(_load(f).get("resources", {}).get("jobs", {}))
    return root, jobs


def test_targets_dev_staging_prod():
    root, _ = _bundle()
    assert root["bundle"]["name"] == "dbx_ops"
    assert set(root["targets"]) == {"dev", "staging", "prod"}
    assert root["targets"]["dev"]["default"] is True
    assert root["targets"]["prod"]["mode"] == "production"


def test_every_notebook_a_job_runs_exists():
    _, jobs = _bundle()
    assert jobs, "the bundle declares no jobs"
    for key, job in jobs.items():
        for task in job["tasks"]:
            notebook = task["notebook_task"]["notebook_path"]
            assert (REPO / "resources" / notebook).resolve().is_file(), f"{key}: {notebook} missing"
            first = (REPO / "resources" / notebook).resolve().read_text().splitlines()[0]
            assert first == "# Databricks notebook source", f"{notebook} is not a Databricks source notebook"


def test_init_script_of_the_default_runtime_is_shipped():
    root, jobs = _bundle()
    runtime = root["variables"]["spark_version"]["default"]
    script = REPO / "init" / runtime / "enforce-lock.sh"
    assert script.is_file(), f"{script} missing"
    assert (REPO / "requirements" / runtime / "requirements.txt").is_file()
    destinations = {
        s["workspace"]["destination"]
        for job in jobs.values()
        for cluster in job.get("job_clusters", [])
        for s in cluster["new_cluster"].get("init_scripts", [])
    }
    assert destinations == {"${workspace.file_path}/init/${var.spark_version}/enforce-lock.sh"}


def test_every_variable_used_is_declared():
    root, _ = _bundle()
    text = (REPO / "databricks.yml").read_text() + "".join(
        f.read_text() for f in (REPO / "resources").glob("*.yml")
    )
    used = set(re.findall(r"\$\{var\.([a-z_]+)\}", text))
    assert used <= set(root["variables"]), used - set(root["variables"])


def test_the_snapshot_job_snapshots_and_its_parameters_are_the_notebooks_widgets():
    _, jobs = _bundle()
    job = jobs["dbx_ops_snapshot"]
    params = {p["name"]: p["default"] for p in job["parameters"]}
    assert params["action"] == "snapshot"  # the notebook's own default is the harmless "verify"
    notebook = (REPO / "resources" / job["tasks"][0]["notebook_task"]["notebook_path"]).resolve().read_text()
    widgets = set(re.findall(r'dbutils\.widgets\.\w+\("(\w+)"', notebook))
    assert set(params) <= widgets, f"parameters the notebook never reads: {set(params) - widgets}"


def _widgets(notebook: Path) -> dict[str, str]:
    """The notebook's widgets and their defaults."""
    return dict(re.findall(r'dbutils\.widgets\.text\("(\w+)", "([^"]*)"', notebook.read_text()))


def test_the_checklist_gate_job_follows_the_conventions_and_matches_its_notebook():
    from dbx_ops.checklists.job import GATE_PARAMETERS
    from dbx_ops.checklists.verifiers.jobspec import lint_job

    _, jobs = _bundle()
    job = jobs["dbx_ops_checklist_gate"]
    (task,) = job["tasks"]
    notebook = (REPO / "resources" / task["notebook_task"]["notebook_path"]).resolve()
    assert notebook == REPO / "notebooks" / "checklist_gate.py"
    params = {p["name"]: p["default"] for p in job["parameters"]}
    widgets = _widgets(notebook)
    # every job parameter is a widget the notebook reads, and every widget is a parameter the
    # library's gate job takes: nothing set in the job is silently ignored
    assert set(params) == set(widgets) == set(GATE_PARAMETERS)
    assert params["run"] == "" and params["verify"] == "false" == widgets["verify"]
    assert params["job_run_id"] == "{{job.run_id}}"
    assert params["state_schema"] == "${var.state_schema}"
    assert "gate_notebook_main(dbutils" in notebook.read_text()
    assert "databricks.sdk.runtime" not in notebook.read_text()
    # the house conventions the job spec lint checks (the bundle's clusters carry no policy id:
    # the workspace's policy is the deployer's choice, as for the other jobs)
    checks = {c.name.split(": ", 1)[1]: c for c in lint_job("gate", job)}
    failing = {name for name, c in checks.items() if not c.ok}
    assert failing <= {"cluster policy or pool"}, {n: checks[n].actual for n in failing}
    assert task["max_retries"] == 0  # a no-go retried is still a no-go
    assert job["email_notifications"]["on_failure"] == ["${var.alert_email}"]
    assert job["queue"] == {"enabled": True} and job["max_concurrent_runs"] >= 1
    assert "schedule" not in job  # triggered by the deploy pipeline, never on a clock
    assert task["job_cluster_key"] == "ops_cluster"
    assert {"whl": "../dist/*.whl"} in task["libraries"]


def test_every_job_has_a_timeout_a_failure_alert_and_a_concurrency_limit():
    """The house conventions (seed 004): no job runs unbounded, fails silently or piles up runs."""
    _, jobs = _bundle()
    assert jobs
    for key, job in jobs.items():
        assert job.get("timeout_seconds", 0) > 0, f"{key}: no timeout_seconds"
        assert job.get("email_notifications", {}).get("on_failure"), f"{key}: no on_failure alert"
        assert job.get("max_concurrent_runs", 0) >= 1, f"{key}: no max_concurrent_runs"
