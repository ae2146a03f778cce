"""What a restore did and the proof it worked: rendered as HTML, Markdown, JSON and text.

Pure data and rendering: no Spark. A :class:`RestoreReport` holds one
:class:`TableRestoreResult` per table: the plan (the commits the restore
undoes), what was done, and the post-checks that prove the table equals its
snapshot.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

#: Table outcomes.
RESTORED = "restored"
NO_OP = "already at snapshot"
ALREADY_RESTORED = "already restored"
PLANNED = "planned"
FAILED = "failed"
REFUSED = "refused"
NOT_ATTEMPTED = "not attempted"
OK_STATUSES = (RESTORED, NO_OP, ALREADY_RESTORED, PLANNED)


def _iso(value: Any) -> Any:
    return value.isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else value


@dataclass(frozen=True)
class CommitInfo:
    """One Delta commit from ``DESCRIBE HISTORY``."""

    version: int
    timestamp: datetime
    operation: str
    user: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    read_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["timestamp"] = _iso(self.timestamp)
        return data


@dataclass(frozen=True)
class Check:
    """One post-restore check: what the snapshot says, what the table has now."""

    name: str
    ok: bool
    expected: str
    actual: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TableRestoreResult:
    """The plan and outcome for one table.

    Attributes:
        table_name: the table.
        snapshot_version: the version the snapshot pinned.
        version_before: the table's version when the restore started (planned).
        version_after: the version the restore committed, or None.
        method: ``RESTORE`` (time travel), ``copy from clone`` or ``none``.
        status: one of restored, already at snapshot, already restored, planned, failed,
            refused, not attempted.
        commits_undone: the commits after the snapshot that the restore undoes.
        checks: post-checks.
        attempts: how many times the restore was tried (concurrent writers cause retries).
        message: one sentence about the outcome.
    """

    table_name: str
    snapshot_version: int
    version_before: int | None = None
    version_after: int | None = None
    method: str = "none"
    status: str = PLANNED
    commits_undone: tuple[CommitInfo, ...] = ()
    checks: tuple[Check, ...] = ()
    attempts: int = 0
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the table is (or, for a plan, can be) back at its snapshot and every check passed."""
        return self.status in OK_STATUSES and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table_name": self.table_name,
            "snapshot_version": self.snapshot_version,
            "version_before": self.version_before,
            "version_after": self.version_after,
            "method": self.method,
            "status": self.status,
            "ok": self.ok,
            "attempts": self.attempts,
            "message": self.message,
            "commits_undone": [c.to_dict() for c in self.commits_undone],
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class RestoreReport:
    """The result of restoring a snapshot label (or its plan, for a dry run)."""

    label: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime
    tables: tuple[TableRestoreResult, ...] = ()
    by: str | None = None

    @property
    def ok(self) -> bool:
        """True when every table is back at its snapshot (or can be, for a dry run) with checks passed."""
        return bool(self.tables) and all(t.ok for t in self.tables)

    @property
    def restored(self) -> list[str]:
        """Tables now at their snapshot (restored now or before)."""
        return [t.table_name for t in self.tables if t.ok and t.status != PLANNED]

    @property
    def not_restored(self) -> list[str]:
        """Tables not (verifiably) back at their snapshot."""
        return [t.table_name for t in self.tables if not t.ok or t.status == PLANNED]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "by": self.by,
            "restored": self.restored,
            "not_restored": self.not_restored,
            "tables": [t.to_dict() for t in self.tables],
        }

    def to_json(self) -> str:
        """JSON text of the report."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    def summary(self) -> str:
        """One line: what happened."""
        verb = "restore plan" if self.dry_run else "restore"
        state = "ok" if self.ok else "NOT OK"
        return f"{verb} of snapshot {self.label!r}: {state} ({len(self.tables)} table(s))"

    def to_text(self) -> str:
        """Plain text for a terminal."""
        lines = [self.summary()]
        for t in self.tables:
            mark = "ok " if t.ok else "!! "
            after = f" -> v{t.version_after}" if t.version_after is not None else ""
            before = f"v{t.version_before}" if t.version_before is not None else "?"
            lines.append(
                f"[{mark}] {t.table_name}: {t.status}; snapshot v{t.snapshot_version}, "
                f"table {before}{after}; method {t.method}"
            )
            if t.message:
                lines.append(f"      {t.message}")
            if t.commits_undone:
                lines.append(f"      commits undone ({len(t.commits_undone)}):")
                for c in t.commits_undone:
                    lines.append(f"        v{c.version} {_iso(c.timestamp)} {c.operation} by {c.user or '?'}")
            for chk in t.checks:
                verdict = "ok" if chk.ok else "MISMATCH"
                lines.append(f"      check {chk.name}: {verdict} (snapshot {chk.expected}, now {chk.actual})")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Markdown: a summary table, then commits undone and checks per table."""
        lines = [f"# {self.summary()}", ""]
        lines.append(
            f"Started {_iso(self.started_at)}, finished {_iso(self.finished_at)}, by {self.by or '?'}."
        )
        lines += [
            "",
            "| table | status | snapshot | before | after | method | checks |",
            "|---|---|---|---|---|---|---|",
        ]
        for t in self.tables:
            passed = sum(c.ok for c in t.checks)
            lines.append(
                f"| {_md(t.table_name)} | {t.status} | {t.snapshot_version} | {_dash(t.version_before)} | "
                f"{_dash(t.version_after)} | {t.method} | {passed}/{len(t.checks)} |"
            )
        for t in self.tables:
            lines += ["", f"## {_md(t.table_name)}", ""]
            if t.message:
                lines += [_md(t.message), ""]
            if t.commits_undone:
                lines += ["| version | time | operation | user |", "|---|---|---|---|"]
                lines += [
                    f"| {c.version} | {_iso(c.timestamp)} | {_md(c.operation)} | {_md(c.user or '')} |"
                    for c in t.commits_undone
                ]
                lines.append("")
            if t.checks:
                lines += ["| check | ok | snapshot | now |", "|---|---|---|---|"]
                lines += [
                    f"| {c.name} | {'yes' if c.ok else '**no**'} | {_md(c.expected)} | {_md(c.actual)} |"
                    for c in t.checks
                ]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """HTML for ``displayHTML`` in a notebook."""
        e = html.escape
        colour = "#1a7f37" if self.ok else "#cf222e"
        out = [
            "<div style='font-family:sans-serif'>",
            f"<h3 style='color:{colour}'>{e(self.summary())}</h3>",
            f"<p>Started {e(str(_iso(self.started_at)))}, finished {e(str(_iso(self.finished_at)))}, "
            f"by {e(self.by or '?')}.</p>",
            "<table border='1' cellpadding='4' style='border-collapse:collapse'>",
            "<tr><th>table</th><th>status</th><th>snapshot</th><th>before</th><th>after</th>"
            "<th>method</th><th>checks</th></tr>",
        ]
        for t in self.tables:
            bg = "#dafbe1" if t.ok else "#ffebe9"
            passed = sum(c.ok for c in t.checks)
            out.append(
                f"<tr style='background:{bg}'><td>{e(t.table_name)}</td><td>{e(t.status)}</td>"
                f"<td>{t.snapshot_version}</td><td>{_dash(t.version_before)}</td><td>{_dash(t.version_after)}</td>"
                f"<td>{e(t.method)}</td><td>{passed}/{len(t.checks)}</td></tr>"
            )
        out.append("</table>")
        for t in self.tables:
            out.append(f"<h4>{e(t.table_name)}</h4>")
            if t.message:
                out.append(f"<p>{e(t.message)}</p>")
            if t.commits_undone:
                out.append("<p>Commits undone:</p><ul>")
                out += [
                    f"<li>v{c.version} {e(str(_iso(c.timestamp)))} {e(c.operation)} "
                    f"by {e(c.user or '?')}</li>"
                    for c in t.commits_undone
                ]
                out.append("</ul>")
            if t.checks:
                out.append("<table border='1' cellpadding='4' style='border-collapse:collapse'>")
                out.append("<tr><th>check</th><th>ok</th><th>snapshot</th><th>now</th></tr>")
                out += [
                    f"<tr><td>{e(c.name)}</td><td>{'yes' if c.ok else '<b>no</b>'}</td>"
                    f"<td>{e(c.expected)}</td><td>{e(c.actual)}</td></tr>"
                    for c in t.checks
                ]
                out.append("</table>")
        out.append("</div>")
        return "\n".join(out)


@dataclass(frozen=True)
class VerifyResult:
    """Whether one table's snapshot is still restorable."""

    table_name: str
    version: int
    mode: str
    restorable: bool
    reason: str
    restorable_until: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["restorable_until"] = _iso(self.restorable_until)
        return data


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
