"""The local notebook runner on real Spark: %sql, %run, widgets, failure report, exit, task values, %pip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dbx_ops import __version__
from dbx_ops.notebooks import NotebookRunner, Secrets, TaskValues, run_notebook
from dbx_ops.notebooks.runner import NotebookRun

REPO = Path(__file__).resolve().parents[2]

MAIN = """\
# Databricks notebook source
# MAGIC %md
# MAGIC # Orders check

# COMMAND ----------

dbutils.widgets.text("min_rows", "2", "Minimum rows")
dbutils.widgets.dropdown("env", "dev", ["dev", "prod"], "Environment")

# COMMAND ----------

# MAGIC %run ./lib/setup $rows=3

# COMMAND ----------

# DBTITLE 1,Big orders
# MAGIC %sql
# MAGIC CREATE OR REPLACE TEMP VIEW big AS SELECT * FROM orders_view WHERE amount > 10;
# MAGIC -- the last statement's result is displayed
# MAGIC SELECT id, amount FROM big ORDER BY id

# COMMAND ----------

print("env:", dbutils.widgets.get("env"), "doubled:", helper_double(21))
dbutils.jobs.taskValues.set("big_orders", spark.table("big").count())

# COMMAND ----------

count = spark.table("big").count()
if count < int(dbutils.widgets.get("min_rows")):
    raise ValueError(f"only {count} big orders")

# COMMAND ----------

print("after the check")
"""

SETUP = """\
# Databricks notebook source
dbutils.widgets.text("rows", "1")
n = int(dbutils.widgets.get("rows"))
spark.range(n).selectExpr("id", "id * 10 AS amount").createOrReplaceTempView("orders_view")


def helper_double(x):
    return x * 2
