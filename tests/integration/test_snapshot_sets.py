"""Labelled sets on real Delta: partial failure, resume, several at once; shallow copies, expiry, drop."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from dbx_ops.clock import FixedClock, utc_now
from dbx_ops.errors import NotFoundError, RestoreError
from dbx_ops.progress import Progress
from dbx_ops.snapshots import Restorer, Snapshots, lookup_snapshot
from dbx_ops.snapshots.registry import EVENTS_DDL, EVENTS_TABLE
from dbx_ops.state import StateStore


def _table(spark, t, rows):
    spark.sql(f"CREATE TABLE {t} (id BIGINT) USING DELTA")
    spark.sql(f"INSERT INTO {t} SELECT id FROM range({rows})")


def _ids(spark, t):
    return sorted(r["id"] for r in spark.table(t).collect())


def test_set_failing_part_way_reports_and_resumes(spark, schema):
    store = StateStore(spark, schema=f"{schema}_state")
    snaps = Snapshots(spark, store)
    a, b = f"{schema}.a", f"{schema}.b"
    _table(spark, a, 5)
    _table(spark, b, 3)
    snaps.snapshot([a, b], "release-7")
    spark.sql(f"DELETE FROM {a} WHERE id > 1")
    spark.sql(f"INSERT INTO {b} VALUES (42)")

    def fail_on_b(record, attempt):
        if record.table_name.endswith(".b"):
            raise RestoreError("Simulated outage while restoring b; nothing was changed.")

    broken = Restorer(spark, snaps.registry, before_restore=fail_on_b)
    with pytest.raises(RestoreError) as err:
        broken.restore("release-7", snaps.registry.label_records("release-7"))
    message = str(err.value)
    assert f"Restored: {a}; not restored: {b}" in message and "run the same restore again" in message.lower()
    assert [t.status for t in err.value.report.tables] == ["restored", "failed"]
    assert _ids(spark, a) == [0, 1, 2, 3, 4] and _ids(spark, b) == [0, 1, 2, 42]

    report = snaps.restore("release-7")
    assert report.ok, report.to_text()
    assert [t.status for t in report.tables] == ["already restored", "restored"]
    assert _ids(spark, b) == [0, 1, 2]
    events = [(e.event, e.table_name) for e in snaps.registry.events("release-7")]
    assert events == [("restored", a), ("restore_failed", b), ("restored", b)]


def _events_version(spark, snaps):
    table = snaps.store.table(EVENTS_TABLE).sql
    return spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first()["version"]


def test_three_tables_restored_two_at_a_time_report_and_audit_in_order(spark, schema):
    snaps = Snapshots(spark, StateStore(spark, schema=f"{schema}_state"))
    tables = [f"{schema}.p{i}" for i in range(3)]
    for i, t in enumerate(tables):
        _table(spark, t, 4 + i)
    snaps.snapshot(tables, "par-1")
    for t in tables:
        spark.sql(f"DELETE FROM {t} WHERE id > 1")
    snaps.store.ensure_table(EVENTS_TABLE, EVENTS_DDL)  # so its commits can be counted from here
    before = _events_version(spark, snaps)

    report = snaps.restore("par-1", parallel=2)

    assert report.ok, report.to_text()
    assert [t.table_name for t in report.tables] == tables
    assert [t.status for t in report.tables] == ["restored"] * 3
    assert [_ids(spark, t) for t in tables] == [list(range(4 + i)) for i in range(3)]
    assert _events_version(spark, snaps) == before + 1  # one audit commit, as one after another
    assert [(e.event, e.table_name) for e in snaps.registry.events("par-1")] == [
        ("restored", t) for t in tables
    ]


class _ReportedFailure(Progress):
    """Sets ``event`` when the calling thread reports a table not ok (after its task stopped the batch)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def advance(self, label: str, ok: bool = True, detail: str = "") -> None:
        if not ok:
            self.event.set()


def test_two_at_a_time_a_refused_table_stops_the_batch_and_running_ones_finish(spark, schema):
    snaps = Snapshots(spark, StateStore(spark, schema=f"{schema}_state"))
    gone, running, waiting = f"{schema}.gone", f"{schema}.running", f"{schema}.waiting"
    for t in (gone, running, waiting):
        _table(spark, t, 3)
    records = snaps.snapshot([gone, running, waiting], "par-2")
    spark.sql(f"DROP TABLE {gone}")
    spark.sql(f"INSERT INTO {running} VALUES (42)")
    spark.sql(f"INSERT INTO {waiting} VALUES (43)")
    progress = _ReportedFailure()

    def hold_running(record, attempt):
        # ``running`` was started beside ``gone``; it restores only once ``gone`` was refused.
        if record.table_name == running:
            assert progress.event.wait(60), "the refusal of the dropped table was never reported"

    restorer = Restorer(spark, snaps.registry, before_restore=hold_running, progress=progress)
    with pytest.raises(RestoreError, match="no longer exists") as err:
        restorer.restore("par-2", list(records), fingerprint=False, parallel=2)

    report = err.value.report
    assert [(t.table_name, t.status) for t in report.tables] == [
        (gone, "refused"),
        (running, "restored"),
        (waiting, "not attempted"),
    ]
    assert f"Restored: {running}; not restored: {gone}, {waiting}." in str(err.value)
    assert _ids(spark, running) == [0, 1, 2] and _ids(spark, waiting) == [0, 1, 2, 43]
    events = [(e.event, e.table_name) for e in snaps.registry.events("par-2")]
    assert events == [("restore_failed", gone), ("restored", running)]


def test_shallow_clone_restore_expire_and_drop(spark, schema):
    store = StateStore(spark, schema=f"{schema}_state")
    snaps = Snapshots(spark, store)
    t = f"{schema}.events"
    _table(spark, t, 6)
    [rec] = snaps.snapshot(t, "shallow-1", mode="shallow", note="before backfill")
    assert rec.clone_target == f"{schema}_state_snapshots.events__shallow_1"
    assert _ids(spark, rec.clone_target) == list(range(6))
    assert (rec.restorable_until - rec.commit_timestamp) == timedelta(weeks=1)
    spark.sql(f"UPDATE {t} SET id = id + 100")

    report = snaps.restore("shallow-1")
    assert report.ok and report.tables[0].method == "RESTORE"
    assert _ids(spark, t) == list(range(6))

    later = Snapshots(spark, store, now=FixedClock(utc_now() + timedelta(days=8)))
    assert later.expire(dry_run=True) and spark.catalog.tableExists(rec.clone_target)
    assert len(later.expire()) == 1
    assert not spark.catalog.tableExists(rec.clone_target)
    assert later.expire() == []
    with pytest.raises(NotFoundError, match="expired"):
        lookup_snapshot(spark, "shallow-1", t, store)
    assert snaps.list_labels() == []
    assert snaps.list_labels(include_ended=True)[0].status == "expired"

    [deep] = snaps.snapshot(t, "deep-2", mode="deep")
    assert snaps.drop("deep-2", dry_run=True) == [
        f"mark snapshot deep-2 of {t} (v{deep.version}) dropped",
        f"DROP TABLE {deep.clone_target}",
    ]
    assert spark.catalog.tableExists(deep.clone_target)
    snaps.drop("deep-2")
    assert not spark.catalog.tableExists(deep.clone_target)
    with pytest.raises(NotFoundError, match="dropped"):
        snaps.restore("deep-2")
    assert snaps.show("deep-2")["events"][0]["event"] == "dropped"
