"""Metrics from the Delta log equal metrics from a scan, and a validation the log answers reads no data."""

from __future__ import annotations

import uuid

import pytest
from pyspark.sql import functions as F

from dbx_ops.state import StateStore
from dbx_ops.validation import Validator
from dbx_ops.validation.delta_log import DeltaLogReader
from dbx_ops.validation.planner import DATA, LOG, STORED


@pytest.fixture(scope="module")
def env(spark, tmp_path_factory):
    name = f"dl_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {name}")
    store = StateStore(spark, schema=f"{name}_state")
    return {
        "schema": name,
        "folder": tmp_path_factory.mktemp("delta_log"),
        "log": Validator(spark, store=store),
        "scan": Validator(spark, store=store, use_log=False),
    }


def _rows(spark, n, start=0):
    """Mixed types: nulls, a decimal, a date, short and long strings, a timestamp, a boolean."""
    return spark.range(start, start + n).select(
        "id",
        F.when(F.col("id") % 7 != 0, F.col("id") * 1.5).alias("amount"),
        (F.col("id") % 13).cast("int").alias("qty"),
        (F.col("id") % 5).cast("int").alias("region"),
        (F.col("id") / 8).cast("decimal(10,2)").alias("price"),
        F.expr("date_add(date'2026-01-01', cast(id % 40 as int))").alias("day"),
        F.when(F.col("id") % 3 != 0, F.concat(F.lit("n"), (F.col("id") % 9).cast("string"))).alias("name"),
        F.concat(F.lit("x" * 40), F.col("id").cast("string")).alias("long_text"),
        F.expr("timestamp'2026-01-01 00:00:00.123456' + make_interval(0, 0, 0, 0, 0, 0, id)").alias("ts"),
        (F.col("id") % 2 == 0).alias("flag"),
    )


def _jobs_during(spark, fn):
    """Spark jobs ``fn`` ran (classic: a job group and the status tracker); None under Connect."""
    try:
        sc = spark.sparkContext
    except Exception:  # Spark Connect has no SparkContext
        fn()
        return None
    group = f"t-{uuid.uuid4().hex[:8]}"
    sc.setJobGroup(group, group)
    try:
        fn()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return len(sc.statusTracker().getJobIdsForGroup(group))


def _pyarrow_loads():
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def _read_both(spark, table):
    """The driver's replay and the Spark replay of the same version: every figure the same."""
    driver = DeltaLogReader(spark).read(table)
    through_spark = DeltaLogReader(spark, driver=False).read(table)
    assert through_spark.reader == "spark"
    if driver.reader == "spark":  # only where pyarrow cannot load (a checkpoint needs it): says so
        assert not _pyarrow_loads() and "pyarrow" in driver.reason, driver.reason
    else:
        assert driver.reader == "driver" and driver.described_by == "delta log (driver)"

    def figures(stats):
        return {k: v for k, v in stats.to_dict().items() if k not in ("seconds", "reader", "reason")}

    assert figures(driver) == figures(through_spark)
    return driver


def _assert_log_equals_scan(stats, scanned, exact_bounds):
    """Every number the log gives equals the scan's; the columns it cannot answer say why."""
    assert stats.available, stats.reason
    assert stats.row_count == scanned.row_count
    for name, col in scanned.columns.items():
        logged = stats.column(name)
        if logged.null_count is not None:
            assert logged.null_count == col.null_count, name
        if name in exact_bounds:
            assert logged.bounds_exact, (name, logged.bounds_note)
            assert (logged.min, logged.max) == (col.min, col.max), name
        elif logged.bounds_exact and col.min is not None:
            assert (logged.min, logged.max) == (col.min, col.max), name


