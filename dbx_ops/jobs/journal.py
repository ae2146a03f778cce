"""Where rollback journals and deployment manifests live: somewhere that survives the cluster.

Inside Databricks the driver's working folder disappears with the cluster, so a
journal that lets an interrupted rollback continue (or a deployment manifest
that records what went live) must not default to a local folder. Two places
are offered:

* :class:`DeltaJournal`: the Delta table ``job_journals`` of the state schema
  (append-only: every save is a new row, the newest row of a key wins);
* :class:`FolderJournal`: a folder the caller names (a Unity Catalog volume
  such as ``/Volumes/main/ops/journals``, a workspace path, or a local folder
  for CI), one JSON file per key, replaced atomically.

:func:`journal_for` picks one from what the caller gives, and refuses when
neither is given.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import InvalidInputError

if TYPE_CHECKING:
    from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)

JOURNAL_TABLE = "job_journals"
JOURNAL_DDL = "kind STRING, key STRING, saved_at TIMESTAMP, doc STRING"


class Journal(Protocol):
    """A keyed store of JSON documents (``kind`` is ``rollback`` or ``deployment``)."""

    def load(self, kind: str, key: str) -> dict[str, Any] | None:
        """The newest document saved under ``kind``/``key``, or None."""
        ...

    def save(self, kind: str, key: str, doc: Mapping[str, Any]) -> None:
        """Save ``doc`` as the newest document of ``kind``/``key``."""
        ...

    def location(self, kind: str, key: str) -> str:
        """Where the document lives, for messages (a path or ``table[kind/key]``)."""
        ...

    def attach(self, kind: str, key: str, text: str) -> str:
        """Keep a Markdown text (an incident summary) next to the journal; returns where."""
        ...


def _dumps(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, default=str)


class FolderJournal:
    """Journal documents as JSON files under a folder the caller gives.

    Args:
        folder: e.g. a Unity Catalog volume path; created on first save.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, kind: str, key: str) -> Path:
        """The file of ``key``: ``<folder>/<key>.json`` (one folder per purpose: journals, manifests)."""
        return self.folder / f"{key}.json"

    def load(self, kind: str, key: str) -> dict[str, Any] | None:
        path = self.path(kind, key)
        if not path.is_file():
            return None
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"The journal {path} cannot be read ({exc}); move it aside.") from exc

    def save(self, kind: str, key: str, doc: Mapping[str, Any]) -> None:
        path = self.path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(_dumps(doc) + "\n")
        tmp.replace(path)

    def location(self, kind: str, key: str) -> str:
        return str(self.path(kind, key))

    def attach(self, kind: str, key: str, text: str) -> str:
        path = self.folder / kind / f"{key}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)


class DeltaJournal:
    """Journal documents as rows of the state table ``job_journals`` (append-only; newest wins).

    Args:
        store: the state store, or a function returning it (so Spark starts only when the
            journal is first used: a dead workspace is reported before Spark starts).
        now: the clock stamping each save.
    """

    def __init__(self, store: StateStore | Callable[[], StateStore], now: Clock = utc_now) -> None:
        self._store = store
        self._now = now

    @property
    def store(self) -> StateStore:
        """The state store (resolved on first use)."""
        if callable(self._store):
            self._store = self._store()
        return self._store

    def load(self, kind: str, key: str) -> dict[str, Any] | None:
        from pyspark.sql import functions as F

        store = self.store
        if not store.exists(JOURNAL_TABLE):
            return None
        row = (
            store.read(JOURNAL_TABLE)
            .where((F.col("kind") == kind) & (F.col("key") == key))
            .orderBy(F.col("saved_at").desc())
            .select("doc")
            .first()
        )
        return dict(json.loads(row["doc"])) if row else None

    def save(self, kind: str, key: str, doc: Mapping[str, Any]) -> None:
        stamp = self._now().replace(tzinfo=None)
        row = {"kind": kind, "key": key, "saved_at": stamp, "doc": _dumps(doc)}
        self.store.append(JOURNAL_TABLE, [row], JOURNAL_DDL)

    def location(self, kind: str, key: str) -> str:
        return f"{'.'.join(self.store.table(JOURNAL_TABLE).parts)}[{kind}/{key}]"

    def attach(self, kind: str, key: str, text: str) -> str:
        self.save(kind, key, {"text": text})
        return self.location(kind, key)


def journal_for(
    folder: str | Path | None,
    store: StateStore | Callable[[], StateStore] | None,
    now: Clock = utc_now,
    what: str = "a rollback journal",
) -> Journal:
    """The journal to use: the caller's folder when given, else the state schema's table.

    Raises:
        InvalidInputError: neither was given (a local default would vanish with the cluster).
    """
    if folder is not None:
        return FolderJournal(folder)
    if store is not None:
        return DeltaJournal(store, now)
    raise InvalidInputError(
        f"{what[0].upper()}{what[1:]} needs a place that outlives the cluster: give a folder "
        "(for example a Unity Catalog volume path) or a StateStore for the state schema."
    )
