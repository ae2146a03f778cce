"""How a profile is computed: exact distinct counts from enumerated categories, reused bins."""

import uuid

import pytest
from pyspark.sql import functions as F

from dbx_ops.state import StateStore
from dbx_ops.validation import Validator


@pytest.fixture(scope="module")
def env(spark):
    name = f"q_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {name}")
    return name, Validator(spark, store=StateStore(spark, schema=f"{name}_state"))


def _orders(spark, n, cats):
    values = F.array(*[F.lit(c) for c in cats])
    return spark.range(n).select(
        "id",
        (F.col("id") % 100 * 1.5).alias("amount"),
        F.element_at(values, (F.col("id") % len(cats) + 1).cast("int")).alias("cat"),
    )


def test_enumerated_categories_give_exact_distinct_counts_and_new_values_are_still_counted(spark, env):
    name, validator = env
    table = f"{name}.enumerated"
    cats = [f"c{i:02d}" for i in range(19)]
    _orders(spark, 3800, cats).write.format("delta").saveAsTable(table)
    reference = validator.profile(table)  # stores every value of cat (19 <= top_k), other = 0
    assert reference.columns["cat"].categories.other == 0
    assert len(reference.columns["cat"].categories.counts) == 19

    profiler = validator.profiler
    calls = []
    real = profiler._approx_distinct
    profiler._approx_distinct = lambda *a: calls.append(a[1]) or real(*a)  # spy: is the extra query run?
    try:
        same = profiler.profile_source(profiler.source(table), ["cat"], reference, False, ["cat"])
        assert same.columns["cat"].distinct == 19 and calls == []
        assert dict(same.columns["cat"].categories.counts) == {c: 200 for c in cats}

        _orders(spark, 50, ["brand_new"]).write.format("delta").mode("append").saveAsTable(table)
        grown = profiler.profile_source(profiler.source(table), ["cat"], reference, False, ["cat"])
        assert calls == [["cat"]]  # one more query, only because a value outside the reference appeared
        assert grown.columns["cat"].categories.other == 50
        assert grown.columns["cat"].distinct == 20
    finally:
        profiler._approx_distinct = real

    # validate() measures what its rules read: null counts of id, min / max of amount only
    rules = [
        {"type": "not_null", "columns": ["id"]},
        {"type": "value_range", "column": "amount", "min": 0, "max": 150},
    ]
    report = validator.validate(table, rules=rules)
    assert report.ok, report.to_markdown()
    measured = validator.metrics.get(report.run_id)
    assert set(measured.columns) == {"id", "amount"}
    assert measured.columns["id"].null_count == 0 and measured.columns["id"].min is None
    assert measured.columns["amount"].min == 0.0 and measured.columns["amount"].max == 148.5
    assert measured.columns["amount"].distinct is None and measured.columns["amount"].histogram is None


def test_a_baseline_not_stored_is_counted_over_the_tables_stored_bins(spark, env):
    name, validator = env
    table = f"{name}.versions"
    _orders(spark, 2000, ["a", "b", "c"]).write.format("delta").saveAsTable(table)  # version 0
    _orders(spark, 500, ["a", "b"]).write.format("delta").mode("append").saveAsTable(table)  # version 1
    own = validator.profile(table)  # version 1: deciles computed, stored
    assert own.delta_version == 1

    stored, newest = validator.metrics.lookup(table, None, 0, None)
    assert stored is None and newest is not None and newest.run_id == own.run_id

    report = validator.validate(table, "version:0")
    base = validator.metrics.get(report.baseline_profile["run_id"])
    assert base.delta_version == 0 and base.row_count == 2000
    # the baseline was counted over the stored profile's bins and categories, not new deciles
    assert base.columns["amount"].histogram.edges == own.columns["amount"].histogram.edges
    assert base.columns["cat"].categories.keys == own.columns["cat"].categories.keys
    assert sum(base.columns["amount"].histogram.counts) == 2000
    # ... and is now stored: the next validation against version 0 reads it back
    stored, _ = validator.metrics.lookup(table, None, 0, None)
    assert stored is not None and stored.run_id == base.run_id
