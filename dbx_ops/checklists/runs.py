"""A checklist run: start or open it, record ticks, evidence, waivers and sign-offs, run verifiers, gate.

:class:`ChecklistRun` is what the widget, the job task, the notebooks and
the CLI all use. Every action first checks who may do it (a refusal is a
:class:`~dbx_ops.errors.ChecklistRefusedError` and records nothing), then
appends exactly one event per changed item; the state is always re-read from
the store (:meth:`ChecklistRun.state`), never kept in memory.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dbx_ops import __version__
from dbx_ops.checklists.gate import GateResult, evaluate_gate
from dbx_ops.checklists.identity import Actor
from dbx_ops.checklists.model import (
    ChainCheck,
    Decision,
    Event,
    EventKind,
    Evidence,
    ItemState,
    RunContext,
    RunState,
    Template,
    fold,
    verify_chain,
)
from dbx_ops.checklists.store import EventStore
from dbx_ops.checklists.templates import TemplateLibrary
from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import ChecklistRefusedError, InvalidInputError, NotFoundError
from dbx_ops.progress import NullProgress, Progress
from dbx_ops.verdict import Check

logger = logging.getLogger(__name__)


#: The longest run id accepted (a generated one is ``<template>-<date>-<6 hex>``).
MAX_RUN_ID = 128


def validate_run_id(run_id: str) -> str:
    """``run_id`` when it can name a run: 1 to 128 printable characters, no surrounding blanks.

    Run ids come from users (``--run``, a notebook widget) and end up in every report, log
    line and the event table, so a line break or control character would forge output.

    Raises:
        InvalidInputError: saying what is wrong with it.
    """
    import unicodedata

    if not isinstance(run_id, str) or not run_id.strip():
        raise InvalidInputError("A checklist run id must not be empty.")
    if len(run_id) > MAX_RUN_ID:
        raise InvalidInputError(f"A checklist run id has at most {MAX_RUN_ID} characters, not {len(run_id)}.")
    if run_id != run_id.strip():
        raise InvalidInputError(f"Checklist run id {run_id!r} starts or ends with blanks; remove them.")
    bad = next((c for c in run_id if unicodedata.category(c)[0] in "CZ" and c != " "), None)
    if bad is not None:
        raise InvalidInputError(
            f"Checklist run id {run_id!r} holds the control or separator character {bad!r}; "
            "use letters, digits and punctuation."
        )
    return run_id


def new_run_id(template: str, now: Clock = utc_now) -> str:
    """A readable unique run id: ``<template>-<UTC date>-<6 hex>``."""
    return f"{template}-{now().strftime('%Y%m%d')}-{uuid.uuid4().hex[:6]}"


def _evidence(values: Iterable[Evidence | str] | Evidence | str | None) -> tuple[Evidence, ...]:
    if values is None:
        return ()
    if isinstance(values, Evidence | str):
        values = [values]
    return tuple(v if isinstance(v, Evidence) else Evidence.parse(v) for v in values if v)


class ChecklistRun:
    """One run of a template, backed by an event store.

    Args:
        template: the template the run follows.
        run_id: the run's id.
        events: the event store (Delta in production, memory in tests).
        actor: who is acting (name + group provider).
        now: the clock.
        job_run_id: the Databricks job run id when running inside a job.
    """

    def __init__(
        self,
        template: Template,
        run_id: str,
        events: EventStore,
        actor: Actor,
        now: Clock = utc_now,
        job_run_id: str | None = None,
    ) -> None:
        self.template = template
        self.run_id = run_id
        self.events = events
        self.actor = actor
        self.now = now
        self.job_run_id = job_run_id

    # ---- starting and opening -------------------------------------------------------------
    @classmethod
    def start(
        cls,
        template: Template,
        events: EventStore,
        actor: Actor,
        context: RunContext | Mapping[str, Any] | None = None,
        run_id: str | None = None,
        now: Clock = utc_now,
        job_run_id: str | None = None,
    ) -> ChecklistRun:
        """Start a new run (one ``start`` event); refused when ``run_id`` already exists."""
        rid = validate_run_id(run_id) if run_id is not None else new_run_id(template.name, now)
        if events.events(rid):
            raise ChecklistRefusedError(
                f"Checklist run {rid!r} already exists: open it instead of starting it."
            )
        ctx = context if isinstance(context, RunContext) else RunContext.from_dict(context)
        run = cls(template, rid, events, actor, now, job_run_id)
        run._append(EventKind.START, context=ctx.to_dict())
        return run

    @classmethod
    def open(
        cls,
        run_id: str,
        events: EventStore,
        actor: Actor,
        library: TemplateLibrary | None = None,
        now: Clock = utc_now,
        job_run_id: str | None = None,
    ) -> ChecklistRun:
        """Open an existing run; its template is looked up by the name the start event recorded."""
        return cls.open_state(run_id, events, actor, library, now, job_run_id)[0]

    @classmethod
    def open_state(
        cls,
        run_id: str,
        events: EventStore,
        actor: Actor,
        library: TemplateLibrary | None = None,
        now: Clock = utc_now,
        job_run_id: str | None = None,
    ) -> tuple[ChecklistRun, RunState]:
        """Open an existing run and return its state as that one read of the store found it.

        For a caller that acts on the state straight away (a gate, a status, a report): the
        store is read once, not once to open and again to decide.
        """
        recorded = events.events(validate_run_id(run_id))
        if not recorded:
            raise NotFoundError(
                f"No checklist run {run_id!r}: start one with `dbx-ops checklist start TEMPLATE`."
            )
        state = fold(recorded)
        template = (library or TemplateLibrary()).get(state.run.template)
        return cls(template, run_id, events, actor, now, job_run_id), state

    @classmethod
    def open_or_start(
        cls,
        template: Template,
        run_id: str,
        events: EventStore,
        actor: Actor,
        context: RunContext | Mapping[str, Any] | None = None,
        now: Clock = utc_now,
        job_run_id: str | None = None,
    ) -> ChecklistRun:
        """Open ``run_id`` when it exists (it must follow ``template``), else start it."""
        recorded = events.events(validate_run_id(run_id))
        if not recorded:
            return cls.start(template, events, actor, context, run_id, now, job_run_id)
        state = fold(recorded)
        if state.run.template != template.name:
            raise ChecklistRefusedError(
                f"Run {run_id!r} follows template {state.run.template!r}, not {template.name!r}."
            )
        return cls(template, run_id, events, actor, now, job_run_id)

    # ---- reading ----------------------------------------------------------------------
    def recorded(self) -> list[Event]:
        """The run's events in chain order."""
        return self.events.events(self.run_id)

    def state(self) -> RunState:
        """The run's state: the fold of its stored events."""
        return fold(self.recorded())

    def chain(self) -> ChainCheck:
        """Whether the run's event chain verifies."""
        return verify_chain(self.recorded())

    def gate(self, stage: str | None = None, state: RunState | None = None) -> GateResult:
        """The gate now (one stage, or every stage and the run); includes the chain and template checks."""
        recorded = list(state.events) if state is not None else self.recorded()
        st = state or fold(recorded)
        result = evaluate_gate(self.template, st, self.now(), stage=stage, chain=verify_chain(recorded))
        if st.run.template_hash and st.run.template_hash != self.template.content_hash:
            extra = Check(
                "template unchanged",
                False,
                st.run.template_hash[:12],
                self.template.content_hash[:12],
                f"Template {self.template.name!r} changed since the run started: start a new run.",
            )
            from dataclasses import replace

            result = replace(result, checks_extra=(*result.checks_extra, extra))
        return result

    # ---- who may do what ----------------------------------------------------------------
    def _require_role(self, role_name: str, doing: str) -> str:
        try:
            role = self.template.role(role_name)
        except InvalidInputError as exc:
            raise ChecklistRefusedError(str(exc)) from None
        if role.group:
            groups = self.actor.group_names()
            if groups is None:
                raise ChecklistRefusedError(
                    f"{self.actor.name} cannot {doing} as {role.name}: membership of group {role.group!r} "
                    "cannot be checked without a workspace connection."
                )
            if role.group not in groups:
                raise ChecklistRefusedError(
                    f"{self.actor.name} cannot {doing} as {role.name}: not a member of group {role.group!r}."
                )
        return role.name

    # ---- recording ----------------------------------------------------------------------
    def _append(self, kind: EventKind, prior: Sequence[Event] | None = None, **fields: Any) -> Event:
        """Store one event; ``prior``: the run's events the caller just read (they give the chain tip)."""
        event = Event(
            event_id=uuid.uuid4().hex,
            run_id=self.run_id,
            kind=kind,
            at=self.now(),
            actor=self.actor.name,
            template=self.template.name,
            template_version=self.template.version,
            template_hash=self.template.content_hash,
            job_run_id=self.job_run_id,
            dbx_ops_version=__version__,
            **fields,
        )
        append_after = getattr(self.events, "append_after", None)
        if prior is not None and append_after is not None:
            return append_after(event, prior)
        return self.events.append(event)

    def set_item(
        self,
        item_id: str,
        state: ItemState | str,
        evidence: Iterable[Evidence | str] | Evidence | str | None = None,
        reason: str = "",
        role: str | None = None,
    ) -> Event:
        """Set an item's state (pass / fail / na / pending / waived) with optional evidence.

        Args:
            item_id: the item.
            state: the new state (``waived`` needs ``reason`` and a ``role`` that may waive).
            evidence: evidence values (``Evidence`` or ``kind:value`` text).
            reason: why (required for a waiver).
            role: the role the actor acts as (membership is checked when the role is group-bound).

        Returns:
            The stored event.
        """
        item = self.template.item(item_id)
        target = state if isinstance(state, ItemState) else ItemState.parse(state)
        if target == ItemState.WAIVED:
            return self.waive(item_id, reason, role or "", evidence)
        if target == ItemState.NOT_AVAILABLE:
            raise ChecklistRefusedError("Only a verifier can mark an item not available.")
        acting = self._require_role(role, "tick items") if role else None
        current = self.state()  # a run that does not exist is refused before anything is written
        return self._append(
            EventKind.ITEM,
            current.events,
            item=item.id,
            state=target,
            evidence=_evidence(evidence),
            reason=reason,
            role=acting,
        )

    def add_evidence(self, item_id: str, evidence: Iterable[Evidence | str] | Evidence | str) -> Event:
        """Attach evidence to an item without changing its state."""
        item = self.template.item(item_id)
        values = _evidence(evidence)
        if not values:
            raise ChecklistRefusedError("Evidence is empty: give a text, link, table, run id or file.")
        return self._append(EventKind.EVIDENCE, item=item.id, evidence=values)

    def waive(
        self,
        item_id: str,
        reason: str,
        role: str,
        evidence: Iterable[Evidence | str] | Evidence | str | None = None,
    ) -> Event:
        """Waive an item: needs a reason and a role allowed to waive (and its group, when bound)."""
        item = self.template.item(item_id)
        if not reason.strip():
            raise ChecklistRefusedError(f"Waiving {item.id!r} needs a reason.")
        if not role:
            raise ChecklistRefusedError(f"Waiving {item.id!r} needs a role allowed to waive (--as ROLE).")
        acting = self._require_role(role, "waive items")
        if not self.template.role(acting).may_waive:
            raise ChecklistRefusedError(f"Role {acting} may not waive items.")
        return self._append(
            EventKind.ITEM,
            item=item.id,
            state=ItemState.WAIVED,
            reason=reason,
            role=acting,
            evidence=_evidence(evidence),
        )

    def sign(
        self,
        role: str,
        decision: Decision | str,
        stage: str | None = None,
        comment: str = "",
    ) -> Event:
        """Sign off as ``role`` (for one stage, or the run) with go or no-go.

        Refused when the actor is not in the role's group, or already signed
        another role of the same stage (four eyes).
        """
        verdict = decision if isinstance(decision, Decision) else Decision.parse(decision)
        if stage is not None:
            self.template.stage(stage)
        acting = self._require_role(role, "sign")
        state = self.state()
        current = state.current_signoffs(stage)
        for other_role, signoff in current.items():
            if signoff.person == self.actor.name and other_role != acting:
                where = f"stage {stage!r}" if stage else "this run"
                raise ChecklistRefusedError(
                    f"{self.actor.name} already signed {where} as {other_role}: "
                    f"four eyes needs another person for {acting}."
                )
        return self._append(
            EventKind.SIGNOFF, state.events, role=acting, decision=verdict, stage=stage, comment=comment
        )

    def verify(
        self,
        context: Any = None,
        items: Sequence[str] | None = None,
        progress: Progress | None = None,
    ) -> list[Event]:
        """Run the verifiers of the template's items (or of ``items``) and record their results.

        Args:
            context: a :class:`~dbx_ops.checklists.verifiers.VerifierContext` (spark, workspace,
                store, repository root…); missing prerequisites make results "not available".
            items: item ids to verify (default: every item that has a verifier).
            progress: progress reporter.

        Returns:
            The stored ``verify`` events, one per verified item.
        """
        from dbx_ops.checklists.verifiers import VerifierContext, run_verifier

        ctx = context if context is not None else VerifierContext()
        state = self.state()
        run_context = state.run.context
        seen = list(state.events)  # each result chains to the one before: no read per verifier
        targets = [i for i in self.template.items if i.verifier and (items is None or i.id in items)]
        out: list[Event] = []
        reporter = progress or NullProgress()
        with reporter.task("verifying checklist items", total=len(targets)):
            for item in targets:
                result = run_verifier(item, run_context, ctx)
                out.append(
                    self._append(
                        EventKind.VERIFY,
                        seen,
                        item=item.id,
                        state=result.state,
                        evidence=result.evidence,
                        reason=result.reason,
                        comment=str(item.verifier),
                    )
                )
                seen.append(out[-1])
                reporter.advance(item.id, result.state == ItemState.PASS, result.reason)
        return out

    # ---- rendering ------------------------------------------------------------------------
    def to_html(self, state: RunState | None = None) -> str:
        """Read-only HTML of the run (for ``displayHTML``); ``state``: one just read, else read now."""
        from dbx_ops.checklists.report import run_html

        state = state or self.state()
        return run_html(self.template, state, self.gate(state=state))

    def report(self, state: RunState | None = None) -> Any:
        """The audit record (an ``AuditReport``); ``state``: one just read, else read now."""
        from dbx_ops.checklists.report import AuditReport

        state = state or self.state()
        gate = self.gate(state=state)
        return AuditReport(self.template, state, gate, gate.chain or verify_chain(state.events))
