"""Progress on long work: rich on a terminal, plain lines in CI logs, one line per step in notebooks.

Library code takes a ``progress: Progress`` collaborator (default
:func:`auto_progress`) and calls :meth:`Progress.step` around each unit of
work (a table, a runtime, a drill step). Nothing is printed by the library
itself otherwise: plain lines go to a stream the caller chooses (stderr by
default), so ``--json`` output on stdout stays clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any


class Progress:
    """Progress that shows nothing (the default inside library calls and tests)."""

    def start(self, description: str, total: int) -> None:
        """A task of ``total`` steps begins."""

    def advance(self, label: str, ok: bool = True, detail: str = "") -> None:
        """One step of the current task is done."""

    def finish(self) -> None:
        """The current task is over."""

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Progress]:
        """``with progress.task("restoring", 3): ...`` calls start, then finish however it ends."""
        self.start(description, total)
        try:
            yield self
        finally:
            self.finish()


class NullProgress(Progress):
    """Shows nothing."""


class LineProgress(Progress):
    """Plain lines: ``[2/5] restoring sales.orders ... ok (1.2 s)``, for logs and notebooks."""

    def __init__(self, stream: IO[str] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._description = ""
        self._total = 0
        self._done = 0
        self._last = 0.0

    def _write(self, line: str) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        stream.write(line + "\n")
        stream.flush()

    def start(self, description: str, total: int) -> None:
        self._description, self._total, self._done = description, total, 0
        self._last = self._clock()
        self._write(f"{description}: {total} step(s)")

    def advance(self, label: str, ok: bool = True, detail: str = "") -> None:
        self._done += 1
        now = self._clock()
        took, self._last = now - self._last, now
        word = "ok" if ok else "FAILED"
        extra = f": {detail}" if detail else ""
        self._write(
            f"[{self._done}/{self._total}] {self._description} {label} ... {word}{extra} ({took:.1f} s)"
        )

    def finish(self) -> None:
        self._description = ""


class RichProgress(Progress):
    """A rich progress bar on an interactive terminal (stderr)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as _Bar

        self._console = Console(stderr=True)
        self._bar: Any = _Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[label]}"),
            console=self._console,
            transient=False,
        )
        self._task: Any = None

    def start(self, description: str, total: int) -> None:
        self._bar.start()
        self._task = self._bar.add_task(description, total=total, label="")

    def advance(self, label: str, ok: bool = True, detail: str = "") -> None:
        if self._task is None:
            return
        mark = "" if ok else " [red]FAILED[/red]"
        self._bar.update(self._task, advance=1, label=f"{label}{mark}")
        if not ok and detail:
            self._console.print(f"[red]{label}[/red]: {detail}")

    def finish(self) -> None:
        if self._task is not None:
            self._bar.stop()
            self._task = None


def auto_progress(stream: IO[str] | None = None) -> Progress:
    """Rich on an interactive terminal, plain lines otherwise (CI logs, notebooks, pipes)."""
    target = stream if stream is not None else sys.stderr
    if getattr(target, "isatty", lambda: False)():
        try:
            return RichProgress()
        except ImportError:  # rich is a dependency, but a trimmed install still gets lines
            pass
    return LineProgress(stream)
