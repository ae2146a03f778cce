"""``dbx-ops notebook run``: run a Databricks-source notebook locally (thin over :mod:`dbx_ops.notebooks`).

Exit 0 when the notebook runs to the end or calls ``dbutils.notebook.exit``, 1 when a cell
raises, 2 for bad input (no such notebook, a malformed ``--param``, an unreadable file).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from dbx_ops.cli._common import add_json_flag, emit, to_json
from dbx_ops.errors import DbxOpsError, InvalidInputError

#: Environment variables the runner reads (the stand-in workspace sets them for notebook tasks).
TASK_VALUES_ENV = "DBX_OPS_TASK_VALUES"
SECRETS_ENV = "DBX_OPS_SECRETS_FILE"


def register(subparsers: argparse._SubParsersAction) -> None:
    nb = subparsers.add_parser(
        "notebook",
        help="run Databricks-source notebooks locally",
        description="Run Databricks-source notebooks on the local Spark session, to test them "
        "before deploying.",
    )
    sub = nb.add_subparsers(dest="notebook_command", metavar="COMMAND")
    run = sub.add_parser(
        "run",
        help="run a notebook: widgets from --param, %%sql, %%run, display; writes an HTML report",
        description="Run a Databricks-source notebook cell by cell on the local Spark session. Widgets take "
        "their --param value, else their default. Upstream task values come from the JSON file named by "
        f"${TASK_VALUES_ENV} ({{task_key: {{key: value}}}}); secrets only from --secrets FILE or "
        f"${SECRETS_ENV}. Exit 0 when the notebook finishes or calls dbutils.notebook.exit, "
        "1 when a cell raises.",
    )
    run.add_argument("notebook", type=Path, help="the notebook source file (.py or .sql)")
    run.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="a widget value (repeatable)"
    )
    run.add_argument("--html", type=Path, metavar="FILE", help="write the run report (every cell) as HTML")
    run.add_argument(
        "--result-json",
        type=Path,
        metavar="FILE",
        help='write {"ok", "exit_value", "error": {"message", "cell", "line"}, "task_values", '
        '"library": {"dbx_ops", "path"}} to FILE',
    )
    run.add_argument("--secrets", type=Path, metavar="FILE", help='secrets JSON: {"scope": {"key": "value"}}')
    run.add_argument("--max-rows", type=int, default=100, help="rows display() shows (default 100)")
    add_json_flag(run)
    run.set_defaults(handler=run_notebook_command)
    meta = sub.add_parser(
        "metastore",
        help="status or stop of the shared local metastore server (DBX_OPS_METASTORE=server)",
        description="The Derby network server that lets several local Spark processes share one catalog "
        "(see docs/notebooks.md). `status` says whether one runs for the state folder; `stop` stops it.",
    )
    meta.add_argument("action", choices=["status", "stop"])
    add_json_flag(meta)
    meta.set_defaults(handler=run_metastore_command)
    nb.set_defaults(handler=lambda args: _usage(nb))


def run_metastore_command(args: argparse.Namespace) -> int:
    from dbx_ops import metastore
    from dbx_ops.runtime import state_home

    home = state_home()
    if args.action == "stop":
        stopped = metastore.stop_server(home)
        emit(
            args,
            {"home": home, "stopped": stopped},
            f"stopped the metastore server of {home}" if stopped else f"no metastore server runs for {home}",
        )
        return 0
    info = metastore.running_server(home)
    data = {"home": home, "running": info is not None, "port": info.port if info else None}
    emit(args, data, f"metastore server of {home}: " + (f"127.0.0.1:{info.port}" if info else "not running"))
    return 0


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def parse_params(raw: list[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``.

    Raises:
        InvalidInputError: an item without ``=`` or with an empty name.
    """
    params: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"--param {item!r} must look like NAME=VALUE.")
        params[name.strip()] = value
    return params


def _check_output(path: Path | None, flag: str) -> None:
    if path is None:
        return
    if path.is_dir():
        raise InvalidInputError(f"{flag} {path} is a folder; give a file name.")
    if not path.parent.exists():
        raise InvalidInputError(f"{flag} {path}: the folder {path.parent} does not exist.")


def read_task_values(environ: Any = None) -> tuple[dict[str, dict[str, Any]], bool]:
    """Upstream task values from ``$DBX_OPS_TASK_VALUES`` and whether this is a job run.

    Raises:
        InvalidInputError: the file is missing or not ``{task_key: {key: value}}``.
    """
    env = os.environ if environ is None else environ
    raw = env.get(TASK_VALUES_ENV)
    in_job = bool(env.get("DATABRICKS_JOB_RUN_ID")) or bool(raw)
    if not raw:
        return {}, in_job
    path = Path(raw)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"{TASK_VALUES_ENV}={raw}: file not found.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError(f"{TASK_VALUES_ENV}={raw}: not JSON.") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InvalidInputError(f"{TASK_VALUES_ENV}={raw} must hold {{task_key: {{key: value}}}}.")
    return data, in_job


def _write_result(path: Path | None, result: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def run_notebook_command(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except DbxOpsError as exc:
        # the stand-in reads the result file: say why even when the run never started
        if getattr(args, "result_json", None) is not None and not Path(args.result_json).is_dir():
            try:
                _write_result(
                    args.result_json,
                    {
                        "ok": False,
                        "exit_value": None,
                        "error": {"message": str(exc), "cell": 0, "line": 0},
                        "task_values": {},
                    },
                )
            except OSError:
                pass
        raise


def _run(args: argparse.Namespace) -> int:
    from dbx_ops.notebooks import NotebookRunner, Secrets, TaskValues, read_notebook
    from dbx_ops.notebooks.runner import library_info
    from dbx_ops.render import html_document

    params = parse_params(args.param)
    _check_output(args.html, "--html")
    _check_output(args.result_json, "--result-json")
    if args.max_rows < 1:
        raise InvalidInputError("--max-rows must be at least 1.")
    notebook = read_notebook(args.notebook)
    upstream, in_job = read_task_values()
    secrets_file = args.secrets or os.environ.get(SECRETS_ENV) or None
    secrets = Secrets.from_file(secrets_file)
    task_values = TaskValues(upstream, in_job=in_job, task_key=os.environ.get("DATABRICKS_TASK_KEY"))

    from dbx_ops.runtime import get_spark, state_home

    needs_spark = any(c.kind != "md" for c in notebook.cells)
    spark = get_spark() if needs_spark else None
    runner = NotebookRunner(
        spark, params, task_values, secrets, dbfs_root=state_home() / "dbfs", max_rows=args.max_rows
    )
    run = runner.run(args.notebook)
    if args.html is not None:
        args.html.write_text(html_document(f"Notebook {notebook.path}", run.to_html()), encoding="utf-8")
    _write_result(args.result_json, {**run.result(), "library": library_info()})
    if args.json:
        print(to_json(run.to_dict()))
    else:
        emit(args, run.to_dict(), run.to_text)
    if not run.ok:
        print(f"error: {run.failure_message()}", file=sys.stderr)
        return 1
    return 0
