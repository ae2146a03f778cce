"""Validation input that needs the data (issue 11), on real Delta: exit 2 for a wrong rule, Delta only."""

from __future__ import annotations

import uuid

import pytest
from pyspark.sql import functions as F

from dbx_ops.cli import main
from dbx_ops.errors import InvalidInputError, ValidationRuleError
from dbx_ops.state import StateStore
from dbx_ops.validation import Validator


def orders(spark, n=400):
    return spark.range(n).select(
        F.col("id"), (F.col("id") % 7 * 1.5).alias("amount"), (F.col("id") % 3).cast("string").alias("cat")
    )


@pytest.fixture(scope="module")
def env(spark):
    name = f"vj_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {name}")
    store = StateStore(spark, schema=f"{name}_state")
    orders(spark).write.format("delta").saveAsTable(f"{name}.orders")
    return name, store, Validator(spark, store=store)


def test_a_rule_naming_a_column_the_table_lacks_is_bad_input(spark, env, capsys, monkeypatch):
    name, store, validator = env
    rules = [{"type": "not_null", "columns": ["id", "amout"]}]
    with pytest.raises(ValidationRuleError, match=r"names column 'amout'.*its columns are id, amount, cat"):
        validator.validate(f"{name}.orders", rules=rules)
    assert not store.exists("validation_results")  # refused before anything was stored
    monkeypatch.setenv("DBX_OPS_SCHEMA", store.schema)
    assert main(["validate", f"{name}.orders", "--baseline", "previous", "--rules", _rules_file(rules)]) == 2
    assert "names column 'amout'" in capsys.readouterr().err


def test_a_column_the_baseline_had_and_the_data_lost_is_a_finding(spark, env):
    name, _, validator = env
    table = f"{name}.shrunk"
    orders(spark).write.format("delta").saveAsTable(table)
    before = validator.profile(table)
    spark.table(table).drop("cat").write.format("delta").mode("overwrite").option(
        "overwriteSchema", "true"
    ).saveAsTable(table)
    report = validator.validate(table, before, [{"type": "null_rate_delta", "columns": ["cat"]}])
    assert not report.ok and report.result("null_rate_delta:cat").observed == "column missing"


def test_a_table_that_is_not_delta_is_not_profiled_or_stored(spark, env, tmp_path):
    name, _, validator = env
    spark.range(5).write.format("parquet").saveAsTable(f"{name}.plain")
    with pytest.raises(InvalidInputError, match="not a Delta table"):
        validator.profile(f"{name}.plain")
    spark.range(5).write.parquet(str(tmp_path / "files"))
    with pytest.raises(InvalidInputError, match="only Delta tables"):
        validator.profile(f"parquet.`{tmp_path / 'files'}`")
    assert validator.profile(spark.read.parquet(str(tmp_path / "files"))).row_count == 5  # a DataFrame: fine


def _rules_file(rules) -> str:
    import tempfile

    import yaml

    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as fh:
        yaml.safe_dump({"rules": rules}, fh)
        return fh.name
