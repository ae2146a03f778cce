"""A local ``dbutils``: widgets, job task values, notebook exit, secrets and files.

It follows the Databricks API closely enough that a notebook runs unchanged; where
it must differ (secrets come from an explicit local file, ``dbfs:/`` lives under the
state folder) the docs (docs/notebooks.md) say so.
"""

from __future__ import annotations

import builtins
import json
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from dbx_ops.errors import InvalidInputError

logger = logging.getLogger(__name__)


class NotebookExit(BaseException):  # noqa: N818 - mirrors Databricks' control flow, not an error
    """Raised by ``dbutils.notebook.exit(value)``; a BaseException so ``except Exception`` in a
    notebook does not swallow it."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class WidgetError(InvalidInputError):
    """A widget is used wrongly: not defined, or a value outside its choices."""


class SecretError(InvalidInputError):
    """A secret scope or key does not exist in the local secrets source."""


class TaskValueError(InvalidInputError):
    """A task value is missing, or cannot be stored as JSON."""


# -- widgets -------------------------------------------------------------------------------


@dataclass
class Widget:
    """One defined widget."""

    name: str
    kind: str
    default: str
    label: str | None
    choices: tuple[str, ...] = ()


class Widgets:
    """``dbutils.widgets``: values come from the run's parameters, else each widget's default."""

    def __init__(self, parameters: Mapping[str, str] | None = None) -> None:
        self._params: dict[str, str] = {k: str(v) for k, v in (parameters or {}).items()}
        self._widgets: dict[str, Widget] = {}

    @property
    def parameters(self) -> dict[str, str]:
        """The parameters the run was given."""
        return dict(self._params)

    @property
    def defined(self) -> dict[str, Widget]:
        """The widgets defined so far, by name."""
        return dict(self._widgets)

    def overlay(self, arguments: Mapping[str, str]) -> dict[str, str]:
        """Set parameters for a ``%run`` child; returns the previous ones for :meth:`restore`."""
        previous = dict(self._params)
        self._params.update({k: str(v) for k, v in arguments.items()})
        return previous

    def restore(self, previous: Mapping[str, str]) -> None:
        """Put back the parameters :meth:`overlay` returned."""
        self._params = dict(previous)

    def _define(self, widget: Widget) -> None:
        if not widget.name:
            raise WidgetError("A widget needs a name.")
        if widget.choices:
            if widget.kind == "multiselect":
                bad = [v for v in _split_multi(widget.default) if v not in widget.choices]
            else:
                bad = [widget.default] if widget.default not in widget.choices else []
            if bad and widget.kind != "combobox":
                raise WidgetError(
                    f"Widget {widget.name!r}: default {widget.default!r} is not one of its choices "
                    f"{list(widget.choices)}."
                )
        self._widgets[widget.name] = widget

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:  # noqa: N803
        """Define a text widget."""
        self._define(Widget(name, "text", str(defaultValue), label))

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        """Define a dropdown widget (a parameter must be one of ``choices``)."""
        self._define(Widget(name, "dropdown", str(defaultValue), label, tuple(str(c) for c in choices)))

    def combobox(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        """Define a combobox widget (any value; ``choices`` are suggestions)."""
        self._define(Widget(name, "combobox", str(defaultValue), label, tuple(str(c) for c in choices)))

    def multiselect(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        """Define a multiselect widget (the value is comma-separated choices)."""
        self._define(Widget(name, "multiselect", str(defaultValue), label, tuple(str(c) for c in choices)))

    def get(self, name: str) -> str:
        """The widget's value: the parameter of that name, else the widget's default.

        Raises:
            WidgetError: no parameter and no widget of that name, or a value outside the choices.
        """
        widget = self._widgets.get(name)
        if name in self._params:
            value = self._params[name]
            if widget is not None:
                self._check_choice(widget, value)
            return value
        if widget is None:
            raise WidgetError(
                f"No input widget named {name!r} is defined (and no parameter {name!r} was given)."
            )
        return widget.default

    def getArgument(self, name: str, optional: str | None = None) -> str | None:  # noqa: N802
        """Like :meth:`get`, but returns ``optional`` instead of failing (deprecated in Databricks)."""
        try:
            return self.get(name)
        except WidgetError:
            return optional

    def getAll(self) -> dict[str, str]:  # noqa: N802
        """Every widget's current value, with the parameters that name no widget."""
        values = {name: self.get(name) for name in self._widgets}
        return {**self._params, **values}

    def remove(self, name: str) -> None:
        """Remove a widget.

        Raises:
            WidgetError: when no widget of that name is defined.
        """
        if name not in self._widgets:
            raise WidgetError(f"No input widget named {name!r} is defined.")
        del self._widgets[name]

    def removeAll(self) -> None:  # noqa: N802
        """Remove every widget."""
        self._widgets.clear()

    @staticmethod
    def _check_choice(widget: Widget, value: str) -> None:
        if not widget.choices or widget.kind == "combobox":
            return
        values = _split_multi(value) if widget.kind == "multiselect" else [value]
        bad = [v for v in values if v not in widget.choices]
        if bad:
            raise WidgetError(
                f"Widget {widget.name!r}: parameter value {value!r} is not one of {list(widget.choices)}."
            )


