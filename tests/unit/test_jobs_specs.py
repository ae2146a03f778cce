"""Job specs as users have them: bundle resource files, server-filled values, pre-checks, hostile nesting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dbx_ops.errors import InvalidInputError
from dbx_ops.jobs.deploy import cron_problems, load_spec, spec_problems
from dbx_ops.jobs.store import diff_settings

TASK = {"task_key": "a", "job_cluster_key": "c", "notebook_task": {"notebook_path": "/n/a"}}
CLUSTER = {
    "job_cluster_key": "c",
    "new_cluster": {"spark_version": "15.4.x", "node_type_id": "i3", "num_workers": 2},
}


def spec(**kw):
    return {"name": "j", "job_clusters": [json.loads(json.dumps(CLUSTER))], "tasks": [dict(TASK)], **kw}


def test_a_bundle_resource_file_deploys_the_named_job(tmp_path: Path):
    bundle = {"resources": {"jobs": {"c360": spec(name="customer-360"), "other": spec(name="o")}}}
    path = tmp_path / "c360.job.yml"
    path.write_text(yaml.safe_dump(bundle))
    assert load_spec(path, job_key="c360")["name"] == "customer-360"
    with pytest.raises(
        InvalidInputError, match=r"is a bundle resource file with jobs c360, other: pick one with --job-key"
    ):
        load_spec(path)
    with pytest.raises(InvalidInputError, match=r"has no job 'nope' \(jobs: c360, other\)"):
        load_spec(path, job_key="nope")
    one = tmp_path / "one.yml"
    unnamed = spec()
    del unnamed["name"]
    one.write_text(
        yaml.safe_dump(
            {
                "resources": {
                    "jobs": {
                        "nightly": {**unnamed, "permissions": [{"level": "CAN_VIEW", "group_name": "users"}]}
                    }
                }
            }
        )
    )
    loaded = load_spec(
        one
    )  # the only job; its key is its name when it has none; permissions are not settings
    assert loaded["name"] == "nightly" and "permissions" not in loaded


def test_values_the_workspace_fills_in_are_not_changes():
    sent = spec()
    live = json.loads(json.dumps(sent))
    live["job_clusters"][0]["new_cluster"].update(
        {
            "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "zone_id": "us-west-2a"},
            "data_security_mode": "LEGACY_SINGLE_USER_STANDARD",
        }
    )
    assert diff_settings(live, sent) == [] and diff_settings(sent, live) == []
    chosen = json.loads(json.dumps(sent))
    chosen["job_clusters"][0]["new_cluster"]["aws_attributes"] = {"availability": "ON_DEMAND"}
    assert [c.path for c in diff_settings(live, chosen)] == [
        "job_clusters[c].new_cluster.aws_attributes.availability"
    ]  # a value the user sets is compared


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {
                "job_clusters": [
                    {**CLUSTER, "new_cluster": {**CLUSTER["new_cluster"], "node_type_id": {"aws": "i3"}}}
                ]
            },
            "job cluster 'c': node_type_id must be a string (got a mapping)",
        ),
        (
            {"tasks": [{**TASK, "notebook_task": {"notebook_path": "/n", "base_parameters": ["a", "b"]}}]},
            "task 'a': notebook_task.base_parameters must be a mapping of names to values (got a list)",
        ),
        (
            {"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/n"}}]},
            "task 'a' has no compute: give job_cluster_key, existing_cluster_id, new_cluster or "
            "environment_key",
        ),
        (
            {"schedule": {"quartz_cron_expression": "0 0 25 * * ?", "timezone_id": "UTC"}},
            "schedule.quartz_cron_expression '0 0 25 * * ?': hours must be 0-23 (got 25)",
        ),
        (
            {"schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "Mars/Olympus"}},
            "schedule.timezone_id 'Mars/Olympus' is not a time zone "
            "(use an IANA name such as Europe/Berlin or UTC)",
        ),
    ],
)
def test_pre_checks_refuse_what_the_workspace_would(change, problem):
    assert problem in spec_problems(spec(**change))


@pytest.mark.parametrize(
    "cron",
    ["0 0 2 * * ?", "0 */15 * ? * MON-FRI", "0 30 6 ? * 2#1", "0 0 0 L * ? 2030", "15,45 0 0/2 1W * ?"],
)
def test_valid_quartz_crons(cron):
    assert cron_problems(cron) == []


@pytest.mark.parametrize(
    "cron",
    [
        "0 0 2 * *",
        "0 0 2 * * *",
        "0 60 2 * * ?",
        "x 0 2 * * ?",
        "0 0 2 * 13 ?",
        "0 0 2 ? * 8",
        "",
        "0 0 2W * * ?",
    ],
)
def test_invalid_quartz_crons(cron):
    assert cron_problems(cron)


def test_a_deeply_nested_spec_is_bad_input_not_a_recursion_error(tmp_path: Path):
    path = tmp_path / "deep.json"
    path.write_text('{"name": "j", "tasks": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InvalidInputError, match=r"nested more than 64 levels deep"):
        load_spec(path)
    yml = tmp_path / "deep.yml"
    yml.write_text("a: " + "[" * 5_000 + "]" * 5_000 + "\n")
    with pytest.raises(InvalidInputError, match=r"nested more than 64 levels deep"):
        load_spec(yml)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"job_clusters": 5}, "'job_clusters' must be a list (got a number)"),
        (
            {"job_clusters": [{"job_cluster_key": {"x": 1}}]},
            "every job_clusters entry needs a job_cluster_key",
        ),
        ({"tasks": [{**TASK, "depends_on": 5}]}, "task 'a': depends_on must be a list of {task_key: <name>}"),
        ({"tasks": [{**TASK, "job_cluster_key": {"a": 1}}]}, "task 'a': job_cluster_key must be a string"),
        ({"tasks": [{**TASK, "notebook_task": {"notebook_path": 5}}]}, "notebook_path must be a string"),
    ],
)
def test_values_of_the_wrong_type_are_named_not_a_type_error(change, problem):
    assert any(problem in p for p in spec_problems(spec(**change)))