"""


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("nbs")
    (folder / "lib").mkdir()
    (folder / "main.py").write_text(MAIN)
    (folder / "lib" / "setup.py").write_text(SETUP)
    return folder


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), start=1) if needle in line)


def test_sql_run_and_a_failing_cell_give_the_report(spark: object, notebooks: Path, tmp_path: Path) -> None:
    run = NotebookRunner(spark, {}, dbfs_root=tmp_path / "dbfs").run(notebooks / "main.py")
    assert not run.ok
    assert run.error is not None
    # min_rows had no parameter: its default 2 applies, and one big order fails the check
    assert run.error.message == "ValueError: only 1 big orders"
    assert run.error.cell == 6
    assert run.error.line == _line_of(MAIN, "raise ValueError")
    statuses = [c.status for c in run.cells]
    assert statuses == ["ok", "ok", "ok", "ok", "ok", "failed", "not run"]
    # %run ran the sibling in the same namespace, with its $rows argument over the widget default
    run_cell = run.cells[2]
    assert run_cell.notebook.endswith("lib/setup.py")
    assert [c.status for c in run_cell.children] == ["ok"]
    # %sql: the last statement's result is displayed as a table
    sql_out = run.cells[3].outputs
    assert [o.kind for o in sql_out] == ["table"]
    assert ">20<" in sql_out[0].content and "1 row(s)" in sql_out[0].content
    assert run.cells[4].outputs[0].content == "env: dev doubled: 42"
    assert run.task_values == {"big_orders": 1}
    html = run.to_html()
    assert "only 1 big orders" in html
    assert f"line {run.error.line}" in html
    assert "Big orders" in html and "CREATE OR REPLACE TEMP VIEW" in html
    assert html.count("not run") >= 1
    assert run.result() == {
        "ok": False,
        "exit_value": None,
        "error": {"message": "ValueError: only 1 big orders", "cell": 6, "line": run.error.line},
        "task_values": {"big_orders": 1},
    }
    with pytest.raises(Exception, match="failed in cell 6"):
        run.raise_on_failure()


def test_parameters_fill_widgets_and_the_run_finishes(spark: object, notebooks: Path) -> None:
    run = run_notebook(notebooks / "main.py", {"min_rows": "1", "env": "prod"}, spark=spark)
    assert run.ok, run.summary()
    assert run.cells[-1].outputs[0].content == "after the check"
    assert run.cells[4].outputs[0].content.startswith("env: prod")


def test_a_dropdown_parameter_outside_its_choices_fails_where_it_is_read(
    spark: object, notebooks: Path
) -> None:
    run = run_notebook(notebooks / "main.py", {"env": "staging", "min_rows": "1"}, spark=spark)
    assert run.error is not None
    assert run.error.cell == 5
    assert "'staging' is not one of ['dev', 'prod']" in run.error.message


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_exit_value_task_values_and_secrets(spark: object, tmp_path: Path) -> None:
    nb = _write(
        tmp_path,
        "exit.py",
        "# Databricks notebook source\n"
        'rows = dbutils.jobs.taskValues.get(taskKey="prepare", key="rows", default=0)\n'
        'dbutils.jobs.taskValues.set("doubled", rows * 2)\n'
        'token = dbutils.secrets.get("prod", "token")\n'
        'print("using", token)\n'
        "try:\n"
        '    dbutils.notebook.exit(f"rows={rows}")\n'
        "except Exception:\n"
        '    print("exit is not an Exception")\n'
        "\n# COMMAND ----------\n\n"
        'raise RuntimeError("not reached")\n',
    )
    secrets = Secrets({"prod": {"token": "tok-123456"}})
    run = NotebookRunner(
        spark, task_values=TaskValues({"prepare": {"rows": 21}}, in_job=True), secrets=secrets
    ).run(nb)
    assert run.ok
    assert run.exit_value == "rows=21"
    assert run.task_values == {"doubled": 42}
    assert [c.status for c in run.cells] == ["exited", "not run"]
    assert run.cells[0].outputs[0].content == "using [REDACTED]"
    assert "tok-123456" not in run.to_html()


def test_pip_cells_are_checked_not_installed(spark: object, tmp_path: Path) -> None:
    nb = _write(
        tmp_path,
        "pip.py",
        "# Databricks notebook source\n# MAGIC %pip install pyyaml>=5 --quiet\n"
        "\n# COMMAND ----------\n\n"
        "dbutils.library.restartPython()\n"
        "\n# COMMAND ----------\n\n"
        "# MAGIC %pip install no-such-package-dbx-ops==1.0\n",
    )
    run = run_notebook(nb, spark=spark)
    assert run.cells[0].status == "ok"
    assert run.cells[0].outputs[0].content.startswith("already satisfied: pyyaml>=5")
    assert run.error is not None and run.error.cell == 3
    assert "install 'no-such-package-dbx-ops==1.0' into the environment first" in run.error.message


def test_syntax_errors_and_unsupported_magics_name_their_line(spark: object, tmp_path: Path) -> None:
    text = "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\nif x\n    pass\n"
    run = run_notebook(_write(tmp_path, "syntax.py", text), spark=spark)
    assert run.error is not None
    assert (run.error.cell, run.error.line) == (2, 6)
    assert run.error.message.startswith("SyntaxError")
    scala = run_notebook(
        _write(tmp_path, "scala.py", "# Databricks notebook source\n# MAGIC %scala\n# MAGIC val x = 1\n"),
        spark=spark,
    )
    assert scala.error is not None and "%scala cells cannot run locally" in scala.error.message


def test_display_limits_rows_and_fs_maps_dbfs(spark: object, tmp_path: Path) -> None:
    nb = _write(
        tmp_path,
        "display.py",
        "# Databricks notebook source\n"
        "display(spark.range(500))\n"
        'displayHTML("<b>bold</b>")\n'
        'dbutils.fs.put("dbfs:/tmp/hello.txt", "hi", overwrite=True)\n'
        'print(dbutils.fs.head("dbfs:/tmp/hello.txt"))\n'
        "spark.range(3)\n",
    )
    run = NotebookRunner(spark, dbfs_root=tmp_path / "dbfs", max_rows=10).run(nb)
    assert run.ok, run.summary()
    kinds = [o.kind for o in run.cells[0].outputs]
    assert kinds == ["text", "table", "html"]
    assert run.cells[0].outputs[0].content == "hi\nDataFrame[id: bigint]"
    table = run.cells[0].outputs[1].content
    assert "first 10 rows" in table and ">9<" in table and ">10<" not in table
    assert (tmp_path / "dbfs" / "tmp" / "hello.txt").read_text() == "hi"


def _cli_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_CONNECT", "PYSPARK"))}
    env.update({"DBX_OPS_HOME": str(home), "DBX_OPS_SPARK": "classic"})
    env.pop("DBX_OPS_METASTORE", None)
    return env


def test_cli_process_exit_1_result_json_and_html(notebooks: Path, tmp_path: Path) -> None:
    result, html = tmp_path / "result.json", tmp_path / "run.html"
    proc = subprocess.run(
        [sys.executable, "-m", "dbx_ops", "notebook", "run", str(notebooks / "main.py"),
         "--param", "env=prod", "--html", str(html), "--result-json", str(result)],
        cwd=REPO, env=_cli_env(tmp_path / "home"), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = json.loads(result.read_text())
    assert data == {
        "ok": False,
        "exit_value": None,
        "error": {
            "message": "ValueError: only 1 big orders",
            "cell": 6,
            "line": _line_of(MAIN, "raise ValueError"),
        },
        "task_values": {"big_orders": 1},
        # which dbx_ops ran the notebook: this checkout's (the stand-in's wheel runs say theirs)
        "library": {"dbx_ops": __version__, "path": str(REPO / "dbx_ops")},
    }
    assert proc.stderr.strip().splitlines()[-1].startswith("error: Notebook main.py failed in cell 6")
    page = html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "only 1 big orders" in page


def test_cli_bad_input_is_exit_2_with_a_result_file(tmp_path: Path) -> None:
    from dbx_ops.cli import main

    result = tmp_path / "r.json"
    assert main(["notebook", "run", str(tmp_path / "missing.py"), "--result-json", str(result)]) == 2
    assert json.loads(result.read_text())["error"]["message"].endswith(
        "give the path of a notebook source file."
    )
    plain = _write(tmp_path, "plain.py", "print(1)\n")
    assert main(["notebook", "run", str(plain)]) == 2
    assert main(["notebook", "run", str(plain), "--param", "novalue"]) == 2


def test_notebook_run_result_type(spark: object, tmp_path: Path) -> None:
    run = run_notebook(
        _write(tmp_path, "md.py", "# Databricks notebook source\n# MAGIC %md\n# MAGIC hi\n"), spark=spark
    )
    assert isinstance(run, NotebookRun) and run.ok
    assert "ran 1 cell(s) to the end" in run.to_text()
    assert "| ok |" in run.to_markdown().replace("**", "")
