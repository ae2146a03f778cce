"""Labelled sets (partial failure, resume), shallow copies, expiry and drop on real Delta."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dbx_ops.clock import FixedClock, utc_now
from dbx_ops.errors import NotFoundError, RestoreError
from dbx_ops.snapshots import Restorer, Snapshots, lookup_snapshot
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
