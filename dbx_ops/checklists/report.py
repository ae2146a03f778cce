"""Rendering a run: read-only HTML, the audit record (HTML / Markdown / text), messages from run facts."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dbx_ops import render
from dbx_ops.checklists.gate import GateResult
from dbx_ops.checklists.model import ChainCheck, Event, EventKind, ItemState, RunState, Template, iso
from dbx_ops.verdict import Verdict, checks_html, checks_markdown

_STATE_TONE = {
    ItemState.PASS: render.Tone.OK,
    ItemState.WAIVED: render.Tone.WARN,
    ItemState.NA: render.Tone.MUTED,
    ItemState.FAIL: render.Tone.FAIL,
    ItemState.NOT_AVAILABLE: render.Tone.WARN,
    ItemState.PENDING: render.Tone.MUTED,
}


def state_tone(state: ItemState) -> render.Tone:
    """The display tone of an item state."""
    return _STATE_TONE[state]


class _Facts(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def run_facts(state: RunState, gate: GateResult | None = None) -> dict[str, str]:
    """Facts of a run for messages: context, ids, who started it, gate decision, item counts."""
    facts = state.run.context.facts()
    done = sum(1 for s in state.items.values() if s.state == ItemState.PASS)
    facts.update(
        {
            "run_id": state.run.run_id,
            "template": state.run.template,
            "started_by": state.run.started_by,
            "started_at": iso(state.run.started_at) if state.run.started_at else "",
            "owner": state.run.context.extra.get("owner", state.run.started_by),
            "items_passed": str(done),
            "decision": gate.decision if gate else "",
        }
    )
    return facts


def render_message(template: Template, name: str, state: RunState, gate: GateResult | None = None) -> str:
    """A named message of the template filled from the run's facts; unknown facts stay ``<name>``."""
    text = template.messages.get(name)
    if text is None:
        from dbx_ops.errors import NotFoundError

        raise NotFoundError(f"Template {template.name!r} has no message {name!r}.")
    facts = _Facts(run_facts(state, gate))
    return string.Formatter().vformat(text, (), facts).strip()


def _evidence_text(evidence: Any) -> str:
    return "; ".join(f"{e.kind}: {e.value}" for e in evidence)


def item_rows(template: Template, state: RunState) -> list[list[Any]]:
    """Rows (state badge, phase, item, text, by, at, evidence) for every item."""
    rows = []
    for item in template.items:
        st = state.status(item.id)
        rows.append(
            [
                render.badge(str(st.state), state_tone(st.state)),
                item.phase,
                item.id,
                item.text + ("" if item.required else " (optional)"),
                (st.actor + (" (verifier)" if st.by_verifier else "")) if st.actor else "",
                iso(st.at) if st.at else "",
                _evidence_text(st.evidence) + (f" — {st.reason}" if st.reason else ""),
            ]
        )
    return rows


ITEM_HEADERS = ["state", "phase", "item", "text", "by", "at", "evidence / reason"]


def run_html(template: Template, state: RunState, gate: GateResult) -> str:
    """Read-only HTML of a run: gate banner, items, sign-offs (for ``displayHTML``)."""
    ctx = state.run.context
    facts = ", ".join(f"{k}={v}" for k, v in ctx.facts().items() if v and k != "commit")
    parts = [
        gate.to_html(),
        render.paragraph(f"{template.title} · run {state.run.run_id} · {facts}"),
        render.html_table(item_rows(template, state), ITEM_HEADERS, None, [0]),
    ]
    if state.signoffs:
        parts.append(render.section("Sign-offs", signoff_table_html(state), level=4))
    return render.container(*parts)


def signoff_table_html(state: RunState) -> str:
    """Sign-offs as an HTML table."""
    rows = [
        [
            s.stage or "run",
            s.role,
            s.person,
            render.badge(str(s.decision), render.tone_of(str(s.decision) == "go")),
            iso(s.at),
            s.comment,
        ]
        for s in state.signoffs
    ]
    return render.html_table(rows, ["scope", "role", "person", "decision", "at", "comment"], None, [3])


def _event_summary(event: Event) -> str:
    if event.kind == EventKind.START:
        return "started the run"
    if event.kind == EventKind.SIGNOFF:
        scope = f" for stage {event.stage}" if event.stage else ""
        return f"signed {event.decision} as {event.role}{scope}" + (
            f": {event.comment}" if event.comment else ""
        )
    if event.kind == EventKind.EVIDENCE:
        return f"added evidence to {event.item}"
    who = f" (verifier {event.comment})" if event.kind == EventKind.VERIFY else ""
    role = f" as {event.role}" if event.role else ""
    why = f": {event.reason}" if event.reason else ""
    return f"set {event.item} to {event.state}{role}{who}{why}"


