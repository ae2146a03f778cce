"""Run a Databricks-source notebook locally, cell by cell, in one namespace.

The notebook sees ``spark`` (the session it is given, normally the local Delta
session of :func:`dbx_ops.runtime.get_spark`), ``dbutils`` (:class:`LocalDbutils`),
``display`` and ``displayHTML``. Each cell's output is kept for the run report;
the first cell that raises stops the run, and the report names it with its line.
"""

from __future__ import annotations

import ast
import contextlib
import io
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from dbx_ops import render
from dbx_ops.errors import DbxOpsError, InvalidInputError, NotebookFailedError
from dbx_ops.notebooks.dbutils import (
    Fs,
    Jobs,
    LocalDbutils,
    NotebookExit,
    NotebookUtils,
    Secrets,
    TaskValues,
    Widgets,
)
from dbx_ops.notebooks.pip import check_pip
from dbx_ops.notebooks.source import Cell, Notebook, parse_run, read_notebook, split_sql
from dbx_ops.verdict import Verdict

logger = logging.getLogger(__name__)

#: Rows shown by ``display(df)`` unless the runner is told otherwise.
DEFAULT_MAX_ROWS = 100


@dataclass
class Output:
    """One output of a cell: ``text`` (printed or a value), ``html`` (displayHTML) or ``table``."""

    kind: str
    content: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"kind": self.kind, "content": self.content}


