"""Checklist model and gate: fold, required items, waivers, stages, roles, four eyes, staleness, chain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dbx_ops.checklists import (
    Actor,
    ChecklistRun,
    Decision,
    EventKind,
    ItemState,
    MemoryEventStore,
    TemplateLibrary,
    fold,
    verify_chain,
)
from dbx_ops.checklists.model import Event
from dbx_ops.clock import FixedClock
from dbx_ops.errors import ChecklistRefusedError, NoGoError

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

TEMPLATE = """
name: mini
version: "1"
title: Mini release
stale_after: 1h
roles:
  Developer: {}
  Lead: {group: leads, may_waive: true}
  QA: {group: qa}
signoff: [Lead]
stages:
  - {id: dev, title: Development, signoff: [Developer, QA]}
phases:
  - name: Checks
    items:
      - {id: a, text: First check}
      - {id: b, text: Second check}
      - {id: opt, text: Optional check, required: false}
      - {id: v, text: Verified check, verifier: secret_scan, params: {path: "{repo}"}}
  - name: Dev stage
    stage: dev
    items:
      - {id: d1, text: Dev item}
"""


def groups(*names: str):
    return lambda: set(names)


@pytest.fixture
def template():
    return TemplateLibrary().load_text(TEMPLATE, "mini.yml")


@pytest.fixture
def clock():
    return FixedClock(T0, timedelta(seconds=1))


@pytest.fixture
def store():
    return MemoryEventStore()


def start(template, store, clock, who="alice", member=("leads", "qa")):
    return ChecklistRun.start(
        template, store, Actor(who, groups(*member)), {"target": "prod"}, run_id="r1", now=clock
    )


def as_user(run, who, *member):
    return ChecklistRun(run.template, run.run_id, run.events, Actor(who, groups(*member)), run.now)


def test_fresh_run_is_no_go_with_every_required_item_pending(template, store, clock):
    run = start(template, store, clock)
    gate = run.gate()
    assert not gate.ok and gate.decision == "no-go"
    failing = {c.name for c in gate.reasons()}
    assert {"run: a", "run: b", "run: v", "dev: d1", "run: sign-off Lead"} <= failing
    assert "run: opt" not in failing  # optional pending items do not block
    with pytest.raises(NoGoError):
        gate.raise_on_failure()


def complete(run, clock):
    for item in ("a", "b", "v", "d1"):
        run.set_item(item, "pass", evidence="link:https://ci.example/1")
    as_user(run, "dev1").sign("Developer", "go", stage="dev")
    as_user(run, "qa1", "qa").sign("QA", "go", stage="dev")
    as_user(run, "lead1", "leads").sign("Lead", "go")


def test_all_required_done_and_signed_is_go(template, store, clock):
    run = start(template, store, clock)
    complete(run, clock)
    gate = run.gate()
    assert gate.ok, gate.to_text()
    assert gate.decision == "go"
    assert all(s.ok for s in gate.scopes)
    gate.raise_on_failure()


def test_state_is_a_fold_latest_event_wins(template, store, clock):
    run = start(template, store, clock)
    run.set_item("a", "fail", reason="broken")
    run.set_item("a", "pass", evidence="run_id:42")
    state = run.state()
    status = state.status("a")
    assert status.state == ItemState.PASS and status.history == 2
    assert status.evidence[0].kind == "run_id" and status.evidence[0].value == "42"
    assert fold(list(reversed(run.recorded()))).status("a").state == ItemState.PASS  # order-independent input


def test_failed_item_and_no_go_signoff_block(template, store, clock):
    run = start(template, store, clock)
    complete(run, clock)
    run.set_item("opt", "fail", reason="flaky")
    gate = run.gate()
    assert not gate.ok and any(c.name == "run: opt" for c in gate.reasons())
    run.set_item("opt", "pass")
    as_user(run, "lead1", "leads").sign("Lead", "no-go", comment="wait for CAB")
    gate = run.gate()
    assert [c.name for c in gate.reasons()] == ["run: sign-off Lead"]
    assert "wait for CAB" in gate.reasons()[0].message


def test_stage_gate_is_independent_of_the_run(template, store, clock):
    run = start(template, store, clock)
    run.set_item("d1", "pass")
    as_user(run, "dev1").sign("Developer", "go", stage="dev")
    assert not run.gate(stage="dev").ok  # QA has not signed
    as_user(run, "qa1", "qa").sign("QA", "go", stage="dev")
    assert run.gate(stage="dev").ok
    assert not run.gate().ok  # the run still has pending items


def test_waiver_needs_reason_and_a_role_allowed_to_waive(template, store, clock):
    run = start(template, store, clock)
    before = len(run.recorded())
    with pytest.raises(ChecklistRefusedError, match="needs a reason"):
        run.waive("a", "", "Lead")
    with pytest.raises(ChecklistRefusedError, match="may not waive"):
        run.waive("a", "not needed", "QA")
    with pytest.raises(ChecklistRefusedError, match="not a member"):
        as_user(run, "bob", "qa").waive("a", "not needed", "Lead")
    assert len(run.recorded()) == before  # refusals record nothing
    run.waive("a", "covered by the platform team", "Lead")
    check = next(c for c in run.gate().checks if c.name == "run: a")
    assert check.ok and "covered by the platform team" in check.message


def test_required_item_marked_na_does_not_pass_the_gate(template, store, clock):
    run = start(template, store, clock)
    run.set_item("a", "na")
    check = next(c for c in run.gate().checks if c.name == "run: a")
    assert not check.ok and "waive" in check.message


def test_group_bound_role_refused_outside_the_group_and_without_membership_info(template, store, clock):
    run = start(template, store, clock)
    with pytest.raises(ChecklistRefusedError, match="not a member of group 'leads'"):
        as_user(run, "mallory", "qa").sign("Lead", "go")
    nobody = ChecklistRun(run.template, "r1", store, Actor("x"), clock)
    with pytest.raises(ChecklistRefusedError, match="cannot be checked"):
        nobody.sign("Lead", "go")
    assert not run.state().signoffs


def test_four_eyes_one_person_cannot_sign_two_roles_of_a_stage(template, store, clock):
    run = start(template, store, clock)
    both = as_user(run, "carol", "qa")
    both.sign("Developer", "go", stage="dev")
    with pytest.raises(ChecklistRefusedError, match="four eyes"):
        both.sign("QA", "go", stage="dev")
    assert len(run.state().signoffs) == 1


def test_four_eyes_enforced_by_the_gate_even_if_events_bypass_the_api(template, store, clock):
    run = start(template, store, clock)
    run.set_item("d1", "pass")
    as_user(run, "carol").sign("Developer", "go", stage="dev")
    forged = Event(
        event_id="forged",
        run_id="r1",
        kind=EventKind.SIGNOFF,
        at=clock(),
        actor="carol",
        role="QA",
        stage="dev",
        decision=Decision.GO,
    )
    store.append(forged)
    gate = run.gate(stage="dev")
    assert any(c.name == "dev: four eyes" and not c.ok for c in gate.checks)


def test_verifier_result_goes_stale(template, store, tmp_path, clock):
    from dbx_ops.checklists.verifiers import VerifierContext

    (tmp_path / "ok.py").write_text("x = 1\n")
    run = start(template, store, clock)
    events = run.verify(VerifierContext(repo=tmp_path))
    assert [e.item for e in events] == ["v"] and events[0].state == ItemState.PASS
    assert next(c for c in run.gate().checks if c.name == "run: v").ok
    clock.advance(timedelta(hours=2))
    check = next(c for c in run.gate().checks if c.name == "run: v")
    assert not check.ok and "stale" in check.message
    run.verify(VerifierContext(repo=tmp_path))
    assert next(c for c in run.gate().checks if c.name == "run: v").ok


def test_not_available_verifier_never_passes(template, store, clock):
    run = start(template, store, clock)
    (event,) = run.verify()  # no repository: secret_scan cannot run
    assert event.state == ItemState.NOT_AVAILABLE and "not available" in event.reason
    assert not next(c for c in run.gate().checks if c.name == "run: v").ok


def test_people_cannot_mark_not_available_and_unknown_items_are_refused(template, store, clock):
    run = start(template, store, clock)
    with pytest.raises(ChecklistRefusedError):
        run.set_item("a", ItemState.NOT_AVAILABLE)
    from dbx_ops.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no item 'zzz'"):
        run.set_item("zzz", "pass")


def test_starting_an_existing_run_is_refused(template, store, clock):
    start(template, store, clock)
    with pytest.raises(ChecklistRefusedError, match="already exists"):
        start(template, store, clock)


def test_chain_verifies_and_detects_edit_and_delete(template, store, clock):
    run = start(template, store, clock)
    complete(run, clock)
    assert run.chain().ok
    raw = store.raw()
    # edit: someone flips a failed item to pass in the table
    index = next(i for i, e in enumerate(raw) if e.item == "b")
    raw[index] = replace(raw[index], state=ItemState.FAIL)
    check = verify_chain(raw)
    assert not check.ok and "edited" in check.problems[0]
    raw[index] = replace(raw[index], state=ItemState.PASS)
    assert verify_chain(raw).ok
    # delete: an event in the middle disappears
    del raw[3]
    check = verify_chain(raw)
    assert not check.ok and "missing" in " ".join(check.problems)
    assert not run.gate().ok and any(c.name == "event chain" for c in run.gate().reasons())


def test_racing_writers_fork_and_the_next_event_merges_both_heads(template, store, clock):
    run = start(template, store, clock)
    base = store.events("r1")
    # two writers that both saw only the start event
    e1 = Event("e1", "r1", EventKind.ITEM, T0 + timedelta(seconds=5), "w1", item="a", state=ItemState.PASS)
    e2 = Event("e2", "r1", EventKind.ITEM, T0 + timedelta(seconds=5), "w2", item="b", state=ItemState.PASS)
    raw = store.raw()
    raw.append(e1.sealed(base[-1].hash))
    raw.append(e2.sealed(base[-1].hash))
    assert verify_chain(raw).ok  # a fork is not tampering
    merged = run.set_item("v", "pass")
    assert set(merged.prev_hash.split(",")) == {raw[-2].hash, raw[-3].hash}
    assert verify_chain(store.raw()).ok
    state = run.state()
    assert state.status("a").state == ItemState.PASS and state.status("b").state == ItemState.PASS


def test_event_time_never_precedes_what_it_chains_to(template, store):
    late = FixedClock(T0 + timedelta(hours=1))
    run = ChecklistRun.start(template, store, Actor("a"), run_id="r2", now=late)
    skewed = ChecklistRun(run.template, "r2", store, Actor("b"), FixedClock(T0))  # clock an hour behind
    event = skewed.set_item("a", "pass")
    assert event.at > store.events("r2")[0].at
    assert verify_chain(store.events("r2")).ok


def test_template_change_after_start_blocks_the_gate(template, store, clock):
    run = start(template, store, clock)
    complete(run, clock)
    changed = replace(template, content_hash="0" * 64)
    other = ChecklistRun(changed, "r1", store, run.actor, clock)
    assert any(c.name == "template unchanged" for c in other.gate().reasons())


def test_approval_required_only_for_the_targets_it_names():
    tpl = TemplateLibrary().get("deploy-workflow")
    store = MemoryEventStore()
    clock = FixedClock(T0, timedelta(seconds=1))
    for target, needs in (("prod", True), ("dev", False)):
        run = ChecklistRun.start(tpl, store, Actor("a"), {"target": target}, run_id=f"r-{target}", now=clock)
        names = {c.name for c in run.gate().checks}
        assert ("run: sign-off Approver" in names) is needs


def test_gate_renders_text_markdown_html_and_dict(template, store, clock):
    run = start(template, store, clock)
    gate = run.gate()
    assert "no-go" in gate.to_text()
    assert "NO-GO" in gate.to_markdown()
    assert "<table" in gate.to_html()
    data = gate.to_dict()
    assert data["decision"] == "no-go" and data["reasons"] and data["chain"]["ok"]


def test_sign_rejects_unknown_stage_role_and_decision(template, store, clock):
    run = start(template, store, clock)
    from dbx_ops.errors import InvalidInputError, NotFoundError

    with pytest.raises(NotFoundError):
        run.sign("Developer", "go", stage="nope")
    with pytest.raises(ChecklistRefusedError, match="no role"):
        run.sign("Janitor", "go")
    with pytest.raises(InvalidInputError, match="go or no-go"):
        run.sign("Developer", "maybe")
