"""The README's Python examples run, in order, as the cells of one notebook (as chispa tests its README).

The local notebook runner (dbx_ops.notebooks) gives them what a Databricks notebook has: the
suite's ``spark``, a local ``dbutils``, ``display`` and ``displayHTML``. ``%pip`` cells are not
run here (the wheel install is tests/integration/test_wheel_install.py; the wheel's name is checked
in tests/unit/test_readme.py). The state schema is the test's own.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from readme_blocks import is_magic, python_blocks

from dbx_ops.notebooks import NotebookRunner

SEPARATOR = "\n# COMMAND ----------\n\n"


def test_the_readme_python_examples_run_as_a_notebook(spark, schema, tmp_path, monkeypatch):
    cells = [code for _, code in python_blocks() if not is_magic(code)]
    notebook = tmp_path / "readme.py"
    notebook.write_text("# Databricks notebook source\n" + SEPARATOR.join(cells), encoding="utf-8")
    monkeypatch.setenv("DBX_OPS_SCHEMA", schema)
    try:
        run = NotebookRunner(spark, dbfs_root=tmp_path / "dbfs", chdir=False).run(notebook)
        assert run.ok, run.summary() + "\n" + (run.error.traceback if run.error else "")
        assert [c.status for c in run.cells] == ["ok"] * len(cells)
        outputs = [o for c in run.cells for o in c.outputs]
        htmls = [o.content for o in outputs if o.kind == "html"]
        assert len(htmls) == 2 and all("<" in h for h in htmls)  # the report and the restore proof
        texts = "\n".join(o.content for o in outputs if o.kind == "text")
        assert "row_count_change" in texts  # the report says which check said no
    finally:
        spark.sql("DROP SCHEMA IF EXISTS sales CASCADE")
