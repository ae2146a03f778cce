"""The runner on notebooks that need no Spark: namespaces, %run, notebook.run, exit, errors, report."""

from __future__ import annotations

from pathlib import Path

from dbx_ops.notebooks import NotebookRunner, TaskValues


def _nb(folder: Path, name: str, *cells: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Databricks notebook source\n" + "\n\n# COMMAND ----------\n\n".join(cells) + "\n")
    return path


def test_run_shares_the_namespace_and_notebook_run_does_not(tmp_path: Path) -> None:
    _nb(
        tmp_path,
        "lib/helpers.py",
        'dbutils.widgets.text("greeting", "hello")\nGREETING = dbutils.widgets.get("greeting")',
    )
    _nb(
        tmp_path,
        "other.py",
        'dbutils.notebook.exit("other:" + dbutils.widgets.get("x") + ":" + str("GREETING" in globals()))',
    )
    main = _nb(
        tmp_path,
        "main.py",
        '# MAGIC %run ./lib/helpers $greeting="hi there"',
        'print(GREETING)\nprint(dbutils.notebook.run("./other", 60, {"x": "1"}))',
        "GREETING",
    )
    run = NotebookRunner(None, chdir=True).run(main)
    assert run.ok, run.summary()
    assert run.cells[1].outputs[0].content == "hi there\nother:1:False"
    assert run.cells[2].outputs[0].content == "'hi there'"


def test_a_failure_inside_run_is_reported_on_the_run_cell(tmp_path: Path) -> None:
    _nb(tmp_path, "child.py", "x = 1", "y = 1 / 0")
    main = _nb(tmp_path, "main.py", "a = 1", "# MAGIC %run ./child", "never = True")
    run = NotebookRunner(None).run(main)
    assert run.error is not None
    assert run.error.cell == 2
    assert run.error.line == 6  # the %run line of main.py
    assert run.error.message == "in %run child.py (cell 2, line 6): ZeroDivisionError: division by zero"
    assert [c.status for c in run.cells] == ["ok", "failed", "not run"]
    assert [c.status for c in run.cells[1].children] == ["ok", "failed"]
    html = run.to_html()
    assert "division by zero" in html and "child.py" in html


def test_errors_in_functions_point_at_the_calling_line(tmp_path: Path) -> None:
    main = _nb(tmp_path, "main.py", "def f(v):\n    return {}[v]", "z = 3\nf('missing')")
    run = NotebookRunner(None).run(main)
    assert run.error is not None
    assert (run.error.cell, run.error.line) == (2, 8)
    assert run.error.message == "KeyError: 'missing' (at main.py:3)"


def test_exit_inside_run_ends_the_whole_notebook(tmp_path: Path) -> None:
    _nb(
        tmp_path,
        "child.py",
        'dbutils.jobs.taskValues.set("from_child", [1, 2])\ndbutils.notebook.exit("stop")',
    )
    main = _nb(tmp_path, "main.py", "# MAGIC %run ./child", "raise SystemError('not reached')")
    run = NotebookRunner(None, task_values=TaskValues(task_key="t")).run(main)
    assert run.ok and run.exit_value == "stop"
    assert run.task_values == {"from_child": [1, 2]}
    assert [c.status for c in run.cells] == ["exited", "not run"]


def test_run_refuses_cycles_and_missing_notebooks(tmp_path: Path) -> None:
    loop = _nb(tmp_path, "loop.py", "# MAGIC %run ./loop")
    run = NotebookRunner(None).run(loop)
    assert run.error is not None and "nested %run" in run.error.message
    missing = _nb(tmp_path, "missing.py", "# MAGIC %run ./nowhere")
    run = NotebookRunner(None).run(missing)
    assert run.error is not None and "no notebook" in run.error.message


def test_cwd_is_the_notebook_folder_and_restored(tmp_path: Path) -> None:
    before = Path.cwd()
    main = _nb(tmp_path, "sub/main.py", "import os\nprint(os.getcwd())")
    run = NotebookRunner(None).run(main)
    assert run.cells[0].outputs[0].content == str((tmp_path / "sub").resolve())
    assert Path.cwd() == before