def _split_multi(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


# -- task values ------------------------------------------------------------------------------


class TaskValues:
    """``dbutils.jobs.taskValues``: values set by upstream tasks, and the ones this notebook sets.

    Args:
        upstream: ``{task_key: {key: value}}`` of the tasks this one depends on.
        in_job: whether the run is a job task (then a missing value is ``default`` or an
            error, as in Databricks); outside a job ``debugValue`` is returned first.
        task_key: this task's key (its own values can be read back).
    """

    def __init__(
        self,
        upstream: Mapping[str, Mapping[str, Any]] | None = None,
        in_job: bool = False,
        task_key: str | None = None,
    ) -> None:
        self.upstream = {k: dict(v) for k, v in (upstream or {}).items()}
        self.in_job = in_job
        self.task_key = task_key
        self.values: dict[str, Any] = {}

    def set(self, key: str, value: Any) -> None:
        """Set a task value (JSON-serialisable, as in Databricks).

        Raises:
            TaskValueError: when ``value`` cannot be written as JSON.
        """
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise TaskValueError(
                f"Task value {key!r} must be JSON-serialisable; got {type(value).__name__}."
            ) from None
        self.values[str(key)] = value

    def get(
        self,
        taskKey: str,  # noqa: N803
        key: str,
        default: Any = None,
        debugValue: Any = None,  # noqa: N803
    ) -> Any:
        """A value set by task ``taskKey``.

        Found: the value. Outside a job: ``debugValue``, then ``default``. In a job: ``default``.

        Raises:
            TaskValueError: when no value, default or debug value exists.
        """
        source = self.values if taskKey == self.task_key else self.upstream.get(taskKey, {})
        if key in source:
            return source[key]
        if not self.in_job and debugValue is not None:
            return debugValue
        if default is not None:
            return default
        raise TaskValueError(
            f"No task value {key!r} was set by task {taskKey!r}, and no default was given"
            + ("." if self.in_job else " (outside a job, pass debugValue=...).")
        )


class Jobs:
    """``dbutils.jobs``."""

    def __init__(self, task_values: TaskValues) -> None:
        self.taskValues = task_values


# -- notebook ------------------------------------------------------------------------------


class NotebookUtils:
    """``dbutils.notebook``: ``exit`` ends the run with a value; ``run`` runs another notebook."""

    def __init__(self, run: Callable[[str, int, Mapping[str, str]], str | None] | None = None) -> None:
        self._run = run

    def exit(self, value: Any = "") -> None:
        """End the notebook here; ``value`` (as text) is the run's exit value."""
        raise NotebookExit("" if value is None else str(value))

    def run(self, path: str, timeout_seconds: int = 0, arguments: Mapping[str, str] | None = None) -> str | None:
        """Run another notebook in a fresh namespace; returns its exit value.

        Raises:
            InvalidInputError: when the runner gave no way to run notebooks.
        """
        if self._run is None:
            raise InvalidInputError("dbutils.notebook.run is not available here.")
        return self._run(path, timeout_seconds, arguments or {})


# -- secrets -------------------------------------------------------------------------------


class SecretScope(NamedTuple):
    """A secret scope (``dbutils.secrets.listScopes()``)."""

    name: str


class SecretMetadata(NamedTuple):
    """A secret's key (``dbutils.secrets.list(scope)``); never its value."""

    key: str


class Secrets:
    """``dbutils.secrets`` from an explicit local source ``{scope: {key: value}}``.

    Values read with :meth:`get` are remembered so the runner can redact them from outputs
    (``[REDACTED]``), as Databricks does.
    """

    def __init__(self, scopes: Mapping[str, Mapping[str, str]] | None = None, source: str | None = None) -> None:
        self._scopes = {str(s): {str(k): str(v) for k, v in keys.items()} for s, keys in (scopes or {}).items()}
        self.source = source
        self.revealed: set[str] = set()

    @classmethod
    def from_file(cls, path: str | Path | None) -> Secrets:
        """Secrets from a JSON file ``{"scope": {"key": "value"}}``; none when ``path`` is None.

        Raises:
            InvalidInputError: the file is missing or not that shape.
        """
        if path is None:
            return cls()
        target = Path(path)
        if not target.is_file():
            raise InvalidInputError(f"Secrets file {target} not found.")
        try:
            data = json.loads(target.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise InvalidInputError(f"Secrets file {target} is not JSON.") from None
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in data.values()
        ):
            raise InvalidInputError(
                f'Secrets file {target} must be {{"scope": {{"key": "value"}}}} with text values.'
            )
        return cls(data, source=str(target))

    def _where(self) -> str:
        return f" in {self.source}" if self.source else " (no secrets file was given: use --secrets FILE)"

    def get(self, scope: str, key: str) -> str:
        """The secret's value.

        Raises:
            SecretError: the scope or key does not exist.
        """
        keys = self._scopes.get(scope)
        if keys is None:
            raise SecretError(f"Secret scope {scope!r} does not exist{self._where()}.")
        if key not in keys:
            raise SecretError(f"Secret does not exist with scope: {scope} and key: {key}{self._where()}.")
        value = keys[key]
        if value:
            self.revealed.add(value)
        return value

    def getBytes(self, scope: str, key: str) -> bytes:  # noqa: N802
        """The secret's value as UTF-8 bytes."""
        return self.get(scope, key).encode("utf-8")

    def list(self, scope: str) -> list[SecretMetadata]:
        """The keys of a scope (never the values).

        Raises:
            SecretError: the scope does not exist.
        """
        if scope not in self._scopes:
            raise SecretError(f"Secret scope {scope!r} does not exist{self._where()}.")
        return [SecretMetadata(k) for k in sorted(self._scopes[scope])]

    def listScopes(self) -> builtins.list[SecretScope]:  # noqa: N802
        """The scopes."""
        return [SecretScope(s) for s in sorted(self._scopes)]

    def redact(self, text: str) -> str:
        """``text`` with every secret value read so far replaced by ``[REDACTED]``."""
        for value in sorted(self.revealed, key=len, reverse=True):
            text = text.replace(value, "[REDACTED]")
        return text


# -- files ---------------------------------------------------------------------------------


class FileInfo(NamedTuple):
    """An entry of ``dbutils.fs.ls`` (folders' names end with ``/``)."""

    path: str
    name: str
    size: int
    modificationTime: int  # noqa: N815 - Databricks' field name


class Fs:
    """``dbutils.fs`` on local files: ``dbfs:/x`` is ``<dbfs_root>/x``, ``file:/x`` is ``/x``,
    anything else is a local path."""

    def __init__(self, dbfs_root: str | Path) -> None:
        self.dbfs_root = Path(dbfs_root)

    def local(self, path: str) -> Path:
        """The local path for a ``dbutils.fs`` path."""
        if path.startswith("dbfs:"):
            rest = path[len("dbfs:") :].lstrip("/")
            target = (self.dbfs_root / rest).resolve()
            root = self.dbfs_root.resolve()
            if target != root and root not in target.parents:
                raise InvalidInputError(f"{path} leaves the local DBFS root {root}.")
            return target
        if path.startswith("file:"):
            return Path("/" + path[len("file:") :].lstrip("/"))
        return Path(path)

    def ls(self, dir: str) -> list[FileInfo]:  # noqa: A002 - Databricks' argument name
        """The entries of a folder (or the file itself).

        Raises:
            FileNotFoundError: when the path does not exist.
        """
        local = self.local(dir)
        if not local.exists():
            raise FileNotFoundError(f"{dir} does not exist.")
        entries = sorted(local.iterdir()) if local.is_dir() else [local]
        out = []
        base = dir.rstrip("/")
        for entry in entries:
            stat = entry.stat()
            name = entry.name + ("/" if entry.is_dir() else "")
            path = f"{base}/{name}" if local.is_dir() else dir
            out.append(FileInfo(path, name, 0 if entry.is_dir() else stat.st_size, int(stat.st_mtime * 1000)))
        return out

    def mkdirs(self, dir: str) -> bool:  # noqa: A002
        """Create a folder and its parents."""
        self.local(dir).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        """Write text to a file.

        Raises:
            FileExistsError: the file exists and ``overwrite`` is False.
        """
        local = self.local(file)
        if local.exists() and not overwrite:
            raise FileExistsError(f"{file} already exists; pass overwrite=True.")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(contents, encoding="utf-8")
        return True

    def head(self, file: str, maxBytes: int = 65536) -> str:  # noqa: N803
        """The first ``maxBytes`` bytes of a file, as text."""
        with self.local(file).open("rb") as handle:
            return handle.read(maxBytes).decode("utf-8", errors="replace")

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Copy a file (or a folder with ``recurse=True``)."""
        src, dst = self.local(from_), self.local(to)
        if src.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{from_} is a folder; pass recurse=True.")
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Move a file (or a folder with ``recurse=True``)."""
        src, dst = self.local(from_), self.local(to)
        if src.is_dir() and not recurse:
            raise IsADirectoryError(f"{from_} is a folder; pass recurse=True.")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), str(dst))
        return True

    def rm(self, dir: str, recurse: bool = False) -> bool:  # noqa: A002
        """Remove a file (or a folder with ``recurse=True``); False when it did not exist."""
        local = self.local(dir)
        if not local.exists():
            return False
        if local.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{dir} is a folder; pass recurse=True.")
            shutil.rmtree(local)
        else:
            local.unlink()
        return True


class Library:
    """``dbutils.library``: ``restartPython()`` is a no-op locally (nothing was installed)."""

    def restartPython(self) -> None:  # noqa: N802
        """Nothing to restart: ``%pip`` cells only check the environment locally."""
        logger.info("dbutils.library.restartPython(): nothing to do locally")


@dataclass
class LocalDbutils:
    """The ``dbutils`` object a locally run notebook sees."""

    widgets: Widgets = field(default_factory=Widgets)
    jobs: Jobs = field(default_factory=lambda: Jobs(TaskValues()))
    notebook: NotebookUtils = field(default_factory=NotebookUtils)
    secrets: Secrets = field(default_factory=Secrets)
    fs: Fs = field(default_factory=lambda: Fs(Path(".dbx_ops") / "dbfs"))
    library: Library = field(default_factory=Library)
