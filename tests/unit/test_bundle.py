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
