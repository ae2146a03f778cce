"""The checklist model: templates, items, events, the run state as a fold of events.

Pure Python: no Spark, no network, no widgets. A run's state is never stored;
it is computed by :func:`fold` from the run's append-only events, and the gate
(:mod:`dbx_ops.checklists.gate`) is a pure function of that state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from dbx_ops.clock import as_utc


class ItemState(StrEnum):
    """The state of one checklist item."""

    PENDING = "pending"
    PASS = "pass"
    FAIL = "fail"
    NA = "na"
    WAIVED = "waived"
    #: a verifier could not run (missing prerequisite); never counts as a pass
    NOT_AVAILABLE = "not_available"

    @classmethod
    def parse(cls, text: str) -> ItemState:
        """``pass``/``fail``/``na``/``waive(d)``/``pending`` (case-insensitive) as a state."""
        value = text.strip().lower().replace("-", "_").replace(" ", "_")
        aliases = {"waive": "waived", "n/a": "na", "not_applicable": "na", "ok": "pass"}
        value = aliases.get(value, value)
        try:
            return cls(value)
        except ValueError:
            from dbx_ops.errors import InvalidInputError

            raise InvalidInputError(
                f"Unknown item state {text!r}: use pass, fail, na, waive or pending."
            ) from None


class Decision(StrEnum):
    """A sign-off decision."""

    GO = "go"
    NO_GO = "no-go"

    @classmethod
    def parse(cls, text: str) -> Decision:
        """``go`` or ``no-go`` (also ``nogo``/``no_go``) as a decision."""
        value = text.strip().lower().replace("_", "-")
        if value == "nogo":
            value = "no-go"
        try:
            return cls(value)
        except ValueError:
            from dbx_ops.errors import InvalidInputError

            raise InvalidInputError(f"Unknown decision {text!r}: use go or no-go.") from None


class EvidenceKind(StrEnum):
    """What a piece of evidence is."""

    TEXT = "text"
    LINK = "link"
    TABLE = "table"
    RUN_ID = "run_id"
    FILE = "file"


class EventKind(StrEnum):
    """What an event records."""

    START = "start"
    ITEM = "item"  # a person set an item's state
    VERIFY = "verify"  # a verifier set an item's state
    EVIDENCE = "evidence"  # evidence attached without a state change
    SIGNOFF = "signoff"


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: ``kind`` and ``value`` (text, URL, table name, run id, path)."""

    kind: EvidenceKind
    value: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"kind": str(self.kind), "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """From :meth:`to_dict` output."""
        return cls(EvidenceKind(str(data.get("kind", "text"))), str(data.get("value", "")))

    @classmethod
    def parse(cls, text: str) -> Evidence:
        """``kind:value`` (``link:https://…``, ``table:sales.orders``, ``run_id:123``) or plain text."""
        head, sep, rest = text.partition(":")
        if sep and head in {k.value for k in EvidenceKind} and not rest.startswith("//"):
            return cls(EvidenceKind(head), rest)
        if text.startswith(("http://", "https://")):
            return cls(EvidenceKind.LINK, text)
        return cls(EvidenceKind.TEXT, text)


@dataclass(frozen=True)
class Role:
    """A sign-off role.

    Attributes:
        name: display name (``Tech Lead``).
        group: workspace group whose members may sign as this role (None: anyone).
        may_waive: whether this role may waive required items.
    """

    name: str
    group: str | None = None
    may_waive: bool = False


@dataclass(frozen=True)
class Item:
    """One checklist item.

    Attributes:
        id: stable id, unique in the template (``security.service_principal``).
        text: what to check, as the seed wrote it.
        phase: the phase or section it belongs to.
        stage: the gated stage it belongs to (None: the whole run).
        required: whether the gate needs it passed or waived.
        owner: the role that owns it (None: anyone).
        verifier: registered verifier name that can decide it (None: a person decides).
        params: the verifier's parameters (may reference run context as ``{tables}``…).
        help: longer guidance.
    """

    id: str
    text: str
    phase: str = ""
    stage: str | None = None
    required: bool = True
    owner: str | None = None
    verifier: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    help: str = ""


@dataclass(frozen=True)
class Stage:
    """A gated stage: its items must be done and its roles must sign go before it proceeds.

    Attributes:
        id: stable id (``dev``).
        title: display title.
        criteria: the go/no-go criteria as the seed wrote them.
        signoff: roles that must sign go for this stage.
    """

    id: str
    title: str
    criteria: tuple[str, ...] = ()
    signoff: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    """A checklist template.

    Attributes:
        name: ``prod-deploy``.
        version: the template's own version string.
        title: display title.
        description: one paragraph.
        items: every item, in order.
        stages: gated stages (may be empty).
        roles: roles, by name.
        signoff: roles that must sign go for the whole run.
        stale_after_seconds: a verifier result older than this is stale (gate says re-run).
        messages: named message templates rendered from run facts (``communication``).
        outlines: named outlines (``rca``): lists of headings.
        source: where it was loaded from (package or path).
        content_hash: sha256 of the template's canonical content.
    """

    name: str
    version: str
    title: str
    description: str = ""
    items: tuple[Item, ...] = ()
    stages: tuple[Stage, ...] = ()
    roles: Mapping[str, Role] = field(default_factory=dict)
    signoff: tuple[str, ...] = ()
    stale_after_seconds: int = 24 * 3600
    messages: Mapping[str, str] = field(default_factory=dict)
    outlines: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    approval_required: Mapping[str, bool] = field(default_factory=dict)
    source: str = ""
    content_hash: str = ""

    def item(self, item_id: str) -> Item:
        """The item with this id; :class:`~dbx_ops.errors.NotFoundError` otherwise."""
        for item in self.items:
            if item.id == item_id:
                return item
        from dbx_ops.errors import NotFoundError

        raise NotFoundError(
            f"Template {self.name!r} has no item {item_id!r}: see `dbx-ops checklist show {self.name}`."
        )

    def stage(self, stage_id: str) -> Stage:
        """The stage with this id; :class:`~dbx_ops.errors.NotFoundError` otherwise."""
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        from dbx_ops.errors import NotFoundError

        known = ", ".join(s.id for s in self.stages) or "none"
        raise NotFoundError(f"Template {self.name!r} has no stage {stage_id!r} (stages: {known}).")

    def role(self, name: str) -> Role:
        """The role with this name (case-insensitive); ``InvalidInputError`` otherwise."""
        for role in self.roles.values():
            if role.name.lower() == name.strip().lower():
                return role
        from dbx_ops.errors import InvalidInputError

        known = ", ".join(self.roles) or "none"
        raise InvalidInputError(f"Template {self.name!r} has no role {name!r} (roles: {known}).")

    def phases(self) -> list[str]:
        """Phase names in item order."""
        seen: dict[str, None] = {}
        for item in self.items:
            seen.setdefault(item.phase, None)
        return list(seen)

    def items_of(self, stage: str | None) -> list[Item]:
        """Items of one stage (None: items outside every stage)."""
        return [i for i in self.items if i.stage == stage]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "hash": self.content_hash,
            "source": self.source,
            "items": [
                {
                    "id": i.id,
                    "text": i.text,
                    "phase": i.phase,
                    "stage": i.stage,
                    "required": i.required,
                    "owner": i.owner,
                    "verifier": i.verifier,
                    "params": dict(i.params),
                }
                for i in self.items
            ],
            "stages": [
                {"id": s.id, "title": s.title, "criteria": list(s.criteria), "signoff": list(s.signoff)}
                for s in self.stages
            ],
            "roles": {n: {"group": r.group, "may_waive": r.may_waive} for n, r in self.roles.items()},
            "signoff": list(self.signoff),
        }


