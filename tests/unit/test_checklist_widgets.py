"""The checklist widget driven headlessly: real ipywidgets objects, values set and buttons clicked.

Runs under ipywidgets 8.x (the dev venv) and again under the 7.x Databricks runtimes ship
(``make unit-ipywidgets7``: 7.7.2 with DBR 15.4's kernel stack, as on 15.4 and 16.4 LTS, and
7.8.1, as on 17.3 and serverless v4), against the in-memory event store: every click must append
exactly the expected event, refusals and errors must land in the Output widget, and the UI must
be rebuilt from the store.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

ipywidgets = pytest.importorskip("ipywidgets")

from dbx_ops.checklists import (  # noqa: E402
    Actor,
    ChecklistRun,
    EventKind,
    ItemState,
    MemoryEventStore,
    TemplateLibrary,
)
from dbx_ops.checklists.verifiers import VERIFIERS, NotAvailable, VerifierResult  # noqa: E402
from dbx_ops.checklists.verifiers.base import Verifier  # noqa: E402
from dbx_ops.checklists.widgets import ROOT_CLASS, Checklist, css_id  # noqa: E402

TEMPLATE = """
name: widget-test
version: "1"
title: Widget test checklist
roles:
  Developer: {}
  Tech Lead: {may_waive: true}
  QA: {group: qa-team}
signoff: [Tech Lead]
stages:
  - {id: dev, title: Development, signoff: [Developer, QA]}
phases:
  - name: Build
    stage: dev
    items:
      - {id: tests.pass, text: All tests pass}
      - {id: code.reviewed, text: Code reviewed, owner: Tech Lead}
  - name: Release
    items:
      - {id: docs.updated, text: Docs updated, required: false}
      - {id: auto.ok, text: A machine can check this, verifier: _widget_ok}
      - {id: auto.spark, text: Needs Spark to check, verifier: _widget_needs_spark}
