"""Audit events survive kill -9 (issue 11): a resumed restore records what Delta's history shows was done."""

from __future__ import annotations

import pytest

from dbx_ops.snapshots import Restorer, Snapshots
from dbx_ops.state import StateStore


class Killed(BaseException):
    """Stands in for kill -9: not an ``Exception``, so no handler in the library runs after it."""


def _table(spark, t, rows):
    spark.sql(f"CREATE TABLE {t} (id BIGINT) USING DELTA")
    spark.sql(f"INSERT INTO {t} SELECT id FROM range({rows})")


def _head(spark, t):
    return spark.sql(f"DESCRIBE HISTORY {t} LIMIT 1").first()


def test_restore_killed_before_its_audit_event_completes_the_audit_on_resume(spark, schema, monkeypatch):
    snaps = Snapshots(spark, StateStore(spark, schema=f"{schema}_state"))
    a, b = f"{schema}.a", f"{schema}.b"
    _table(spark, a, 4)
    _table(spark, b, 3)
    snaps.snapshot([a, b], "kill-9")
    spark.sql(f"DELETE FROM {a} WHERE id > 1")
    spark.sql(f"INSERT INTO {b} VALUES (42)")
    registry = snaps.registry
    write_events = registry.add_events

    def killed_before_the_event(events):
        if any(e.event == "restored" for e in events):
            raise Killed  # the RESTORE has committed; the process dies before its audit row is written
        write_events(events)

    monkeypatch.setattr(registry, "add_events", killed_before_the_event)
    with pytest.raises(Killed):
        Restorer(spark, registry, backoff_seconds=0).restore("kill-9", registry.label_records("kill-9"))
    monkeypatch.undo()
    assert _head(spark, a)["operation"] == "RESTORE"
    assert [e for e in registry.events("kill-9") if e.event == "restored"] == []

    report = snaps.restore("kill-9", fingerprint=False)

    assert report.ok, report.to_text()
    restored = {e.table_name: e.version for e in registry.events("kill-9") if e.event == "restored"}
    assert restored == {a: _head(spark, a)["version"], b: _head(spark, b)["version"]}
    # Resuming again records nothing twice.
    assert snaps.restore("kill-9", fingerprint=False).ok
    events = [(e.event, e.table_name) for e in registry.events("kill-9") if e.event == "restored"]
    assert sorted(events) == [("restored", a), ("restored", b)]