@dataclass(frozen=True)
class RunContext:
    """The facts a run is about: target, change id or commit, tables, jobs, anything else."""

    target: str = ""
    change: str = ""
    tables: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "target": self.target,
            "change": self.change,
            "tables": list(self.tables),
            "jobs": list(self.jobs),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RunContext:
        """From :meth:`to_dict` output, or from ``k=v`` pairs (tables/jobs comma-separated)."""
        data = dict(data or {})
        known = {"target", "change", "tables", "jobs", "extra", "commit"}

        def _list(value: Any) -> tuple[str, ...]:
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(str(v) for v in value or ())

        extra = {str(k): str(v) for k, v in dict(data.get("extra") or {}).items()}
        extra.update({str(k): str(v) for k, v in data.items() if k not in known})
        return cls(
            target=str(data.get("target", "")),
            change=str(data.get("change") or data.get("commit") or ""),
            tables=_list(data.get("tables")),
            jobs=_list(data.get("jobs")),
            extra=extra,
        )

    def facts(self) -> dict[str, str]:
        """Flat ``name -> text`` facts for message rendering and verifier parameters."""
        out = {k: v for k, v in self.extra.items()}
        out.update(
            {
                "target": self.target,
                "change": self.change,
                "commit": self.change,
                "tables": ", ".join(self.tables),
                "jobs": ", ".join(self.jobs),
            }
        )
        return out


