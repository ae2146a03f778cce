"""Job operations: definition backups, health and alerts, rollback, deployment strategies.

* :class:`~dbx_ops.jobs.store.JobDefinitionStore`: stable JSON backups of job settings in a
  folder (and the Delta table ``job_backups``), diff against live, restore with ``jobs.reset``.
* :mod:`~dbx_ops.jobs.journal`: rollback journals and deployment manifests, in the state
  schema or a folder the caller gives (never a local folder by default).
* :class:`~dbx_ops.jobs.health.JobHealthChecker`: success rate, mean/p95 duration, last state,
  failures in a row; P1/P2 alert rules.
* :class:`~dbx_ops.jobs.rollback.JobRollback`: pause, cancel, restore, resume, verify, summarise;
  resumable from a journal.
* :class:`~dbx_ops.jobs.deploy.JobDeployer`: direct, blue-green and canary deployments with
  pre-deployment validation and a manifest.

Submodules are imported on use; importing this package loads nothing heavy.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "JobDefinitionStore": "dbx_ops.jobs.store",
    "JobBackup": "dbx_ops.jobs.store",
    "JobHealthChecker": "dbx_ops.jobs.health",
    "HealthRules": "dbx_ops.jobs.health",
    "HealthReport": "dbx_ops.jobs.health",
    "HealthStatus": "dbx_ops.jobs.health",
    "Severity": "dbx_ops.jobs.health",
    "RollbackStatus": "dbx_ops.jobs.rollback",
    "DeployResult": "dbx_ops.jobs.deploy",
    "FolderJournal": "dbx_ops.jobs.journal",
    "DeltaJournal": "dbx_ops.jobs.journal",
    "JobRollback": "dbx_ops.jobs.rollback",
    "RollbackOptions": "dbx_ops.jobs.rollback",
    "JobDeployer": "dbx_ops.jobs.deploy",
    "DeployOptions": "dbx_ops.jobs.deploy",
    "RetryPolicy": "dbx_ops.jobs.api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
