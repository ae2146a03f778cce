"""The hard-coded credential detector shared by deploy pre-checks, backups and checklist verifiers."""

from __future__ import annotations

import json

import pytest

from dbx_ops.secrets import MASK, find_secrets, has_masked_values, mask_secrets, secret_references

DAPI = "dapi" + "0123456789abcdef" * 2
AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
AZURE_KEY = "A" * 86 + "=="
GCP_KEY = "AIza" + "SyA-1234567890abcdefghijklmnopqrstu"


def spec(**task):
    return {
        "name": "j",
        "tasks": [{"task_key": "t", "notebook_task": {"notebook_path": "/n", "base_parameters": {}}, **task}],
    }


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({"spark_env_vars": {"DATABRICKS_TOKEN": DAPI}}, "databricks_token"),
        ({"spark_env_vars": {"WHATEVER": f"Bearer {DAPI}"}}, "databricks_token"),
        ({"spark_env_vars": {"AWS_ACCESS_KEY_ID": AWS_ID}}, "aws_access_key_id"),
        ({"spark_env_vars": {"AWS_SECRET_ACCESS_KEY": AWS_SECRET}}, "password_like"),
        ({"spark_conf": {"fs.azure.account.key.acct.dfs.core.windows.net": AZURE_KEY}}, "azure_storage_key"),
        (
            {"spark_env_vars": {"CONN": f"DefaultEndpointsProtocol=https;AccountKey={AZURE_KEY}"}},
            "azure_storage_key",
        ),
        ({"spark_env_vars": {"MAPS": GCP_KEY}}, "gcp_api_key"),
        (
            {"spark_env_vars": {"SA": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}},
            "private_key",
        ),
        ({"spark_env_vars": {"DB_PASSWORD": "hunter2hunter2"}}, "password_like"),
        ({"spark_env_vars": {"JDBC": "jdbc:postgresql://h/db?user=u&password=hunter2"}}, "password_like"),
        ({"spark_env_vars": {"URL": "https://bob:hunter2@example.com/x"}}, "password_like"),
        (
            {"spark_python_task": {"python_file": "x.py", "parameters": ["--token", "s3cr3tvalue"]}},
            "password_like",
        ),
        (
            {"spark_python_task": {"python_file": "x.py", "parameters": ["--secret=s3cr3tvalue"]}},
            "password_like",
        ),
    ],
)
def test_hard_coded_credentials_are_found(value, kind):
    findings = find_secrets(spec(**value))
    assert [f.kind for f in findings] == [kind]
    masked = json.dumps(mask_secrets(spec(**value)))
    assert MASK in masked and has_masked_values(mask_secrets(spec(**value)))
    for raw in (DAPI, AWS_ID, AWS_SECRET, AZURE_KEY, GCP_KEY, "hunter2", "s3cr3tvalue", "MIIE"):
        assert raw not in masked
    assert raw not in repr(findings)  # the finding itself never carries the secret


def test_parameters_and_base_parameters_are_scanned():
    s = {
        "name": "j",
        "parameters": [{"name": "api_token", "default": "abc123abc123"}],
        "tasks": [
            {
                "task_key": "t",
                "notebook_task": {"notebook_path": "/n", "base_parameters": {"password": "pw-1234"}},
            }
        ],
    }
    assert sorted(f.path for f in find_secrets(s)) == [
        "parameters[api_token].default",
        "tasks[t].notebook_task.base_parameters.password",
    ]


@pytest.mark.parametrize(
    "value",
    [
        {"spark_env_vars": {"DATABRICKS_TOKEN": "{{secrets/ops/token}}"}},
        {"spark_env_vars": {"DB_PASSWORD": "{{ secrets/ops/db-password }}"}},
        {"spark_env_vars": {"PASSWORD_FILE": ""}},
        {"spark_env_vars": {"TOKEN": "${var.token}"}},
        {"spark_env_vars": {"TOKEN_URL": "https://example.com/oauth/token"}},
        {"spark_python_task": {"python_file": "x.py", "parameters": ["--token", "{{secrets/ops/t}}"]}},
        {"notebook_task": {"notebook_path": "/Repos/secret_rotation/token_refresh"}},
        {"spark_env_vars": {"max_tokens": "4096"}},
        {"spark_env_vars": {"PASSWORD_MIN_LENGTH": "12"}},
    ],
)
def test_references_placeholders_and_innocent_values_are_fine(value):
    assert find_secrets(spec(**value)) == []


def test_secret_references_name_scope_and_key():
    s = spec(spark_env_vars={"A": "{{secrets/ops/token}}", "B": "x {{ secrets/ml/key-2 }} y"})
    assert secret_references(s) == [("ml", "key-2"), ("ops", "token")]


def test_mask_keeps_shape_and_does_not_touch_the_input():
    s = spec(spark_env_vars={"DATABRICKS_TOKEN": DAPI, "OK": "1"})
    out = mask_secrets(s)
    assert s["tasks"][0]["spark_env_vars"]["DATABRICKS_TOKEN"] == DAPI
    assert out["tasks"][0]["spark_env_vars"] == {"DATABRICKS_TOKEN": MASK, "OK": "1"}


def test_source_text_scan_quoted_literals_shapes_and_the_allow_marker():
    from dbx_ops.secrets import scan_text

    text = "\n".join(
        [
            "password = dbutils.secrets.get('scope', 'key')",  # a call, not a literal
            "token = get_token()",
            'DB_PASSWORD = "hunter2hunter2"',
            f"conn = connect(url, headers={{'Authorization': 'Bearer {DAPI}'}})",
            f"ok = '{DAPI}'  # dbx-ops: allow-secret",
            'TOKEN_URL = "https://login.example.com/oauth"',
            'engine = create_engine("postgresql://bob:hunter2@db/x")',
            "gh = 'ghp_" + "a" * 36 + "'",
            'if token == "abcdefgh": pass',
        ]
    )
    hits = scan_text(text)
    assert [(h.line, h.kind) for h in hits] == [
        (3, "password_like"),
        (4, "databricks_token"),
        (7, "password_like"),
        (8, "github_token"),
    ]
    lines = text.splitlines()
    assert lines[2][hits[0].start : hits[0].end] == "hunter2hunter2"
    assert lines[6][hits[2].start : hits[2].end] == "hunter2"


def test_chat_and_code_host_tokens_in_a_job_spec_are_found():
    slack = "xoxb-" + "1234567890-abcdef"
    findings = find_secrets(spec(spark_env_vars={"HOOK": slack, "GH": "ghp_" + "A1" * 18}))
    assert [f.kind for f in findings] == ["slack_token", "github_token"]
    assert slack not in json.dumps(mask_secrets(spec(spark_env_vars={"HOOK": slack})))