@dataclass(frozen=True)
class AuditReport(Verdict):
    """The audit record of a run: who did what when, evidence, sign-offs, gate reasons, chain check."""

    template: Template
    state: RunState
    gate: GateResult
    chain: ChainCheck

    error_class = GateResult.error_class

    @property
    def ok(self) -> bool:
        """The gate is go and the chain verifies."""
        return self.gate.ok and self.chain.ok

    def summary(self) -> str:
        """One sentence."""
        chain = "verifies" if self.chain.ok else "is BROKEN"
        return f"{self.gate.summary()} Event chain of {self.chain.events} events {chain}."

    def event_rows(self) -> list[list[Any]]:
        """One row per event: time, actor, role, what, evidence, job run, hash."""
        return [
            [
                iso(e.at),
                e.actor,
                e.role or "",
                _event_summary(e),
                _evidence_text(e.evidence),
                e.job_run_id or "",
                e.hash[:12],
            ]
            for e in self.state.events
        ]

    EVENT_HEADERS = ("at", "actor", "role", "what", "evidence", "job run", "hash")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.state.run.run_id,
            "template": {
                "name": self.template.name,
                "version": self.template.version,
                "hash": self.template.content_hash,
            },
            "context": self.state.run.context.to_dict(),
            "gate": self.gate.to_dict(),
            "chain": self.chain.to_dict(),
            "signoffs": [s.to_dict() for s in self.state.signoffs],
            "events": [e.to_dict() for e in self.state.events],
            "ok": self.ok,
        }

    def to_text(self) -> str:
        """Terminal text."""
        return "\n".join(
            [
                self.gate.to_text(),
                self.chain_text(),
                render.text_table(self.event_rows(), list(self.EVENT_HEADERS)),
            ]
        )

    def chain_text(self) -> str:
        """The chain verdict in one line (and its problems)."""
        mark = render.text_mark(self.chain.ok)
        head = f"{mark} event chain: {self.chain.events} events, head {self.chain.head[:16]}"
        return "\n".join([head, *(f"    {p}" for p in self.chain.problems)])

    def _outlines(self) -> Mapping[str, tuple[str, ...]]:
        return self.template.outlines

    def to_markdown(self) -> str:
        """The audit record as Markdown."""
        ctx = self.state.run.context
        run = self.state.run
        started = iso(run.started_at) if run.started_at else "-"
        lines = [
            f"# Checklist audit: {render.md_esc(self.template.title)}",
            "",
            f"- run: `{self.state.run.run_id}`",
            f"- template: {self.template.name} v{self.template.version} (`{run.template_hash[:16]}`)",
            f"- target: {render.md_esc(ctx.target)} · change: {render.md_esc(ctx.change)}",
            f"- started by {render.md_esc(run.started_by)} at {started}",
            "",
            "## Gate",
            "",
            self.gate.to_markdown(),
            "",
            "## Event chain",
            "",
            f"{render.md_mark(self.chain.ok)} {self.chain.events} events, head `{self.chain.head}`"
            + ("" if self.chain.ok else ": " + "; ".join(render.md_esc(p) for p in self.chain.problems)),
            "",
            "## Items",
            "",
            render.md_table(
                [[_strip_badge(r[0]), *r[1:]] for r in item_rows(self.template, self.state)], ITEM_HEADERS
            ),
            "",
            "## Sign-offs",
            "",
            render.md_table(
                [
                    [s.stage or "run", s.role, s.person, str(s.decision), iso(s.at), s.comment]
                    for s in self.state.signoffs
                ],
                ["scope", "role", "person", "decision", "at", "comment"],
            ),
            "",
            "## Events",
            "",
            render.md_table(self.event_rows(), list(self.EVENT_HEADERS)),
        ]
        for name in self.template.messages:
            lines += [
                "",
                f"## Message: {name}",
                "",
                "> " + render_message(self.template, name, self.state, self.gate),
            ]
        for name, headings in self._outlines().items():
            lines += ["", f"## Outline: {name}", ""] + [f"- {render.md_esc(h)}" for h in headings]
        if self.gate.reasons():
            lines += ["", "## Gate reasons", "", checks_markdown(self.gate.reasons())]
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """The audit record as HTML."""
        parts = [
            render.verdict_card(f"Checklist audit: {self.template.title}", self.ok, self.summary()),
            render.section("Gate", self.gate.to_html()),
            render.section(
                "Event chain",
                render.paragraph(
                    f"{self.chain.events} events, head {self.chain.head} — "
                    + ("verifies" if self.chain.ok else "BROKEN: " + "; ".join(self.chain.problems))
                ),
            ),
            render.section(
                "Items", render.html_table(item_rows(self.template, self.state), ITEM_HEADERS, None, [0])
            ),
            render.section("Sign-offs", signoff_table_html(self.state)),
            render.section("Events", render.html_table(self.event_rows(), list(self.EVENT_HEADERS))),
        ]
        for name in self.template.messages:
            parts.append(
                render.section(
                    f"Message: {name}",
                    render.paragraph(render_message(self.template, name, self.state, self.gate)),
                )
            )
        for name, headings in self._outlines().items():
            parts.append(render.section(f"Outline: {name}", render.html_list(headings)))
        if self.gate.reasons():
            parts.append(render.section("Gate reasons", checks_html(self.gate.reasons())))
        return render.container(*parts)


def _strip_badge(html: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", html)
