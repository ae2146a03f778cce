"""``Restorer.restore(parallel=N)`` without Spark: who runs when, what is reported and audited.

Each table's work (``Restorer._table``) is replaced by a stand-in that waits on
barriers and events, so the tests can hold tables side by side and make one fail
while another is still running. The real restore on Delta is in
``tests/integration/test_snapshot_sets.py``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from dbx_ops.errors import InvalidInputError, RestoreError
from dbx_ops.progress import Progress
from dbx_ops.snapshots.registry import SnapshotRecord
from dbx_ops.snapshots.report import PLANNED, RESTORED, TableRestoreResult
from dbx_ops.snapshots.restore import Restorer, validate_parallel

WAIT = 10  # seconds a stand-in waits for another table before the test fails


class NoSpark:
    """``current_user()`` fails on it, so the restorer falls back to the OS user; nothing else runs."""

    def sql(self, *_a, **_k):
        raise RuntimeError("no Spark in unit tests")


class Registry:
    """The audit side: no earlier events, and every ``add_events`` call (one per commit) kept."""

    def __init__(self) -> None:
        self.commits: list[list[tuple[str, str]]] = []

    def events(self, label):
        return []

    def add_events(self, events):
        self.commits.append([(str(e.event), e.table_name) for e in events])


class Steps(Progress):
    """Keeps every ``advance`` with the thread it was called on."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, bool, str, str]] = []

    def advance(self, label: str, ok: bool = True, detail: str = "") -> None:
        self.steps.append((label, ok, detail, threading.current_thread().name))


def _record(name: str) -> SnapshotRecord:
    return SnapshotRecord(
        label="rel-1", table_name=f"s.{name}", table_id=name, version=1, commit_timestamp=datetime.now(UTC)
    )


def _restored(r: SnapshotRecord, dry_run: bool = False) -> TableRestoreResult:
    status = PLANNED if dry_run else RESTORED
    return TableRestoreResult(r.table_name, r.version, 3, None if dry_run else 4, status=status)


def _restorer(work, progress: Progress | None = None) -> tuple[Restorer, Registry]:
    registry = Registry()
    restorer = Restorer(NoSpark(), registry, backoff_seconds=0, progress=progress)  # type: ignore[arg-type]
    restorer._table = lambda label, r, dry_run, fingerprint, known: work(r, dry_run)  # type: ignore[method-assign]
    return restorer, registry


def test_two_tables_run_side_by_side_and_are_reported_in_record_order():
    records = [_record(n) for n in "abc"]
    both_running = threading.Barrier(2, timeout=WAIT)
    b_done = threading.Event()

    def work(r, dry_run):
        if r.table_name in ("s.a", "s.b"):
            both_running.wait()  # breaks (and the table fails) unless a and b run at the same time
        if r.table_name == "s.a":
            assert b_done.wait(WAIT)  # a finishes last: the report still starts with it
        if r.table_name == "s.b":
            b_done.set()
        return _restored(r)

    steps = Steps()
    restorer, registry = _restorer(work, steps)
    report = restorer.restore("rel-1", records, parallel=2)

    assert report.ok, report.to_text()
    assert [t.table_name for t in report.tables] == ["s.a", "s.b", "s.c"]
    assert [t.status for t in report.tables] == ["restored"] * 3
    caller = threading.current_thread().name
    assert steps.steps == [(f"s.{n}", True, "restored", caller) for n in "abc"]
    assert registry.commits == [[("restored", "s.a"), ("restored", "s.b"), ("restored", "s.c")]]


def test_parallel_1_restores_one_table_after_the_other_as_before():
    records = [_record(n) for n in "abc"]
    log: list[str] = []

    class Logged(Progress):
        def advance(self, label: str, ok: bool = True, detail: str = "") -> None:
            log.append(f"reported {label}")

    def work(r, dry_run):
        log.append(f"started {r.table_name}")
        return _restored(r)

    restorer, registry = _restorer(work, Logged())
    report = restorer.restore("rel-1", records)

    assert report.ok
    assert log == [f"{verb} s.{n}" for n in "abc" for verb in ("started", "reported")]
    assert len(registry.commits) == 1


