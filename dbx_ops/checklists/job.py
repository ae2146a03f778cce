"""Job mode: a checklist as a Databricks job task (nobody there to click).

Inputs come from ``dbutils.widgets`` (job parameters are strings):

* ``template``: template name (or the ``template=`` argument);
* ``run``: run id (opened, or started when new; default: a fresh run);
* ``context``: JSON object of run facts (``{"target": "prod", "tables": "a.b,c.d"}``);
* ``ticks``: JSON list of item ids (meaning pass) or objects
  ``{"item": ..., "state": "pass|fail|na|waive", "evidence": ..., "reason": ..., "role": ...}``;
* ``signoffs``: JSON list of ``{"role": ..., "decision": "go|no-go", "stage": ..., "comment": ...}``;
* ``stage``: gate only this stage;
* ``verify``: ``true`` (default) runs the verifiers;
* ``job_run_id``: pass ``{{job.run_id}}`` so every event records it.

The decision is published with ``dbutils.jobs.taskValues.set`` (``decision``:
``go``/``no-go``; ``run_id``; ``reasons``) so an If/else task can branch on
``{{tasks.<task>.values.decision}}``, and the task fails with
:class:`~dbx_ops.errors.NoGoError` on no-go. ``dbutils`` is an argument: this
module never imports ``databricks.sdk.runtime``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from dbx_ops.checklists.gate import GateResult
from dbx_ops.checklists.identity import Actor, detect_actor
from dbx_ops.checklists.model import Template
from dbx_ops.checklists.runs import ChecklistRun
from dbx_ops.checklists.store import DeltaEventStore, EventStore
from dbx_ops.checklists.templates import TemplateLibrary
from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import InvalidInputError

logger = logging.getLogger(__name__)


def widget(dbutils: Any, name: str, default: str = "") -> str:
    """A widget's value, or ``default`` when the widget is not defined (or empty)."""
    try:
        value = dbutils.widgets.get(name)
    except Exception:
        return default
    return default if value is None or str(value).strip() == "" else str(value)


def _json(dbutils: Any, name: str, default: Any) -> Any:
    text = widget(dbutils, name)
    if not text:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"Job parameter {name!r} is not valid JSON ({exc.msg} at character {exc.pos})."
        ) from None


def publish(dbutils: Any, result: GateResult) -> None:
    """Publish the decision as task values (``decision``, ``run_id``, ``reasons``)."""
    dbutils.jobs.taskValues.set(key="decision", value=result.decision)
    dbutils.jobs.taskValues.set(key="run_id", value=result.run_id)
    dbutils.jobs.taskValues.set(
        key="reasons", value=[f"{c.name}: {c.message or c.actual}" for c in result.reasons()[:20]]
    )


