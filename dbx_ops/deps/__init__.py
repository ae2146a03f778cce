"""Dependency locking for Databricks runtimes.

Capture what a runtime ships (:mod:`~dbx_ops.deps.baseline`), add the team's
packages, resolve one pinned lock with uv and explain conflicts
(:mod:`~dbx_ops.deps.lock`, :mod:`~dbx_ops.deps.conflicts`), generate the
cluster init script that enforces it (:mod:`~dbx_ops.deps.initscript`), check
a running interpreter against it (:mod:`~dbx_ops.deps.envcheck`) and scan it
for CVEs and licences (:mod:`~dbx_ops.deps.audit`).
"""

from __future__ import annotations

from dbx_ops.deps.baseline import Baseline, Runtime, capture_baseline, import_baseline, runtime_for
from dbx_ops.deps.layout import RuntimeFiles

__all__ = ["Baseline", "Runtime", "RuntimeFiles", "capture_baseline", "import_baseline", "runtime_for"]
