"""One local catalog shared by several Spark processes (DBX_OPS_METASTORE=server).

Two processes write and read the same catalog table at the same time; then a process
creates a table while holding its session and the notebook runner, started by it as a
child process with only DBX_OPS_HOME, sees that table (the runner joins the live server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbx_ops import metastore

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.spark, pytest.mark.slow]

WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from dbx_ops.runtime import get_spark
    me, ready = sys.argv[1], Path(sys.argv[2])
    spark = get_spark()
    if me == "a":
        spark.sql("CREATE SCHEMA IF NOT EXISTS shared")
        spark.sql("CREATE TABLE shared.events (who STRING, n INT) USING delta")
    (ready / me).write_text("ok")
    while not all((ready / w).exists() for w in ("a", "b")):  # both sessions are open from here on
        time.sleep(0.2)
    for n in range(3):
        spark.sql(f"INSERT INTO shared.events VALUES ('{me}', {n})")
    spark.sql(f"CREATE TABLE shared.only_{me} USING delta AS SELECT '{me}' AS who")
    seen = sorted(r.who for r in spark.table("shared.events").where(f"who = '{me}'").collect())
    print(json.dumps({"mine": len(seen)}))
    """
)

PARENT = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from dbx_ops.runtime import get_spark
    notebook, result = sys.argv[1], sys.argv[2]
    spark = get_spark()
    spark.sql("CREATE TABLE shared.from_parent USING delta AS SELECT id FROM range(7)")
    env = {k: v for k, v in os.environ.items() if k != "DBX_OPS_METASTORE"}
    proc = subprocess.run(
        [sys.executable, "-m", "dbx_ops", "notebook", "run", notebook, "--param", "table=shared.from_parent",
         "--result-json", result],
        env=env, capture_output=True, text=True, timeout=600,
    )
    rows = spark.table("shared.events").count()
    tables = sorted(r.tableName for r in spark.sql("SHOW TABLES IN shared").collect())
    out = {"rc": proc.returncode, "stderr": proc.stderr[-2000:], "events": rows, "tables": tables}
    print(json.dumps(out))
    """
)

NOTEBOOK = """\
# Databricks notebook source
dbutils.widgets.text("table", "")
rows = spark.table(dbutils.widgets.get("table")).count()
upstream = dbutils.jobs.taskValues.get(taskKey="prepare", key="expected", default=-1)

# COMMAND ----------

dbutils.jobs.taskValues.set("rows", rows)
dbutils.notebook.exit(f"rows={rows} expected={upstream}")
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("shared_home")
    yield folder
    metastore.stop_server(folder)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_CONNECT", "PYSPARK"))}
    env.update({"DBX_OPS_HOME": str(home), "DBX_OPS_SPARK": "classic", **extra})
    env.pop("DBX_OPS_METASTORE", None)
    env.update(extra)
    return env


def test_two_processes_write_and_read_one_catalog_table_then_a_runner_child_sees_the_parents_table(
    home: Path, tmp_path: Path
) -> None:
    env = _env(home, DBX_OPS_METASTORE="server")
    ready = tmp_path / "ready"
    ready.mkdir()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, who, str(ready)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("a", "b")
    ]
    outputs = [w.communicate(timeout=900) for w in writers]
    for w, (out, err) in zip(writers, outputs, strict=True):
        assert w.returncode == 0, err[-3000:]
        assert json.loads(out.strip().splitlines()[-1]) == {"mine": 3}
    server = metastore.running_server(home)
    assert server is not None, "the server outlives the process that started it"

    notebook = tmp_path / "count.py"
    notebook.write_text(NOTEBOOK)
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"prepare": {"expected": 7}}))
    result = tmp_path / "result.json"
    parent = subprocess.run(
        [sys.executable, "-c", PARENT, str(notebook), str(result)],
        cwd=REPO, env={**env, "DBX_OPS_TASK_VALUES": str(values), "DATABRICKS_TASK_KEY": "count"},
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert parent.returncode == 0, parent.stderr[-3000:]
    seen = json.loads(parent.stdout.strip().splitlines()[-1])
    assert seen["rc"] == 0, seen["stderr"]
    assert seen["events"] == 6
    assert seen["tables"] == ["events", "from_parent", "only_a", "only_b"]
    outcome = json.loads(result.read_text())
    assert outcome.pop("library")["dbx_ops"]  # which dbx_ops ran it (tested in test_notebook_runner)
    assert outcome == {
        "ok": True,
        "exit_value": "rows=7 expected=7",
        "error": None,
        "task_values": {"rows": 7},
    }


def test_the_server_restarts_on_demand(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dbx_ops.cli import main

    monkeypatch.setenv("DBX_OPS_HOME", str(home))
    assert main(["notebook", "metastore", "status"]) == 0
    assert "127.0.0.1:" in capsys.readouterr().out
    assert main(["notebook", "metastore", "stop"]) == 0
    assert "stopped" in capsys.readouterr().out
    assert metastore.running_server(home) is None
    assert metastore.mode({}, home) == "embedded"
    info = metastore.ensure_server(home, REPO / ".cache" / "jars")
    assert metastore.running_server(home) == info
