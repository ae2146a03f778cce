"""The scheduled validation job: parameters as the bundle passes them (no Spark)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dbx_ops.errors import InvalidInputError, ValidationRuleError
from dbx_ops.validation.job import ValidationJob, parse_flag

REPO = Path(__file__).resolve().parents[2]


def bundle_job() -> dict:
    return yaml.safe_load((REPO / "resources" / "jobs.yml").read_text())["resources"]["jobs"][
        "dbx_ops_validation"
    ]


def test_the_bundle_job_passes_what_the_notebook_reads_and_fails_on_a_breach():
    job = bundle_job()
    params = {p["name"]: p["default"] for p in job["parameters"]}
    assert set(params) <= set(ValidationJob.PARAMETERS)
    assert parse_flag(params["fail_job"], "fail_job", default=False) is True
    notebook = (REPO / "notebooks" / "validate_table.py").read_text()
    for name in params:
        assert f'dbutils.widgets.text("{name}"' in notebook, name
    parsed = ValidationJob.from_params(
        {**params, "tables": "sales.orders, sales.customers", "state_schema": "ops"}
    )
    assert parsed.tables == ("sales.orders", "sales.customers") and parsed.fail_job
    assert str(parsed.baseline) == "previous" and parsed.schema == "ops"


def test_table_is_an_alias_and_tables_wins():
    assert ValidationJob.from_params({"table": "s.a"}).tables == ("s.a",)
    assert ValidationJob.from_params({"table": "s.a", "tables": "s.b,s.c,s.b"}).tables == ("s.b", "s.c")
    assert ValidationJob.from_params({"tables": "s.a", "fail_job": ""}).fail_job is True  # the default
    assert ValidationJob.from_params({"tables": "s.a", "fail_job": "No"}).fail_job is False


@pytest.mark.parametrize(
    "params,message",
    [
        ({"tables": " , "}, "No table to validate"),
        ({}, "No table to validate"),
        ({"tables": "s.a", "fail_job": "maybe"}, "must be true or false"),
        ({"tables": "s.a; drop"}, "invalid character"),
        ({"tables": "s.a", "baseline": "yesterday"}, "is not understood"),
        ({"tables": "s.a", "where": "1 = 1; --"}, "without ';'"),
        ({"tables": "s.a", "rules": "/nonexistent/rules.yml"}, "does not exist"),
        ({"tables": "s.a", "full": "perhaps"}, "must be true or false"),
        ({"tables": "s.a", "sample": "-3"}, "must be a fraction between 0 and 1"),
        ({"tables": "s.a", "sample": "1.0"}, "must be a fraction between 0 and 1"),
    ],
)
def test_bad_parameters_are_refused_before_any_table_is_read(params, message):
    with pytest.raises((InvalidInputError, ValidationRuleError), match=message):
        ValidationJob.from_params(params, env={})


def test_full_and_sample_parameters():
    job = ValidationJob.from_params({"tables": "s.a"}, env={})
    assert job.full is False and job.sample is None  # the default: cheapest exact source, every row
    job = ValidationJob.from_params({"tables": "s.a", "full": "TRUE", "sample": "0.25"}, env={})
    assert job.full is True and job.sample == 0.25
    assert ValidationJob.from_params({"tables": "s.a", "sample": "1_000_000"}, env={}).sample == 1_000_000
