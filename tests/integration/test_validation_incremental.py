"""Incremental profiles on real Delta: after appends, stored profile + new rows = a full profile;
any commit that removed rows (DELETE, UPDATE, MERGE) or a schema change makes the next profile full."""

import uuid

import pytest
from pyspark.sql import functions as F

from dbx_ops.state import StateStore
from dbx_ops.validation import Validator
from dbx_ops.validation.profile import ProfileOptions, has_sketches


def rows(spark, start, n, shift=0.0):
    return spark.range(start, start + n).select(
        "id",
        F.when(F.col("id") % 17 == 0, F.lit(None)).otherwise(F.col("id") % 97 * 1.25 + shift).alias("amount"),
        F.element_at(F.array(*[F.lit(c) for c in "ABCDE"]), (F.col("id") % 5 + 1).cast("int")).alias("cat"),
        F.expr("timestamp_seconds(1767225600 + id * 60)").alias("ts"),
        F.when(F.col("id") % 11 == 0, F.lit(None)).otherwise(F.col("id").cast("string")).alias("code"),
    )


@pytest.fixture(scope="module")
def env(spark):
    name = f"inc_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {name}")
    return name, Validator(spark, store=StateStore(spark, schema=f"{name}_state"))


def _table(spark, env, label, n=1500):
    name, validator = env
    table = f"{name}.{label}"
    rows(spark, 0, n).repartition(3).write.format("delta").saveAsTable(table)
    return table, validator


def _append(spark, table, start, n, shift=0.0):
    rows(spark, start, n, shift).write.format("delta").mode("append").saveAsTable(table)


def assert_same(inc, full):
    """Exactly equal counts, sums and histograms; moments to rounding; distinct within the sketch's error."""
    assert inc.row_count == full.row_count
    assert inc.schema == full.schema and set(inc.columns) == set(full.columns)
    for name, f in full.columns.items():
        i = inc.columns[name]
        assert i.null_count == f.null_count, name
        assert i.histogram == f.histogram, name
        assert i.categories == f.categories, name
        assert (i.min, i.max, i.max_epoch) == (f.min, f.max, f.max_epoch), name
        if f.sum is not None:
            assert i.sum == pytest.approx(f.sum, rel=1e-12), name
            assert i.mean == pytest.approx(f.mean, rel=1e-12), name
            assert i.stddev == pytest.approx(f.stddev, rel=1e-9), name
        if f.distinct is not None:
            assert i.distinct == pytest.approx(f.distinct, rel=0.03), name


def test_after_appends_and_optimize_the_incremental_profile_equals_a_full_one(spark, env):
    table, validator = _table(spark, env, "grows")
    first = validator.profile(table)
    assert first.method == "full" and first.method_note is None  # nothing stored: a plain first profile
    for k in range(3):
        _append(spark, table, 10_000 + 400 * k, 400)
    grown = validator.profile(table)
    if not has_sketches(spark):  # Spark 3.5: distinct counts cannot merge, so it says so and scans
        assert grown.method == "full" and "Spark 3.5" in grown.method_note
        return
    assert grown.method == "incremental", grown.method_note
    assert "merged with 1200 row(s)" in grown.method_note and f"v{first.delta_version}" in grown.method_note
    assert grown.delta_version == first.delta_version + 3
    assert_same(grown, validator.profile(table, full=True, save=False))

    # the merged profile is state again: compaction is harmless, the next appends merge onto it
    spark.sql(f"OPTIMIZE {table}")
    _append(spark, table, 50_000, 300)
    again = validator.profile(table)
    assert again.method == "incremental", again.method_note
    assert again.row_count == 1500 + 1200 + 300
    assert_same(again, validator.profile(table, full=True, save=False))
    still = validator.profile(table)  # nothing appended since: the stored state, no scan
    assert still.method == "incremental" and still.row_count == again.row_count


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ("DELETE FROM {t} WHERE id % 7 = 0", "DELETE"),
        ("UPDATE {t} SET amount = amount + 1 WHERE id < 50", "UPDATE"),
        (
            "MERGE INTO {t} AS t USING (SELECT 3 AS id) AS s ON t.id = s.id "
            "WHEN MATCHED THEN UPDATE SET t.cat = 'Z'",
            "MERGE",
        ),
        ("ALTER TABLE {t} ADD COLUMNS (extra INT)", "schema changed"),
    ],
)
def test_a_change_that_is_not_an_append_makes_the_next_profile_full_and_says_why(spark, env, change, why):
    table, validator = _table(spark, env, f"chg_{uuid.uuid4().hex[:6]}", n=600)
    validator.profile(table)
    _append(spark, table, 10_000, 100)
    spark.sql(change.format(t=table))
    _append(spark, table, 20_000, 100)
    after = validator.profile(table)
    assert after.method == "full"
    # Spark 3.5 cannot merge distinct counts at all, and says that first
    reasons = (why,) if has_sketches(spark) else (why, "Spark 3.5")
    assert after.method_note.startswith("full scan:"), after.method_note
    assert any(r in after.method_note for r in reasons), after.method_note
    assert after.row_count == spark.table(table).count()
    _append(spark, table, 30_000, 50)  # and once profiled in full, appends are incremental again
    if has_sketches(spark):
        assert validator.profile(table).method == "incremental"


