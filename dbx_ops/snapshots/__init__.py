"""Delta snapshot and restore, with proof that the data is back.

Before a change, :func:`snapshot` records the current version of each
critical table (``pin``), or also clones it (``shallow``/``deep``); after a
bad change :func:`restore` brings the tables back and returns a
:class:`RestoreReport` that proves it (history, row counts, schema,
properties, content fingerprint). The registry lives in the ``snapshots``
Delta table of the dbx_ops state schema; :func:`lookup_snapshot` reads it.

Example::

    from dbx_ops.snapshots import Snapshots
    snaps = Snapshots(spark)
    snaps.snapshot(["sales.orders", "sales.customers"], label="pre-deploy-42")
    ...  # the deployment goes wrong
    report = snaps.restore("pre-deploy-42")
    displayHTML(report.to_html())
    report.raise_on_failure()

``Check`` here is :class:`dbx_ops.verdict.Check`, the one check record.
"""

from __future__ import annotations

from dbx_ops.snapshots import manager
from dbx_ops.snapshots.fingerprint import Fingerprint, table_fingerprint
from dbx_ops.snapshots.manager import Snapshots, snapshot
from dbx_ops.snapshots.registry import (
    EventKind,
    Mode,
    Registry,
    SnapshotEvent,
    SnapshotRecord,
    lookup_snapshot,
)
from dbx_ops.snapshots.report import (
    CommitInfo,
    LabelList,
    LabelStatus,
    LabelSummary,
    Method,
    RestoreReport,
    SnapshotSet,
    Status,
    TableRestoreResult,
    VerifyReport,
    VerifyResult,
)
from dbx_ops.snapshots.restore import Restorer
from dbx_ops.verdict import Check

# Importing the submodule ``restore`` (for Restorer) set the package's ``restore`` attribute to the
# module; the public name is the function, as ``from dbx_ops.snapshots import restore`` promises.
restore = manager.restore

__all__ = [
    "Check",
    "CommitInfo",
    "EventKind",
    "Fingerprint",
    "LabelList",
    "LabelStatus",
    "LabelSummary",
    "Method",
    "Mode",
    "Registry",
    "RestoreReport",
    "Restorer",
    "SnapshotEvent",
    "SnapshotRecord",
    "SnapshotSet",
    "Snapshots",
    "Status",
    "TableRestoreResult",
    "VerifyReport",
    "VerifyResult",
    "lookup_snapshot",
    "restore",
    "snapshot",
    "table_fingerprint",
]