def test_many_files_partitions_and_checkpoints_match_a_scan(spark, env):
    path = str(env["folder"] / "orders")
    # a checkpoint every 2 commits: the replay reads a checkpoint's Parquet and the JSON commits after it
    _rows(spark, 600).repartition(4).write.format("delta").partitionBy("region").option(
        "delta.checkpointInterval", "2"
    ).save(path)
    for k in range(1, 4):
        _rows(spark, 100, 600 * k).repartition(2).write.format("delta").mode("append").save(path)
    table = f"delta.`{path}`"
    stats = _read_both(spark, table)
    scanned = env["scan"].profile(table, save=False)
    assert stats.files > 20
    exact = {"id", "amount", "qty", "region", "price", "day"}
    _assert_log_equals_scan(stats, scanned, exact)
    assert all(stats.column(c).null_count is not None for c in scanned.columns)
    # what the log cannot give exactly, with the reason
    assert "truncated to milliseconds" in stats.column("ts").bounds_note
    assert "prefixes" in stats.column("long_text").bounds_note
    assert "no bounds for booleans" in stats.column("flag").bounds_note
    short = stats.column("name")  # short strings: bounds exact
    data = spark.read.format("delta").load(path).agg(F.min("name"), F.max("name")).first()
    assert short.bounds_exact and (short.min, short.max) == (data[0], data[1]) == ("n1", "n8")


def test_deletion_vectors_column_mapping_and_a_catalog_table(spark, env):
    table = f"{env['schema']}.mapped"
    _rows(spark, 400).repartition(3).write.format("delta").partitionBy("region").option(
        "delta.enableDeletionVectors", "true"
    ).option("delta.columnMapping.mode", "name").saveAsTable(table)
    spark.sql(f"ALTER TABLE {table} RENAME COLUMN amount TO amount_eur")
    before = _read_both(spark, table)
    assert before.available and before.column("amount_eur").null_count is not None  # by physical name
    _assert_log_equals_scan(before, env["scan"].profile(table, save=False), {"amount_eur", "id", "region"})

    spark.sql(f"DELETE FROM {table} WHERE id % 10 = 1")  # deletion vectors, no file removed
    after = _read_both(spark, table)
    scanned = env["scan"].profile(table, save=False)
    assert after.row_count == scanned.row_count == 360  # numRecords minus the DV cardinality
    assert after.column("amount_eur").null_count is None
    assert "deletion vectors" in after.column("amount_eur").nulls_note
    assert not after.column("id").bounds_exact
    part = after.column("region")  # partition values stay exact under deletion vectors
    assert part.null_count == 0 and (part.min, part.max) == (0.0, 4.0)
    _assert_log_equals_scan(after, scanned, {"region"})


def test_more_than_32_columns_and_files_without_statistics_fall_back(spark, env):
    path = str(env["folder"] / "wide")
    wide = spark.range(300).select(
        "id", *[F.when(F.col("id") % (k + 2) != 0, F.col("id") + k).alias(f"c{k:02d}") for k in range(39)]
    )
    wide.repartition(2).write.format("delta").save(path)
    table = f"delta.`{path}`"
    stats = _read_both(spark, table)
    scanned = env["scan"].profile(table, save=False)
    indexed = ["id", *[f"c{k:02d}" for k in range(31)]]  # the first 32 columns
    _assert_log_equals_scan(stats, scanned, set(indexed))
    assert stats.column("c31").null_count is None and "not indexed" in stats.column("c31").nulls_note

    # a planned profile takes the first 32 from the log and the rest from the data: same numbers
    planned, sources = env["log"].profile_with_sources(table, save=False)
    assert sources.source_of("null_count", "c00") == LOG and sources.source_of("null_count", "c38") == DATA
    assert {n: c.null_count for n, c in planned.columns.items()} == {
        n: c.null_count for n, c in scanned.columns.items()
    }

    # an append written without statistics: the row count and every column fall back to the data
    spark.conf.set("spark.databricks.delta.stats.collect", "false")
    try:
        wide.limit(10).write.format("delta").mode("append").save(path)
    finally:
        spark.conf.unset("spark.databricks.delta.stats.collect")
    bare = _read_both(spark, table)
    assert bare.row_count is None and "no statistics" in bare.row_count_note
    assert bare.column("id").null_count is None
    exact_rows = [{"type": "row_count_bounds", "min": 310, "max": 310}]
    report = env["log"].validate(table, rules=exact_rows, save=False)
    assert report.ok and report.sources.source_of("row_count") == DATA