def test_a_failure_lets_running_tables_finish_and_starts_no_more():
    records = [_record(n) for n in "abcd"]
    b_failed = threading.Event()
    started: list[str] = []

    def work(r, dry_run):
        started.append(r.table_name)
        if r.table_name == "s.b":
            b_failed.set()
            raise RestoreError("Simulated outage while restoring s.b; nothing was changed.")
        assert b_failed.wait(WAIT)  # a is still running when b fails ...
        time.sleep(0.3)  # ... and finishes after b's worker has stopped the batch
        return _restored(r)

    steps = Steps()
    restorer, registry = _restorer(work, steps)
    with pytest.raises(RestoreError) as err:
        restorer.restore("rel-1", records, parallel=2)

    assert sorted(started) == ["s.a", "s.b"]
    report = err.value.report
    assert [(t.table_name, t.status) for t in report.tables] == [
        ("s.a", "restored"),
        ("s.b", "failed"),
        ("s.c", "not attempted"),
        ("s.d", "not attempted"),
    ]
    message = str(err.value)
    assert message.startswith("Simulated outage while restoring s.b")
    assert "Restored: s.a; not restored: s.b, s.c, s.d. Run the same restore again to resume." in message
    assert [s[:2] for s in steps.steps] == [("s.a", True), ("s.b", False)]
    assert registry.commits == [[("restored", "s.a"), ("restore_failed", "s.b")]]


def test_a_table_that_finishes_after_another_failed_is_reported_restored_and_audited():
    records = [_record(n) for n in "abc"]
    all_running = threading.Barrier(3, timeout=WAIT)
    a_failed = threading.Event()

    def work(r, dry_run):
        all_running.wait()
        if r.table_name == "s.a":
            a_failed.set()
            raise RestoreError("Simulated outage while restoring s.a; nothing was changed.")
        assert a_failed.wait(WAIT)
        return _restored(r)

    restorer, registry = _restorer(work)
    with pytest.raises(RestoreError, match=r"Restored: s\.b, s\.c; not restored: s\.a\.") as err:
        restorer.restore("rel-1", records, parallel=3)

    assert [t.status for t in err.value.report.tables] == ["failed", "restored", "restored"]
    assert registry.commits == [[("restore_failed", "s.a"), ("restored", "s.b"), ("restored", "s.c")]]


def test_dry_run_plans_every_table_side_by_side_failures_included():
    records = [_record(n) for n in "abc"]
    all_running = threading.Barrier(3, timeout=WAIT)

    def work(r, dry_run):
        assert dry_run
        all_running.wait()  # a failing plan stops nothing: the other two were started alongside
        if r.table_name == "s.b":
            raise RestoreError("Version 1 of s.b can no longer be restored; the table was left untouched.")
        return _restored(r, dry_run=True)

    restorer, registry = _restorer(work)
    plan = restorer.restore("rel-1", records, dry_run=True, parallel=3)

    assert not plan.ok
    assert [t.status for t in plan.tables] == ["planned", "failed", "planned"]
    assert "can no longer be restored" in plan.tables[1].message
    assert registry.commits == []


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True, None])
def test_parallel_must_be_a_whole_number_of_1_or_more(bad):
    with pytest.raises(InvalidInputError, match=r"must be a whole number of tables to restore at once"):
        validate_parallel(bad)
    restorer, registry = _restorer(lambda r, dry_run: pytest.fail("no table may start"))
    with pytest.raises(InvalidInputError):
        restorer.restore("rel-1", [_record("a")], parallel=bad)
    assert registry.commits == []


def test_parallel_above_the_table_count_is_fine():
    assert validate_parallel(1) == 1
    restorer, _ = _restorer(lambda r, dry_run: _restored(r))
    report = restorer.restore("rel-1", [_record("a"), _record("b")], parallel=8)
    assert [t.status for t in report.tables] == ["restored", "restored"]
