import json
from datetime import datetime

from dbx_ops.snapshots.report import (
    Check,
    CommitInfo,
    RestoreReport,
    TableRestoreResult,
)

T = datetime(2024, 6, 1, 12, 0)


def _report(ok=True):
    commits = (
        CommitInfo(8, T, "DELETE", "ana@corp", {"predicate": "id < 5"}),
        CommitInfo(9, T, "MERGE", None),
    )
    checks = (
        Check("history", True, "RESTORE to v7", "v10 RESTORE to v7"),
        Check("row count", ok, "10", "10" if ok else "8"),
    )
    table = TableRestoreResult(
        "sales.orders", 7, 9, 10, "RESTORE", "restored", commits, checks, 1, "undid 2 commit(s)"
    )
    other = TableRestoreResult("sales.<b>x|y</b>", 3, 3, 3, "none", "already at snapshot")
    return RestoreReport("pre-deploy", False, T, T, (table, other), "ana@corp")


def test_report_ok_and_lists():
    r = _report()
    assert r.ok and r.restored == ["sales.orders", "sales.<b>x|y</b>"] and r.not_restored == []
    bad = _report(ok=False)
    assert not bad.ok and bad.not_restored == ["sales.orders"]


def test_json_round_trip_has_commits_and_checks():
    data = json.loads(_report().to_json())
    assert data["ok"] is True
    t = data["tables"][0]
    assert [c["operation"] for c in t["commits_undone"]] == ["DELETE", "MERGE"]
    assert t["checks"][1] == {"name": "row count", "ok": True, "expected": "10", "actual": "10"}


def test_markdown_escapes_pipes_and_shows_mismatch():
    md = _report(ok=False).to_markdown()
    assert "| sales.orders | restored | 7 | 9 | 10 | RESTORE | 1/2 |" in md
    assert "sales.<b>x\\|y</b>" in md
    assert "| row count | **no** | 10 | 8 |" in md


def test_html_escapes_names_and_colours_outcome():
    html = _report().to_html()
    assert "&lt;b&gt;x|y&lt;/b&gt;" in html and "<b>x|y</b>" not in html
    assert "#1a7f37" in html
    assert "#cf222e" in _report(ok=False).to_html()


def test_text_lists_undone_commits():
    text = _report().to_text()
    assert "v8 2024-06-01 12:00:00 DELETE by ana@corp" in text
    assert "check row count: ok" in text


def test_plan_is_not_counted_as_restored():
    plan = RestoreReport("l", True, T, T, (TableRestoreResult("a.b", 1, 2, status="planned"),))
    assert plan.ok and plan.restored == [] and plan.not_restored == ["a.b"]
    assert not RestoreReport("l", True, T, T, ()).ok