@dataclass
class NotebookError:
    """Where and why a run failed.

    Attributes:
        message: ``ExceptionType: first line of the message``.
        cell: the failing cell of the notebook that was run (from 1; 0 before any cell).
        line: the line of that notebook's file where it failed (0 when unknown).
        notebook: the file the error happened in (a ``%run`` child's when it failed there).
        traceback: the traceback, notebook frames first-class.
    """

    message: str
    cell: int
    line: int
    notebook: str = ""
    traceback: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The result-JSON form: message, cell, line."""
        return {"message": self.message, "cell": self.cell, "line": self.line}


@dataclass
class CellResult:
    """What one cell did."""

    cell: Cell
    status: str = "not run"  # ok | failed | exited | not run
    outputs: list[Output] = field(default_factory=list)
    seconds: float = 0.0
    error: NotebookError | None = None
    children: list[CellResult] = field(default_factory=list)
    notebook: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "index": self.cell.index,
            "kind": self.cell.kind,
            "title": self.cell.title,
            "line": self.cell.line,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "outputs": [o.to_dict() for o in self.outputs],
            "error": self.error.to_dict() if self.error else None,
            "children": [c.to_dict() for c in self.children],
        }


@dataclass
class NotebookRun(Verdict):
    """The outcome of a local notebook run.

    Attributes:
        path: the notebook file.
        parameters: the parameters it was run with.
        cells: one result per cell, in order (cells after a failure or an exit are ``not run``).
        exit_value: the value given to ``dbutils.notebook.exit``, or None.
        error: the first failure, or None.
        task_values: the task values this notebook set.
        seconds: wall time of the run.
    """

    error_class: ClassVar[type[DbxOpsError]] = NotebookFailedError

    path: str
    parameters: dict[str, str]
    cells: list[CellResult]
    exit_value: str | None = None
    error: NotebookError | None = None
    task_values: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no cell raised (finishing or ``notebook.exit`` both count)."""
        return self.error is None

    def summary(self) -> str:
        """One sentence."""
        name = Path(self.path).name
        if self.error is not None:
            where = f"cell {self.error.cell}" + (f", line {self.error.line}" if self.error.line else "")
            return f"Notebook {name} failed in {where}: {self.error.message}"
        ran = sum(1 for c in self.cells if c.status in ("ok", "exited"))
        if self.exit_value is not None:
            return f"Notebook {name} exited after {ran} cell(s) with {self.exit_value!r}."
        return f"Notebook {name} ran {ran} cell(s) to the end in {self.seconds:.1f}s."

    def result(self) -> dict[str, Any]:
        """The result JSON of ``--result-json``: ok, exit_value, error, task_values."""
        return {
            "ok": self.ok,
            "exit_value": self.exit_value,
            "error": self.error.to_dict() if self.error else None,
            "task_values": dict(self.task_values),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything: the result plus the notebook, parameters and every cell."""
        return {
            **self.result(),
            "notebook": self.path,
            "parameters": dict(self.parameters),
            "seconds": round(self.seconds, 3),
            "cells": [c.to_dict() for c in self.cells],
        }

    def to_text(self) -> str:
        """Terminal lines: one per cell, then the verdict."""
        lines = []
        for res in self.cells:
            ok = None if res.status == "not run" else res.status != "failed"
            lines.append(f"{render.text_mark(ok)} {res.cell.label} {res.status} {res.seconds:.2f}s")
            if res.error is not None:
                lines.append(f"       line {res.error.line}: {res.error.message}")
        lines.append(self.summary())
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """A Markdown table of the cells and the verdict."""
        rows = [
            [
                render.md_mark(None if r.status == "not run" else r.status != "failed"),
                r.cell.index,
                r.cell.kind,
                r.cell.title,
                r.status,
                r.error.message if r.error else "",
            ]
            for r in self.cells
        ]
        table = render.md_table(rows, ["ok", "cell", "kind", "title", "status", "error"])
        return f"**{render.md_mark(self.ok)}** {render.md_esc(self.summary())}\n\n{table}\n"

    def to_html(self) -> str:
        """The run report: verdict, parameters, task values, every cell's source and output."""
        parts = [render.verdict_card(f"Notebook {Path(self.path).name}", self.ok, self.summary())]
        if self.parameters:
            parts.append(
                render.section(
                    "Parameters", render.html_table(sorted(self.parameters.items()), ["name", "value"])
                )
            )
        if self.task_values:
            rows = [[k, v] for k, v in sorted(self.task_values.items())]
            parts.append(render.section("Task values set", render.html_table(rows, ["key", "value"])))
        if self.exit_value is not None:
            parts.append(render.section("Exit value", render.code_block(self.exit_value)))
        parts += [_cell_html(res) for res in self.cells]
        return render.container(*parts)


_STATUS_TONE = {
    "ok": render.Tone.OK,
    "exited": render.Tone.INFO,
    "failed": render.Tone.FAIL,
    "not run": render.Tone.MUTED,
}


def _cell_html(res: CellResult, level: int = 3) -> str:
    head = f"{res.cell.label} · line {res.cell.line}"
    body = [render.badge(res.status, _STATUS_TONE.get(res.status, render.Tone.MUTED))]
    if res.notebook:
        body.append(render.paragraph(res.notebook))
    body.append(render.code_block(res.cell.source))
    for out in res.outputs:
        body.append(out.content if out.kind in ("html", "table") else render.code_block(out.content))
    body += [_cell_html(child, min(level + 1, 6)) for child in res.children]
    if res.error is not None:
        where = f"{res.error.notebook}, line {res.error.line}" if res.error.notebook else f"line {res.error.line}"
        body.append(render.verdict_card(f"Error at {where}", False, res.error.message))
        if res.error.traceback:
            body.append(render.code_block(res.error.traceback))
    return render.section(head, "\n".join(body), level)


class _ChildFailed(Exception):
    def __init__(self, error: NotebookError) -> None:
        super().__init__(error.message)
        self.error = error


class NotebookRunner:
    """Runs Databricks-source notebooks locally.

    Args:
        spark: the Spark session the notebook sees as ``spark``.
        parameters: widget values by name (job parameters / ``--param``).
        task_values: upstream task values and the ones this run sets (a fresh one when None).
        secrets: the local secrets source (none when None: every ``secrets.get`` fails clearly).
        dbfs_root: the local folder ``dbfs:/`` maps to.
        max_rows: rows ``display(df)`` shows.
        pip_installed: name -> installed version, for ``%pip`` checks (the environment's by default).
        chdir: run with the notebook's folder as working directory, as Databricks does.
    """

    def __init__(
        self,
        spark: Any,
        parameters: Mapping[str, str] | None = None,
        task_values: TaskValues | None = None,
        secrets: Secrets | None = None,
        dbfs_root: str | Path = Path(".dbx_ops") / "dbfs",
        max_rows: int = DEFAULT_MAX_ROWS,
        pip_installed: Callable[[str], str | None] | None = None,
        chdir: bool = True,
    ) -> None:
        self.spark = spark
        self.parameters = {str(k): str(v) for k, v in (parameters or {}).items()}
        self.task_values = task_values or TaskValues()
        self.secrets = secrets or Secrets()
        self.dbfs_root = Path(dbfs_root)
        self.max_rows = max_rows
        self.pip_installed = pip_installed
        self.chdir = chdir
        self._outputs: list[Output] = []

    # -- the notebook's globals ------------------------------------------------------------

    def _namespace(self, widgets: Widgets) -> dict[str, Any]:
        dbutils = LocalDbutils(
            widgets=widgets,
            jobs=Jobs(self.task_values),
            notebook=NotebookUtils(self._run_other),
            secrets=self.secrets,
            fs=Fs(self.dbfs_root),
        )
        return {
            "__name__": "__main__",
            "__builtins__": __builtins__,
            "spark": self.spark,
            "dbutils": dbutils,
            "display": self.display,
            "displayHTML": self.displayHTML,
            "getArgument": widgets.getArgument,
        }

    def display(self, obj: Any, *args: Any, **kwargs: Any) -> None:
        """``display``: DataFrames as an HTML table of the first rows, anything else as text."""
        self._outputs.append(self._render(obj))

    def displayHTML(self, html: str) -> None:  # noqa: N802 - Databricks' name
        """``displayHTML``: the HTML as it is."""
        self._outputs.append(Output("html", self.secrets.redact(str(html))))

    def _render(self, obj: Any) -> Output:
        columns = getattr(obj, "columns", None)
        if columns is not None and hasattr(obj, "limit") and hasattr(obj, "collect"):
            rows = [list(r) for r in obj.limit(self.max_rows + 1).collect()]
            return self._table(list(columns), rows)
        if columns is not None and hasattr(obj, "head") and hasattr(obj, "itertuples"):
            rows = [list(r) for r in obj.head(self.max_rows + 1).itertuples(index=False)]
            return self._table([str(c) for c in columns], rows)
        html = getattr(obj, "_repr_html_", None)
        if callable(html):
            return Output("html", self.secrets.redact(str(html())))
        return Output("text", self.secrets.redact(repr(obj) if not isinstance(obj, str) else obj))

    def _table(self, columns: list[str], rows: list[list[Any]]) -> Output:
        shown = rows[: self.max_rows]
        note = (
            f"first {self.max_rows} rows" if len(rows) > self.max_rows else f"{len(shown)} row(s)"
        )
        body = render.html_table(shown, columns) + render.paragraph(note)
        return Output("table", self.secrets.redact(body))

    # -- running ---------------------------------------------------------------------------

    def run(self, path: str | Path) -> NotebookRun:
        """Run the notebook at ``path`` to its end, its ``notebook.exit``, or its first failure.

        Raises:
            InvalidInputError: the file is missing or not a Databricks-source notebook.
        """
        notebook = read_notebook(path)
        widgets = Widgets(self.parameters)
        namespace = self._namespace(widgets)
        started = time.perf_counter()
        results = [CellResult(cell) for cell in notebook.cells]
        run = NotebookRun(path=notebook.path, parameters=dict(self.parameters), cells=results)
        with self._in_folder(Path(notebook.path).resolve().parent):
            try:
                self._run_cells(notebook, results, namespace, widgets, top=True)
            except NotebookExit as exit_:
                run.exit_value = exit_.value
            except _ChildFailed as failed:
                run.error = failed.error
        run.seconds = time.perf_counter() - started
        run.task_values = dict(self.task_values.values)
        logger.info("%s", run.summary())
        return run

    @contextlib.contextmanager
    def _in_folder(self, folder: Path) -> Iterator[None]:
        if not self.chdir:
            yield
            return
        previous = Path.cwd()
        added = str(folder) not in sys.path
        if added:
            sys.path.insert(0, str(folder))
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(previous)
            if added and str(folder) in sys.path:
                sys.path.remove(str(folder))

    def _run_other(self, path: str, timeout_seconds: int, arguments: Mapping[str, str]) -> str | None:
        target = _resolve_relative(Path.cwd(), path)
        child = NotebookRunner(
            self.spark,
            {**arguments},
            TaskValues(self.task_values.upstream, self.task_values.in_job, self.task_values.task_key),
            self.secrets,
            self.dbfs_root,
            self.max_rows,
            self.pip_installed,
            self.chdir,
        )
        result = child.run(target)
        if result.error is not None:
            raise NotebookFailedError(f"dbutils.notebook.run({path!r}) failed: {result.summary()}")
        return result.exit_value

    def _run_cells(
        self,
        notebook: Notebook,
        results: list[CellResult],
        namespace: dict[str, Any],
        widgets: Widgets,
        top: bool,
        depth: int = 0,
    ) -> None:
        for res in results:
            cell = res.cell
            self._outputs = res.outputs
            started = time.perf_counter()
            try:
                self._run_cell(notebook, cell, res, namespace, widgets, depth)
                res.status = "ok"
            except NotebookExit:
                res.status = "exited"
                raise
            except _ChildFailed as failed:
                res.status = "failed"
                child = failed.error
                res.error = NotebookError(
                    f"in %run {Path(child.notebook).name} (cell {child.cell}, line {child.line}): "
                    f"{child.message}",
                    cell.index,
                    cell.line,
                    notebook.path,
                    child.traceback,
                )
                raise _ChildFailed(res.error) from None
            except Exception as exc:
                res.status = "failed"
                res.error = self._error(exc, notebook, cell)
                raise _ChildFailed(res.error) from None
            finally:
                res.seconds = time.perf_counter() - started

    def _run_cell(
        self,
        notebook: Notebook,
        cell: Cell,
        res: CellResult,
        namespace: dict[str, Any],
        widgets: Widgets,
        depth: int,
    ) -> None:
        if cell.kind == "md":
            res.outputs.append(Output("text", cell.source))
        elif cell.kind == "python":
            self._exec_python(notebook, cell, namespace, res)
        elif cell.kind == "sql":
            self._exec_sql(cell)
        elif cell.kind == "pip":
            checks = check_pip(cell.source, Path(notebook.path).resolve().parent, **self._pip_kwargs())
            res.outputs.append(
                Output("text", "\n".join(f"already satisfied: {c.requirement} ({c.installed})" for c in checks))
            )
        elif cell.kind == "run":
            self._exec_run(notebook, cell, res, namespace, widgets, depth)
        else:
            raise InvalidInputError(
                f"%{cell.kind} cells cannot run locally (the runner runs Python, %sql, %md, %pip and %run); "
                "move the code into a Python cell."
            )

    def _pip_kwargs(self) -> dict[str, Any]:
        return {"installed": self.pip_installed} if self.pip_installed is not None else {}

    def _exec_python(self, notebook: Notebook, cell: Cell, namespace: dict[str, Any], res: CellResult) -> None:
        filename = str(Path(notebook.path).resolve())
        try:
            tree = ast.parse(cell.source, filename=filename)
        except SyntaxError as exc:
            exc.lineno = (exc.lineno or 1) + cell.line - 1
            raise
        ast.increment_lineno(tree, cell.line - 1)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            expr = tree.body.pop()
            assert isinstance(expr, ast.Expr)
            last = ast.Expression(expr.value)
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - running the notebook is the point
                if last is not None:
                    value = eval(compile(last, filename, "eval"), namespace)  # noqa: S307
                    if value is not None:
                        print(repr(value))
        finally:
            printed = buffer.getvalue()
            if printed:
                res.outputs.insert(0, Output("text", self.secrets.redact(printed.rstrip("\n"))))

    def _exec_sql(self, cell: Cell) -> None:
        statements = split_sql(cell.source)
        result = None
        for statement in statements:
            result = self.spark.sql(statement)
        if result is not None and list(result.columns):
            self.display(result)

    def _exec_run(
        self,
        notebook: Notebook,
        cell: Cell,
        res: CellResult,
        namespace: dict[str, Any],
        widgets: Widgets,
        depth: int,
    ) -> None:
        if depth >= 20:
            raise InvalidInputError(f"%run {cell.source.strip()}: more than 20 nested %run (a cycle?).")
        target = parse_run(cell.source)
        child_path = _resolve_relative(Path(notebook.path).resolve().parent, target.path)
        child = read_notebook(child_path)
        res.notebook = str(child_path)
        res.children = [CellResult(c) for c in child.cells]
        previous = widgets.overlay(target.arguments)
        outputs = self._outputs
        try:
            with self._in_folder(child_path.parent):
                self._run_cells(child, res.children, namespace, widgets, top=False, depth=depth + 1)
        finally:
            widgets.restore(previous)
            self._outputs = outputs

    def _error(self, exc: BaseException, notebook: Notebook, cell: Cell) -> NotebookError:
        filename = str(Path(notebook.path).resolve())
        line = 0
        where = ""
        if isinstance(exc, SyntaxError) and exc.filename == filename:
            line = exc.lineno or cell.line
        else:
            frames = traceback.extract_tb(exc.__traceback__)
            last_line = cell.line + cell.source.count("\n")
            # the line of this cell that was running; deeper frames (a function of another
            # cell, a library) are named in the message
            ours = [f for f in frames if f.filename == filename and cell.line <= (f.lineno or 0) <= last_line]
            if ours:
                line = int(ours[-1].lineno or 0)
            deepest = next(
                (
                    f
                    for f in reversed(frames)
                    if f.filename.endswith(".py")
                    and "dbx_ops/notebooks/" not in f.filename
                    and "site-packages" not in f.filename
                ),
                None,
            )
            if deepest is not None and (deepest.filename != filename or deepest.lineno != line):
                where = f" (at {Path(deepest.filename).name}:{deepest.lineno})"
        if not line:
            line = cell.line
        text = str(exc).strip().splitlines()
        first = next((t for t in text if t.strip()), "")
        message = self.secrets.redact(f"{type(exc).__name__}: {first}"[:2000] + where)
        frames_text = "".join(
            line_
            for line_ in traceback.format_exception(type(exc), exc, exc.__traceback__)
            if "dbx_ops/notebooks/runner.py" not in line_
        )
        return NotebookError(message, cell.index, line, notebook.path, self.secrets.redact(frames_text))


def _resolve_relative(base: Path, path: str) -> Path:
    candidate = (base / path).resolve()
    if candidate.is_file():
        return candidate
    for suffix in (".py", ".sql"):
        with_suffix = candidate.with_name(candidate.name + suffix)
        if with_suffix.is_file():
            return with_suffix
    raise InvalidInputError(f"%run {path}: no notebook {candidate} (or with .py) next to the calling notebook.")


def library_info() -> dict[str, str]:
    """Which dbx_ops this process runs (and so the notebook imports): version and package folder.

    Written to the ``--result-json`` file as ``library``, so a job run shows whether the
    notebook used the wheel the bundle deployed or another install.
    """
    import dbx_ops

    return {"dbx_ops": dbx_ops.__version__, "path": str(Path(dbx_ops.__file__).resolve().parent)}


def run_notebook(
    path: str | Path,
    parameters: Mapping[str, str] | None = None,
    *,
    spark: Any = None,
    task_values: TaskValues | None = None,
    secrets: Secrets | None = None,
    dbfs_root: str | Path | None = None,
) -> NotebookRun:
    """Run a Databricks-source notebook locally (the Python form of ``dbx-ops notebook run``).

    Args:
        path: the notebook file.
        parameters: widget values by name.
        spark: the session; :func:`dbx_ops.runtime.get_spark` when None.
        task_values: upstream task values (and where the values this run sets go).
        secrets: the local secrets source.
        dbfs_root: where ``dbfs:/`` lives; ``<state folder>/dbfs`` when None.

    Returns:
        The :class:`NotebookRun` (check ``.ok``; ``.raise_on_failure()``; ``.write_html(path)``).
    """
    from dbx_ops.runtime import get_spark, state_home

    session = spark if spark is not None else get_spark()
    root = Path(dbfs_root) if dbfs_root is not None else state_home() / "dbfs"
    return NotebookRunner(session, parameters, task_values, secrets, root).run(path)
