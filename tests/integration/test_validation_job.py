"""The scheduled validation job (issue 11) on real Delta: several tables, first run, fail_job."""

from __future__ import annotations

import io
import uuid

import pytest
from pyspark.sql import functions as F

from dbx_ops.errors import ValidationFailedError
from dbx_ops.progress import LineProgress
from dbx_ops.state import StateStore
from dbx_ops.validation import ValidationStatus, Validator
from dbx_ops.validation.job import ValidationJob


def orders(spark, n=400):
    return spark.range(n).select(
        F.col("id"), (F.col("id") % 7 * 1.5).alias("amount"), (F.col("id") % 3).cast("string").alias("cat")
    )


@pytest.fixture(scope="module")
def env(spark):
    name = f"vjob_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {name}")
    store = StateStore(spark, schema=f"{name}_state")
    orders(spark).write.format("delta").saveAsTable(f"{name}.orders")
    return name, store, Validator(spark, store=store)


def test_the_first_run_against_previous_stores_the_profile_and_passes_with_a_note(spark, env):
    name, _, validator = env
    table = f"{name}.fresh"
    orders(spark).write.format("delta").saveAsTable(table)
    rules = [{"type": "row_count_change", "max_pct": 5}, {"type": "not_null", "columns": ["id"]}]
    first = validator.validate(table, "previous", rules)
    assert first.ok and first.first_run and first.status is ValidationStatus.FIRST_RUN
    assert [r.rule for r in first.results] == ["not_null:id"]  # what needs no baseline is still checked
    assert (
        "First run" in first.summary() and "1 rule(s) that compare with a baseline were skipped" in first.note
    )
    first.raise_on_failure()
    orders(spark, 100).write.format("delta").mode("append").saveAsTable(table)  # +25 %
    second = validator.validate(table, "previous", rules)
    assert not second.first_run and second.baseline_profile["run_id"] == first.run_id
    assert second.broken() == ["row_count_change"]


def test_the_job_validates_several_tables_and_fails_on_a_breach(spark, env):
    name, store, _ = env
    a, b = f"{name}.job_a", f"{name}.job_b"
    for t in (a, b):
        orders(spark).write.format("delta").saveAsTable(t)
    params = {"tables": f"{a}, {b}", "baseline": "previous", "state_schema": store.schema, "fail_job": "true"}
    job = ValidationJob.from_params(params)
    lines = io.StringIO()
    first = job.run(spark, progress=LineProgress(lines))
    assert first.ok and [r.first_run for r in first.reports] == [True, True]
    assert "[2/2] validating" in lines.getvalue()
    job.finish(first)
    spark.table(a).where("id < 100").write.format("delta").mode("overwrite").saveAsTable(a)  # -75 %
    second = job.run(spark)
    assert not second.ok and [r.table for r in second.failed] == [a]
    with pytest.raises(ValidationFailedError, match=rf"1 failed \({a}\)"):
        job.finish(second)
    ValidationJob.from_params({**params, "fail_job": "false"}).finish(second)  # reported, not raised
    assert job.history(spark).where(F.col("table_name") == a).count() >= 2
    assert "Validation of 2 table(s)" in second.to_html()
