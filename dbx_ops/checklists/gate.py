"""The go/no-go gate: a pure function of a run's state, its template and the time.

Per stage and for the whole run, the gate says go only when:

* every required item passed or was waived (with a reason, by a role allowed to waive);
* no verifier result it relies on is older than the template's ``stale_after``;
* every required role signed go, and nobody's latest decision is no-go;
* no person holds two roles in one stage's (or the run's) sign-off (four eyes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from dbx_ops import render
from dbx_ops.checklists.model import ChainCheck, Decision, Item, ItemState, RunState, Template, iso
from dbx_ops.clock import as_utc
from dbx_ops.errors import DbxOpsError, NoGoError
from dbx_ops.verdict import Check, Verdict, checks_html, checks_markdown

RUN_SCOPE = "run"


@dataclass(frozen=True)
class ScopeGate:
    """The gate of one stage (or of the items and sign-offs outside every stage: ``run``)."""

    scope: str
    title: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """Go for this scope."""
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "scope": self.scope,
            "title": self.title,
            "ok": self.ok,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True)
class GateResult(Verdict):
    """The gate's decision for a run (or one stage) with its reasons.

    Attributes:
        run_id: the run.
        template: template name.
        evaluated_at: the time the gate was evaluated at (for staleness).
        scopes: one :class:`ScopeGate` per stage evaluated, then ``run``.
        chain: whether the run's event chain verifies (None when not checked).
    """

    error_class: ClassVar[type[DbxOpsError]] = NoGoError

    run_id: str
    template: str
    evaluated_at: datetime
    scopes: tuple[ScopeGate, ...]
    chain: ChainCheck | None = None
    stage: str | None = None
    checks_extra: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def checks(self) -> list[Check]:
        """Every check of every scope (scope-prefixed names), then the chain check."""
        out = [
            Check(f"{s.scope}: {c.name}", c.ok, c.expected, c.actual, c.message)
            for s in self.scopes
            for c in s.checks
        ]
        out.extend(self.checks_extra)
        return out

    @property
    def ok(self) -> bool:
        """Go: every check of every scope passed (and the chain verifies when checked)."""
        return all(c.ok for c in self.checks)

    @property
    def decision(self) -> str:
        """``go`` or ``no-go``."""
        return "go" if self.ok else "no-go"

    def reasons(self) -> list[Check]:
        """The failing checks (why it is no-go)."""
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        """One sentence."""
        what = f"stage {self.stage!r} of run {self.run_id!r}" if self.stage else f"run {self.run_id!r}"
        if self.ok:
            return f"Checklist {what} ({self.template}) is go."
        failed = self.reasons()
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        detail = first.message or first.actual
        return f"Checklist {what} ({self.template}) is no-go: {first.name}: {detail}{more}."

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "template": self.template,
            "stage": self.stage,
            "ok": self.ok,
            "decision": self.decision,
            "evaluated_at": iso(self.evaluated_at),
            "scopes": [s.to_dict() for s in self.scopes],
            "reasons": [c.to_dict() for c in self.reasons()],
            "chain": self.chain.to_dict() if self.chain else None,
        }

    def to_text(self) -> str:
        """Terminal lines: the decision, then each failing check."""
        lines = [f"{render.text_mark(self.ok)} {self.summary()}"]
        for scope in self.scopes:
            lines.append(f"  {render.text_mark(scope.ok)} {scope.title}")
            lines.extend(f"      {c.to_text()}" for c in scope.checks if not c.ok)
        for c in self.checks_extra:
            lines.append(f"  {c.to_text()}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Markdown: decision line and the per-scope table."""
        rows = [[render.md_mark(s.ok), s.title, sum(1 for c in s.checks if not c.ok)] for s in self.scopes]
        parts = [
            f"**{self.decision.upper()}**: {render.md_esc(self.summary())}",
            "",
            render.md_table(rows, ["ok", "scope", "failing checks"]),
        ]
        if self.reasons():
            parts += ["", checks_markdown(self.reasons())]
        return "\n".join(parts)

    def to_html(self) -> str:
        """HTML: a verdict card and the failing checks."""
        body = render.verdict_card(f"Gate: {self.decision}", self.ok, self.summary())
        rows = [[render.badge("go" if s.ok else "no-go", render.tone_of(s.ok)), s.title] for s in self.scopes]
        body += render.html_table(rows, ["", "scope"], [render.tone_of(s.ok) for s in self.scopes], [0])
        if self.reasons():
            body += render.section("Reasons", checks_html(self.reasons()), level=4)
        return render.container(body)


