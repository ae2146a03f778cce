"""Refusals and failure handling on real Delta: each leaves the table untouched with one clear error."""

from __future__ import annotations

import threading

import pytest

from dbx_ops.errors import (
    ConcurrentModificationError,
    InvalidTableNameError,
    NotFoundError,
    RestoreError,
    SnapshotError,
)
from dbx_ops.snapshots import Restorer, Snapshots, lookup_snapshot
from dbx_ops.state import StateStore


@pytest.fixture
def snaps(spark, schema):
    return Snapshots(spark, StateStore(spark, schema=f"{schema}_state"))


def _orders(spark, schema, name="orders", rows=10):
    t = f"{schema}.{name}"
    spark.sql(f"CREATE TABLE {t} (id BIGINT, amount DOUBLE) USING DELTA")
    spark.sql(f"INSERT INTO {t} SELECT id, id * 1.0 FROM range({rows})")
    return t


def _state(spark, t):
    head = spark.sql(f"DESCRIBE HISTORY {t} LIMIT 1").first()
    rows = sorted(tuple(r) for r in spark.table(t).collect())
    return head["version"], rows


def test_vacuumed_version_is_refused_and_table_untouched(spark, schema, snaps):
    t = _orders(spark, schema)
    snaps.snapshot(t, "before-vacuum")
    spark.sql(f"INSERT OVERWRITE {t} VALUES (99, 9.0)")
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        spark.sql(f"VACUUM {t} RETAIN 0 HOURS")
    finally:
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "true")
    before = _state(spark, t)

    [verdict] = snaps.verify("before-vacuum")
    assert not verdict.restorable and "can no longer be read" in verdict.reason
    plan = snaps.restore("before-vacuum", dry_run=True)
    assert not plan.ok and plan.tables[0].status == "refused"
    with pytest.raises(RestoreError, match=r"can no longer be restored.*left untouched") as err:
        snaps.restore("before-vacuum")
    assert err.value.report.tables[0].status == "refused"
    assert _state(spark, t) == before
    # Without the fingerprint scan, RESTORE's own missing-file check is what refuses.
    with pytest.raises(RestoreError, match=r"can no longer be restored.*left untouched"):
        snaps.restore("before-vacuum", fingerprint=False)
    assert _state(spark, t) == before


def test_deep_copy_survives_vacuum_and_restores(spark, schema, snaps):
    t = _orders(spark, schema)
    spark.sql(f"ALTER TABLE {t} ADD CONSTRAINT non_negative CHECK (amount >= 0)")
    spark.sql(f"ALTER TABLE {t} SET TBLPROPERTIES ('team' = 'finance')")
    expected = sorted(tuple(r) for r in spark.table(t).collect())
    props = dict(spark.sql(f"DESCRIBE DETAIL {t}").first()["properties"])
    [rec] = snaps.snapshot(t, "deep-1", mode="deep")
    assert rec.clone_target and rec.restorable_until is None
    copy_props = dict(spark.sql(f"DESCRIBE DETAIL {rec.clone_target}").first()["properties"])
    assert copy_props["delta.constraints.non_negative"] == "amount >= 0" and copy_props["team"] == "finance"

    spark.sql(f"ALTER TABLE {t} DROP CONSTRAINT non_negative")
    spark.sql(f"ALTER TABLE {t} UNSET TBLPROPERTIES ('team')")
    spark.sql(f"INSERT OVERWRITE {t} VALUES (-1, -1.0)")
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        spark.sql(f"VACUUM {t} RETAIN 0 HOURS")
    finally:
        spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "true")
    assert snaps.verify("deep-1")[0].restorable

    report = snaps.restore("deep-1")
    assert report.ok, report.to_text()
    assert report.tables[0].method == "copy from clone"
    assert sorted(tuple(r) for r in spark.table(t).collect()) == expected
    assert dict(spark.sql(f"DESCRIBE DETAIL {t}").first()["properties"]) == props


def test_dropped_and_recreated_table_is_refused(spark, schema, snaps):
    t = _orders(spark, schema)
    snaps.snapshot(t, "recreated")
    spark.sql(f"DROP TABLE {t}")
    _orders(spark, schema, rows=3)
    before = _state(spark, t)
    with pytest.raises(RestoreError, match="dropped and recreated"):
        snaps.restore("recreated")
    assert _state(spark, t) == before
    assert not snaps.verify("recreated")[0].restorable


def test_dropped_table_is_refused(spark, schema, snaps):
    t = _orders(spark, schema)
    snaps.snapshot(t, "gone")
    spark.sql(f"DROP TABLE {t}")
    with pytest.raises(RestoreError, match="no longer exists"):
        snaps.restore("gone")


