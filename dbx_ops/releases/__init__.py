"""Releases: a deployment audit log, the last known-good release, rollback to its artifact.

* :mod:`~dbx_ops.releases.model`: the pure record, its events, the fold and the
  last-known-good selection (unit-tested without Spark or a workspace);
* :mod:`~dbx_ops.releases.store`: the releases folder (JSON per release, the wheel and
  files kept with it) and the state schema's ``releases`` Delta table;
* :class:`~dbx_ops.releases.ops.Releases`: record, promote (post-deploy checks), rollback.

Submodules are imported on use; importing this package loads nothing heavy.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Releases": "dbx_ops.releases.ops",
    "RollbackPlan": "dbx_ops.releases.ops",
    "Release": "dbx_ops.releases.model",
    "ReleaseStatus": "dbx_ops.releases.model",
    "ArtifactFile": "dbx_ops.releases.model",
    "DeployedJob": "dbx_ops.releases.model",
    "ReleaseLog": "dbx_ops.releases.store",
    "last_known_good": "dbx_ops.releases.model",
    "rollback_target": "dbx_ops.releases.model",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
