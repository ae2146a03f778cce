"""The releases folder: append-only events, the state file, a write cut short, stored paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dbx_ops.cli import main
from dbx_ops.errors import InvalidInputError
from dbx_ops.releases.model import Release, ReleaseStatus, event
from dbx_ops.releases.store import ReleaseLog
from dbx_ops.verdict import Check

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _release(rid: str) -> Release:
    return Release(rid, "shop", "prod", "abc", "1.0", "dev", T0, smoke_jobs=("nightly",))


def test_events_fold_into_release_json_and_a_cut_short_line_is_skipped(tmp_path: Path) -> None:
    log = ReleaseLog(tmp_path / "rel")
    r = _release("rel-1")
    log.append(event("rel-1", "recorded", T0, "dev", r.record_doc(), 0), "shop", "prod")
    assert json.loads((tmp_path / "rel" / "rel-1" / "release.json").read_text())["status"] == "recorded"
    log.append(
        event("rel-1", "checked", T0, "dev", {"checks": [Check("smoke", True).to_dict()]}, 1), "shop", "prod"
    )
    # a killed writer leaves half a line at the end: everything before it still counts
    with (tmp_path / "rel" / "rel-1" / "events.jsonl").open("a") as fh:
        fh.write('{"event_id": "rel-1:0002:chec')
    state = log.releases()["rel-1"]
    assert state.status == ReleaseStatus.VERIFIED
    assert json.loads((tmp_path / "rel" / "rel-1" / "release.json").read_text())["status"] == "verified"
    assert [
        json.loads(x)["event"]
        for x in (tmp_path / "rel" / "rel-1" / "events.jsonl").read_text().splitlines()[:2]
    ] == [
        "recorded",
        "checked",
    ]


def test_a_stored_path_cannot_leave_the_releases_folder(tmp_path: Path) -> None:
    log = ReleaseLog(tmp_path / "rel")
    assert log.resolve("rel-1/wheel/x.whl") == (tmp_path / "rel" / "rel-1" / "wheel" / "x.whl").resolve()
    with pytest.raises(InvalidInputError, match="leaves the releases folder"):
        log.resolve("../../etc/passwd")


def test_cli_list_of_an_empty_folder_and_show_of_an_unknown_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-test")
    base = ["--dir", str(tmp_path / "rel"), "--no-table"]
    assert main(["release", "list", "--json", *base]) == 0
    assert json.loads(capsys.readouterr().out) == {"releases": []}
    assert main(["release", "show", "rel-nope", *base]) == 2
    assert "There is no release 'rel-nope'" in capsys.readouterr().err
    assert main(["release", "record", "--bundle", "shop", "--target", "prod", *base]) == 2
    assert "needs a version" in capsys.readouterr().err


CHECKLIST = """
name: release-mini
version: "1"
title: Release mini
roles:
  Approver: {}
signoff: [Approver]
phases:
  - name: One
    items:
      - {id: a, text: A}
"""


def test_a_release_gated_on_a_checklist_is_good_only_when_the_gate_is_go(tmp_path: Path) -> None:
    from dbx_ops.checklists import Actor, ChecklistRun, MemoryEventStore, TemplateLibrary
    from dbx_ops.releases import Releases

    (tmp_path / "release-mini.yml").write_text(CHECKLIST)
    library = TemplateLibrary([tmp_path])
    events = MemoryEventStore()
    run = ChecklistRun.start(
        library.get("release-mini"), events, Actor("a"), {"target": "prod"}, run_id="go-1"
    )
    # no smoke job, no wheel: nothing here calls the workspace
    releases = Releases(None, tmp_path / "rel", checklist_events=events, checklist_library=library)  # type: ignore[arg-type]
    rel = releases.record("shop", "prod", version="1.0", checklist_run="go-1", actor="dev")
    failed = releases.promote(rel.release_id)
    assert failed.status == ReleaseStatus.FAILED
    assert failed.checks[0].name == "checklist gate" and "no-go" in failed.checks[0].message
    run.set_item("a", "pass")
    ChecklistRun(library.get("release-mini"), "go-1", events, Actor("b")).sign("Approver", "go")
    good = releases.promote(rel.release_id)
    assert good.status == ReleaseStatus.VERIFIED and good.checks[0].actual == "go"
    assert releases.last_known_good("shop", "prod") == good

    bare = releases.record("shop", "prod", version="1.1", actor="dev")
    with pytest.raises(InvalidInputError, match="names no post-deploy check"):
        releases.promote(bare.release_id)
