"""A stand-in for ``python -m dbx_ops notebook run`` that honours the runner contract.

Called as ``fake_notebook_runner.py -m dbx_ops notebook run NOTEBOOK [--param k=v ...]
--result-json FILE``. It runs the Databricks-source notebook's Python cells in one
namespace (``# MAGIC %run ./sibling`` runs a sibling notebook in the same namespace),
with a small ``dbutils`` (widgets from the parameters, ``jobs.taskValues`` read from
``DBX_OPS_TASK_VALUES``, ``notebook.exit``), writes the result JSON
``{"ok", "exit_value", "error": {"message", "cell", "line"}, "task_values"}`` and exits
0 (finished or exited) or 1 (a cell raised). ``$FAKE_RUNNER_LOG`` gets one line per
start and end, so a test can check the order tasks ran in.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

SEPARATOR = "# COMMAND ----------"


class NotebookExit(Exception):
    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class Widgets:
    def __init__(self, params: dict[str, str]) -> None:
        self.params = params

    def text(self, name: str, default: str = "", label: str | None = None) -> None:
        self.params.setdefault(name, default)

    def get(self, name: str) -> str:
        return self.params[name]


class TaskValues:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.upstream = json.loads(Path(os.environ["DBX_OPS_TASK_VALUES"]).read_text())

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def get(self, taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any:
        return self.upstream.get(taskKey, {}).get(key, default)


class DBUtils:
    def __init__(self, params: dict[str, str]) -> None:
        self.widgets = Widgets(params)
        self.jobs = type("Jobs", (), {})()
        self.jobs.taskValues = TaskValues()
        self.notebook = type("Notebook", (), {})()
        self.notebook.exit = self._exit

    @staticmethod
    def _exit(value: Any) -> None:
        raise NotebookExit(str(value))


def cells(path: Path) -> list[str]:
    text = path.read_text()
    text = text.removeprefix("# Databricks notebook source\n")
    return [c.strip("\n") for c in text.split(SEPARATOR)]


def run_cells(path: Path, namespace: dict[str, Any], top: bool) -> None:
    for number, source in enumerate(cells(path), start=1):
        if source.startswith("# MAGIC %run "):
            target = source.removeprefix("# MAGIC %run ").strip()
            sibling = (path.parent / target).with_suffix(".py")
            run_cells(sibling, namespace, top=False)
            continue
        namespace["__cell__"] = number if top else namespace.get("__cell__", number)
        exec(compile(source, str(path), "exec"), namespace)


def main(argv: list[str]) -> int:
    assert argv[:4] == ["-m", "dbx_ops", "notebook", "run"], argv
    notebook = Path(argv[4])
    params: dict[str, str] = {}
    result_file = None
    rest = argv[5:]
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--param":
            k, _, v = value.partition("=")
            params[k] = v
        elif flag == "--result-json":
            result_file = Path(value)
    assert result_file is not None
    log = os.environ.get("FAKE_RUNNER_LOG")
    task = os.environ.get("DATABRICKS_TASK_KEY", "?")
    if log:
        with open(log, "a") as f:
            f.write(f"start {task} {time.time()}\n")
    dbutils = DBUtils(params)
    namespace: dict[str, Any] = {"dbutils": dbutils, "__file__": str(notebook), "__name__": "__main__"}
    result: dict[str, Any] = {"ok": True, "exit_value": None, "error": None, "task_values": {}}
    code = 0
    try:
        run_cells(notebook, namespace, top=True)
    except NotebookExit as e:
        result["exit_value"] = e.value
    except Exception as e:
        tb = traceback.extract_tb(e.__traceback__)
        line = next((fr.lineno for fr in reversed(tb) if fr.filename == str(notebook)), 0)
        result["ok"] = False
        result["error"] = {"message": f"{type(e).__name__}: {e}", "cell": namespace["__cell__"], "line": line}
        traceback.print_exc()
        code = 1
    result["task_values"] = dbutils.jobs.taskValues.values
    result_file.write_text(json.dumps(result))
    if log:
        with open(log, "a") as f:
            f.write(f"end {task} {time.time()}\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
