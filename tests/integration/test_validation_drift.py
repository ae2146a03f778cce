"""Profiles of real Delta tables; known drift written to real Delta tables is flagged by the right rule."""

import uuid

import pytest
from pyspark.sql import functions as F

from dbx_ops.errors import InvalidInputError, NotFoundError
from dbx_ops.state import StateStore
from dbx_ops.validation import Validator


def orders(spark, n=2000):
    return spark.range(n).select(
        F.col("id"),
        (F.col("id") % 97 * 1.25).alias("amount"),
        F.element_at(F.array(*[F.lit(c) for c in "ABCDE"]), (F.col("id") % 5 + 1).cast("int")).alias("cat"),
        F.expr("current_timestamp() - make_interval(0, 0, 0, 0, 0, cast(id % 60 as int), 0)").alias("ts"),
        F.expr("date_sub(current_date(), cast(id % 2 as int))").alias("date"),
    )


@pytest.fixture(scope="module")
def env(spark):
    name = f"v_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {name}")
    orders(spark).write.format("delta").saveAsTable(f"{name}.orders")
    validator = Validator(spark, store=StateStore(spark, schema=f"{name}_state"))
    base = validator.profile(f"{name}.orders")
    return name, validator, base


def drifted(spark, env, label, change):
    """The orders data with a known drift, written as a real Delta table."""
    name, _, _ = env
    table = f"{name}.{label}"
    change(spark.table(f"{name}.orders")).write.format("delta").saveAsTable(table)
    return table


def check(env, table, **kw):
    """Validate ``table`` against the stored profile of the original orders table (no rescan)."""
    return env[1].validate(table, f"run:{env[2].run_id}", **kw)


def broken(report):
    return sorted(report.broken())


def test_profile_measures_everything_in_one_pass_and_stores_it(spark, env):
    name, validator, prof = env
    assert prof.row_count == 2000 and prof.delta_version == 0 and prof.table_name == f"{name}.orders"
    amount, cat, ts = prof.column("amount"), prof.column("cat"), prof.column("ts")
    assert amount.null_count == 0 and amount.min == 0.0 and amount.max == 96 * 1.25
    assert 90 <= amount.distinct <= 104  # approximate, rsd 0.05
    assert amount.mean == pytest.approx(spark.table(f"{name}.orders").agg(F.avg("amount")).first()[0])
    assert (
        sum(amount.histogram.counts) == 2000
        and len(amount.histogram.counts) == len(amount.histogram.edges) + 1
    )
    assert dict(cat.categories.counts) == {"A": 400, "B": 400, "C": 400, "D": 400, "E": 400}
    assert ts.max_epoch is not None and prof.column("date").min is not None
    # Stored: one row per (run, column, metric), queryable history.
    hist = validator.metrics.history().where(F.col("run_id") == prof.run_id)
    got = {(r["column_name"], r["metric"]): r["value"] for r in hist.where("bucket IS NULL").collect()}
    assert got[(None, "row_count")] == 2000.0 and got[("amount", "null_rate")] == 0.0
    # A second profile is counted over the first one's bins, so the two compare bin by bin.
    again = validator.profile(f"{name}.orders")
    assert again.column("amount").histogram == amount.histogram
    assert again.column("cat").categories == cat.categories


def test_row_count_only_comes_from_metadata_and_filters_work(spark, env):
    name, validator, _ = env
    only = validator.profile(f"{name}.orders", columns=[], save=False)
    assert only.row_count == 2000 and not only.columns
    plan = spark.table(f"{name}.orders").groupBy().count()
    assert "LocalTableScan" in _plan(plan) and "FileScan" not in _plan(plan)
    today = validator.profile(f"{name}.orders", columns=["id"], where="date = current_date()", save=False)
    assert today.row_count == 1000 and today.filter == "date = current_date()"
    with pytest.raises(InvalidInputError, match="not valid here"):
        validator.profile(f"{name}.orders", where="no_such_column = 1", save=False)
    with pytest.raises(InvalidInputError, match="not a true/false expression"):
        validator.profile(f"{name}.orders", where="id + 1", save=False)
    with pytest.raises(InvalidInputError, match="are not in"):
        validator.profile(f"{name}.orders", columns=["nope"], save=False)
    with pytest.raises(NotFoundError, match="cannot be read"):
        validator.profile(f"{name}.missing", save=False)


def _plan(df):
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        df.explain()
    return buf.getvalue()


def test_a_dataframe_is_profiled_but_not_stored(spark, env):
    _, validator, _ = env
    before = validator.metrics.history().count()
    prof = validator.profile(orders(spark, 100).where("id < 10"))
    assert prof.row_count == 10 and prof.table_name is None
    assert validator.metrics.history().count() == before


def test_unchanged_data_passes(spark, env):
    report = check(env, drifted(spark, env, "same", lambda df: df))
    assert report.ok and not report.broken(), report.to_text()
    assert report.baseline == f"run:{env[2].run_id}"


def test_row_loss_by_a_real_delete_against_time_travel(spark, env):
    table = drifted(spark, env, "loss", lambda df: df)
    spark.sql(f"DELETE FROM {table} WHERE id % 4 = 0")
    report = env[1].validate(table, "version:0")
    assert not report.ok
    assert broken(report) == ["row_count_change"]
    assert "1,500 rows (-25.0 %" in report.result("row_count_change").observed
    assert report.baseline_profile["delta_version"] == 0 and report.current["delta_version"] == 1


def test_null_burst(spark, env):
    table = drifted(
        spark, env, "nulls", lambda df: df.withColumn("amount", F.when(F.col("id") % 5 != 0, F.col("amount")))
    )
    report = check(env, table)
    assert broken(report) == ["null_rate_delta:amount"]
    assert report.result("null_rate_delta:amount").observed == "20.00%"


def test_distribution_shift(spark, env):
    shift = F.when(F.col("id") % 2 == 0, F.col("amount") * 3 + 200).otherwise(F.col("amount"))
    report = check(env, drifted(spark, env, "shift", lambda df: df.withColumn("amount", shift)))
    assert "distribution_psi:amount" in broken(report)
    assert report.result("row_count_change").ok and report.result("null_rate_delta:amount").ok
    assert "<svg" in report.to_html()


def test_category_collapse(spark, env):
    report = check(env, drifted(spark, env, "collapse", lambda df: df.withColumn("cat", F.lit("A"))))
    assert broken(report) == ["distinct_ratio_delta:cat", "distribution_psi:cat"]
    assert report.result("distinct_ratio_delta:cat").severity == "warn"
    assert report.ok is False  # the PSI rule has fail severity


def test_schema_change(spark, env):
    table = drifted(
        spark, env, "schema", lambda df: df.withColumn("amount", F.col("amount").cast("string")).drop("ts")
    )
    report = check(env, table)
    assert not report.ok
    assert report.result("schema_contract:removed").observed == "ts"
    assert report.result("schema_contract:retyped").observed == "amount double -> string"
    assert report.result("schema_contract:added").ok


def test_stale_watermark(spark, env):
    rules = [{"type": "freshness", "column": "ts", "max_age_hours": 24}, {"type": "row_count_change"}]
    fresh = env[1].validate(f"{env[0]}.orders", rules=[rules[0]])
    assert fresh.ok
    table = drifted(
        spark, env, "stale", lambda df: df.withColumn("ts", F.col("ts") - F.expr("INTERVAL 3 DAYS"))
    )
    report = check(env, table, rules=rules)
    assert broken(report) == ["freshness:ts"]
    assert "h old" in report.result("freshness:ts").observed
