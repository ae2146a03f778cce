import json
from datetime import UTC, datetime

import pytest

import dbx_ops.snapshots
from dbx_ops import render, verdict
from dbx_ops.errors import CheckFailedError, RestoreError
from dbx_ops.snapshots.report import (
    Check,
    CommitInfo,
    LabelList,
    LabelStatus,
    LabelSummary,
    RestoreReport,
    SnapshotSet,
    Status,
    TableRestoreResult,
    VerifyReport,
    VerifyResult,
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
    assert t["checks"][1] | {"message": ""} == {
        "name": "row count",
        "ok": True,
        "expected": "10",
        "actual": "10",
        "message": "",
    }
    assert t["status"] == "restored" and data["tables"][1]["status"] == "already at snapshot"


def test_markdown_escapes_pipes_and_shows_mismatch():
    md = _report(ok=False).to_markdown()
    assert "| sales.orders | restored | 7 | 9 | 10 | RESTORE | 1/2 |" in md
    assert "sales.<b>x\\|y</b>" in md
    assert "| row count | **FAIL** | 10 | 8 |" in md


def test_html_escapes_names_and_colours_outcome():
    html = _report().to_html()
    assert "&lt;b&gt;x|y&lt;/b&gt;" in html and "<b>x|y</b>" not in html
    ok_colour, fail_colour = render.PALETTE[render.Tone.OK][0], render.PALETTE[render.Tone.FAIL][0]
    assert ok_colour in html and fail_colour not in html
    assert fail_colour in _report(ok=False).to_html()


def test_text_lists_undone_commits():
    text = _report().to_text()
    assert "v8 2024-06-01 12:00:00 DELETE by ana@corp" in text
    assert "check row count: ok" in text


def test_plan_is_not_counted_as_restored():
    plan = RestoreReport("l", True, T, T, (TableRestoreResult("a.b", 1, 2, status="planned"),))
    assert plan.ok and plan.restored == [] and plan.not_restored == ["a.b"]
    assert not RestoreReport("l", True, T, T, ()).ok


def test_check_is_the_shared_record_and_status_words_are_an_enum():
    assert Check is verdict.Check and dbx_ops.snapshots.Check is verdict.Check
    assert Status.RESTORED == "restored" and Status("already restored") is Status.ALREADY_RESTORED
    assert isinstance(_report().tables[0].status, str)


def test_raise_on_failure_raises_restore_error_with_one_sentence():
    _report().raise_on_failure()
    with pytest.raises(RestoreError, match=r"^Snapshot 'pre-deploy' is not fully restored: 1 of 2") as err:
        _report(ok=False).raise_on_failure()
    assert "row count" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(RestoreError, match="no table"):
        RestoreReport("l", False, T, T, ()).raise_on_failure()


def test_verify_report_is_a_list_that_says_ok():
    good = VerifyResult("s.a", 3, "pin", True, "version 3 is readable", datetime(2024, 6, 8, tzinfo=UTC))
    bad = VerifyResult("s.b", 4, "pin", False, "version 4 can no longer be read")
    report = VerifyReport("rel-1", [good, bad])
    assert report[0] is good and len(report) == 2 and not report.ok
    assert report.to_dict()["ok"] is False and report.to_dict()["tables"][1]["restorable"] is False
    assert "NOT fully restorable" in report.to_text() and "s.b" in report.to_markdown()
    assert render.PALETTE[render.Tone.FAIL][1] in report.to_html()
    with pytest.raises(CheckFailedError, match=r"s\.b version 4 can no longer be read"):
        report.raise_on_failure()
    VerifyReport("rel-1", [good]).raise_on_failure()


def test_label_list_and_snapshot_set_render():
    labels = LabelList(
        [
            LabelSummary("a<1>", 2, "pin", T, "ana", None, LabelStatus.LIVE),
            LabelSummary("b", 1, "deep", T, None, None, LabelStatus.of(["dropped"], partly=False)),
        ]
    )
    assert labels == labels[:] and labels[1].status is LabelStatus.DROPPED and not labels[1].status.live
    assert LabelStatus.of(["expired", "dropped"], partly=True) is LabelStatus.PARTLY_ENDED
    assert "a&lt;1&gt;" in labels.to_html() and "until dropped" in labels.to_text()
    assert labels.to_dict()["labels"][1]["status"] == "dropped"
    assert LabelList() == [] and "(none)" in LabelList().to_text()
    assert "| a<1> |" in labels.to_markdown()
    taken = SnapshotSet("rel-1", [])
    assert taken == [] and "snapshot 'rel-1' taken (0 table(s))" in taken.to_text()


def test_renderers_use_the_shared_module_only():
    import inspect

    import dbx_ops.snapshots.report as report_module

    source = inspect.getsource(report_module)
    assert "html.escape" not in source and "#1a7f37" not in source and "def _md" not in source
