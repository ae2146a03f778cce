"""`jobs deploy` on specs as users have them (stand-in), and a bounded fuzz over spec files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from databricks.sdk import WorkspaceClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbx_ops.cli import main

pytestmark = pytest.mark.workspace

GOOD = {
    "name": "bundle-nightly",
    "tasks": [{"task_key": "t", "existing_cluster_id": "c1", "notebook_task": {"notebook_path": "/n"}}],
    "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "Europe/Berlin"},
}


@pytest.fixture
def env(workspace: WorkspaceClient, monkeypatch: pytest.MonkeyPatch) -> WorkspaceClient:
    monkeypatch.setenv("DATABRICKS_HOST", str(workspace.config.host))
    monkeypatch.setenv("DATABRICKS_TOKEN", str(workspace.config.token))
    return workspace


def test_a_bundle_file_deploys_by_job_key_and_the_plan_reads_right(
    env: WorkspaceClient, tmp_path: Path, capsys
):
    bundle = tmp_path / "nightly.job.yml"
    bundle.write_text(
        yaml.safe_dump({"resources": {"jobs": {"nightly": GOOD, "other": {**GOOD, "name": "o"}}}})
    )
    base = [
        "jobs",
        "deploy",
        str(bundle),
        "--no-validate",
        "--dir",
        str(tmp_path / "bk"),
        "--manifest-dir",
        str(tmp_path / "m"),
    ]
    assert main([*base, "--dry-run"]) == 2
    assert "pick one with --job-key KEY" in capsys.readouterr().err
    assert main([*base, "--job-key", "nightly", "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "- job: bundle-nightly (new)" in plan and "None" not in plan and "change(s)" not in plan
    assert "1. create job 'bundle-nightly'" in plan
    assert main([*base, "--job-key", "nightly", "--yes"]) == 0
    capsys.readouterr()
    assert main([*base, "--job-key", "nightly", "--dry-run"]) == 0  # unchanged: no change, numbered steps
    again = capsys.readouterr().out
    assert "No change to the definition." in again and "None" not in again
    assert [line.split(".")[0] for line in again.splitlines() if line[:1].isdigit()] == ["1", "2", "3"]


def test_redeploying_what_the_workspace_filled_in_is_no_change(env: WorkspaceClient, tmp_path: Path, capsys):
    spec = {
        "name": "filled-in",
        "job_clusters": [
            {
                "job_cluster_key": "c",
                "new_cluster": {
                    "spark_version": "15.4.x-scala2.12",
                    "node_type_id": "i3.xlarge",
                    "num_workers": 1,
                },
            }
        ],
        "tasks": [{"task_key": "t", "job_cluster_key": "c", "notebook_task": {"notebook_path": "/n"}}],
    }
    job_id = int(
        env.jobs.create(
            **vars(
                __import__("databricks.sdk.service.jobs", fromlist=["JobSettings"]).JobSettings.from_dict(
                    spec
                )
            )
        ).job_id
        or 0
    )  # type: ignore[arg-type]
    from databricks.sdk.service.jobs import JobSettings

    filled = json.loads(json.dumps(spec))
    filled["job_clusters"][0]["new_cluster"].update(
        {
            "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "zone_id": "us-west-2a"},
            "data_security_mode": "NONE",
        }
    )
    env.jobs.reset(job_id, new_settings=JobSettings.from_dict(filled))  # what a real workspace reads back
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    args = [
        "jobs",
        "deploy",
        str(path),
        "--no-validate",
        "--dry-run",
        "--json",
        "--dir",
        str(tmp_path / "bk"),
    ]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["changes"] == []


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
#: Where a mutation puts a random value: top-level fields and the nested places users get wrong.
_PATHS = [
    ("name",),
    ("tasks",),
    ("job_clusters",),
    ("schedule",),
    ("timeout_seconds",),
    ("max_concurrent_runs",),
    ("resources",),
    ("tasks", 0),
    ("tasks", 0, "task_key"),
    ("tasks", 0, "depends_on"),
    ("tasks", 0, "existing_cluster_id"),
    ("tasks", 0, "job_cluster_key"),
    ("tasks", 0, "new_cluster"),
    ("tasks", 0, "notebook_task"),
    ("tasks", 0, "notebook_task", "notebook_path"),
    ("tasks", 0, "notebook_task", "base_parameters"),
    ("schedule", "quartz_cron_expression"),
    ("schedule", "timezone_id"),
]


def _mutated(value: object, path: tuple) -> dict:
    spec = json.loads(json.dumps(GOOD))
    target = spec
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return spec


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.text(max_size=200).map(lambda t: ("text", t)),
        _JSON.map(lambda v: ("json", v)),
        st.tuples(_JSON, st.sampled_from(_PATHS)).map(lambda p: ("mutated", p)),
    )
)
def test_fuzzed_spec_files_are_exit_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, case
):
    # A dead host: a spec that passed the checks would fail on the workspace, also exit 2, quickly.
    monkeypatch.setenv("DATABRICKS_HOST", "http://127.0.0.1:1")
    monkeypatch.setenv("DATABRICKS_TOKEN", "t")
    monkeypatch.setenv("DBX_OPS_RETRY_TIMEOUT", "1")
    kind, payload = case
    path = tmp_path / "fuzz.yml"
    if kind == "text":
        path.write_text(payload)
    elif kind == "json":
        path.write_text(json.dumps(payload))
    else:
        path.write_text(json.dumps(_mutated(*payload)))
    code = main(["jobs", "deploy", str(path), "--dry-run", "--manifest-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