def test_scheduled_validation_merges_appends_and_still_catches_drift(spark, env):
    table, validator = _table(spark, env, "drifts", n=1000)
    rules = [{"type": "distribution", "metric": "psi", "max": 0.2, "columns": ["amount"]}]
    validator.validate(table, "previous", rules)  # first run: stored
    _append(spark, table, 10_000, 100)
    calm = validator.validate(table, "previous", rules)
    assert calm.ok, calm.to_markdown()
    if has_sketches(spark):  # the report says the histogram was merged, counts came from the log
        assert calm.sources.source_of("distribution", "amount") == "incremental", calm.sources.to_text()
        assert calm.sources.source_of("row_count") == "log"
        assert "merged with 100 row(s)" in calm.sources.summary()
    _append(spark, table, 20_000, 1500, shift=500.0)  # most of the table now far above every bin
    shifted = validator.validate(table, "previous", rules)
    assert not shifted.ok and "distribution_psi:amount" in shifted.broken()
    method = "incremental" if has_sketches(spark) else "full"
    assert shifted.current["method"] == method, shifted.current
    full = validator.validate(table, "previous", rules, full=True, save=False)
    assert full.current["method"] == "full" and full.current["method_note"] is None


def test_a_deletion_vector_delete_removes_no_file_and_still_makes_the_next_profile_full(spark, env):
    table, validator = _table(spark, env, "dv", n=600)
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    validator.profile(table)
    spark.sql(f"DELETE FROM {table} WHERE id % 7 = 0")
    metrics = spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").collect()[0]["operationMetrics"]
    assert int(metrics["numDeletionVectorsAdded"]) > 0 and int(metrics["numRemovedFiles"]) == 0
    after = validator.profile(table)
    reason = "DELETE" if has_sketches(spark) else "Spark 3.5"
    assert after.method == "full" and reason in after.method_note, after.method_note
    assert after.row_count == spark.table(table).count() == 600 - len(range(0, 600, 7))


def test_sampled_distributions_are_reported_and_seeded_and_counts_read_every_row(spark, env):
    table, validator = _table(spark, env, "sampled", n=4000)
    sampled = Validator(spark, store=validator.store, options=ProfileOptions(sample=0.25, seed=5))
    one = sampled.profile(table, full=True, save=False)
    two = sampled.profile(table, full=True, save=False)
    full = validator.profile(table, full=True, save=False)
    assert one.sample["fraction"] == 0.25 and one.sample["seed"] == 5 and one.sample["of_rows"] == 4000
    assert 800 < one.sample["rows"] < 1200
    assert one.columns["amount"].histogram == two.columns["amount"].histogram  # seeded: reruns agree
    assert one.row_count == full.row_count == 4000
    for name, f in full.columns.items():  # never sampled: counts, nulls, bounds, sums, distinct
        o = one.columns[name]
        assert (o.null_count, o.min, o.max, o.sum) == (f.null_count, f.min, f.max, f.sum), name
        assert o.distinct == pytest.approx(f.distinct, rel=0.03), name
    counted = sum(one.columns["amount"].histogram.counts)
    assert counted < sum(full.columns["amount"].histogram.counts) and counted <= one.sample["rows"]
    cats = one.columns["cat"].categories
    assert sum(n for _, n in cats.counts) + cats.other == one.sample["rows"]  # cat is never null
    by_rows = Validator(spark, store=validator.store, options=ProfileOptions(sample=1000, seed=5))
    assert by_rows.profile(table, full=True, save=False).sample["fraction"] == 0.25  # 1000 of 4000 rows
    validator.profile(table)  # stored unsampled; a sampled profile is never merged into it
    _append(spark, table, 10_000, 100)
    later = sampled.profile(table, save=False)
    assert later.method == "full" and "sampled" in later.method_note and later.sample is not None