"""


class Clock:
    """A clock that moves one second on every read (events get distinct, ordered times)."""

    def __init__(self) -> None:
        self.t = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(seconds=1)
        return self.t


@pytest.fixture
def verifiers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def ok(params, run_context, ctx):  # type: ignore[no-untyped-def]
        return VerifierResult.passed("checked by the test verifier")

    def needs_spark(params, run_context, ctx):  # type: ignore[no-untyped-def]
        raise NotAvailable("no Spark session")

    monkeypatch.setitem(VERIFIERS, "_widget_ok", Verifier("_widget_ok", "always passes", (), (), ok))
    monkeypatch.setitem(
        VERIFIERS,
        "_widget_needs_spark",
        Verifier("_widget_needs_spark", "needs spark", (), ("spark",), needs_spark),
    )
    yield


@pytest.fixture
def template(verifiers: None):  # type: ignore[no-untyped-def]
    return TemplateLibrary().load_text(TEMPLATE, "widget-test.yml")


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore()


def start(template, store, name="alice", groups=None):  # type: ignore[no-untyped-def]
    run = ChecklistRun.start(
        template,
        store,
        Actor(name, groups=groups),
        context={"target": "prod", "change": "abc123"},
        run_id="r1",
        now=Clock(),
    )
    return run


def as_person(run, name, groups=None):  # type: ignore[no-untyped-def]
    """The same run, opened by someone else (same store)."""
    return ChecklistRun(run.template, run.run_id, run.events, Actor(name, groups=groups), run.now)


def shown(run) -> Checklist:  # type: ignore[no-untyped-def]
    ui = Checklist(run)
    ui.refresh()
    return ui


def recorded(store, kind=None):  # type: ignore[no-untyped-def]
    return [e for e in store.events("r1") if kind is None or e.kind == kind]


def errors(ui: Checklist) -> list[str]:
    return [o["text"] for o in ui.output.outputs if o.get("name") == "stderr"]


def test_a_toggle_click_appends_one_item_event_and_the_ui_shows_it(template, store) -> None:
    ui = shown(start(template, store))
    assert ui.toggles["tests.pass"].value == "pending"
    assert "Gate: no-go" in ui.banner.value

    ui.toggles["tests.pass"].value = "pass"

    items = recorded(store, EventKind.ITEM)
    assert [(e.item, e.state, e.actor, e.role) for e in items] == [
        ("tests.pass", ItemState.PASS, "alice", None)
    ]
    assert ui.toggles["tests.pass"].value == "pass"
    assert (
        ">pass</span>" in ui.labels["tests.pass"].value
        and "alice at 2026-12-02T08:00" in ui.labels["tests.pass"].value
    )
    assert errors(ui) == []


def test_every_click_is_one_event_and_refresh_records_nothing(template, store) -> None:
    ui = shown(start(template, store))
    for state in ("pass", "fail", "na", "pending"):
        ui.toggles["code.reviewed"].value = state
    ui.refresh()
    ui.refresh_button.click()
    states = [e.state for e in recorded(store, EventKind.ITEM)]
    assert states == [ItemState.PASS, ItemState.FAIL, ItemState.NA, ItemState.PENDING]
    assert len(recorded(store)) == 5  # start + four clicks


def test_the_acting_role_is_recorded_with_the_tick(template, store) -> None:
    ui = shown(start(template, store))
    ui.role.value = "Tech Lead"
    ui.toggles["code.reviewed"].value = "pass"
    assert recorded(store, EventKind.ITEM)[0].role == "Tech Lead"


def test_the_ui_is_rebuilt_from_the_store_each_time_it_is_shown(template, store) -> None:
    run = start(template, store)
    first = shown(run)
    first.toggles["tests.pass"].value = "pass"
    # another notebook (another person) ticks the same run
    as_person(run, "bob").set_item("code.reviewed", "fail", evidence="link:https://ci/42")

    second = shown(as_person(run, "carol"))
    assert second.toggles["tests.pass"].value == "pass"
    assert second.toggles["code.reviewed"].value == "fail"
    assert "link: https://ci/42" in second.labels["code.reviewed"].value
    assert first.toggles["code.reviewed"].value == "pending"  # not yet re-read
    first.refresh_button.click()
    assert first.toggles["code.reviewed"].value == "fail"
    assert len(recorded(store)) == 3


def test_a_refused_tick_records_nothing_shows_why_and_shows_the_stored_state_again(template, store) -> None:
    ui = shown(start(template, store, groups=lambda: ["developers"]))
    ui.role.value = "QA"  # bound to group qa-team; alice is not a member
    ui.toggles["tests.pass"].value = "pass"
    assert recorded(store, EventKind.ITEM) == []
    assert ui.toggles["tests.pass"].value == "pending"
    (message,) = errors(ui)
    assert "not a member of group 'qa-team'" in message


def test_evidence_and_waivers_go_through_the_form(template, store) -> None:
    ui = shown(start(template, store))
    ui.evidence_item.value = "tests.pass"
    ui.attach_button.click()  # nothing typed
    assert recorded(store, EventKind.EVIDENCE) == []
    assert "Type the evidence first" in errors(ui)[-1]

    ui.evidence_kind.value = "link"
    ui.evidence_text.value = "https://ci.example/run/7"
    ui.attach_button.click()
    (ev,) = recorded(store, EventKind.EVIDENCE)
    assert (ev.item, [(e.kind.value, e.value) for e in ev.evidence]) == (
        "tests.pass",
        [("link", "https://ci.example/run/7")],
    )
    assert ui.evidence_text.value == ""

    ui.evidence_item.value = "docs.updated"
    ui.role.value = "Developer"  # may not waive
    ui.evidence_text.value = "docs come next sprint"
    ui.waive_button.click()
    assert "may not waive" in errors(ui)[-1]
    ui.role.value = "Tech Lead"
    ui.waive_button.click()
    (waiver,) = [e for e in recorded(store, EventKind.ITEM) if e.state == ItemState.WAIVED]
    assert (waiver.item, waiver.reason, waiver.role) == ("docs.updated", "docs come next sprint", "Tech Lead")
    assert ui.toggles["docs.updated"].value is None  # waived: no toggle pressed
    assert ">waived</span>" in ui.labels["docs.updated"].value


def test_sign_off_records_the_decision_and_four_eyes_is_refused(template, store) -> None:
    run = start(template, store, groups=lambda: ["qa-team"])
    ui = shown(run)
    ui.sign_button.click()  # no role chosen
    assert recorded(store, EventKind.SIGNOFF) == []
    assert "Choose the role" in errors(ui)[-1]

    ui.role.value = "Developer"
    ui.sign_scope.value = "dev"
    ui.sign_comment.value = "built and tested"
    ui.sign_button.click()
    (signoff,) = recorded(store, EventKind.SIGNOFF)
    assert (signoff.role, signoff.decision.value, signoff.stage, signoff.comment, signoff.actor) == (
        "Developer",
        "go",
        "dev",
        "built and tested",
        "alice",
    )
    assert "alice" in ui.signoffs.value

    ui.role.value = "QA"
    ui.sign_button.click()  # the same person, a second role of the same stage
    assert len(recorded(store, EventKind.SIGNOFF)) == 1
    assert "four eyes" in errors(ui)[-1]


def test_the_gate_banner_turns_go_when_the_run_is_complete(template, store) -> None:
    run = start(template, store, groups=lambda: ["qa-team"])
    ui = shown(run)
    ui.role.value = "Tech Lead"
    for item_id in ("tests.pass", "code.reviewed", "auto.ok", "auto.spark"):
        ui.toggles[item_id].value = "pass"
    ui.sign_button.click()  # Tech Lead, for the run
    assert "Gate: no-go" in ui.banner.value  # the dev stage still needs Developer and QA
    bob = shown(as_person(run, "bob", groups=lambda: ["qa-team"]))
    bob.role.value = "Developer"
    bob.sign_scope.value = "dev"
    bob.sign_button.click()
    carol = shown(as_person(run, "carol", groups=lambda: ["qa-team"]))
    carol.role.value = "QA"
    carol.sign_scope.value = "dev"
    carol.sign_button.click()
    assert errors(bob) == errors(carol) == []
    assert "Gate: go" in carol.banner.value and ">OK<" in carol.banner.value
    ui.refresh()
    assert "Gate: go" in ui.banner.value


def test_run_verifiers_appends_one_verify_event_per_verified_item_never_a_false_pass(template, store) -> None:
    ui = shown(start(template, store))
    ui.verify_button.click()
    verified = {e.item: e.state for e in recorded(store, EventKind.VERIFY)}
    assert verified == {"auto.ok": ItemState.PASS, "auto.spark": ItemState.NOT_AVAILABLE}
    assert ui.toggles["auto.ok"].value == "pass"
    assert ui.toggles["auto.spark"].value is None
    assert "not available: no Spark session" in ui.labels["auto.spark"].value
    assert "verifier" in ui.labels["auto.ok"].value
    assert any("1 not_available, 1 pass" in o.get("text", "") for o in ui.output.outputs)


class BrokenStore(MemoryEventStore):
    """A store whose writes fail the way a lost cluster connection would."""

    def append(self, event):  # type: ignore[no-untyped-def]
        if event.kind != EventKind.START:
            raise ConnectionError("the Spark driver went away")
        return super().append(event)


def test_an_unexpected_error_is_shown_with_its_traceback_never_lost(template) -> None:
    store = BrokenStore()
    ui = shown(start(template, store))
    ui.toggles["tests.pass"].value = "pass"
    (message,) = errors(ui)
    assert "set tests.pass failed: ConnectionError: the Spark driver went away" in message
    assert "Traceback" in message
    assert ui.toggles["tests.pass"].value == "pending"  # the stored state again
    assert recorded(store, EventKind.ITEM) == []


def test_the_widget_tree_has_the_classes_a_browser_finds(template, store) -> None:
    ui = shown(start(template, store))
    assert ROOT_CLASS in ui.widget._dom_classes
    rows = [
        c for c in ui.widget.children if f"dbx-item-{css_id('tests.pass')}" in getattr(c, "_dom_classes", ())
    ]
    assert len(rows) == 1 and rows[0].children[0] is ui.toggles["tests.pass"]
    assert [o[0] if isinstance(o, tuple) else o for o in ui.toggles["tests.pass"]._options_labels] == [
        "pending",
        "pass",
        "fail",
        "n/a",
    ]


def test_importing_the_widget_module_does_not_import_ipywidgets() -> None:
    code = (
        "import sys, dbx_ops.checklists.widgets, dbx_ops.checklists; assert 'ipywidgets' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_available_says_whether_ipywidgets_can_be_imported() -> None:
    from dbx_ops.checklists.widgets import available

    assert available() is True
    code = (
        "import sys; sys.modules['ipywidgets'] = None\n"
        "from dbx_ops.checklists import widgets\n"
        "print('available', widgets.available())\n"
        "try:\n"
        "    widgets._widgets()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "available False" in out
    assert "InvalidInputError" in out and "pip install ipywidgets" in out
