"""Checklist auto-verifiers: each decides one item by calling the library, with evidence.

``VERIFIERS`` maps names to :class:`~dbx_ops.checklists.verifiers.base.Verifier`;
``dbx-ops checklist verifiers`` lists them.
"""

from __future__ import annotations

from dbx_ops.checklists.verifiers import code as _code  # noqa: F401 - registers
from dbx_ops.checklists.verifiers import data as _data  # noqa: F401 - registers
from dbx_ops.checklists.verifiers import jobspec as _jobspec  # noqa: F401 - registers
from dbx_ops.checklists.verifiers import workspace as _workspace  # noqa: F401 - registers
from dbx_ops.checklists.verifiers.base import (
    VERIFIERS,
    NotAvailable,
    Verifier,
    VerifierContext,
    VerifierResult,
    register,
    run_verifier,
)

__all__ = [
    "VERIFIERS",
    "NotAvailable",
    "Verifier",
    "VerifierContext",
    "VerifierResult",
    "register",
    "run_verifier",
]
