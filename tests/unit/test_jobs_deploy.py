"""Pure definition checks of deployments."""

from __future__ import annotations

import pytest

from dbx_ops.errors import InvalidInputError
from dbx_ops.jobs.deploy import (
    DeployOptions,
    cluster_problems,
    load_spec,
    notebook_paths,
    secret_scopes,
    spec_problems,
)


def spec(**kw):
    base = {
        "name": "j",
        "job_clusters": [
            {
                "job_cluster_key": "c",
                "new_cluster": {"spark_version": "15.4.x", "node_type_id": "i3", "num_workers": 2},
            }
        ],
        "tasks": [{"task_key": "a", "job_cluster_key": "c", "notebook_task": {"notebook_path": "/n/a"}}],
    }
    base.update(kw)
    return base


def test_a_good_spec_has_no_problems():
    assert spec_problems(spec()) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"name": ""}, "'name' must be a non-empty string"),
        ({"tasks": []}, "'tasks' must be a non-empty list"),
        ({"tasks": [{"notebook_task": {"notebook_path": "/x"}}]}, "tasks[0] needs a task_key"),
        ({"tasks": [{"task_key": "a"}]}, "task 'a' must have exactly one task type (has none)"),
        (
            {"tasks": [{"task_key": "a", "notebook_task": {}}]},
            "task 'a': notebook_task.notebook_path is required",
        ),
        (
            {"tasks": [{"task_key": "a", "job_cluster_key": "zz", "notebook_task": {"notebook_path": "/x"}}]},
            "task 'a' uses job_cluster_key 'zz', which job_clusters does not define",
        ),
        (
            {
                "tasks": [
                    {
                        "task_key": "a",
                        "depends_on": [{"task_key": "q"}],
                        "notebook_task": {"notebook_path": "/x"},
                    }
                ]
            },
            "task 'a' depends on 'q', which is not a task of this job",
        ),
        ({"max_concurrent_runs": 0}, "'max_concurrent_runs' must be a positive integer"),
    ],
)
def test_problems_are_named(change, problem):
    assert problem in spec_problems(spec(**change))


def test_duplicate_keys_and_cycles():
    t = {"notebook_task": {"notebook_path": "/x"}}
    problems = spec_problems(spec(tasks=[{"task_key": "a", **t}, {"task_key": "a", **t}]))
    assert "task_key 'a' is used twice" in problems
    cyc = [
        {"task_key": k, "depends_on": [{"task_key": d}], **t} for k, d in (("a", "c"), ("b", "a"), ("c", "b"))
    ]
    assert "tasks depend on each other in a cycle: a -> c -> b -> a" in spec_problems(spec(tasks=cyc))


def test_cluster_sanity():
    assert cluster_problems({"spark_version": "x", "node_type_id": "y", "num_workers": 0}) == []
    assert (
        cluster_problems(
            {"spark_version": "x", "instance_pool_id": "p", "autoscale": {"min_workers": 1, "max_workers": 4}}
        )
        == []
    )
    assert cluster_problems({"node_type_id": "y", "num_workers": 1}) == ["spark_version is required"]
    assert (
        "autoscale needs"
        in cluster_problems(
            {"spark_version": "x", "node_type_id": "y", "autoscale": {"min_workers": 5, "max_workers": 2}}
        )[0]
    )
    assert cluster_problems({"spark_version": "x", "node_type_id": "y", "num_workers": -1}) == [
        "num_workers must be a non-negative integer (got -1)"
    ]
    assert cluster_problems(None) == ["new_cluster is missing"]


def test_references_found_in_the_definition():
    s = spec()
    s["job_clusters"][0]["new_cluster"]["spark_conf"] = {
        "k": "{{secrets/prod-kv/pw}}",
        "j": "{{ secrets/other/x }}",
    }
    s["tasks"].append({"task_key": "b", "notebook_task": {"notebook_path": "/n/b"}, "job_cluster_key": "c"})
    assert secret_scopes(s) == ["other", "prod-kv"]
    assert notebook_paths(s) == ["/n/a", "/n/b"]
    assert notebook_paths({**s, "git_source": {"git_url": "u", "git_provider": "gitHub"}}) == []


def test_load_spec_shapes(tmp_path):
    assert load_spec({"settings": spec()})["name"] == "j"
    (tmp_path / "j.json").write_text(
        '{"new_settings": {"name": "j", "tasks": [{"task_key": "a", '
        '"existing_cluster_id": "c1", "notebook_task": {"notebook_path": "/x"}}]}}'
    )
    assert load_spec(tmp_path / "j.json")["tasks"][0]["task_key"] == "a"
    (tmp_path / "list.yml").write_text("- a\n")
    with pytest.raises(InvalidInputError, match="must be a mapping of job settings"):
        load_spec(tmp_path / "list.yml")
    with pytest.raises(InvalidInputError, match="Unknown strategy 'rolling'"):
        DeployOptions(strategy="rolling")