def test_writer_that_never_stops_gives_up_untouched(spark, schema, snaps):
    t = _orders(spark, schema)
    snaps.snapshot(t, "busy")
    spark.sql(f"DELETE FROM {t} WHERE id < 3")

    def writer(record, attempt):
        spark.sql(f"INSERT INTO {t} VALUES ({100 + attempt}, 1.0)")

    restorer = Restorer(spark, snaps.registry, max_attempts=3, backoff_seconds=0, before_restore=writer)
    with pytest.raises(
        ConcurrentModificationError, match="gave up after 3 attempts and left the table untouched"
    ):
        restorer.restore("busy", snaps.registry.label_records("busy"))
    ops = [r["operation"] for r in spark.sql(f"DESCRIBE HISTORY {t}").collect()]
    assert "RESTORE" not in ops
    ids = sorted(r["id"] for r in spark.table(t).collect())
    assert ids == [3, 4, 5, 6, 7, 8, 9, 101, 102, 103]


def test_writer_that_commits_once_is_undone_on_retry(spark, schema, snaps):
    t = _orders(spark, schema)
    snaps.snapshot(t, "once")
    spark.sql(f"DELETE FROM {t} WHERE id < 3")

    def writer(record, attempt):
        if attempt == 1:
            spark.sql(f"INSERT INTO {t} VALUES (500, 5.0)")

    restorer = Restorer(spark, snaps.registry, backoff_seconds=0, before_restore=writer)
    report = restorer.restore("once", snaps.registry.label_records("once"))
    assert report.ok, report.to_text()
    [res] = report.tables
    assert res.attempts == 2
    assert [c.operation for c in res.commits_undone] == ["DELETE", "WRITE"]
    assert sorted(r["id"] for r in spark.table(t).collect()) == list(range(10))


def test_real_concurrent_writer_thread(spark, schema, snaps):
    """A second thread appends in a loop while restore runs: restored correctly or untouched."""
    t = _orders(spark, schema)
    [rec] = snaps.snapshot(t, "threaded")
    spark.sql(f"DELETE FROM {t} WHERE id < 5")
    stop = threading.Event()
    written: list[int] = []

    def loop():
        i = 1000
        while not stop.is_set() and i < 1012:
            try:
                spark.sql(f"INSERT INTO {t} VALUES ({i}, 0.0)")
                written.append(i)
            except Exception:
                pass
            i += 1

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        report = snaps.restore("threaded", max_attempts=5, fingerprint=False)
        outcome = "restored"
    except ConcurrentModificationError:
        outcome = "gave up"
    finally:
        stop.set()
        thread.join(timeout=120)
    assert written, "the writer thread never committed"
    history = spark.sql(f"DESCRIBE HISTORY {t}").collect()
    restores = [h for h in history if h["operation"] == "RESTORE"]
    if outcome == "restored":
        assert len(restores) == 1 and restores[0]["operationParameters"]["version"] == str(rec.version)
        [res] = report.tables
        # Only writes committed after the RESTORE may remain on top of the snapshot's rows.
        after = {h["version"] for h in history if h["version"] > restores[0]["version"]}
        ids = sorted(r["id"] for r in spark.table(t).collect())
        assert ids[:10] == list(range(10))
        assert len(ids) - 10 == len(after)
        assert res.status == "restored"
    else:
        assert restores == []


def test_unknown_label_and_table(spark, schema, snaps):
    t = _orders(spark, schema)
    snaps.snapshot(t, "known")
    with pytest.raises(NotFoundError, match="no snapshot labelled 'nope'"):
        snaps.restore("nope")
    with pytest.raises(NotFoundError, match="has no table"):
        snaps.restore("known", tables=[f"{schema}.other"])
    with pytest.raises(NotFoundError, match="no snapshot labelled"):
        lookup_snapshot(spark, "nope", t, snaps.store)


BAD_NAMES = [
    "orders; DROP TABLE x",
    "a.b.c.d",
    "`x`.`y",
    "delta.`relative/path`",
    "x' OR '1'='1",
    "t -- comment",
]


def test_malformed_or_injecting_names_are_refused(spark, schema, snaps):
    t = _orders(spark, schema)
    snaps.snapshot(t, "ok")
    before = _state(spark, t)
    for bad in BAD_NAMES:
        with pytest.raises(InvalidTableNameError):
            snaps.snapshot([t, bad], "inject")
        with pytest.raises(InvalidTableNameError):
            snaps.restore("ok", tables=[bad])
    assert snaps.registry.records("inject") == []
    assert _state(spark, t) == before


def test_label_reuse_and_keep_beyond_retention(spark, schema, snaps):
    t = _orders(spark, schema)
    snaps.snapshot(t, "once-only")
    with pytest.raises(SnapshotError, match="labels are never reused"):
        snaps.snapshot(t, "once-only")
    with pytest.raises(SnapshotError, match="--extend-retention"):
        snaps.snapshot(t, "long", keep="30d")
    assert snaps.registry.records("long") == []
    [rec] = snaps.snapshot(t, "long", keep="30d", extend_retention=True)
    props = dict(spark.sql(f"DESCRIBE DETAIL {t}").first()["properties"])
    assert props["delta.deletedFileRetentionDuration"] == "interval 30 days"
    assert rec.properties["delta.deletedFileRetentionDuration"] == "interval 30 days"
    assert (rec.restorable_until - rec.commit_timestamp).days == 30
    assert [e.event for e in snaps.registry.events("long")] == ["retention_extended"]
