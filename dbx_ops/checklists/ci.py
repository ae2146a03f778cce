"""Gating other commands on a checklist: ``dbx-ops jobs deploy --environment prod --checklist RUN``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dbx_ops.checklists.gate import GateResult
from dbx_ops.checklists.identity import Actor
from dbx_ops.checklists.runs import ChecklistRun
from dbx_ops.checklists.store import EventStore
from dbx_ops.checklists.templates import TemplateLibrary
from dbx_ops.errors import InvalidInputError

#: Environments that need a go checklist before a deployment (seed 002: approval required for prod).
GATED_ENVIRONMENTS = ("prod", "production")


def _missing(environment: str) -> InvalidInputError:
    return InvalidInputError(
        f"Deploying to {environment} needs a go checklist: check it with `dbx-ops checklist gate RUN`, "
        "then deploy with --checklist RUN."
    )


def needs_checklist(environment: str, gated: Iterable[str] = GATED_ENVIRONMENTS) -> bool:
    """Whether deploying to ``environment`` needs a go checklist."""
    return environment.strip().lower() in {g.lower() for g in gated}


def require_go(
    run_id: str | None, environment: str, events: EventStore, library: TemplateLibrary | None = None
) -> GateResult | None:
    """The go gate a gated deployment needs; raises when it is missing or no-go.

    Args:
        run_id: the checklist run (``--checklist RUN``); None when not given.
        environment: the deployment's environment.
        events: the event store holding the run.
        library: template library.

    Returns:
        The go gate, or None when ``environment`` needs no checklist.

    Raises:
        InvalidInputError: a gated environment and no run given.
        NoGoError: the run's gate is no-go.
    """
    if not needs_checklist(environment):
        return None
    if not run_id:
        raise _missing(environment)
    run = ChecklistRun.open(run_id, events, Actor("deploy-gate"), library=library)
    result = run.gate()
    result.raise_on_failure()
    return result


def require_go_from_env(run_id: str | None, environment: str, spark: Any = None) -> GateResult | None:
    """:func:`require_go` with the Delta event store of ``DBX_OPS_SCHEMA`` (starts Spark only when gated)."""
    if not needs_checklist(environment):
        return None
    if not run_id:
        raise _missing(environment)
    import os

    from dbx_ops.checklists.store import DeltaEventStore
    from dbx_ops.state import StateStore

    if spark is None:
        from dbx_ops.runtime import get_spark

        spark = get_spark()
    return require_go(
        run_id, environment, DeltaEventStore(StateStore.from_env(spark)), TemplateLibrary(env=os.environ)
    )
