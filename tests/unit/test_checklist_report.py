"""The audit record: who did what when, evidence, signatures, gate reasons, chain; escaped; read-only HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dbx_ops.checklists import Actor, ChecklistRun, MemoryEventStore, TemplateLibrary, run_html
from dbx_ops.clock import FixedClock


def test_audit_record_renders_everything_and_escapes_user_text():
    tpl = TemplateLibrary().get("rollback-runbook")
    store = MemoryEventStore()
    clock = FixedClock(datetime(2026, 12, 2, 8, tzinfo=UTC), timedelta(minutes=1))
    run = ChecklistRun.start(
        tpl,
        store,
        Actor("dana"),
        {"target": "prod", "change": "abc123", "owner": "dana"},
        run_id="inc-7",
        now=clock,
    )
    run.set_item(
        "immediate.stop_changes", "pass", evidence=["link:https://gh/run/1", "<script>alert(1)</script>"]
    )
    run.waive("rca.written", "tracked in INC-7", "On-call")
    ChecklistRun(tpl, "inc-7", store, Actor("erin", lambda: {"incident-leads"}), clock).sign(
        "Incident Lead", "no-go", comment="data still wrong"
    )
    report = run.report()
    md = report.to_markdown()
    assert "| 2026-12-02T08:01:00.000000Z | dana |" in md
    assert "https://gh/run/1" in md and "tracked in INC-7" in md
    assert "erin" in md and "no-go" in md and "data still wrong" in md
    assert "Production deploy for commit abc123" in md and "Owner: dana" in md
    assert "Timeline of events" in md
    assert "events, head" in md and report.chain.ok
    html = report.to_html()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "Gate reasons" in html and not report.ok
    data = report.to_dict()
    assert data["chain"]["ok"] and len(data["events"]) == 4 and data["gate"]["decision"] == "no-go"
    view = run_html(tpl, run.state(), run.gate())
    assert "inc-7" in view and "&lt;script&gt;" in view and "<script>" not in view
