"""Checklists: templates, runs as append-only events, auto-verifiers, sign-offs and a go/no-go gate.

In a notebook::

    from dbx_ops.checklists import open_run
    run = open_run("prod-deploy", run="deploy-2026-12-02", spark=spark, context={"target": "prod"})
    run.verify()
    displayHTML(run.to_html())
    run.gate().raise_on_failure()

See ``docs/checklists.md`` and ``dbx_ops/checklists/API.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dbx_ops.checklists.gate import GateResult, ScopeGate, evaluate_gate
from dbx_ops.checklists.identity import Actor, detect_actor, scim_groups
from dbx_ops.checklists.model import (
    ChainCheck,
    Decision,
    Event,
    EventKind,
    Evidence,
    EvidenceKind,
    Item,
    ItemState,
    ItemStatus,
    Role,
    Run,
    RunContext,
    RunState,
    SignOff,
    Stage,
    Template,
    fold,
    verify_chain,
)
from dbx_ops.checklists.report import AuditReport, render_message, run_html
from dbx_ops.checklists.runs import ChecklistRun, new_run_id
from dbx_ops.checklists.store import DeltaEventStore, EventStore, MemoryEventStore
from dbx_ops.checklists.templates import TemplateLibrary, load_template

__all__ = [
    "Actor",
    "AuditReport",
    "ChainCheck",
    "ChecklistRun",
    "Decision",
    "DeltaEventStore",
    "Event",
    "EventKind",
    "EventStore",
    "Evidence",
    "EvidenceKind",
    "GateResult",
    "Item",
    "ItemState",
    "ItemStatus",
    "MemoryEventStore",
    "Role",
    "Run",
    "RunContext",
    "RunState",
    "ScopeGate",
    "SignOff",
    "Stage",
    "Template",
    "TemplateLibrary",
    "checklist",
    "detect_actor",
    "evaluate_gate",
    "fold",
    "load_template",
    "new_run_id",
    "open_run",
    "render_message",
    "run_checklist_job",
    "run_gate_job",
    "run_html",
    "scim_groups",
    "verify_chain",
]


def open_run(
    template: str | Template,
    run: str | None = None,
    *,
    spark: Any = None,
    store: Any = None,
    events: EventStore | None = None,
    ws: Any = None,
    actor: Actor | None = None,
    context: Mapping[str, Any] | RunContext | None = None,
    library: TemplateLibrary | None = None,
    job_run_id: str | None = None,
) -> ChecklistRun:
    """Open run ``run`` of ``template`` (starting it when it does not exist yet).

    Args:
        template: template name (shipped or user) or a loaded :class:`Template`.
        run: run id (None: a new run with a fresh id).
        spark: Spark session (the event store is the state schema's ``checklist_events``).
        store: a :class:`~dbx_ops.state.StateStore` (default: built from ``spark`` and ``DBX_OPS_SCHEMA``).
        events: an event store to use instead (tests: :class:`MemoryEventStore`).
        ws: workspace client (group membership via SCIM Me).
        actor: who acts (default: detected from the platform).
        context: run facts (target, change, tables, jobs, …) for a new run.
        library: where templates are found (default: shipped + ``DBX_OPS_CHECKLISTS``).
        job_run_id: the job run id when running in a job.

    Returns:
        The :class:`ChecklistRun`.
    """
    import os

    lib = library or TemplateLibrary(env=os.environ)
    tpl = template if isinstance(template, Template) else lib.get(template)
    if events is None:
        if store is None:
            if spark is None:
                from dbx_ops.errors import InvalidInputError

                raise InvalidInputError(
                    "A checklist run needs spark= (or store= / events=) to keep its events."
                )
            from dbx_ops.state import StateStore

            store = StateStore.from_env(spark)
        events = DeltaEventStore(store)
    who = actor or detect_actor(spark=spark, ws=ws)
    if run is None:
        return ChecklistRun.start(tpl, events, who, context, job_run_id=job_run_id)
    return ChecklistRun.open_or_start(tpl, run, events, who, context, job_run_id=job_run_id)


def checklist(template: str | Template, run: str | None = None, **kwargs: Any) -> Any:
    """The interactive checklist widget for a run (see :func:`open_run` for the arguments)."""
    from dbx_ops.checklists.widgets import Checklist

    return Checklist(open_run(template, run, **kwargs))


def run_checklist_job(
    dbutils: Any, spark: Any, template: str | Template | None = None, **kwargs: Any
) -> GateResult:
    """Job mode: see :func:`dbx_ops.checklists.job.run_checklist_job`."""
    from dbx_ops.checklists.job import run_checklist_job as _run

    return _run(dbutils, spark, template, **kwargs)


def run_gate_job(dbutils: Any, spark: Any, **kwargs: Any) -> GateResult:
    """The gate of an existing run as a job task: see :func:`dbx_ops.checklists.job.run_gate_job`."""
    from dbx_ops.checklists.job import run_gate_job as _run

    return _run(dbutils, spark, **kwargs)
