"""The drill's pure parts: batched checklist events, the report's HTML hooks, option refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dbx_ops.checklists import Actor, ChecklistRun, MemoryEventStore, TemplateLibrary
from dbx_ops.checklists.model import verify_chain
from dbx_ops.checklists.store import event_row
from dbx_ops.drill import DrillOptions, DrillReport, DrillStep, _BatchedEvents
from dbx_ops.errors import InvalidInputError
from dbx_ops.verdict import Check


class _Table:
    """What the Delta event store offers ``_BatchedEvents``: events by run, ensure, one append per call."""

    def __init__(self) -> None:
        self.memory = MemoryEventStore()
        self.appends: list[list[dict[str, Any]]] = []
        self.store = self

    def events(self, run_id: str) -> list[Any]:
        return self.memory.events(run_id)

    def runs(self) -> list[Any]:
        return self.memory.runs()

    def ensure(self) -> None:
        pass

    def append(self, table: str, rows: list[dict[str, Any]], ddl: str) -> int:
        assert table == "checklist_events" and "hash STRING" in ddl
        self.appends.append(rows)
        return len(rows)


def test_batched_events_write_one_commit_per_flush_with_the_chain_the_store_would_seal() -> None:
    table = _Table()
    events = _BatchedEvents(table)
    tpl = TemplateLibrary().get("prod-deploy")
    run = ChecklistRun.start(tpl, events, Actor("drill"), {"target": "drill"}, run_id="r-1")
    run.set_item("testing.data_quality", "fail", evidence=["text:rows lost"])
    run.set_item("testing.data_quality", "pass", evidence=["text:restored"])
    assert table.appends == []  # nothing written before the flush; the run still reads its own events
    assert str(run.state().status("testing.data_quality").state) == "pass"

    assert events.flush() == 3 and events.flush() == 0
    assert len(table.appends) == 1 and len(table.appends[0]) == 3
    pending = events.events("r-1")
    assert [event_row(e) for e in pending] == table.appends[0]
    assert verify_chain(pending).ok
    hashes = [e.hash for e in pending]
    assert [e.prev_hash for e in pending[1:]] == hashes[:-1]  # each event chained to the one before


def test_batched_events_continue_a_stored_chain() -> None:
    table = _Table()
    tpl = TemplateLibrary().get("prod-deploy")
    ChecklistRun.start(tpl, table.memory, Actor("someone"), {"target": "drill"}, run_id="r-2")
    events = _BatchedEvents(table)
    ChecklistRun(tpl, "r-2", events, Actor("drill")).set_item("testing.data_quality", "fail")
    events.flush()
    stored = table.memory.events("r-2")
    (added,) = table.appends[0]
    assert added["prev_hash"] == stored[-1].hash


def _report(ok: bool) -> DrillReport:
    at = datetime(2026, 12, 2, tzinfo=UTC)
    steps = (
        DrillStep(1, "build the pipeline", True, "built", (Check("rows", True, "> 0", "5"),), 1.0),
        DrillStep(2, "roll back: restore from the snapshot", ok, "restored" if ok else "files gone"),
    )
    return DrillReport("drill-x", "dbx_ops_drill", 100, steps, at, at + timedelta(seconds=3))


def test_the_report_html_opens_with_the_verdict_and_marks_every_step() -> None:
    html = _report(True).to_html()
    assert html.index("id='drill-verdict'") < html.index("Timeline") < html.index("id='step-1'")
    assert "id='step-2' data-outcome='ok'" in html
    assert ">1.0\u00a0s</td>" in html  # a step's time does not break across two lines
    failed = _report(False)
    assert "id='step-2' data-outcome='fail'" in failed.to_html()
    assert failed.failed_step is not None and "files gone" in failed.summary()


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (DrillOptions(rows=5), "too small"),
        (DrillOptions(schema="a.b.c"), "'schema' or 'catalog.schema'"),
        (DrillOptions(sabotage="fire"), "not one of vacuum"),
    ],
)
def test_bad_options_are_one_sentence(options: DrillOptions, says: str) -> None:
    with pytest.raises(InvalidInputError, match=says):
        options.checked()