def run_checklist_job(
    dbutils: Any,
    spark: Any,
    template: str | Template | None = None,
    *,
    store: Any = None,
    events: EventStore | None = None,
    ws: Any = None,
    actor: Actor | None = None,
    verifier_context: Any = None,
    library: TemplateLibrary | None = None,
    now: Clock = utc_now,
    raise_on_no_go: bool = True,
) -> GateResult:
    """Run a checklist as a job task: apply ticks and sign-offs, verify, gate, publish, fail on no-go.

    Args:
        dbutils: the notebook's ``dbutils`` (or any object with ``widgets.get`` and ``jobs.taskValues.set``).
        spark: the Spark session (the event store lives in the state schema).
        template: template name or object (default: the ``template`` widget).
        store: a :class:`~dbx_ops.state.StateStore` (default: ``DBX_OPS_SCHEMA`` on ``spark``).
        events: an event store instead of Delta (tests).
        ws: workspace client (workspace verifiers, group-bound sign-offs).
        actor: who acts (default: the job's run-as user from ``current_user()``).
        verifier_context: a ``VerifierContext`` (default: spark, ws and store).
        library: template library.
        now: the clock.
        raise_on_no_go: raise :class:`~dbx_ops.errors.NoGoError` after publishing a no-go.

    Returns:
        The gate result (when go, or when ``raise_on_no_go`` is False).
    """
    import os

    from dbx_ops.checklists.verifiers import VerifierContext

    lib = library or TemplateLibrary(env=os.environ)
    name = template if template is not None else widget(dbutils, "template")
    if not name:
        raise InvalidInputError(
            "No checklist template: set the job parameter 'template' (for example prod-deploy)."
        )
    tpl = name if isinstance(name, Template) else lib.get(str(name))
    if events is None:
        if store is None:
            from dbx_ops.state import StateStore

            store = StateStore.from_env(spark)
        events = DeltaEventStore(store)
    ticks = _json(dbutils, "ticks", [])
    signoffs = _json(dbutils, "signoffs", [])
    context = _json(dbutils, "context", {})
    if not isinstance(ticks, list) or not isinstance(signoffs, list) or not isinstance(context, dict):
        raise InvalidInputError(
            "Job parameters 'ticks' and 'signoffs' must be JSON lists and 'context' a JSON object."
        )
    job_run_id = widget(dbutils, "job_run_id") or None
    who = actor or detect_actor(spark=spark, ws=ws)
    run_id = widget(dbutils, "run") or None
    if run_id:
        run = ChecklistRun.open_or_start(tpl, run_id, events, who, context, now=now, job_run_id=job_run_id)
    else:
        run = ChecklistRun.start(tpl, events, who, context, now=now, job_run_id=job_run_id)
    for tick in ticks:
        spec = {"item": tick, "state": "pass"} if isinstance(tick, str) else dict(tick)
        if "item" not in spec:
            raise InvalidInputError(f"A tick needs an 'item': {json.dumps(tick)[:80]}.")
        run.set_item(
            str(spec["item"]),
            str(spec.get("state", "pass")),
            evidence=spec.get("evidence"),
            reason=str(spec.get("reason", "")),
            role=spec.get("role"),
        )
    for signoff in signoffs:
        spec = dict(signoff)
        run.sign(
            str(spec["role"]),
            str(spec.get("decision", "go")),
            spec.get("stage"),
            str(spec.get("comment", "")),
        )
    if widget(dbutils, "verify", "true").lower() not in ("false", "0", "no"):
        ctx = verifier_context or VerifierContext(spark=spark, ws=ws, store=store, now=now)
        run.verify(ctx)
    result = run.gate(stage=widget(dbutils, "stage") or None)
    publish(dbutils, result)
    logger.info("%s", result.summary())
    if raise_on_no_go:
        result.raise_on_failure()
    return result


#: The parameters of the checklist-gate job (``notebooks/checklist_gate.py``, bundle job
#: ``dbx_ops_checklist_gate``): the notebook defines one widget for each.
GATE_PARAMETERS = ("run", "stage", "verify", "job_run_id", "state_schema")


def _truthy(text: str, name: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "y", "on"):
        return True
    if value in ("false", "0", "no", "n", "off", ""):
        return False
    raise InvalidInputError(f"Job parameter {name!r} must be true or false, not {text!r}.")


