"""The local platform is real: Delta features dbx_ops builds on, in both Spark modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chispa import assert_df_equality

from dbx_ops import runtime

REPO = Path(__file__).resolve().parents[2]


def _count(spark, sql_name, suffix=""):
    return spark.sql(f"SELECT count(*) AS n FROM {sql_name} {suffix}").first()["n"]


def test_session_is_delta_enabled_in_the_requested_mode(spark):
    assert runtime.is_connect(spark) == (runtime.spark_mode() == "connect")
    assert spark.conf.get("spark.sql.extensions") == runtime.DELTA_EXTENSION
    assert spark.sql("SELECT 1 AS one").first()["one"] == 1


def test_create_insert_time_travel_restore(spark, schema):
    t = f"{schema}.orders"
    spark.sql(f"CREATE TABLE {t} (id BIGINT, amount DOUBLE) USING DELTA")
    spark.sql(f"INSERT INTO {t} VALUES (1, 10.0), (2, 20.0)")
    v1_ts = spark.sql(f"DESCRIBE HISTORY {t}").where("version = 1").first()["timestamp"]
    spark.sql(f"INSERT INTO {t} VALUES (3, 30.0)")
    spark.sql(f"DELETE FROM {t} WHERE id = 1")
    assert _count(spark, t) == 2
    assert _count(spark, t, "VERSION AS OF 1") == 2
    assert _count(spark, t, "VERSION AS OF 2") == 3
    at_ts = spark.sql(f"SELECT * FROM {t} TIMESTAMP AS OF '{v1_ts}'")
    assert sorted(r["id"] for r in at_ts.collect()) == [1, 2]

    spark.sql(f"RESTORE TABLE {t} TO VERSION AS OF 1")
    assert_df_equality(
        spark.table(t),
        spark.sql(f"SELECT * FROM {t} VERSION AS OF 1"),
        ignore_row_order=True,
    )
    history = spark.sql(f"DESCRIBE HISTORY {t}").orderBy("version", ascending=False).first()
    assert history["operation"] == "RESTORE"
    assert history["operationParameters"]["version"] == "1"


def test_shallow_clone_and_detail(spark, schema):
    src, dst = f"{schema}.src", f"{schema}.src_clone"
    spark.range(10).write.format("delta").saveAsTable(src)
    spark.sql(f"CREATE TABLE {dst} SHALLOW CLONE {src}")
    assert _count(spark, dst) == 10
    spark.sql(f"DELETE FROM {src} WHERE id < 5")
    assert _count(spark, dst) == 10 and _count(spark, src) == 5
    detail = spark.sql(f"DESCRIBE DETAIL {src}").first()
    assert detail["format"] == "delta"
    assert detail["numFiles"] >= 1
    assert detail["id"] != spark.sql(f"DESCRIBE DETAIL {dst}").first()["id"]


def test_count_star_is_answered_from_metadata(spark, schema):
    t = f"{schema}.big"
    spark.range(1000).write.format("delta").saveAsTable(t)
    plan = spark.sql(f"EXPLAIN SELECT count(*) FROM {t}").first()[0]
    assert "LocalTableScan" in plan, plan
    assert "FileScan" not in plan, plan
    filtered = spark.sql(f"EXPLAIN SELECT count(*) FROM {t} WHERE id > 5").first()[0]
    assert "FileScan" in filtered or "Scan" in filtered


def test_catalog_persists_across_processes_and_a_replace_logs_no_errors(tmp_path):
    """A table created by one process is in the catalog of the next (each CLI call is a process).

    The first process also overwrites the table (a Delta REPLACE), which made the embedded Hive
    metastore log an ERROR and a stack trace per table on stderr: the drill printed 800 such lines.
    """
    env = {**os.environ, "DBX_OPS_HOME": str(tmp_path / "home"), "DBX_OPS_SPARK": "classic"}
    create = (
        "from dbx_ops import get_spark; spark = get_spark(); "
        "spark.sql('CREATE TABLE kept USING DELTA AS SELECT 1 AS x'); "
        "spark.range(2, 3).selectExpr('id AS x').write.format('delta').mode('overwrite')"
        ".option('overwriteSchema', 'true').saveAsTable('kept')"
    )
    read = "from dbx_ops import get_spark; print(get_spark().table('kept').first()['x'])"
    made = subprocess.run(
        [sys.executable, "-c", create], env=env, check=True, capture_output=True, text=True, timeout=300
    )
    assert [line for line in made.stderr.splitlines() if " ERROR " in line] == []
    out = subprocess.run(
        [sys.executable, "-c", read], env=env, check=True, capture_output=True, text=True, timeout=300
    )
    assert out.stdout.strip().endswith("2")


@pytest.mark.slow
def test_smoke_command_runs_doctor_and_round_trip(tmp_path):
    env = {**os.environ, "DBX_OPS_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dbx-ops"), "smoke", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["ok"] is True
    assert result["doctor"]["checks"]["delta"]["ok"] is True
    assert [s["name"] for s in result["steps"]] == ["create", "change", "time travel", "restore", "clean up"]
    assert all(s["ok"] for s in result["steps"])
