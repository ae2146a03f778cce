"""Run Databricks-source notebooks locally: widgets from parameters, ``%sql``, ``%run``, display.

::

    from dbx_ops.notebooks import run_notebook
    run = run_notebook("notebooks/validate_table.py", {"table": "sales.orders"})
    run.write_html("run.html")
    run.raise_on_failure()

The same from a shell: ``dbx-ops notebook run notebooks/validate_table.py --param table=sales.orders``.
"""

from dbx_ops.notebooks.dbutils import LocalDbutils, NotebookExit, Secrets, TaskValues, Widgets
from dbx_ops.notebooks.runner import CellResult, NotebookError, NotebookRun, NotebookRunner, run_notebook
from dbx_ops.notebooks.source import Cell, Notebook, parse_notebook, read_notebook

__all__ = [
    "Cell",
    "CellResult",
    "LocalDbutils",
    "Notebook",
    "NotebookError",
    "NotebookExit",
    "NotebookRun",
    "NotebookRunner",
    "Secrets",
    "TaskValues",
    "Widgets",
    "parse_notebook",
    "read_notebook",
    "run_notebook",
]
