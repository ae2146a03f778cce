"""BufferedStateStore: appends wait in memory and go out one commit per table (no Spark here).

The base store's commit is replaced by a recorder below the buffer in the class order, so
what the buffer hands on, and when, is what is asserted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from dbx_ops.errors import StateConflictError
from dbx_ops.state import BufferedStateStore, StateStore

DDL = "n BIGINT"


@dataclass(frozen=True)
class RecordingStore(StateStore):
    """Records each commit instead of writing it; fails the next ``fail`` commits."""

    commits: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list, compare=False)
    fail: ClassVar[int] = 0

    def append(self, name: str, rows: list[dict[str, Any]], columns_ddl: str) -> int:
        if RecordingStore.fail > 0:
            RecordingStore.fail -= 1
            raise StateConflictError("another writer kept committing")
        self.commits.append((name, list(rows)))
        return len(rows)

    def exists(self, name: str) -> bool:
        return any(n == name for n, _ in self.commits)

    def read(self, name: str) -> Any:
        return [r for n, rows in self.commits if n == name for r in rows]


@dataclass(frozen=True)
class Buffered(BufferedStateStore, RecordingStore):
    pass


def _store() -> Buffered:
    RecordingStore.fail = 0
    return Buffered(spark=None, schema="ops")


def test_appends_wait_until_flush_and_go_out_one_commit_per_table():
    store = _store()
    assert store.append("metrics", [{"n": 1}], DDL) == 1
    assert store.append("metrics", [{"n": 2}, {"n": 3}], DDL) == 2
    assert store.append("results", [{"n": 9}], DDL) == 1
    assert store.commits == []
    assert store.pending() == {"metrics": 3, "results": 1}

    assert store.flush() == 4
    assert store.commits == [("metrics", [{"n": 1}, {"n": 2}, {"n": 3}]), ("results", [{"n": 9}])]
    assert store.pending() == {}
    assert store.flush() == 0


def test_flush_of_one_table_leaves_the_others_pending():
    store = _store()
    store.append("metrics", [{"n": 1}], DDL)
    store.append("results", [{"n": 2}], DDL)
    assert store.flush("results") == 1
    assert store.commits == [("results", [{"n": 2}])]
    assert store.pending() == {"metrics": 1}


def test_reads_and_exists_see_pending_rows():
    store = _store()
    store.append("metrics", [{"n": 1}], DDL)
    assert store.exists("metrics")
    store.append("metrics", [{"n": 2}], DDL)
    assert store.read("metrics") == [{"n": 1}, {"n": 2}]
    assert store.pending() == {}


def test_a_failed_flush_keeps_the_rows_in_order_for_the_next_one():
    store = _store()
    store.append("metrics", [{"n": 1}], DDL)
    RecordingStore.fail = 1
    with pytest.raises(StateConflictError):
        store.flush()
    store.append("metrics", [{"n": 2}], DDL)
    assert store.pending() == {"metrics": 2}
    assert store.flush() == 2
    assert store.commits == [("metrics", [{"n": 1}, {"n": 2}])]


def test_threads_append_at_once_and_nothing_is_lost():
    store = _store()
    start = threading.Barrier(4)

    def writer(k: int) -> None:
        start.wait()
        for i in range(200):
            store.append("metrics", [{"n": k * 1000 + i}], DDL)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.flush() == 800
    (name, rows), *rest = store.commits
    assert rest == [] and name == "metrics"
    assert sorted(r["n"] for r in rows) == sorted(k * 1000 + i for k in range(4) for i in range(200))


def test_one_table_with_two_column_lists_is_refused():
    store = _store()
    store.append("metrics", [{"n": 1}], DDL)
    with pytest.raises(ValueError, match="two column lists"):
        store.append("metrics", [{"n": 1}], "n INT")


def test_over_keeps_the_schema_and_retry_settings():
    base = StateStore(spark=None, schema="main.ops", max_attempts=3, backoff_seconds=0.0)
    buffered = BufferedStateStore.over(base)
    assert (buffered.schema, buffered.max_attempts, buffered.backoff_seconds) == ("main.ops", 3, 0.0)
    assert buffered.table("metrics").sql == "`main`.`ops`.`metrics`"
    assert buffered.pending() == {}
