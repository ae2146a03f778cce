"""First use of the state schema under concurrency (issue 11).

Two notebooks on a shared cluster, or two job tasks, snapshot or store a
profile at the same moment on a fresh state schema: both must succeed and no
row may be lost. The race is made certain, not left to timing: each thread
waits for the other right after finding the state table missing, so both
then create it at once (what two first-day writers do).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from dbx_ops.snapshots import Snapshots
from dbx_ops.snapshots.registry import SNAPSHOTS_TABLE
from dbx_ops.state import StateStore

DDL = "writer STRING, n BIGINT"


@dataclass(frozen=True)
class RacingStore(StateStore):
    """A state store whose first ``exists`` answer in each thread waits for the other thread."""

    barrier: ClassVar[threading.Barrier | None] = None
    _local: ClassVar[threading.local] = threading.local()

    def exists(self, name: str) -> bool:
        found = super().exists(name)
        seen = getattr(self._local, "seen", set())
        if not found and name not in seen and self.barrier is not None:
            seen.add(name)
            self._local.seen = seen
            try:
                self.barrier.wait(timeout=60)
            except threading.BrokenBarrierError:
                pass
        return found


def _race(workers: list[Any]) -> list[BaseException]:
    RacingStore.barrier = threading.Barrier(len(workers))
    RacingStore._local = threading.local()
    errors: list[BaseException] = []

    def run(fn: Any) -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    RacingStore.barrier = None
    return errors


def test_two_threads_append_to_a_fresh_state_schema(spark, schema):
    store = RacingStore(spark, schema=f"{schema}_fresh_state")

    def writer(tag: str) -> Any:
        return lambda: store.append("profiles", [{"writer": tag, "n": i} for i in range(3)], DDL)

    errors = _race([writer("a"), writer("b")])

    assert errors == [], [f"{type(e).__name__}: {str(e)[:300]}" for e in errors]
    rows = sorted((r["writer"], r["n"]) for r in store.read("profiles").collect())
    assert rows == [(w, i) for w in ("a", "b") for i in range(3)]


def test_two_threads_snapshot_at_once_on_a_fresh_state_schema(spark, schema):
    tables = []
    for i in range(2):
        t = f"{schema}.t{i}"
        spark.sql(f"CREATE TABLE {t} (id BIGINT) USING DELTA")
        spark.sql(f"INSERT INTO {t} SELECT id FROM range({i + 2})")
        tables.append(t)
    store = RacingStore(spark, schema=f"{schema}_state")
    snaps = Snapshots(spark, store)

    errors = _race([lambda t=t, i=i: snaps.snapshot(t, f"first-day-{i}") for i, t in enumerate(tables)])

    assert errors == [], [f"{type(e).__name__}: {str(e)[:300]}" for e in errors]
    records = {(r.label, r.table_name, r.row_count) for r in snaps.registry.records()}
    assert records == {("first-day-0", tables[0], 2), ("first-day-1", tables[1], 3)}
    assert store.exists(SNAPSHOTS_TABLE)
