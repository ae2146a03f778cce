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
"""

from __future__ import annotations

from dbx_ops.snapshots.fingerprint import Fingerprint, table_fingerprint
from dbx_ops.snapshots.manager import LabelSummary, Snapshots, restore, snapshot
from dbx_ops.snapshots.registry import (
    Registry,
    SnapshotEvent,
    SnapshotRecord,
    lookup_snapshot,
)
from dbx_ops.snapshots.report import Check, CommitInfo, RestoreReport, TableRestoreResult, VerifyResult
from dbx_ops.snapshots.restore import Restorer

__all__ = [
    "Check",
    "CommitInfo",
    "Fingerprint",
    "LabelSummary",
    "Registry",
    "RestoreReport",
    "Restorer",
    "SnapshotEvent",
    "SnapshotRecord",
    "Snapshots",
    "TableRestoreResult",
    "VerifyResult",
    "lookup_snapshot",
    "restore",
    "snapshot",
    "table_fingerprint",
]
