"""The drill's pure parts: batched checklist events, the report's HTML hooks, option refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dbx_ops.checklists import Actor, ChecklistRun, MemoryEventStore, TemplateLibrary
from dbx_ops.checklists.model import verify_chain
from dbx_ops.checklists.store import event_row
from dbx_ops.drill import DrillOptions, DrillReport, DrillStep, _BatchedEvents, _clean_up_tables
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


class _Dropping:
    """A pipeline stand-in: its schema, and a drop that works or fails."""

    def __init__(self, fails: bool = False) -> None:
        from dbx_ops.names import parse_table_name

        self.schema = parse_table_name("sandbox")
        self.fails = fails
        self.dropped = 0

    def drop_tables(self) -> None:
        if self.fails:
            raise RuntimeError("metastore unreachable\nat line 2")
        self.dropped += 1


@pytest.mark.parametrize(
    ("keep", "proven", "fails", "dropped", "says"),
    [
        (False, True, False, 1, "the pipeline's tables were dropped from sandbox (--keep keeps them)"),
        (True, True, False, 0, "the pipeline's tables are kept in sandbox (--keep)"),
        (False, False, False, 0, "kept in sandbox for the post-mortem: the drill failed"),
        (True, False, False, 0, "kept in sandbox (--keep)"),
        (False, True, True, 0, "could not all be dropped from sandbox: metastore unreachable"),
    ],
)
def test_a_passed_drill_drops_its_tables_and_a_failed_one_keeps_them(
    keep: bool, proven: bool, fails: bool, dropped: int, says: str
) -> None:
    pipeline = _Dropping(fails)
    said = _clean_up_tables(pipeline, keep=keep, proven=proven)  # type: ignore[arg-type]
    assert says in said and "\n" not in said
    assert pipeline.dropped == dropped


def test_the_reports_say_what_became_of_the_tables() -> None:
    report = replace(_report(True), cleanup="the pipeline's tables were dropped from dbx_ops_drill")
    assert report.to_text().splitlines()[-1] == "  the pipeline's tables were dropped from dbx_ops_drill"
    assert "finished 2026-12-02" in report.to_markdown()
    assert "The pipeline's tables were dropped from dbx_ops_drill." in report.to_markdown()
    assert "tables were dropped" in report.to_html()
    assert report.to_dict()["cleanup"] == "the pipeline's tables were dropped from dbx_ops_drill"
    assert "tables" not in _report(True).to_text()  # nothing said when nothing was done