def test_a_validation_the_log_answers_reads_no_data(spark, env, monkeypatch):
    table = f"{env['schema']}.answered"
    _rows(spark, 500).repartition(3).write.format("delta").saveAsTable(table)
    rules = [
        {"type": "row_count_bounds", "min": 500, "max": 500},
        {"type": "not_null", "columns": ["id", "qty"]},
        {"type": "not_null", "columns": ["amount"], "mostly": 0.8},
        {"type": "value_range", "column": "amount", "min": 0, "max": 1000},
        {"type": "value_range", "column": "price", "min": 0, "max": 62.5},
        {"type": "freshness", "column": "day", "max_age_hours": 1e6},
        {"type": "schema_contract", "columns": {"id": "bigint", "qty": "int"}, "added": "ignore"},
    ]
    expected = env["scan"].validate(table, rules=rules, save=False)
    assert expected.sources.counts()[LOG] == 0  # use_log=False: everything from the data

    data_queries = []
    real = env["log"].profiler.profile_source
    monkeypatch.setattr(
        env["log"].profiler, "profile_source", lambda *a, **k: data_queries.append(a) or real(*a, **k)
    )
    done = []
    jobs = _jobs_during(spark, lambda: done.append(env["log"].validate(table, rules=rules, save=False)))
    report = done[0]
    assert data_queries == []  # no aggregation over the data at all
    assert jobs in (None, 0), f"{jobs} Spark jobs"  # driver-side log and version: no Spark job either
    assert report.sources.log_reader == "delta log (driver)"
    assert not report.sources.scanned and report.sources.data_queries == 0
    assert [(r.rule, r.ok, r.observed) for r in report.results] == [
        (r.rule, r.ok, r.observed) for r in expected.results
    ]
    assert report.to_dict()["sources"]["counts"][LOG] == len(report.sources.choices)
    assert "no data was read" in report.to_text() and "Where the metrics came from" in report.to_html()

    # a distinct count is not in the log: one data query for it, and only for it ...
    counted = [*rules, {"type": "distinct_count_bounds", "column": "qty", "min": 10, "max": 16}]
    first = env["log"].validate(table, rules=counted)
    assert len(data_queries) == 1 and data_queries[0][1] == ["qty"]
    assert first.sources.source_of("distinct", "qty") == DATA and first.ok, first.to_text()
    # ... and once this version's profile is stored, the next validation reads none
    again = env["log"].validate(table, rules=counted, save=False)
    assert len(data_queries) == 1 and again.sources.source_of("distinct", "qty") == STORED
    assert (
        again.ok
        and again.result("distinct_count_bounds:qty").observed
        == first.result("distinct_count_bounds:qty").observed
    )


def test_a_log_that_cannot_be_read_falls_back_to_a_scan_and_says_so(spark, env):
    table = f"{env['schema']}.refused"
    _rows(spark, 50).write.format("delta").saveAsTable(table)

    class DriverRefused(DeltaLogReader):  # the driver process may not read the table's folder
        def _read_on_driver(self, table, location, folder, version):
            raise PermissionError(f"[Errno 13] Permission denied: '{folder}'")

    class Refusing(DriverRefused):  # what a Unity Catalog managed table may answer a direct read
        def _list(self, location):
            raise PermissionError(f"PERMISSION_DENIED: direct access to {location} is not allowed")

    rules = [{"type": "not_null", "columns": ["id"]}]
    validator = Validator(spark, store=env["log"].store)
    # the driver cannot read the folder, Spark can: the log still answers, and says who read it
    validator.sourcing.log_reader = DriverRefused(spark)
    through_spark = validator.validate(table, rules=rules, save=False)
    assert through_spark.ok and not through_spark.sources.scanned
    assert through_spark.sources.log_reader == "delta log (spark)"
    assert "Permission denied" in through_spark.sources.log_reader_note
    assert "read by delta log (spark)" in through_spark.explain()

    # neither can: a scan, and the note says why for both readers
    validator.sourcing.log_reader = Refusing(spark)
    report = validator.validate(table, rules=rules, save=False)
    assert report.ok and report.sources.scanned
    assert "PERMISSION_DENIED" in report.sources.log_note
    assert "on the driver" in report.sources.log_note and "Permission denied" in report.sources.log_note
    assert report.sources.source_of("null_count", "id") == DATA
    assert "cannot be read here" in report.explain()
