"""Where checklist events live: an append-only Delta table, or memory for tests.

Every store keeps the hash chain the same way (:func:`seal_next`): a new
event references the hashes of the run's current heads (normally one: the
previous event). Two writers that race both reference the same head, both
appends succeed (Delta blind appends do not conflict), and the next event
references both heads, so nothing is lost and the chain still proves that no
event was edited or removed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from dbx_ops.checklists.model import Event, EventKind, heads, iso, ordered, parse_iso
from dbx_ops.clock import as_utc
from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)

TABLE = "checklist_events"

COLUMNS_DDL = (
    "event_id STRING, run_id STRING, kind STRING, at STRING, at_ts TIMESTAMP, actor STRING, "
    "template STRING, template_version STRING, template_hash STRING, item STRING, state STRING, "
    "stage STRING, role STRING, decision STRING, evidence STRING, reason STRING, comment STRING, "
    "context STRING, job_run_id STRING, dbx_ops_version STRING, prev_hash STRING, hash STRING"
)


def seal_after(heads_: Sequence[str], last_at: datetime | None, event: Event) -> Event:
    """``event`` chained to ``heads_`` and stamped after ``last_at`` (the run's newest event), hash set."""
    at = as_utc(event.at)
    if last_at is not None and at <= as_utc(last_at):
        at = as_utc(last_at) + timedelta(microseconds=1)
    return replace(event, at=at).sealed(",".join(heads_))


def seal_next(existing: Sequence[Event], event: Event) -> Event:
    """``event`` chained to the run's current heads (its time kept after theirs), hash set.

    The chain order is (time, event id); an event is never stamped before an
    event it references, even when clocks of two writers disagree.
    """
    prior = ordered(existing)
    return seal_after(heads(prior), prior[-1].at if prior else None, event)


class EventStore(Protocol):
    """What a checklist run needs from its store."""

    def append(self, event: Event) -> Event:
        """Chain ``event`` to the run's heads, store it, return the stored (sealed) event."""
        ...

    def events(self, run_id: str) -> list[Event]:
        """The run's events in chain order (empty when the run does not exist)."""
        ...

    def runs(self) -> list[Event]:
        """The start event of every run, oldest first."""
        ...


class MemoryEventStore:
    """An in-memory event store (tests, headless widget tests, dry runs). Thread-safe."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()

    def append(self, event: Event) -> Event:
        """Chain and keep ``event``."""
        with self._lock:
            sealed = seal_next([e for e in self._events if e.run_id == event.run_id], event)
            self._events.append(sealed)
            return sealed

    def events(self, run_id: str) -> list[Event]:
        """The run's events in chain order."""
        with self._lock:
            return ordered(e for e in self._events if e.run_id == run_id)

    def runs(self) -> list[Event]:
        """Start events, oldest first."""
        with self._lock:
            return ordered(e for e in self._events if e.kind == EventKind.START)

    def raw(self) -> list[Event]:
        """Every stored event (tests use it to tamper)."""
        return self._events


def event_row(event: Event) -> dict[str, Any]:
    """The Delta row of an event (evidence and context as JSON text)."""
    payload = event.payload()
    row = {k: payload[k] for k in payload if k not in ("evidence", "context")}
    row["evidence"] = json.dumps(payload["evidence"], sort_keys=True)
    row["context"] = json.dumps(payload["context"], sort_keys=True)
    row["at_ts"] = as_utc(event.at).replace(tzinfo=None)
    row["hash"] = event.hash
    return row


class DeltaEventStore:
    """The ``checklist_events`` table of the state schema (created with ``delta.appendOnly = true``).

    Args:
        store: the state store (its schema holds the table).
    """

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._ready = False

    @property
    def table_name(self) -> str:
        """The quoted table name."""
        return self.store.table(TABLE).sql

    def ensure(self) -> None:
        """Create the table (append-only) on first use."""
        if self._ready:
            return
        if not self.store.exists(TABLE):
            target = self.store.ensure_table(
                TABLE, COLUMNS_DDL, comment="dbx_ops checklist events (append-only)"
            )
            self.store.spark.sql(f"ALTER TABLE {target.sql} SET TBLPROPERTIES ('delta.appendOnly' = 'true')")
        self._ready = True

    def append(self, event: Event) -> Event:
        """Chain ``event`` to the run's heads and append it as one Delta commit."""
        self.ensure()
        return self._commit(seal_after(*self._tip(event.run_id), event))

    def append_after(self, event: Event, prior: Sequence[Event]) -> Event:
        """Append ``event`` chained to the heads of ``prior``, the run's events the caller just read.

        Saves the read of the chain's tip when the caller has the run's events anyway (a tick
        reads the run to check it may act). An event another writer committed since that read
        is left as a second head, exactly as when two writers race: the next event that reads
        the store references both, and the chain still verifies.
        """
        self.ensure()
        return self._commit(seal_next(prior, event))

    def _commit(self, sealed: Event) -> Event:
        self.store.append(TABLE, [event_row(sealed)], COLUMNS_DDL)
        logger.info(
            "checklist %s: %s %s at %s", sealed.run_id, sealed.kind, sealed.item or "", iso(sealed.at)
        )
        return sealed

    def _tip(self, run_id: str) -> tuple[list[str], datetime | None]:
        """The run's heads and newest time, reading only the chain columns."""
        from pyspark.sql import functions as F

        rows = (
            self.store.read(TABLE)
            .where(F.col("run_id") == F.lit(run_id))
            .select("event_id", "at", "hash", "prev_hash")
            .collect()
        )
        if not rows:
            return [], None
        referenced: set[str] = set()
        for r in rows:
            referenced.update(h for h in (r["prev_hash"] or "").split(",") if h)
        keyed = sorted(rows, key=lambda r: (r["at"], r["event_id"]))
        return [r["hash"] for r in keyed if r["hash"] not in referenced], parse_iso(keyed[-1]["at"])

    def _rows(self, run_id: str | None = None, kind: str | None = None) -> list[Any]:
        # the table is never dropped by dbx_ops: once seen, it is not looked up in the catalog again
        if not self._ready and not self.store.exists(TABLE):
            return []
        self._ready = True
        from pyspark.sql import functions as F

        df = self.store.read(TABLE)
        if run_id is not None:
            df = df.where(F.col("run_id") == F.lit(run_id))
        if kind is not None:
            df = df.where(F.col("kind") == F.lit(kind))
        # one run's events: a few hundred to a few thousand small rows
        return df.drop("at_ts").collect()

    def events(self, run_id: str) -> list[Event]:
        """The run's events in chain order."""
        return ordered(Event.from_dict(r.asDict()) for r in self._rows(run_id=run_id))

    def runs(self) -> list[Event]:
        """Start events, oldest first."""
        return ordered(Event.from_dict(r.asDict()) for r in self._rows(kind=str(EventKind.START)))
