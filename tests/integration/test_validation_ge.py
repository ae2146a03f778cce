"""Great Expectations 1.x interop: same verdicts on the same data, suites exported and run."""

import uuid

import great_expectations as gx
import pytest
from pyspark.sql import functions as F

from dbx_ops.state import StateStore
from dbx_ops.validation import Validator
from dbx_ops.validation.ge import run_expectation_suite, to_expectation_suite

# Overlapping checks, each once passing and once failing on the data below.
RULES = [
    {"type": "row_count_bounds", "min": 100, "max": 1000, "name": "rows_ok"},
    {"type": "row_count_bounds", "min": 1001, "name": "rows_bad"},
    {"type": "not_null", "columns": ["amount"], "mostly": 0.85, "name": "nn_ok"},
    {"type": "not_null", "columns": ["amount"], "mostly": 0.95, "name": "nn_bad"},
    {"type": "not_null", "columns": ["id"], "name": "nn_id"},
    {"type": "value_range", "column": "amount", "min": 0, "max": 500, "name": "range_ok"},
    {"type": "value_range", "column": "amount", "min": 10, "max": 500, "name": "range_bad"},
    {"type": "distinct_count_bounds", "column": "cat", "min": 1, "max": 4, "name": "distinct_ok"},
    {"type": "distinct_count_bounds", "column": "cat", "min": 5, "name": "distinct_bad"},
    {
        "type": "schema_contract",
        "columns": {"id": "bigint", "amount": "double", "cat": "string"},
        "name": "cols",
    },
]


@pytest.fixture(scope="module")
def data(spark):
    name = f"v_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {name}")
    df = spark.range(1000).select(
        "id",
        F.when(F.col("id") % 10 != 0, F.col("id") % 400 * 1.0).alias("amount"),  # 10 % null, min 1, max 399
        F.concat(F.lit("c"), (F.col("id") % 4).cast("string")).alias("cat"),
    )
    df.write.format("delta").saveAsTable(f"{name}.t")
    return f"{name}.t", Validator(spark, store=StateStore(spark, schema=f"{name}_state"))


def test_our_verdicts_equal_great_expectations_on_the_same_data(spark, data):
    table, validator = data
    ours = validator.validate(table, rules=RULES, save=False)
    export = to_expectation_suite(RULES, name="parity")
    assert export.skipped == ()
    theirs = run_expectation_suite(spark, spark.table(table), export, table=table)
    assert theirs.engine == "great_expectations"
    mine = {r.rule.split(":")[0]: r.ok for r in ours.results}
    ge = {r.rule.split(":")[0]: r.ok for r in theirs.results}
    assert mine == ge
    assert {k for k, ok in mine.items() if not ok} == {"rows_bad", "nn_bad", "range_bad", "distinct_bad"}


def test_relative_rules_export_as_absolute_bounds_from_a_baseline(spark, data):
    table, validator = data
    base = validator.profile(table, save=False)
    export = to_expectation_suite(None, baseline=base)  # the default rules
    types = sorted({e.expectation_type for e in export.suite.expectations})
    assert "expect_table_row_count_to_be_between" in types
    assert "expect_column_values_to_not_be_null" in types
    assert "expect_table_columns_to_match_set" in types
    assert [name for name, _ in export.skipped] == ["distribution_psi"]
    smaller = spark.table(table).where("id < 800")
    ge = run_expectation_suite(spark, smaller, export)
    ours = validator.validate(smaller, baseline=base, rules=[{"type": "row_count_change"}], save=False)
    assert ge.result("row_count_change").ok is ours.result("row_count_change").ok is False


def test_a_users_suite_renders_in_our_report_format(spark, data):
    table, _ = data
    suite = gx.ExpectationSuite(
        name="users",
        expectations=[
            gx.expectations.ExpectColumnValuesToBeInSet(column="cat", value_set=["c0", "c1", "c2", "c3"]),
            gx.expectations.ExpectColumnValuesToBeUnique(column="cat", severity="warning"),
        ],
    )
    report = run_expectation_suite(spark, spark.table(table), suite, table=table)
    assert report.ok and report.status == "passed with warnings"
    unique = report.result("expect_column_values_to_be_unique:cat")
    assert not unique.ok and unique.severity == "warn"
    assert "expect_column_values_to_be_in_set" in report.to_markdown()
    assert "<table" in report.to_html()