def run_gate_job(
    dbutils: Any,
    spark: Any,
    *,
    store: Any = None,
    events: EventStore | None = None,
    ws: Any = None,
    actor: Actor | None = None,
    verifier_context: Any = None,
    library: TemplateLibrary | None = None,
    now: Clock = utc_now,
    raise_on_no_go: bool = True,
) -> GateResult:
    """The go/no-go gate of an existing run as a job task: publish the decision, fail on no-go.

    Unlike :func:`run_checklist_job` it records no ticks or sign-offs (a gate that signs would
    defeat four eyes); with ``verify=true`` it re-runs the run's verifiers first, so results
    that went stale are fresh. Parameters (``dbutils.widgets``, strings): ``run`` (required),
    ``stage`` (gate only this stage), ``verify`` (``false`` by default), ``job_run_id``
    (``{{job.run_id}}``, recorded with verifier events), ``state_schema`` (empty:
    ``DBX_OPS_SCHEMA``). The run's template is the one its start event names.

    Args:
        dbutils: the notebook's ``dbutils``.
        spark: the Spark session.
        store: a :class:`~dbx_ops.state.StateStore` (default: ``state_schema`` or ``DBX_OPS_SCHEMA``).
        events: an event store instead of Delta (tests).
        ws: workspace client (workspace verifiers).
        actor: who records verifier results (default: the job's run-as user).
        verifier_context: a ``VerifierContext`` (default: spark, ws and store).
        library: template library (default: shipped + ``DBX_OPS_CHECKLISTS``).
        now: the clock.
        raise_on_no_go: raise :class:`~dbx_ops.errors.NoGoError` after publishing a no-go.

    Returns:
        The gate result (when go, or when ``raise_on_no_go`` is False).

    Raises:
        InvalidInputError: no ``run`` parameter, or a bad ``verify`` / ``state_schema``.
        NotFoundError: no such run in the store.
        NoGoError: the gate said no-go (after the decision was published).
    """
    import os

    from dbx_ops.checklists.verifiers import VerifierContext

    run_id = widget(dbutils, "run")
    if not run_id:
        raise InvalidInputError(
            "No checklist run to gate: set the job parameter 'run' to the run id "
            "(the one `dbx-ops checklist start` printed)."
        )
    verify = _truthy(widget(dbutils, "verify", "false"), "verify")
    if events is None:
        if store is None:
            from dbx_ops.state import StateStore

            schema = widget(dbutils, "state_schema")
            store = StateStore.from_env(spark, {"DBX_OPS_SCHEMA": schema} if schema else None)
        events = DeltaEventStore(store)
    lib = library or TemplateLibrary(env=os.environ)
    who = actor or (detect_actor(spark=spark, ws=ws) if verify else Actor("gate"))
    job_run_id = widget(dbutils, "job_run_id") or None
    run, state = ChecklistRun.open_state(run_id, events, who, library=lib, now=now, job_run_id=job_run_id)
    if verify:
        run.verify(verifier_context or VerifierContext(spark=spark, ws=ws, store=store, now=now))
    # without verify the state just read is the one to decide on (one read of the store)
    result = run.gate(stage=widget(dbutils, "stage") or None, state=None if verify else state)
    publish(dbutils, result)
    logger.info("%s", result.summary())
    if raise_on_no_go:
        result.raise_on_failure()
    return result


def gate_notebook_main(dbutils: Any, spark: Any, display_html: Any, **kwargs: Any) -> GateResult:
    """What ``notebooks/checklist_gate.py`` does: gate, publish, show the result, fail on no-go.

    The decision is shown (``display_html``) before a no-go fails the task, so the run's
    output says why. ``kwargs`` go to :func:`run_gate_job`.
    """
    result = run_gate_job(dbutils, spark, raise_on_no_go=False, **kwargs)
    display_html(result.to_html())
    result.raise_on_failure()
    return result


def notebook_main(
    template: str,
    dbutils: Any,
    spark: Any,
    display_html: Any,
    *,
    ws: Any = None,
    store: Any = None,
    events: EventStore | None = None,
) -> Any:
    """What a checklist notebook does: job mode as a job task, else the widget (or read-only HTML).

    Job mode when the ``mode`` widget says ``job`` or a ``job_run_id`` is given;
    otherwise the run named by the ``run`` widget (started when new, with the
    ``context`` widget's JSON facts) is shown with the interactive widget when
    ipywidgets and :mod:`dbx_ops.checklists.widgets` are available, else as
    read-only HTML through ``display_html``.

    Returns:
        The gate result in job mode; the widget (or the run) otherwise.
    """
    if widget(dbutils, "mode").lower() == "job" or widget(dbutils, "job_run_id"):
        return run_checklist_job(dbutils, spark, template, store=store, events=events, ws=ws)
    from dbx_ops.checklists import open_run

    context = _json(dbutils, "context", {})
    run = open_run(
        template,
        widget(dbutils, "run") or None,
        spark=spark,
        store=store,
        events=events,
        ws=ws,
        context=context,
    )
    try:
        from dbx_ops.checklists.widgets import Checklist
    except ImportError:
        logger.info("checklist widget not available: showing read-only HTML")
        display_html(run.to_html())
        return run
    view = Checklist(run)
    view.show()
    return view
