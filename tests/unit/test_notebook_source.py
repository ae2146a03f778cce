"""Parsing Databricks-source notebooks, %run / %pip / SQL splitting, widgets, task values, secrets, fs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbx_ops.errors import InvalidInputError
from dbx_ops.notebooks.dbutils import (
    Fs,
    NotebookExit,
    NotebookUtils,
    SecretError,
    Secrets,
    TaskValueError,
    TaskValues,
    WidgetError,
    Widgets,
)
from dbx_ops.notebooks.pip import PipNotSatisfiedError, check_pip
from dbx_ops.notebooks.source import parse_notebook, parse_pip, parse_run, read_notebook, split_sql

NOTEBOOK = """\
# Databricks notebook source
# MAGIC %md
# MAGIC # Title
# MAGIC Some *text*.

# COMMAND ----------

x = 1
print(x)

# COMMAND ----------

# DBTITLE 1,Count the rows
# MAGIC %sql
# MAGIC SELECT 1 AS one;
# MAGIC SELECT 'a;b' AS two -- a comment; with a semicolon

# COMMAND ----------

# MAGIC %run ./child $table="sales.orders" $n=3

# COMMAND ----------

# MAGIC %pip install pyyaml>=6 -q

# COMMAND ----------

# MAGIC %python
# MAGIC y = x + 1

# COMMAND ----------

# MAGIC %scala
# MAGIC val x = 1

# COMMAND ----------

