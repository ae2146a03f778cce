"""One verdict shape for every result a user gets back.

Every result object (restore report, validation report, environment report,
job health, deploy result, doctor report, checklist gate, drill report):

* says :attr:`Verdict.ok` (never ``passed`` / ``success`` / ``has_p1``);
* has :meth:`Verdict.raise_on_failure`, raising the matching
  :class:`~dbx_ops.errors.DbxOpsError` subclass with one sentence
  (notebooks and jobs call it instead of building ``RuntimeError`` s);
* renders with ``to_html()``, ``to_markdown()``, ``to_dict()`` and
  ``to_text()`` (what the CLI prints), through :mod:`dbx_ops.render`.

A single check inside a result is a :class:`Check`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from dbx_ops import render
from dbx_ops.errors import CheckFailedError, DbxOpsError


@dataclass(frozen=True)
class Check:
    """One check: what was expected, what was found, whether they agree.

    Attributes:
        name: short name of the check (``row_count``, ``timeout_seconds``).
        ok: whether it passed.
        expected: what the check wanted, as display text.
        actual: what it found, as display text.
        message: one sentence for a person (empty when the names say it all).
    """

    name: str
    ok: bool
    expected: str = ""
    actual: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "ok": self.ok,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
        }

    def to_text(self) -> str:
        """One terminal line."""
        detail = self.message or f"expected {self.expected}, found {self.actual}"
        return f"{render.text_mark(self.ok)} {self.name}: {detail}"


def checks_html(checks: list[Check] | tuple[Check, ...]) -> str:
    """The checks of a result as an HTML table (status badge, name, expected, actual, message)."""
    rows = [
        [
            render.badge("ok" if c.ok else "fail", render.tone_of(c.ok)),
            c.name,
            c.expected,
            c.actual,
            c.message,
        ]
        for c in checks
    ]
    return render.html_table(
        rows, ["", "check", "expected", "actual", "message"], [render.tone_of(c.ok) for c in checks], [0]
    )


def checks_markdown(checks: list[Check] | tuple[Check, ...]) -> str:
    """The checks of a result as a Markdown table."""
    return render.md_table(
        [[render.md_mark(c.ok), c.name, c.expected, c.actual, c.message] for c in checks],
        ["ok", "check", "expected", "actual", "message"],
    )


@runtime_checkable
class Report(Protocol):
    """What every report renders to."""

    def to_dict(self) -> dict[str, Any]: ...

    def to_text(self) -> str: ...

    def to_markdown(self) -> str: ...

    def to_html(self) -> str: ...


class Verdict:
    """Mixin for results that say ok or not.

    Subclasses provide :attr:`ok` and :meth:`failure_message`, and set
    :attr:`error_class` to the :class:`~dbx_ops.errors.DbxOpsError` subclass
    a failure raises.
    """

    error_class: ClassVar[type[DbxOpsError]] = CheckFailedError

    @property
    def ok(self) -> bool:  # pragma: no cover - always overridden
        raise NotImplementedError

    def failure_message(self) -> str:
        """One sentence saying what failed (used by :meth:`raise_on_failure`)."""
        summary = getattr(self, "summary", None)
        return str(summary() if callable(summary) else summary or f"{type(self).__name__} is not ok.")

    def raise_on_failure(self) -> None:
        """Raise :attr:`error_class` with :meth:`failure_message` when not :attr:`ok`; else nothing."""
        if not self.ok:
            raise self.error_class(self.failure_message())

    def write_html(self, path: str | Path, title: str | None = None) -> Path:
        """Write ``to_html()`` as a standalone page; returns the path."""
        target = Path(path)
        to_html = getattr(self, "to_html")  # noqa: B009 - provided by the report class
        target.write_text(render.html_document(title or type(self).__name__, to_html()), encoding="utf-8")
        return target
