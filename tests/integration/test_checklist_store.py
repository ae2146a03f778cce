"""The checklist event store on real Delta: append-only, two concurrent writers, tampering detected."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dbx_ops.checklists import Actor, ChecklistRun, DeltaEventStore, ItemState, TemplateLibrary, verify_chain
from dbx_ops.checklists.model import heads
from dbx_ops.checklists.store import TABLE
from dbx_ops.clock import FixedClock
from dbx_ops.state import StateStore


@pytest.fixture(scope="module")
def template():
    return TemplateLibrary().get("prod-deploy")


def test_table_is_append_only_and_events_round_trip(spark, schema, template):
    events = DeltaEventStore(StateStore(spark, schema))
    clock = FixedClock(datetime(2026, 12, 2, 8, tzinfo=UTC), timedelta(milliseconds=1))
    run = ChecklistRun.start(
        template, events, Actor("alice"), {"target": "prod", "tables": "a.b"}, run_id="r1", now=clock
    )
    run.set_item("infra.autoscaling", "pass", evidence=["link:https://ci/1", "run_id:42"])
    stored = events.events("r1")
    assert [e.kind for e in stored] == ["start", "item"]
    assert stored[1].evidence[1].value == "42" and stored[1].dbx_ops_version
    assert verify_chain(stored).ok  # hashes survive the Delta round trip
    assert run.state().run.context.tables == ("a.b",)
    props = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {events.table_name}").collect()}
    assert props.get("delta.appendOnly") == "true"
    with pytest.raises(Exception, match=r"(?i)append"):
        spark.sql(f"DELETE FROM {events.table_name} WHERE run_id = 'r1'")


def test_two_concurrent_writers_lose_nothing_and_the_chain_verifies(spark, schema, template):
    store = StateStore(spark, schema)
    ChecklistRun.start(template, DeltaEventStore(store), Actor("lead"), run_id="race")
    items = [i.id for i in template.items]
    halves = [items[0::2][:4], items[1::2][:4]]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer(name: str, mine: list[str]) -> None:
        run = ChecklistRun(template, "race", DeltaEventStore(store), Actor(name))
        try:
            barrier.wait()
            for item in mine:
                run.set_item(item, "pass", evidence=f"by {name}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{i}", half)) for i, half in enumerate(halves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    events = DeltaEventStore(store).events("race")
    assert len(events) == 1 + sum(len(h) for h in halves)
    state = ChecklistRun(template, "race", DeltaEventStore(store), Actor("x")).state()
    assert all(state.status(i).state == ItemState.PASS for h in halves for i in h)
    check = verify_chain(events)
    assert check.ok, check.problems
    # after the race, the next event merges whatever heads the race left
    last = ChecklistRun(template, "race", DeltaEventStore(store), Actor("x")).set_item(items[-1], "pass")
    assert verify_chain(DeltaEventStore(store).events("race")).ok
    assert last.prev_hash


def test_edited_or_deleted_event_is_detected(spark, schema, template):
    events = DeltaEventStore(StateStore(spark, schema))
    run = ChecklistRun.start(template, events, Actor("alice"), run_id="t1")
    run.set_item("infra.autoscaling", "fail", reason="no autoscale")
    run.set_item("infra.instance_types", "pass")
    run.set_item("infra.spot_ratio", "pass")
    assert run.chain().ok
    table = events.table_name
    # only someone who first lifts the append-only protection can change history
    spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('delta.appendOnly' = 'false')")
    spark.sql(f"UPDATE {table} SET state = 'pass' WHERE run_id = 't1' AND item = 'infra.autoscaling'")
    check = run.chain()
    assert not check.ok and "edited" in " ".join(check.problems)
    assert not run.gate().ok
    spark.sql(f"UPDATE {table} SET state = 'fail' WHERE run_id = 't1' AND item = 'infra.autoscaling'")
    assert run.chain().ok
    spark.sql(f"DELETE FROM {table} WHERE run_id = 't1' AND item = 'infra.instance_types'")
    check = run.chain()
    assert not check.ok and "missing" in " ".join(check.problems)
    report = run.report()
    assert "BROKEN" in report.to_html() and not report.ok
    assert TABLE == "checklist_events"


def test_a_tick_chains_to_the_state_it_read_and_a_stale_read_is_merged_like_a_race(spark, schema, template):
    """A tick appends without reading the chain's tip again: it chains to the run it just read.

    When another writer committed in between, the stale tick leaves two heads, as a race does;
    the next event (which reads the store) references both and the chain verifies throughout.
    """
    events = DeltaEventStore(StateStore(spark, schema))
    alice = ChecklistRun.start(template, events, Actor("alice"), run_id="stale")
    read_by_alice = alice.state()
    bob_event = ChecklistRun(template, "stale", events, Actor("bob")).set_item("infra.autoscaling", "pass")
    # alice's tick chains to what alice read (the start), not to bob's event
    alice_event = events.append_after(
        replace(bob_event, event_id="alice-1", actor="alice", item="infra.spot_ratio", hash=""),
        read_by_alice.events,
    )
    assert alice_event.prev_hash == read_by_alice.events[-1].hash != bob_event.hash
    assert alice_event.at > read_by_alice.events[-1].at
    stored = events.events("stale")
    assert len(stored) == 3 and verify_chain(stored).ok
    assert sorted(heads(stored)) == sorted([bob_event.hash, alice_event.hash])
    merged = alice.set_item("infra.instance_types", "pass")
    assert sorted(merged.prev_hash.split(",")) == sorted([bob_event.hash, alice_event.hash])
    final = events.events("stale")
    assert verify_chain(final).ok and heads(final) == [merged.hash]
