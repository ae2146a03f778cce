"""Where releases live: a folder that can live in git, and the state schema's ``releases`` table.

The folder (``--dir``; a repository folder, or a Unity Catalog volume inside
Databricks) holds, per release::

    <dir>/<release_id>/release.json    the current state (rewritten after each event; for people and git)
    <dir>/<release_id>/events.jsonl    the append-only events the state is folded from
    <dir>/<release_id>/wheel/<name>    the built wheel, byte for byte (rollback needs no rebuild)
    <dir>/<release_id>/files/<path>    the notebooks and files the jobs use, as exported
    <dir>/<release_id>/manifests/      a rollback's job deployment manifests

The Delta table ``releases`` of the state schema gets the same events
(append-only; the deployment audit table of seed 003 §3). Reads take the union
of both, de-duplicated by event id, so an event written to only one of them
(a process killed between the two writes) still counts once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbx_ops.errors import InvalidInputError
from dbx_ops.releases.model import Release, fold

if TYPE_CHECKING:
    from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)

RELEASES_TABLE = "releases"
RELEASES_DDL = (
    "event_id STRING, release_id STRING, bundle STRING, target STRING, event STRING, "
    "at TIMESTAMP, actor STRING, doc STRING"
)


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ReleaseLog:
    """The releases' events in a folder and, when a state store is given, the ``releases`` table.

    Args:
        folder: the releases folder (created on first write).
        store: the state store; None keeps the folder only (CI without Spark).
    """

    def __init__(self, folder: str | Path, store: StateStore | None = None) -> None:
        self.folder = Path(folder)
        self.store = store

    # -- paths -------------------------------------------------------------------------------

    def release_dir(self, release_id: str) -> Path:
        """The folder of one release."""
        return self.folder / release_id

    def resolve(self, stored: str) -> Path:
        """The local path of an artifact stored at ``stored`` (relative to the releases folder)."""
        path = (self.folder / stored).resolve()
        if not str(path).startswith(str(self.folder.resolve())):
            raise InvalidInputError(
                f"The stored artifact path {stored!r} leaves the releases folder {self.folder}."
            )
        return path

    def taken_ids(self) -> set[str]:
        """Release ids that have a folder here (a new release must not reuse one)."""
        if not self.folder.is_dir():
            return set()
        return {p.name for p in self.folder.iterdir() if p.is_dir()}

    # -- reading -----------------------------------------------------------------------------

    def _folder_events(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if not self.folder.is_dir():
            return out
        for log in sorted(self.folder.glob("*/events.jsonl")):
            for n, line in enumerate(log.read_text().splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    out.append(dict(json.loads(line)))
                except ValueError:
                    # A line cut short by a killed write is the last one: everything before it counts.
                    logger.warning("ignoring unreadable line %d of %s", n, log)
        return out

    def _table_events(self, bundle: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
        if self.store is None or not self.store.exists(RELEASES_TABLE):
            return []
        from pyspark.sql import functions as F

        frame = self.store.read(RELEASES_TABLE)
        if bundle is not None:
            frame = frame.where(F.col("bundle") == F.lit(bundle))
        if target is not None:
            frame = frame.where(F.col("target") == F.lit(target))
        rows = frame.select("event_id", "release_id", "event", "at", "actor", "doc")
        out = []
        for row in rows.collect():  # the events of one bundle/target: a few per deployment
            out.append(
                {
                    "event_id": row["event_id"],
                    "release_id": row["release_id"],
                    "event": row["event"],
                    "at": json.loads(row["doc"]).get("_at") or row["at"].isoformat(),
                    "actor": row["actor"],
                    "doc": {k: v for k, v in json.loads(row["doc"]).items() if k != "_at"},
                }
            )
        return out

    def events(self, bundle: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
        """The events from the folder and the table (duplicates are removed by :func:`fold`).

        ``bundle``/``target`` narrow what is read from the table; folder events all come back.
        """
        return self._folder_events() + self._table_events(bundle, target)

    def releases(self, bundle: str | None = None, target: str | None = None) -> dict[str, Release]:
        """The current state of the releases (of one bundle and/or target when given)."""
        return {
            rid: r
            for rid, r in fold(self.events(bundle, target)).items()
            if (bundle is None or r.bundle == bundle) and (target is None or r.target == target)
        }

    # -- writing -----------------------------------------------------------------------------

    def append(self, ev: Mapping[str, Any], bundle: str, target: str) -> None:
        """Append one event to the table (when set) and the folder, and rewrite ``release.json``."""
        rid = str(ev["release_id"])
        if self.store is not None:
            from datetime import datetime

            row = {
                "event_id": ev["event_id"],
                "release_id": rid,
                "bundle": bundle,
                "target": target,
                "event": ev["event"],
                "at": datetime.fromisoformat(str(ev["at"])).replace(tzinfo=None),
                "actor": ev["actor"],
                "doc": json.dumps({**ev["doc"], "_at": ev["at"]}, sort_keys=True, default=str),
            }
            self.store.append(RELEASES_TABLE, [row], RELEASES_DDL)
        folder = self.release_dir(rid)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "events.jsonl").open("a") as fh:
            fh.write(json.dumps(dict(ev), sort_keys=True, default=str) + "\n")
        self._write_state(rid)

    def sync_folder(self, release_id: str) -> int:
        """Copy to the folder the release's events that only the table has (a write cut short).

        Returns:
            How many events were added to the folder.
        """
        if self.store is None:
            return 0
        have = {e["event_id"] for e in self._folder_events() if e["release_id"] == release_id}
        missing = [
            e for e in self._table_events() if e["release_id"] == release_id and e["event_id"] not in have
        ]
        if not missing:
            return 0
        folder = self.release_dir(release_id)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "events.jsonl").open("a") as fh:
            for ev in sorted(missing, key=lambda e: str(e["event_id"])):
                fh.write(json.dumps(ev, sort_keys=True, default=str) + "\n")
        self._write_state(release_id)
        logger.info("copied %d event(s) of %s from the table to the folder", len(missing), release_id)
        return len(missing)

    def _write_state(self, release_id: str) -> None:
        folder = self.release_dir(release_id)
        state = fold(e for e in self._folder_events() if e["release_id"] == release_id).get(release_id)
        if state is None:
            return
        tmp = folder / "release.json.tmp"
        tmp.write_text(json.dumps(state.to_dict(), indent=2, sort_keys=True, default=str) + "\n")
        tmp.replace(folder / "release.json")
