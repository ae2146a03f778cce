"""What snapshots and restores return, and the proof a restore worked.

Pure data and rendering: no Spark, no clock. Every result renders through
:mod:`dbx_ops.render` with ``to_html()``, ``to_markdown()``, ``to_dict()`` and
``to_text()`` (what the CLI prints), and the ones that can fail say
:attr:`ok` and have ``raise_on_failure()`` (:class:`dbx_ops.verdict.Verdict`).

* :class:`RestoreReport`: one :class:`TableRestoreResult` per table: the plan
  (the commits the restore undoes), what was done, and the post-checks
  (:class:`dbx_ops.verdict.Check`) that prove the table equals its snapshot.
* :class:`VerifyReport`: one :class:`VerifyResult` per table of a label.
* :class:`SnapshotSet`: the records one ``snapshot`` call wrote.
* :class:`LabelList`: one :class:`LabelSummary` per label (``snapshot list``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from dbx_ops import render
from dbx_ops.errors import CheckFailedError, DbxOpsError, RestoreError
from dbx_ops.verdict import Check, Verdict

if TYPE_CHECKING:
    from dbx_ops.snapshots.registry import SnapshotRecord


class Status(StrEnum):
    """What happened to one table in a restore (or would, in a plan)."""

    RESTORED = "restored"
    NO_OP = "already at snapshot"
    ALREADY_RESTORED = "already restored"
    PLANNED = "planned"
    FAILED = "failed"
    REFUSED = "refused"
    NOT_ATTEMPTED = "not attempted"


class Method(StrEnum):
    """How a table is brought back."""

    RESTORE = "RESTORE"
    COPY = "copy from clone"
    NONE = "none"


class LabelStatus(StrEnum):
    """Where a label is in its life (``snapshot list``)."""

    LIVE = "live"
    DROPPED = "dropped"
    EXPIRED = "expired"
    ENDED = "dropped/expired"
    PARTLY_DROPPED = "partly dropped"
    PARTLY_EXPIRED = "partly expired"
    PARTLY_ENDED = "partly dropped/expired"

    @classmethod
    def of(cls, ending_events: Iterable[str], partly: bool) -> LabelStatus:
        """The status for a label whose ended tables carry ``ending_events`` (none: live)."""
        words = "/".join(sorted(set(ending_events)))
        if not words:
            return cls.LIVE
        return cls(f"partly {words}" if partly else words)

    @property
    def live(self) -> bool:
        """True while at least one table of the label can still be used."""
        return self is LabelStatus.LIVE or self.value.startswith("partly")


# Module-level names kept for callers of the first API.
RESTORED = Status.RESTORED
NO_OP = Status.NO_OP
ALREADY_RESTORED = Status.ALREADY_RESTORED
PLANNED = Status.PLANNED
FAILED = Status.FAILED
REFUSED = Status.REFUSED
NOT_ATTEMPTED = Status.NOT_ATTEMPTED
OK_STATUSES = (RESTORED, NO_OP, ALREADY_RESTORED, PLANNED)

__all__ = [
    "ALREADY_RESTORED",
    "FAILED",
    "NOT_ATTEMPTED",
    "NO_OP",
    "OK_STATUSES",
    "PLANNED",
    "REFUSED",
    "RESTORED",
    "Check",
    "CommitInfo",
    "LabelList",
    "LabelStatus",
    "LabelSummary",
    "Method",
    "RestoreReport",
    "SnapshotSet",
    "Status",
    "TableRestoreResult",
    "VerifyReport",
    "VerifyResult",
]


def _when(value: datetime | None, empty: str = "until dropped") -> str:
    return render.fmt(value) if value is not None else empty


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
        """JSON-ready form."""
        data = asdict(self)
        data["timestamp"] = render.iso(self.timestamp)
        return data

    def to_text(self) -> str:
        """One line: ``v8 2024-06-01 12:00:00 DELETE by ana@corp``."""
        return f"v{self.version} {render.fmt(self.timestamp)} {self.operation} by {self.user or '?'}"


@dataclass(frozen=True)
class TableRestoreResult(Verdict):
    """The plan and outcome for one table.

    Attributes:
        table_name: the table.
        snapshot_version: the version the snapshot pinned.
        version_before: the table's version when the restore started (planned).
        version_after: the version the restore committed, or None.
        method: a :class:`Method`.
        status: a :class:`Status`.
        commits_undone: the commits after the snapshot that the restore undoes.
        checks: post-checks.
        attempts: how many times the restore was tried (concurrent writers cause retries).
        message: one sentence about the outcome.
    """

    error_class: ClassVar[type[DbxOpsError]] = RestoreError

    table_name: str
    snapshot_version: int
    version_before: int | None = None
    version_after: int | None = None
    method: str = Method.NONE
    status: str = Status.PLANNED
    commits_undone: tuple[CommitInfo, ...] = ()
    checks: tuple[Check, ...] = ()
    attempts: int = 0
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the table is (or, for a plan, can be) back at its snapshot and every check passed."""
        return self.status in OK_STATUSES and all(c.ok for c in self.checks)

    def failure_message(self) -> str:
        failed = [f"{c.name} (snapshot {c.expected}, now {c.actual})" for c in self.checks if not c.ok]
        if failed:
            why = "check(s) disagree: " + "; ".join(failed)
        else:
            why = self.message.rstrip(".") or str(self.status)
        return f"{self.table_name} is not back at snapshot v{self.snapshot_version}: {why}."

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "table_name": self.table_name,
            "snapshot_version": self.snapshot_version,
            "version_before": self.version_before,
            "version_after": self.version_after,
            "method": str(self.method),
            "status": str(self.status),
            "ok": self.ok,
            "attempts": self.attempts,
            "message": self.message,
            "commits_undone": [c.to_dict() for c in self.commits_undone],
            "checks": [c.to_dict() for c in self.checks],
        }

    def summary_row(self) -> list[Any]:
        """The cells of this table's line in the report's summary table."""
        passed = sum(c.ok for c in self.checks)
        return [
            self.table_name,
            self.status,
            self.snapshot_version,
            self.version_before,
            self.version_after,
            self.method,
            f"{passed}/{len(self.checks)}",
        ]

    def to_text(self) -> str:
        """Plain text lines for a terminal."""
        after = f" -> v{self.version_after}" if self.version_after is not None else ""
        before = f"v{self.version_before}" if self.version_before is not None else "?"
        lines = [
            f"{render.text_mark(self.ok)} {self.table_name}: {self.status}; "
            f"snapshot v{self.snapshot_version}, table {before}{after}; method {self.method}"
        ]
        if self.message:
            lines.append(f"      {self.message}")
        if self.commits_undone:
            lines.append(f"      commits undone ({len(self.commits_undone)}):")
            lines += [f"        {c.to_text()}" for c in self.commits_undone]
        for chk in self.checks:
            verdict = "ok" if chk.ok else "MISMATCH"
            lines.append(f"      check {chk.name}: {verdict} (snapshot {chk.expected}, now {chk.actual})")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Markdown: the message, the commits undone and the checks."""
        parts = [f"## {render.md_esc(self.table_name)}"]
        if self.message:
            parts.append(render.md_esc(self.message))
        if self.commits_undone:
            parts.append(
                render.md_table(
                    [[c.version, c.timestamp, c.operation, c.user or ""] for c in self.commits_undone],
                    ["version", "time", "operation", "user"],
                )
            )
        if self.checks:
            parts.append(
                render.md_table(
                    [[c.name, render.md_mark(c.ok), c.expected, c.actual] for c in self.checks],
                    ["check", "ok", "snapshot", "now"],
                )
            )
        return "\n\n".join(parts)

    def to_html(self) -> str:
        """HTML: the message, the commits undone and the checks."""
        body = []
        if self.message:
            body.append(render.paragraph(self.message))
        if self.commits_undone:
            body.append(render.paragraph("Commits undone:"))
            body.append(render.html_list(c.to_text() for c in self.commits_undone))
        if self.checks:
            rows = [
                [
                    render.badge("ok" if c.ok else "mismatch", render.tone_of(c.ok)),
                    c.name,
                    c.expected,
                    c.actual,
                ]
                for c in self.checks
            ]
            body.append(
                render.html_table(
                    rows, ["", "check", "snapshot", "now"], [render.tone_of(c.ok) for c in self.checks], [0]
                )
            )
        return render.section(self.table_name, "\n".join(body), level=4)


_SUMMARY_HEADERS = ["table", "status", "snapshot", "before", "after", "method", "checks"]


@dataclass(frozen=True)
class RestoreReport(Verdict):
    """The result of restoring a snapshot label (or its plan, for a dry run)."""

    error_class: ClassVar[type[DbxOpsError]] = RestoreError

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

    def failure_message(self) -> str:
        if not self.tables:
            return f"Snapshot {self.label!r} has no table to restore."
        bad = [t for t in self.tables if not t.ok]
        first = bad[0].failure_message() if bad else ""
        verb = "cannot be restored as planned" if self.dry_run else "is not fully restored"
        return (
            f"Snapshot {self.label!r} {verb}: {len(bad)} of {len(self.tables)} table(s) not ok; {first}"
        ).rstrip()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "label": self.label,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "started_at": render.iso(self.started_at),
            "finished_at": render.iso(self.finished_at),
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

    def _times(self) -> str:
        return (
            f"Started {render.fmt(self.started_at)}, finished {render.fmt(self.finished_at)}, "
            f"by {self.by or '?'}."
        )

    def to_text(self) -> str:
        """Plain text for a terminal."""
        return "\n".join([self.summary(), *(t.to_text() for t in self.tables)])

    def to_markdown(self) -> str:
        """Markdown: a summary table, then commits undone and checks per table."""
        parts = [
            f"# {render.md_esc(self.summary())}",
            render.md_esc(self._times()),
            render.md_table([t.summary_row() for t in self.tables], _SUMMARY_HEADERS),
            *(t.to_markdown() for t in self.tables),
        ]
        return "\n\n".join(parts) + "\n"

    def to_html(self) -> str:
        """HTML for ``displayHTML`` in a notebook."""
        summary = render.html_table(
            [t.summary_row() for t in self.tables],
            _SUMMARY_HEADERS,
            [render.tone_of(t.ok) for t in self.tables],
        )
        return render.container(
            render.verdict_card(self.summary(), self.ok, self._times()),
            summary,
            *(t.to_html() for t in self.tables),
        )


@dataclass(frozen=True)
class VerifyResult:
    """Whether one table's snapshot is still restorable."""

    table_name: str
    version: int
    mode: str
    restorable: bool
    reason: str
    restorable_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when the snapshot can still be restored."""
        return self.restorable

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["mode"] = str(self.mode)
        data["restorable_until"] = render.iso(self.restorable_until)
        return data

    def row(self) -> list[Any]:
        """The cells of this result's line (table, version, mode, restorable, why, until)."""
        return [
            self.table_name,
            self.version,
            self.mode,
            "yes" if self.restorable else "NO",
            self.reason,
            _when(self.restorable_until),
        ]

    def to_text(self) -> str:
        """One terminal line."""
        return f"{render.text_mark(self.ok)} {self.table_name} v{self.version}: {self.reason}"


