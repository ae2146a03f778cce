"""Baselines (partition, previous, version, table, snapshot, run), the Delta stores, and the CLI."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from dbx_ops.cli import main
from dbx_ops.errors import InvalidInputError, NotFoundError
from dbx_ops.snapshots import Snapshots
from dbx_ops.state import StateStore
from dbx_ops.validation import Validator

REPO = Path(__file__).resolve().parents[2]
ROW_COUNT = [{"type": "row_count_change", "max_pct": 10}]
_CONNECT_VARS = {"SPARK_REMOTE", "SPARK_LOCAL_REMOTE", "SPARK_CONNECT_MODE_ENABLED"}


def daily(spark, today=1000, yesterday=1000):
    """Rows for yesterday's and today's partitions, like seed 001's production.daily_table."""
    day = spark.range(today).withColumn("date", F.current_date())
    before = spark.range(yesterday).withColumn("date", F.date_sub(F.current_date(), 1))
    return day.unionByName(before).withColumn("amount", F.col("id") % 50 * 2.0)


@pytest.fixture(scope="module")
def env(spark):
    name = f"v_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {name}")
    store = StateStore(spark, schema=f"{name}_state")
    daily(spark).write.format("delta").partitionBy("date").saveAsTable(f"{name}.daily")
    return name, store, Validator(spark, store=store)


def test_partition_baseline_today_vs_yesterday(spark, env):
    name, _, validator = env
    table = f"{name}.short_day"
    daily(spark, today=700).write.format("delta").partitionBy("date").saveAsTable(table)
    ok = validator.validate(
        f"{name}.daily", "partition:date = current_date() - 1", ROW_COUNT, where="date = current_date()"
    )
    assert ok.ok and ok.current["row_count"] == ok.baseline_profile["row_count"] == 1000
    assert ok.baseline_profile["filter"] == "date = current_date() - 1"
    bad = validator.validate(table, 'partition:"date = current_date() - 1"', where="date = current_date()")
    assert "row_count_change" in bad.broken() and not bad.ok
    assert "700 rows (-30.0 % vs 1,000)" in bad.result("row_count_change").observed


def test_previous_reads_the_stored_profile_without_a_scan(spark, env):
    name, _, validator = env
    table = f"{name}.growing"
    daily(spark).write.format("delta").saveAsTable(table)
    # Nothing stored yet: a first run (issue 11), here without storing, so "previous" stays empty.
    first_run = validator.validate(table, "previous", save=False)
    assert first_run.ok and first_run.first_run and first_run.baseline_profile is None
    first = validator.profile(table)
    spark.range(500).withColumn("date", F.current_date()).withColumn("amount", F.lit(1.0)).write.format(
        "delta"
    ).mode("append").saveAsTable(table)
    report = validator.validate(table, "previous")
    assert report.baseline_profile["run_id"] == first.run_id
    assert "row_count_change" in report.broken()
    # The run just made is now "previous" for the next one.
    again = validator.validate(table, "previous", ROW_COUNT)
    assert again.baseline_profile["run_id"] == report.run_id and again.ok


def test_version_baseline_is_profiled_once_then_read_from_the_store(spark, env):
    name, _, validator = env
    first = validator.validate(f"{name}.daily", "version:0")
    second = validator.validate(f"{name}.daily", "version:0")
    assert first.ok and second.ok
    assert first.baseline_profile["delta_version"] == 0
    # Version 0 was profiled by the first run (as baseline and as current); the second scans nothing new.
    assert second.baseline_profile["run_id"] in {first.baseline_profile["run_id"], first.run_id}
    with pytest.raises(NotFoundError, match="at version 99"):
        validator.validate(f"{name}.daily", "version:99")


def test_table_baseline_and_run_baseline(spark, env):
    name, _, validator = env
    copy = f"{name}.copy"
    spark.table(f"{name}.daily").where("id % 2 = 0").write.format("delta").saveAsTable(copy)
    report = validator.validate(copy, f"table:{name}.daily", ROW_COUNT)
    assert report.broken() == ["row_count_change"] and report.baseline_profile["table"] == f"{name}.daily"
    rerun = validator.validate(copy, f"run:{report.run_id}", ROW_COUNT)
    assert rerun.ok
    with pytest.raises(NotFoundError):
        validator.validate(copy, "run:nope", ROW_COUNT)
    with pytest.raises(InvalidInputError, match="needs the table's name"):
        validator.validate(spark.table(copy), "previous", ROW_COUNT)


