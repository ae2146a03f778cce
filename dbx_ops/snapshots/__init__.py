"""Delta snapshot and restore, with proof that the data is back.

Before a change, :func:`snapshot` records the current version of each
critical table (``pin``), or also clones it (``shallow``/``deep``); after a
bad change :func:`restore` brings the tables back and returns a
:class:`RestoreReport` that proves it (history, row counts, schema,
properties, content fingerprint). The registry lives in the ``snapshots``
Delta table of the dbx_ops state schema; :func:`lookup_snapshot` reads it.
"""

from __future__ import annotations

from dbx_ops.snapshots.registry import (
    Registry,
    SnapshotEvent,
    SnapshotRecord,
    lookup_snapshot,
)

__all__ = [
    "Registry",
    "SnapshotEvent",
    "SnapshotRecord",
    "lookup_snapshot",
]