def iso(at: datetime) -> str:
    """The canonical event time text: UTC, microseconds, ``Z`` (sorts as text)."""
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """Inverse of :func:`iso`."""
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


@dataclass(frozen=True)
class Event:
    """One append-only event of a run.

    ``prev_hash`` holds the hash of the run's previous event as the writer saw
    it (the chain's heads, comma-separated, when two writers raced); ``hash``
    is the sha256 of every other field, so an edited event no longer matches
    and a removed one leaves a dangling reference.
    """

    event_id: str
    run_id: str
    kind: EventKind
    at: datetime
    actor: str
    template: str = ""
    template_version: str = ""
    template_hash: str = ""
    item: str | None = None
    state: ItemState | None = None
    stage: str | None = None
    role: str | None = None
    decision: Decision | None = None
    evidence: tuple[Evidence, ...] = ()
    reason: str = ""
    comment: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    job_run_id: str | None = None
    dbx_ops_version: str = ""
    prev_hash: str = ""
    hash: str = ""

    def payload(self) -> dict[str, Any]:
        """The canonical content the hash covers (every field but ``hash``)."""
        return {
            "event_id": self.event_id,
            "run_id": self.run_id,
            "kind": str(self.kind),
            "at": iso(self.at),
            "actor": self.actor,
            "template": self.template,
            "template_version": self.template_version,
            "template_hash": self.template_hash,
            "item": self.item,
            "state": str(self.state) if self.state is not None else None,
            "stage": self.stage,
            "role": self.role,
            "decision": str(self.decision) if self.decision is not None else None,
            "evidence": [e.to_dict() for e in self.evidence],
            "reason": self.reason,
            "comment": self.comment,
            "context": dict(self.context),
            "job_run_id": self.job_run_id,
            "dbx_ops_version": self.dbx_ops_version,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        """sha256 of :meth:`payload` as canonical JSON."""
        text = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def sealed(self, prev_hash: str) -> Event:
        """This event chained to ``prev_hash``, with its own hash set."""
        chained = replace(self, prev_hash=prev_hash, hash="")
        return replace(chained, hash=chained.compute_hash())

    def order_key(self) -> tuple[datetime, str]:
        """The defined chain order: (time, event id).

        The time is compared as a UTC datetime, which orders exactly as its :func:`iso` text
        (fixed width, microseconds) without formatting every event on every sort.
        """
        return (as_utc(self.at), self.event_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (includes ``hash``)."""
        return {**self.payload(), "hash": self.hash}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """From :meth:`to_dict` output (or a store row with JSON text columns)."""
        evidence = data.get("evidence") or []
        if isinstance(evidence, str):
            evidence = json.loads(evidence or "[]")
        context = data.get("context") or {}
        if isinstance(context, str):
            context = json.loads(context or "{}")
        at = data["at"]
        return cls(
            event_id=str(data["event_id"]),
            run_id=str(data["run_id"]),
            kind=EventKind(str(data["kind"])),
            at=parse_iso(at) if isinstance(at, str) else as_utc(at),
            actor=str(data.get("actor") or ""),
            template=str(data.get("template") or ""),
            template_version=str(data.get("template_version") or ""),
            template_hash=str(data.get("template_hash") or ""),
            item=data.get("item"),
            state=ItemState(data["state"]) if data.get("state") else None,
            stage=data.get("stage"),
            role=data.get("role"),
            decision=Decision(data["decision"]) if data.get("decision") else None,
            evidence=tuple(Evidence.from_dict(e) for e in evidence),
            reason=str(data.get("reason") or ""),
            comment=str(data.get("comment") or ""),
            context=dict(context),
            job_run_id=data.get("job_run_id"),
            dbx_ops_version=str(data.get("dbx_ops_version") or ""),
            prev_hash=str(data.get("prev_hash") or ""),
            hash=str(data.get("hash") or ""),
        )


def ordered(events: Iterable[Event]) -> list[Event]:
    """Events in the defined chain order (time, event id)."""
    return sorted(events, key=Event.order_key)


def heads(events: Sequence[Event]) -> list[str]:
    """Hashes no later event references: what the next event chains to (one, unless writers raced)."""
    referenced: set[str] = set()
    for event in events:
        referenced.update(h for h in event.prev_hash.split(",") if h)
    return [e.hash for e in ordered(events) if e.hash not in referenced]


@dataclass(frozen=True)
class ChainCheck:
    """Whether a run's event chain verifies.

    Attributes:
        ok: every hash matches its content and every reference resolves to an earlier event.
        events: number of events checked.
        problems: one sentence per broken link.
        head: the chain's last hash (pin it to detect a removed last event).
    """

    ok: bool
    events: int
    problems: tuple[str, ...] = ()
    head: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"ok": self.ok, "events": self.events, "problems": list(self.problems), "head": self.head}


def verify_chain(events: Iterable[Event]) -> ChainCheck:
    """Check a run's chain: hashes match contents, every reference resolves, one start.

    Events are taken in (time, event id) order; an event's ``prev_hash``
    references must all be hashes of events before it. An edited event fails
    its own hash; a removed event leaves a reference that resolves to nothing.
    (A removed *last* event leaves no trace in the chain itself: compare
    :attr:`ChainCheck.head` with a head recorded elsewhere, e.g. in a report.)
    """
    seq = ordered(events)
    problems: list[str] = []
    seen: set[str] = set()
    for index, event in enumerate(seq):
        if event.compute_hash() != event.hash:
            problems.append(
                f"event {event.event_id} ({event.kind}, {iso(event.at)}) was edited: its hash does not match."
            )
        refs = [h for h in event.prev_hash.split(",") if h]
        if index == 0:
            if refs:
                problems.append(
                    f"the first event {event.event_id} references {refs[0][:12]}…, which is missing."
                )
        elif not refs:
            problems.append(f"event {event.event_id} references no previous event.")
        for ref in refs:
            if ref not in seen:
                problems.append(f"event {event.event_id} references {ref[:12]}…, which is missing or later.")
        seen.add(event.hash)
    return ChainCheck(
        ok=not problems, events=len(seq), problems=tuple(problems), head=seq[-1].hash if seq else ""
    )


@dataclass(frozen=True)
class ItemStatus:
    """The current state of one item in a run, with who set it, when and with what evidence."""

    item: str
    state: ItemState = ItemState.PENDING
    actor: str = ""
    role: str | None = None
    at: datetime | None = None
    evidence: tuple[Evidence, ...] = ()
    reason: str = ""
    by_verifier: bool = False
    history: int = 0


@dataclass(frozen=True)
class SignOff:
    """One sign-off: role, person, go/no-go, comment, time, and the stage it is for (None: the run)."""

    role: str
    person: str
    decision: Decision
    at: datetime
    comment: str = ""
    stage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "role": self.role,
            "person": self.person,
            "decision": str(self.decision),
            "at": iso(self.at),
            "comment": self.comment,
            "stage": self.stage,
        }


@dataclass(frozen=True)
class Run:
    """A run: id, the template (name, version, hash) it was started from, its context."""

    run_id: str
    template: str
    template_version: str
    template_hash: str
    context: RunContext
    started_by: str = ""
    started_at: datetime | None = None
    job_run_id: str | None = None


@dataclass(frozen=True)
class RunState:
    """A run's state: the fold of its events (never stored)."""

    run: Run
    items: Mapping[str, ItemStatus]
    signoffs: tuple[SignOff, ...]
    events: tuple[Event, ...]

    def status(self, item_id: str) -> ItemStatus:
        """The item's status (pending when nothing was recorded)."""
        return self.items.get(item_id) or ItemStatus(item=item_id)

    def current_signoffs(self, stage: str | None = None) -> dict[str, SignOff]:
        """The latest sign-off per role for a stage (None: the whole run)."""
        latest: dict[str, SignOff] = {}
        for signoff in self.signoffs:
            if signoff.stage == stage:
                latest[signoff.role] = signoff
        return latest

    @property
    def last_at(self) -> datetime | None:
        """Time of the last event."""
        return self.events[-1].at if self.events else None


def fold(events: Iterable[Event]) -> RunState:
    """The state of a run from its events, in chain order (time, event id).

    The first ``start`` event defines the run; later ``item``/``verify``
    events set item states (the latest wins); ``evidence`` events add evidence;
    ``signoff`` events record decisions (the latest per role and stage counts).
    """
    seq = ordered(events)
    starts = [e for e in seq if e.kind == EventKind.START]
    if not starts:
        from dbx_ops.errors import NotFoundError

        run_id = seq[0].run_id if seq else "?"
        raise NotFoundError(
            f"Checklist run {run_id!r} has no start event: start it with `dbx-ops checklist start`."
        )
    start = starts[0]
    run = Run(
        run_id=start.run_id,
        template=start.template,
        template_version=start.template_version,
        template_hash=start.template_hash,
        context=RunContext.from_dict(start.context),
        started_by=start.actor,
        started_at=start.at,
        job_run_id=start.job_run_id,
    )
    items: dict[str, ItemStatus] = {}
    signoffs: list[SignOff] = []
    for event in seq:
        if event.kind in (EventKind.ITEM, EventKind.VERIFY) and event.item and event.state is not None:
            prev = items.get(event.item) or ItemStatus(item=event.item)
            items[event.item] = ItemStatus(
                item=event.item,
                state=event.state,
                actor=event.actor,
                role=event.role,
                at=event.at,
                evidence=event.evidence,
                reason=event.reason,
                by_verifier=event.kind == EventKind.VERIFY,
                history=prev.history + 1,
            )
        elif event.kind == EventKind.EVIDENCE and event.item:
            prev = items.get(event.item) or ItemStatus(item=event.item)
            items[event.item] = replace(
                prev, evidence=prev.evidence + event.evidence, history=prev.history + 1
            )
        elif event.kind == EventKind.SIGNOFF and event.role and event.decision is not None:
            signoffs.append(
                SignOff(
                    role=event.role,
                    person=event.actor,
                    decision=event.decision,
                    at=event.at,
                    comment=event.comment,
                    stage=event.stage,
                )
            )
    return RunState(run=run, items=items, signoffs=tuple(signoffs), events=tuple(seq))