def test_snapshot_baseline_time_travels_to_the_recorded_version(spark, env):
    name, store, validator = env
    table = f"{name}.snapped"
    daily(spark).write.format("delta").saveAsTable(table)
    (record,) = Snapshots(spark, store).snapshot(table, label="pre-deploy")
    assert record.version == 0
    spark.sql(f"DELETE FROM {table} WHERE id < 200")
    report = validator.validate(table, "snapshot:pre-deploy", ROW_COUNT)
    assert report.baseline_profile["delta_version"] == 0 and report.current["delta_version"] == 1
    assert report.broken() == ["row_count_change"]
    with pytest.raises(NotFoundError, match="no snapshot labelled 'missing'"):
        validator.validate(table, "snapshot:missing", ROW_COUNT)


def test_every_verdict_lands_in_validation_results(spark, env):
    name, store, validator = env
    report = validator.validate(
        f"{name}.daily", "partition:date = current_date() - 1", where="date = current_date()"
    )
    rows = store.read("validation_results").where(F.col("run_id") == report.run_id).collect()
    assert len(rows) == len(report.results)
    needed = {
        "run_id",
        "table_name",
        "validated_at",
        "rule",
        "severity",
        "passed",
        "observed",
        "expected",
        "message",
    }
    assert needed <= set(rows[0].asDict())
    # What the job-operations alert asks: a table's latest run with a failed fail-severity rule.
    failed = (
        store.read("validation_results")
        .where((F.col("severity") == "fail") & ~F.col("passed"))
        .select("table_name")
        .distinct()
        .collect()
    )
    assert f"{name}.daily" not in {r["table_name"] for r in failed}
    metrics = store.read("metrics").where(F.col("run_id") == report.run_id)
    assert metrics.where("metric = 'row_count'").first()["value"] == 1000.0


def test_cli_in_process(spark, env, tmp_path, capsys, monkeypatch):
    name, store, _ = env
    monkeypatch.setenv("DBX_OPS_SCHEMA", store.schema)
    table = f"{name}.cli"
    daily(spark).write.format("delta").saveAsTable(table)
    assert main(["profile", table, "--json"]) == 0
    prof = json.loads(capsys.readouterr().out)
    assert prof["row_count"] == 2000 and {c["name"] for c in prof["columns"]} == {"id", "date", "amount"}
    assert main(["profile", table, "--columns", "amount"]) == 0
    assert "amount" in capsys.readouterr().out
    spark.sql(f"UPDATE {table} SET amount = NULL WHERE id % 3 = 0")
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    code = main(
        ["validate", table, "--baseline", "version:0", "--html", str(html), "--markdown", str(md), "--json"]
    )
    assert code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "failed" and "null_rate_delta:amount" in [
        r["rule"] for r in out["results"] if not r["passed"]
    ]
    assert html.read_text().startswith("<div") and "null_rate_delta:amount" in md.read_text()
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n  - type: row_count_change\n    max_pct: 5\n")
    assert main(["validate", table, "--baseline", "version:0", "--rules", str(rules)]) == 0
    assert "passed" in capsys.readouterr().out
    assert main(["validate", f"{name}.nope", "--baseline", "previous"]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_cli_as_a_real_process_on_a_path_table(spark, tmp_path):
    path = str(tmp_path / "events")
    daily(spark).write.format("delta").save(path)
    spark.sql(f"DELETE FROM delta.`{path}` WHERE id < 500")
    # Its own state folder (one Derby metastore per process) and a classic session: a second local
    # Spark Connect server would collide with this session's port in the Connect pass.
    # pyspark marks a Connect client process with SPARK_* variables; the child must not inherit them.
    env = {k: v for k, v in os.environ.items() if k not in _CONNECT_VARS}
    env.update(DBX_OPS_HOME=str(tmp_path / "home"), DBX_OPS_SPARK="classic")
    proc = subprocess.run(
        [sys.executable, "-m", "dbx_ops", "validate", f"delta.`{path}`", "--baseline", "version:0", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 1 and proc.stdout.strip(), proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["table"] == f"delta.`{path}`"
    assert "row_count_change" in [r["rule"] for r in out["results"] if not r["passed"]]
