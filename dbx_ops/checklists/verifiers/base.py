"""The verifier registry: named functions that decide an item, with evidence.

A verifier takes the item's parameters (with ``{target}``, ``{tables}``,
``{jobs}``, ``{change}`` and context facts filled in), the run context and a
:class:`VerifierContext` (the collaborators it may need), and returns a
:class:`VerifierResult`. A missing prerequisite (no Spark, no workspace, no
lock file, an endpoint the workspace lacks) is ``not_available`` with the
reason, never a pass; an unexpected error is a fail with the error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbx_ops.checklists.model import Evidence, EvidenceKind, Item, ItemState, RunContext
from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import DbxOpsError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VerifierResult:
    """What a verifier decided: a state, evidence, and one sentence why."""

    state: ItemState
    evidence: tuple[Evidence, ...] = ()
    reason: str = ""

    @classmethod
    def passed(cls, reason: str, *evidence: Evidence) -> VerifierResult:
        """A pass."""
        return cls(ItemState.PASS, tuple(evidence), reason)

    @classmethod
    def failed(cls, reason: str, *evidence: Evidence) -> VerifierResult:
        """A fail."""
        return cls(ItemState.FAIL, tuple(evidence), reason)

    @classmethod
    def not_available(cls, reason: str) -> VerifierResult:
        """A prerequisite is missing: never a pass."""
        return cls(ItemState.NOT_AVAILABLE, (), f"not available: {reason}")


class NotAvailable(Exception):
    """Raised inside a verifier when a prerequisite is missing (becomes ``not_available``)."""


@dataclass
class VerifierContext:
    """The collaborators verifiers may use; any may be None (the verifier then says not available).

    Attributes:
        spark: a Spark session.
        ws: a ``WorkspaceClient``.
        store: the :class:`~dbx_ops.state.StateStore`.
        repo: the repository root (for scans, tests, bundle validate).
        env: environment mapping.
        now: the clock.
        databricks_bin: the ``databricks`` CLI binary.
        lock: path of the lock file (environment check).
    """

    spark: Any = None
    ws: Any = None
    store: Any = None
    repo: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    now: Clock = utc_now
    databricks_bin: Path | None = None
    lock: Path | None = None

    def need(self, what: str) -> Any:
        """The named collaborator, or :class:`NotAvailable` saying it is missing."""
        value = getattr(self, what)
        if value is None:
            hints = {
                "spark": "no Spark session",
                "ws": "no workspace connection (set DATABRICKS_HOST / DATABRICKS_TOKEN)",
                "store": "no state store",
                "repo": "no repository folder",
                "databricks_bin": "no databricks CLI binary",
                "lock": "no lock file",
            }
            raise NotAvailable(hints.get(what, f"no {what}"))
        return value

    def in_repo(self, path: str | Path) -> Path:
        """``path``; a relative one is taken under the repository root when there is one."""
        p = Path(path)
        return p if p.is_absolute() or self.repo is None else Path(self.repo) / p


VerifierFn = Callable[[Mapping[str, Any], RunContext, VerifierContext], VerifierResult]


@dataclass(frozen=True)
class Verifier:
    """A registered verifier: name, what it checks, the parameters it reads, its function."""

    name: str
    description: str
    params: tuple[str, ...]
    needs: tuple[str, ...]
    fn: VerifierFn

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "description": self.description,
            "params": list(self.params),
            "needs": list(self.needs),
        }


VERIFIERS: dict[str, Verifier] = {}


def register(
    name: str, description: str, params: tuple[str, ...] = (), needs: tuple[str, ...] = ()
) -> Callable[[VerifierFn], VerifierFn]:
    """Decorator registering a verifier function under ``name``."""

    def wrap(fn: VerifierFn) -> VerifierFn:
        VERIFIERS[name] = Verifier(name, description, params, needs, fn)
        return fn

    return wrap


_FACT_RE = re.compile(r"\{([a-z_]+)\}")


def fill(value: Any, facts: Mapping[str, str]) -> Any:
    """Parameters with ``{fact}`` placeholders filled from the run context."""
    if isinstance(value, str):
        return _FACT_RE.sub(lambda m: facts.get(m.group(1), m.group(0)), value)
    if isinstance(value, list | tuple):
        return [fill(v, facts) for v in value]
    if isinstance(value, Mapping):
        return {k: fill(v, facts) for k, v in value.items()}
    return value


def named(params: Mapping[str, Any], key: str, fallback: Iterable[str] = (), what: str = "") -> list[str]:
    """The names an item's parameter ``key`` gives, else ``fallback`` (the run's own).

    A value still holding a ``{placeholder}`` (a run fact that was not filled in) does not count.
    With ``what``, naming nothing is :class:`NotAvailable` ("no tables named ...").
    """
    values = [v for v in as_list(params.get(key)) if "{" not in v] or list(fallback)
    if not values and what:
        raise NotAvailable(f"no {what} named (set the run's {what})")
    return values


def as_list(value: Any) -> list[str]:
    """A parameter as a list of names (comma-separated text or a list), blanks dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    out: list[str] = []
    for v in value:
        out.extend(as_list(v))
    return out


def run_verifier(item: Item, run_context: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Run the item's verifier; prerequisites missing → not available; an error → fail with the error."""
    if not item.verifier or item.verifier not in VERIFIERS:
        return VerifierResult.not_available(f"unknown verifier {item.verifier!r}")
    verifier = VERIFIERS[item.verifier]
    params = fill(dict(item.params), run_context.facts())
    try:
        for need in verifier.needs:
            ctx.need(need)
        return verifier.fn(params, run_context, ctx)
    except NotAvailable as exc:
        return VerifierResult.not_available(str(exc))
    except DbxOpsError as exc:
        logger.info("verifier %s failed: %s", verifier.name, exc)
        return VerifierResult.failed(f"{verifier.name}: {exc}")
    except Exception as exc:
        logger.warning("verifier %s raised", verifier.name, exc_info=True)
        return VerifierResult.failed(f"{verifier.name} raised {type(exc).__name__}: {exc}")


def text_evidence(value: str) -> Evidence:
    """Shorthand for text evidence."""
    return Evidence(EvidenceKind.TEXT, value)
