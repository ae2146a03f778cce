"""Pure backup normalisation and diffing."""

from __future__ import annotations

import json

import pytest

from dbx_ops.errors import InvalidInputError
from dbx_ops.jobs.store import (
    backup_stem,
    diff_settings,
    normalize_settings,
    pause_status,
    paused,
    render_settings,
    settings_sha,
    unified_diff,
)

JOB = {
    "job_id": 42,
    "created_time": 1700000000000,
    "creator_user_name": "a@b.c",
    "run_as_user_name": "a@b.c",
    "settings": {
        "name": "etl",
        "email_notifications": {},
        "timeout_seconds": 0,
        "tasks": [
            {
                "task_key": "z",
                "run_if": "ALL_SUCCESS",
                "notebook_task": {"notebook_path": "/z", "source": "WORKSPACE"},
                "depends_on": [{"task_key": "b"}, {"task_key": "a"}],
            },
            {"task_key": "a", "notebook_task": {"notebook_path": "/a"}, "libraries": []},
        ],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
    },
}


def test_normalize_drops_volatile_fields_defaults_and_empties_and_sorts_keyed_lists():
    n = normalize_settings(JOB)
    assert n == {
        "name": "etl",
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
        "tasks": [
            {"task_key": "a", "notebook_task": {"notebook_path": "/a"}},
            {
                "task_key": "z",
                "notebook_task": {"notebook_path": "/z"},
                "depends_on": [{"task_key": "a"}, {"task_key": "b"}],
            },
        ],
    }


def test_render_is_stable_sorted_json_and_sha_ignores_order():
    text = render_settings(JOB)
    assert text.endswith("}\n") and json.loads(text) == normalize_settings(JOB)
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"
    shuffled = {"settings": dict(reversed(list(JOB["settings"].items())))}
    shuffled["settings"]["tasks"] = list(reversed(JOB["settings"]["tasks"]))
    assert settings_sha(shuffled) == settings_sha(JOB)


def test_diff_names_paths_by_task_key():
    after = json.loads(json.dumps(JOB["settings"]))
    after["tasks"][1]["notebook_task"]["notebook_path"] = "/a2"
    after["max_concurrent_runs"] = 3
    del after["schedule"]
    changes = {c.path: (c.kind, c.before, c.after) for c in diff_settings(JOB, after)}
    assert changes == {
        "max_concurrent_runs": ("added", None, 3),
        "schedule.quartz_cron_expression": ("removed", "0 0 2 * * ?", None),
        "schedule.timezone_id": ("removed", "UTC", None),
        "tasks[a].notebook_task.notebook_path": ("changed", "/a", "/a2"),
    }
    text = unified_diff(JOB, after, "backup", "live")
    assert '-        "notebook_path": "/a"' in text and '+        "notebook_path": "/a2"' in text
    assert diff_settings(JOB, JOB) == [] and unified_diff(JOB, JOB, "x", "y") == ""


def test_pause_helpers_and_names():
    s = {"schedule": {"quartz_cron_expression": "x", "pause_status": "UNPAUSED"}, "trigger": {"periodic": {}}}
    assert pause_status(s) == {"schedule": "UNPAUSED", "trigger": "UNPAUSED"}
    p = paused(s)
    assert (
        pause_status(p) == {"schedule": "PAUSED", "trigger": "PAUSED"}
        and s["schedule"]["pause_status"] == "UNPAUSED"
    )
    assert backup_stem("Customer 360 / prod!", 7) == "Customer-360-prod__7"
    with pytest.raises(InvalidInputError):
        normalize_settings([])  # type: ignore[arg-type]