_VERIFY_HEADERS = ["table", "version", "mode", "restorable", "why", "restorable until"]


class VerifyReport(list[VerifyResult], Verdict):
    """The verdicts of :meth:`Snapshots.verify` for one label (a list of :class:`VerifyResult`)."""

    error_class: ClassVar[type[DbxOpsError]] = CheckFailedError

    def __init__(self, label: str, results: Iterable[VerifyResult] = ()) -> None:
        super().__init__(results)
        self.label = label

    @property
    def ok(self) -> bool:
        """True when every table of the label is still restorable."""
        return bool(self) and all(r.ok for r in self)

    def failure_message(self) -> str:
        bad = [r for r in self if not r.ok]
        if not bad:
            return f"Snapshot {self.label!r} has no table."
        return (
            f"Snapshot {self.label!r} is not fully restorable: {bad[0].table_name} {bad[0].reason}"
            + (f" (and {len(bad) - 1} more table(s))" if len(bad) > 1 else "")
            + "."
        )

    def summary(self) -> str:
        """One line: the verdict."""
        return f"snapshot {self.label!r}: " + ("restorable" if self.ok else "NOT fully restorable")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"label", "ok", "tables"}``."""
        return {"label": self.label, "ok": self.ok, "tables": [r.to_dict() for r in self]}

    def to_text(self) -> str:
        """A table and the verdict line."""
        return render.text_table([r.row() for r in self], _VERIFY_HEADERS) + "\n" + self.summary()

    def to_markdown(self) -> str:
        """Markdown: the verdict and a table."""
        return f"# {render.md_esc(self.summary())}\n\n" + render.md_table(
            [r.row() for r in self], _VERIFY_HEADERS
        )

    def to_html(self) -> str:
        """HTML: a verdict card and a table."""
        return render.container(
            render.verdict_card(self.summary(), self.ok),
            render.html_table([r.row() for r in self], _VERIFY_HEADERS, [render.tone_of(r.ok) for r in self]),
        )


_RECORD_HEADERS = ["table", "version", "rows", "mode", "copy", "restorable until"]


class SnapshotSet(list["SnapshotRecord"]):
    """The records one :meth:`Snapshots.snapshot` call wrote (a list of :class:`SnapshotRecord`)."""

    def __init__(self, label: str, records: Iterable[SnapshotRecord] = ()) -> None:
        super().__init__(records)
        self.label = label

    def rows(self) -> list[list[Any]]:
        """One display row per record."""
        return [
            [r.table_name, r.version, r.row_count, r.mode, r.clone_target or "", _when(r.restorable_until)]
            for r in self
        ]

    def summary(self) -> str:
        """One line."""
        return f"snapshot {self.label!r} taken ({len(self)} table(s))"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"label", "records"}``."""
        return {"label": self.label, "records": [r.to_dict() for r in self]}

    def to_text(self) -> str:
        """The summary line and a table."""
        return self.summary() + ":\n" + render.text_table(self.rows(), _RECORD_HEADERS)

    def to_markdown(self) -> str:
        """Markdown: the summary and a table."""
        return f"# {render.md_esc(self.summary())}\n\n" + render.md_table(self.rows(), _RECORD_HEADERS)

    def to_html(self) -> str:
        """HTML: the summary and a table."""
        return render.container(
            render.section(self.summary(), render.html_table(self.rows(), _RECORD_HEADERS))
        )


