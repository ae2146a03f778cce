"""Validation input (issue 11): bad input exits 2 with one sentence, before Spark starts; one test per defect.

Plus a bounded fuzz test over the profile / validate command lines (rules file contents, baselines,
table names, filters, output paths).
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbx_ops.cli import main


class SparkRequested(Exception):
    """The input passed every check made before a Spark session starts."""


@pytest.fixture
def no_spark(monkeypatch):
    def refuse(*a, **k):
        raise SparkRequested

    monkeypatch.setattr("dbx_ops.runtime.get_spark", refuse)


def run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def rules_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def validate_argv(rules: str, *extra: str) -> list[str]:
    return ["validate", "s.t", "--baseline", "previous", "--rules", rules, *extra]


def test_a_nan_threshold_is_bad_input(tmp_path, capsys, no_spark):
    path = rules_file(tmp_path, "rules:\n  - type: row_count_change\n    max_pct: .nan\n")
    code, err = run(validate_argv(path), capsys)
    assert code == 2 and "rule 1 (row_count_change): 'max_pct' must be a finite number" in err


def test_a_schema_contract_with_an_unknown_type_is_bad_input(tmp_path, capsys, no_spark):
    path = rules_file(
        tmp_path, "rules:\n  - type: schema_contract\n    columns: {id: bigitn, amount: double}\n"
    )
    code, err = run(validate_argv(path), capsys)
    assert code == 2 and "column 'id' has unknown type 'bigitn'" in err


def test_schema_contract_types_accept_spark_spellings_and_aliases():
    from dbx_ops.validation.rules import normalise_type

    assert normalise_type("BIGINT") == "bigint" and normalise_type("long") == "bigint"
    assert normalise_type("decimal(10, 2)") == "decimal(10,2)" and normalise_type("array<string>")
    assert normalise_type("bigitn") is None and normalise_type("decimal(x)") is None


def test_a_rule_without_a_type_says_so(tmp_path, capsys, no_spark):
    path = rules_file(tmp_path, "rules:\n  - columns: [id]\n")
    code, err = run(validate_argv(path), capsys)
    assert code == 2 and "rule 1 has no 'type'; use one of" in err and "None" not in err


def test_a_folder_as_rules_file_is_called_a_folder(tmp_path, capsys, no_spark):
    code, err = run(validate_argv(str(tmp_path)), capsys)
    assert code == 2 and f"Rules file {tmp_path} is a folder, not a file." in err


def test_html_pointing_at_a_folder_is_refused_before_any_work(tmp_path, capsys, no_spark):
    code, err = run(["validate", "s.t", "--baseline", "previous", "--html", str(tmp_path)], capsys)
    assert code == 2 and "is a folder" in err


def test_an_unwritable_html_path_is_refused_before_any_work(capsys, no_spark):
    target = Path("/proc/dbx_ops_report.html")  # /proc refuses new files, even to root
    code, err = run(["validate", "s.t", "--baseline", "previous", "--markdown", str(target)], capsys)
    assert code == 2 and f"Cannot write the report to {target}" in err


def test_profile_of_a_file_format_path_is_refused(capsys, no_spark):
    code, err = run(["profile", "parquet.`/tmp/some/path`"], capsys)
    assert code == 2 and "only Delta tables" in err
    code, err = run(["validate", "csv.`s3://bucket/x`", "--baseline", "previous"], capsys)
    assert code == 2 and "only Delta tables" in err


def test_a_huge_number_is_bad_input_not_an_overflow(tmp_path, capsys, no_spark):
    path = rules_file(tmp_path, "rules:\n  - type: row_count_change\n    max_pct: " + "9" * 400 + "\n")
    code, err = run(validate_argv(path), capsys)
    assert code == 2 and "'max_pct'" in err


# -- fuzz ------------------------------------------------------------------------------------------

KEYS = ["type", "columns", "column", "max_pct", "max", "min", "mostly", "max_delta", "direction", "metric",
        "severity", "added", "removed", "retyped", "max_age_hours", "name"]  # fmt: skip
TYPES = ["row_count_change", "row_count_bounds", "null_rate_delta", "distinct_ratio_delta", "distribution",
         "schema_contract", "freshness", "not_null", "value_range", "distinct_count_bounds",
         None, "", "NOT_NULL"]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
rule = st.dictionaries(st.sampled_from(KEYS), values, max_size=5).flatmap(
    lambda d: st.sampled_from(TYPES).map(lambda t: {**d, "type": t})
)
rules_text = st.one_of(
    st.lists(rule, max_size=4).map(lambda rs: yaml.safe_dump({"rules": rs})),
    values.map(yaml.safe_dump),
    st.text(alphabet=string.printable + "\u00e9\u2028\ufeff\x00", max_size=80),
)
names = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["parquet.`/p`", "json.`/x`", "delta.`rel/path`", "a.b.c.d", "`a`.", "s.t;drop", "x" * 300]
    ),
)
baselines = st.one_of(
    st.text(max_size=30),
    st.tuples(st.sampled_from(["snapshot:", "version:", "run:", "table:", "partition:", "previous"]),
              st.text(max_size=20)).map("".join),
)  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=names, baseline=baselines, text=rules_text, where=st.none() | st.text(max_size=30))
def test_fuzz_validate_inputs_exit_2_with_one_line(tmp_path, capsys, no_spark, table, baseline, text, where):
    path = rules_file(tmp_path, text)
    argv = ["validate", f"--baseline={baseline}", "--rules", path]
    argv += [f"--where={where}"] if where is not None else []
    _check([*argv, "--", table], capsys)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=names, columns=st.none() | st.text(max_size=20), where=st.none() | st.text(max_size=30))
def test_fuzz_profile_inputs_exit_2_with_one_line(capsys, no_spark, table, columns, where):
    argv = ["profile"]
    argv += [f"--columns={columns}"] if columns is not None else []
    argv += [f"--where={where}"] if where is not None else []
    _check([*argv, "--", table], capsys)


def _check(argv: list[str], capsys) -> None:
    try:
        code = main(argv)
    except SparkRequested:
        capsys.readouterr()
        return  # every check made before Spark passed: a valid input
    err = capsys.readouterr().err
    assert code == 2, (argv, code, err)
    assert "Traceback" not in err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