def _item_check(item: Item, state: RunState, template: Template, now: datetime) -> Check | None:
    """The check for one required item (None for optional items that are not failing)."""
    status = state.status(item.id)
    name = item.id
    if not item.required and status.state != ItemState.FAIL:
        return None
    who = f" by {status.actor}" if status.actor else ""
    if status.state == ItemState.PASS:
        if status.by_verifier and status.at is not None:
            age = as_utc(now) - as_utc(status.at)
            limit = timedelta(seconds=template.stale_after_seconds)
            if age > limit:
                return Check(
                    name,
                    False,
                    f"verified within {template.stale_after_seconds}s",
                    f"verified {int(age.total_seconds())}s ago",
                    f"{item.verifier} result is stale: re-run the verifiers.",
                )
        return Check(name, True, "pass or waived", "pass", f"passed{who}")
    if status.state == ItemState.WAIVED:
        if not status.reason.strip():
            return Check(
                name, False, "waiver with a reason", "waived without a reason", "A waiver needs a reason."
            )
        role = _find_role(template, status.role)
        if role is None or not role.may_waive:
            return Check(
                name,
                False,
                "waived by a role allowed to waive",
                f"waived as {status.role or 'no role'}",
                f"Role {status.role or '(none)'} may not waive items.",
            )
        return Check(name, True, "pass or waived", "waived", f"waived{who} as {status.role}: {status.reason}")
    if status.state == ItemState.FAIL:
        return Check(
            name,
            False,
            "pass or waived",
            "fail",
            f"failed{who}" + (f": {status.reason}" if status.reason else ""),
        )
    if status.state == ItemState.NA:
        return Check(
            name,
            False,
            "pass or waived",
            "na",
            "Required item marked not applicable: waive it with a reason instead.",
        )
    if status.state == ItemState.NOT_AVAILABLE:
        return Check(
            name, False, "pass or waived", "not available", status.reason or "verifier not available"
        )
    return Check(name, False, "pass or waived", "pending", f"not done yet: {item.text}")


def _find_role(template: Template, name: str | None) -> Any:
    if not name:
        return None
    for role in template.roles.values():
        if role.name.lower() == name.lower():
            return role
    return None


def _signoff_checks(required: tuple[str, ...], state: RunState, stage: str | None) -> list[Check]:
    current = state.current_signoffs(stage)
    checks: list[Check] = []
    by_role_lower = {r.lower(): s for r, s in current.items()}
    for role in required:
        signoff = by_role_lower.get(role.lower())
        if signoff is None:
            checks.append(Check(f"sign-off {role}", False, "go", "not signed", f"{role} has not signed."))
        elif signoff.decision != Decision.GO:
            checks.append(
                Check(
                    f"sign-off {role}",
                    False,
                    "go",
                    str(signoff.decision),
                    f"{signoff.person} signed no-go as {role}"
                    + (f": {signoff.comment}" if signoff.comment else "."),
                )
            )
        else:
            checks.append(Check(f"sign-off {role}", True, "go", "go", f"signed go by {signoff.person}"))
    for role, signoff in current.items():
        if role.lower() not in {r.lower() for r in required} and signoff.decision == Decision.NO_GO:
            checks.append(
                Check(
                    f"sign-off {role}",
                    False,
                    "no no-go",
                    "no-go",
                    f"{signoff.person} signed no-go as {role}.",
                )
            )
    people: dict[str, list[str]] = {}
    for role, signoff in current.items():
        people.setdefault(signoff.person, []).append(role)
    for person, roles in sorted(people.items()):
        if len(roles) > 1:
            checks.append(
                Check(
                    "four eyes",
                    False,
                    "one role per person",
                    f"{person}: {', '.join(sorted(roles))}",
                    f"{person} signed more than one role ({', '.join(sorted(roles))}).",
                )
            )
    return checks


def run_signoff_roles(template: Template, state: RunState) -> tuple[str, ...]:
    """The run-level sign-off roles this run needs.

    A template with ``approval_required`` (seed 002's ``--approval-required``)
    asks for them only when the run's target is marked true there (``prod``);
    a template without it always asks.
    """
    if not template.approval_required:
        return template.signoff
    target = state.run.context.target.strip().lower()
    return template.signoff if template.approval_required.get(target, False) else ()


def evaluate_gate(
    template: Template,
    state: RunState,
    now: datetime,
    stage: str | None = None,
    chain: ChainCheck | None = None,
) -> GateResult:
    """The gate of a run, or of one of its stages.

    Args:
        template: the template the run was started from.
        state: the run's state (:func:`~dbx_ops.checklists.model.fold`).
        now: the evaluation time (verifier staleness is measured against it).
        stage: evaluate only this stage (None: every stage and the run).
        chain: the chain check; when given and broken, the gate is no-go.

    Returns:
        The :class:`GateResult`.
    """
    scopes: list[ScopeGate] = []
    stages = [template.stage(stage)] if stage else list(template.stages)
    for st in stages:
        checks = [
            c for i in template.items_of(st.id) if (c := _item_check(i, state, template, now)) is not None
        ]
        checks += _signoff_checks(st.signoff, state, st.id)
        scopes.append(ScopeGate(st.id, st.title, tuple(checks)))
    if stage is None:
        checks = [
            c for i in template.items_of(None) if (c := _item_check(i, state, template, now)) is not None
        ]
        checks += _signoff_checks(run_signoff_roles(template, state), state, None)
        scopes.append(ScopeGate(RUN_SCOPE, template.title, tuple(checks)))
    extra: tuple[Check, ...] = ()
    if chain is not None:
        extra = (
            Check(
                "event chain",
                chain.ok,
                "verifies",
                "verifies" if chain.ok else "broken",
                "" if chain.ok else chain.problems[0],
            ),
        )
    return GateResult(
        run_id=state.run.run_id,
        template=template.name,
        evaluated_at=as_utc(now),
        scopes=tuple(scopes),
        chain=chain,
        stage=stage,
        checks_extra=extra,
    )