@dataclass(frozen=True)
class LabelSummary:
    """One line of ``snapshot list``."""

    label: str
    tables: int
    modes: str
    created_at: datetime | None
    created_by: str | None
    restorable_until: datetime | None
    status: LabelStatus
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "label": self.label,
            "tables": self.tables,
            "modes": self.modes,
            "created_at": render.iso(self.created_at),
            "created_by": self.created_by,
            "restorable_until": render.iso(self.restorable_until),
            "status": str(self.status),
            "note": self.note,
        }

    def row(self) -> list[Any]:
        """The cells of this label's line."""
        return [
            self.label,
            self.tables,
            self.modes,
            _when(self.created_at, "-"),
            self.created_by or "",
            _when(self.restorable_until),
            self.status,
        ]

    def to_text(self) -> str:
        """One terminal line."""
        return "  ".join(render.fmt(c) for c in self.row())


_LABEL_HEADERS = ["label", "tables", "mode", "created", "by", "restorable until", "status"]


class LabelList(list[LabelSummary]):
    """What :meth:`Snapshots.list_labels` returns: one :class:`LabelSummary` per label, newest first."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"labels": [...]}``."""
        return {"labels": [s.to_dict() for s in self]}

    def to_text(self) -> str:
        """A terminal table."""
        return render.text_table([s.row() for s in self], _LABEL_HEADERS)

    def to_markdown(self) -> str:
        """A Markdown table."""
        return render.md_table([s.row() for s in self], _LABEL_HEADERS)

    def to_html(self) -> str:
        """An HTML table, ended labels muted."""
        tones = [None if s.status.live else render.Tone.MUTED for s in self]
        return render.container(render.html_table([s.row() for s in self], _LABEL_HEADERS, tones))


def label_detail_text(label: str, records: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]) -> str:
    """The terminal rendering of :meth:`Snapshots.show` (records and events as their dicts)."""
    lines = [f"snapshot {label!r}:"]
    for r in records:
        lines.append(
            f"  {r['table_name']}: v{r['version']} committed {r['commit_timestamp']}, mode {r['mode']}"
            + (f", copy {r['clone_target']}" if r["clone_target"] else "")
        )
        lines.append(
            f"    id {r['table_id']}; {r['row_count']} rows, {r['num_files']} files, "
            f"{r['size_in_bytes']} bytes; partitioned by {', '.join(r['partition_columns']) or '-'}"
        )
        lines.append(
            f"    taken {r['created_at']} by {r['created_by'] or '?'}; restorable until "
            f"{r['restorable_until'] or 'dropped'}" + (f"; note: {r['note']}" if r["note"] else "")
        )
    if events:
        lines.append("  history:")
        lines += [f"    {e['at']} {e['event']} {e['table_name']} by {e['by'] or '?'}" for e in events]
    return "\n".join(lines)