# MAGIC
# MAGIC print("magic without a language is the notebook's language")
"""


def test_cells_kinds_titles_and_lines() -> None:
    nb = parse_notebook(NOTEBOOK, "nb.py")
    assert nb.language == "python"
    kinds = [c.kind for c in nb.cells]
    assert kinds == ["md", "python", "sql", "run", "pip", "python", "scala", "python"]
    assert [c.index for c in nb.cells] == list(range(1, 9))
    md, py, sql, run, pip, magic_py, scala, bare = nb.cells
    assert md.source == "# Title\nSome *text*."
    assert md.line == 3
    assert py.source == "x = 1\nprint(x)"
    assert py.line == 8
    lines = NOTEBOOK.split("\n")
    assert lines[py.line - 1] == "x = 1"
    assert sql.title == "Count the rows"
    assert sql.source.startswith("SELECT 1 AS one;")
    assert lines[sql.line - 1] == "# MAGIC SELECT 1 AS one;"
    assert run.source.strip() == './child $table="sales.orders" $n=3'
    assert pip.source.strip() == "install pyyaml>=6 -q"
    assert magic_py.source == "y = x + 1"
    assert scala.source.startswith("%scala")
    assert "print(" in bare.source


def test_not_a_notebook_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="not a Databricks-source notebook"):
        parse_notebook("print(1)\n", "plain.py")
    with pytest.raises(InvalidInputError, match="not found"):
        read_notebook(tmp_path / "missing.py")
    with pytest.raises(InvalidInputError, match="folder"):
        read_notebook(tmp_path)


def test_sql_notebooks_and_crlf_and_bom() -> None:
    text = (
        "\ufeff-- Databricks notebook source\r\nSELECT 1\r\n\r\n-- COMMAND ----------\r\n\r\n"
        "-- MAGIC %md\r\n-- MAGIC hi\r\n"
    )
    nb = parse_notebook(text)
    assert nb.language == "sql"
    assert [(c.kind, c.source) for c in nb.cells] == [("sql", "SELECT 1"), ("md", "hi")]


def test_empty_cells_are_dropped_and_a_title_only_cell_kept() -> None:
    nb = parse_notebook(
        "# Databricks notebook source\n\n# COMMAND ----------\n\n\n# COMMAND ----------\nx = 2\n"
    )
    assert [c.source for c in nb.cells] == ["x = 2"]
    assert nb.cells[0].index == 1


def test_split_sql_respects_quotes_and_comments() -> None:
    sql = "SELECT 'a;b' AS x; -- c;d\nSELECT `we;ird` FROM t /* ; */ ;\n-- only a comment;\n"
    assert split_sql(sql) == ["SELECT 'a;b' AS x", "-- c;d\nSELECT `we;ird` FROM t /* ; */"]
    assert split_sql("  ;  ") == []
    assert split_sql("SELECT 'it''s'") == ["SELECT 'it''s'"]


def test_parse_run_arguments_and_refusals() -> None:
    target = parse_run('./lib/setup $table="a b" $n=3')
    assert target.path == "./lib/setup"
    assert target.arguments == {"table": "a b", "n": "3"}
    assert parse_run("../x").arguments == {}
    with pytest.raises(InvalidInputError, match="relative"):
        parse_run("/Workspace/Shared/x")
    with pytest.raises(InvalidInputError, match=r"\$name=value"):
        parse_run("./x table=1")
    with pytest.raises(InvalidInputError, match="names no notebook"):
        parse_run("  ")


def test_parse_pip() -> None:
    cmd = parse_pip("install -q 'pyyaml>=6' --upgrade -r reqs.txt --index-url https://x numpy\n")
    assert cmd.command == "install"
    assert cmd.requirements == ("pyyaml>=6", "numpy")
    assert cmd.files == ("reqs.txt",)
    assert cmd.unsupported == ()


def test_pip_satisfied_missing_and_wrong_version(tmp_path: Path) -> None:
    versions = {"pyyaml": "6.0.2", "numpy": "1.26.4"}
    installed = versions.get
    checks = check_pip("install pyyaml>=6 numpy", tmp_path, installed)
    assert [(c.requirement, c.installed, c.ok) for c in checks] == [
        ("pyyaml>=6", "6.0.2", True),
        ("numpy", "1.26.4", True),
    ]
    with pytest.raises(
        PipNotSatisfiedError, match="install 'definitely-not-here' into the environment first"
    ):
        check_pip("install definitely-not-here", tmp_path, installed)
    with pytest.raises(PipNotSatisfiedError, match=r"numpy==2.0 \(installed: 1.26.4\)"):
        check_pip("install numpy==2.0", tmp_path, installed)
    (tmp_path / "reqs.txt").write_text("# pins\npyyaml==6.0.2\nnumpy<1  # old\n")
    with pytest.raises(PipNotSatisfiedError, match="numpy<1"):
        check_pip("install -r reqs.txt", tmp_path, installed)
    with pytest.raises(PipNotSatisfiedError, match="cannot check a wheel"):
        check_pip("install ./dist/x-1.0-py3-none-any.whl", tmp_path, installed)
    with pytest.raises(InvalidInputError, match="only checks `%pip install`"):
        check_pip("uninstall numpy", tmp_path, installed)
    # a marker that does not apply is skipped
    assert check_pip("install \"numpy; python_version < '3'\"", tmp_path, installed) == []


def test_pip_against_the_real_environment(tmp_path: Path) -> None:
    assert check_pip("install pyyaml", tmp_path)[0].ok


def test_widgets_param_then_default() -> None:
    w = Widgets({"table": "sales.orders", "mode": "deep", "undeclared": "x"})
    w.text("table", "", "Table")
    w.text("where", "date = current_date()")
    w.dropdown("mode", "pin", ["pin", "shallow", "deep"])
    w.multiselect("cols", "a,b", ["a", "b", "c"])
    w.combobox("free", "x", ["x"])
    assert w.get("table") == "sales.orders"
    assert w.get("where") == "date = current_date()"
    assert w.get("mode") == "deep"
    assert w.get("cols") == "a,b"
    assert w.get("undeclared") == "x"  # a job parameter is readable without a widget
    assert w.getArgument("missing", "fallback") == "fallback"
    with pytest.raises(WidgetError, match="No input widget named 'missing'"):
        w.get("missing")
    w.remove("where")
    with pytest.raises(WidgetError):
        w.get("where")
    w.removeAll()
    assert w.defined == {}


def test_widget_choices_are_enforced() -> None:
    w = Widgets({"mode": "bogus", "cols": "a,z", "free": "anything"})
    w.dropdown("mode", "pin", ["pin", "deep"])
    w.multiselect("cols", "a", ["a", "b"])
    w.combobox("free", "x", ["x"])
    with pytest.raises(WidgetError, match="'bogus' is not one of"):
        w.get("mode")
    with pytest.raises(WidgetError, match="'a,z'"):
        w.get("cols")
    assert w.get("free") == "anything"
    with pytest.raises(WidgetError, match="default 'no' is not one of"):
        w.dropdown("bad", "no", ["yes"])


def test_widget_overlay_for_run_arguments() -> None:
    w = Widgets({"a": "1"})
    previous = w.overlay({"a": "2", "b": "3"})
    assert (w.get("a"), w.get("b")) == ("2", "3")
    w.restore(previous)
    assert w.parameters == {"a": "1"}


def test_task_values_round_trip_and_missing() -> None:
    tv = TaskValues({"upstream": {"rows": 10}}, in_job=True, task_key="me")
    assert tv.get(taskKey="upstream", key="rows") == 10
    assert tv.get(taskKey="upstream", key="nope", default=0) == 0
    with pytest.raises(TaskValueError, match="No task value 'nope'"):
        tv.get(taskKey="upstream", key="nope")
    # in a job debugValue is not used
    with pytest.raises(TaskValueError):
        tv.get(taskKey="upstream", key="nope", debugValue=5)
    tv.set("decision", {"go": True})
    assert tv.get(taskKey="me", key="decision") == {"go": True}
    assert json.loads(json.dumps(tv.values)) == {"decision": {"go": True}}
    with pytest.raises(TaskValueError, match="JSON-serialisable"):
        tv.set("bad", object())
    outside = TaskValues()
    assert outside.get(taskKey="x", key="y", default=1, debugValue=2) == 2


def test_notebook_exit_is_not_an_exception() -> None:
    with pytest.raises(NotebookExit) as caught:
        NotebookUtils().exit(42)
    assert caught.value.value == "42"
    assert not isinstance(caught.value, Exception)


def test_secrets_explicit_source_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-not-a-secret-source")
    none = Secrets.from_file(None)
    with pytest.raises(SecretError, match="no secrets file was given"):
        none.get("scope", "DATABRICKS_TOKEN")
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"prod": {"token": "s3cr3t-value", "user": "svc"}}))
    s = Secrets.from_file(path)
    assert s.get("prod", "token") == "s3cr3t-value"
    assert [m.key for m in s.list("prod")] == ["token", "user"]
    assert [x.name for x in s.listScopes()] == ["prod"]
    assert s.redact("the token is s3cr3t-value.") == "the token is [REDACTED]."
    with pytest.raises(SecretError, match="key: nope"):
        s.get("prod", "nope")
    with pytest.raises(SecretError, match="scope 'dev'"):
        s.list("dev")
    path.write_text("[1]")
    with pytest.raises(InvalidInputError, match="must be"):
        Secrets.from_file(path)


def test_fs_on_local_paths_and_dbfs_root(tmp_path: Path) -> None:
    fs = Fs(tmp_path / "dbfs")
    assert fs.mkdirs("dbfs:/landing/in")
    assert fs.put("dbfs:/landing/in/a.txt", "hello world")
    with pytest.raises(FileExistsError):
        fs.put("dbfs:/landing/in/a.txt", "again")
    assert (tmp_path / "dbfs" / "landing" / "in" / "a.txt").read_text() == "hello world"
    assert fs.head("dbfs:/landing/in/a.txt", 5) == "hello"
    listing = fs.ls("dbfs:/landing")
    assert [(f.name, f.path) for f in listing] == [("in/", "dbfs:/landing/in/")]
    assert fs.cp("dbfs:/landing/in/a.txt", f"file:{tmp_path}/out/b.txt")
    assert (tmp_path / "out" / "b.txt").read_text() == "hello world"
    assert fs.mv(str(tmp_path / "out" / "b.txt"), str(tmp_path / "out" / "c.txt"))
    assert [f.name for f in fs.ls(str(tmp_path / "out"))] == ["c.txt"]
    with pytest.raises(IsADirectoryError):
        fs.rm("dbfs:/landing")
    assert fs.rm("dbfs:/landing", recurse=True)
    assert not fs.rm("dbfs:/landing")
    with pytest.raises(InvalidInputError, match="leaves the local DBFS root"):
        fs.local("dbfs:/../../etc/passwd")
