"""The pure release model: the fold of events and the last-known-good selection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbx_ops.errors import InvalidInputError, NotFoundError
from dbx_ops.releases.model import (
    ArtifactFile,
    DeployedJob,
    Release,
    ReleaseStatus,
    event,
    fold,
    last_known_good,
    next_seq,
    release_id_for,
    rollback_target,
    unfinished_rollback,
)
from dbx_ops.verdict import Check

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _release(rid: str, minutes: int, bundle: str = "shop", target: str = "prod", **kw: object) -> Release:
    return Release(
        release_id=rid,
        bundle=bundle,
        target=target,
        git_commit="abc123",
        version=rid,
        actor="dev@example.com",
        recorded_at=T0 + timedelta(minutes=minutes),
        wheel=ArtifactFile("/Workspace/a/shop.whl", "f" * 64, f"{rid}/wheel/shop.whl", "wheel"),
        jobs=(DeployedJob(7, "shop-nightly", "e" * 64, {"name": "shop-nightly"}),),
        smoke_jobs=("shop-nightly",),
        **kw,  # type: ignore[arg-type]
    )


def _events(*items: tuple[Release, list[bool] | None]) -> list[dict]:
    out = []
    for release, checks in items:
        out.append(event(release.release_id, "recorded", release.recorded_at, "dev", release.record_doc(), 0))
        if checks is not None:
            doc = {"checks": [Check(f"c{i}", ok).to_dict() for i, ok in enumerate(checks)]}
            out.append(event(release.release_id, "checked", release.recorded_at, "dev", doc, 1))
    return out


def test_fold_gives_status_from_the_checks_and_ignores_duplicate_events() -> None:
    v1, v2, v3 = _release("v1", 0), _release("v2", 10), _release("v3", 20)
    events = _events((v1, [True, True]), (v2, [True, False]), (v3, None))
    state = fold(events + events[:2])  # the same events read from the folder and the table
    assert state["v1"].status == ReleaseStatus.VERIFIED and state["v1"].known_good
    assert state["v2"].status == ReleaseStatus.FAILED and not state["v2"].ok
    assert "c1" in state["v2"].failure_message()
    assert state["v3"].status == ReleaseStatus.RECORDED and state["v3"].ok and not state["v3"].known_good
    assert state["v1"].record_doc() == v1.record_doc()
    assert next_seq(events, "v1") == 2 and next_seq(events, "nope") == 0


def test_a_check_round_with_no_checks_is_not_good() -> None:
    v1 = _release("v1", 0)
    assert fold(_events((v1, [])))["v1"].status == ReleaseStatus.FAILED


def test_last_known_good_is_the_newest_verified_release_of_that_bundle_and_target() -> None:
    rows = fold(
        _events(
            (_release("v1", 0), [True]),
            (_release("v2", 10), [True]),
            (_release("v3", 20), [False]),
            (_release("other", 30, bundle="crm"), [True]),
            (_release("staging", 40, target="staging"), [True]),
        )
    ).values()
    good = last_known_good(rows, "shop", "prod")
    assert good is not None and good.release_id == "v2"
    assert rollback_target(rows, "shop", "prod").release_id == "v2"  # v3 failed: back to v2
    assert last_known_good(rows, "shop", "dev") is None


def test_rolling_back_from_a_verified_release_goes_to_the_good_one_before_it() -> None:
    rows = fold(_events((_release("v1", 0), [True]), (_release("v2", 10), [True]))).values()
    assert rollback_target(rows, "shop", "prod").release_id == "v1"


def test_refusals_name_the_reason() -> None:
    rows = fold(_events((_release("v1", 0), [False]), (_release("v2", 10), None))).values()
    with pytest.raises(NotFoundError, match="No known-good release of shop/prod precedes v2"):
        rollback_target(rows, "shop", "prod")
    with pytest.raises(NotFoundError, match="No release of shop/qa is recorded"):
        rollback_target(rows, "shop", "qa")
    with pytest.raises(InvalidInputError, match="v1 is failed, not known good"):
        rollback_target(rows, "shop", "prod", to="v1")
    with pytest.raises(NotFoundError, match="no release 'v9'"):
        rollback_target(rows, "shop", "prod", to="v9")
    with pytest.raises(InvalidInputError, match="is of shop/prod, not crm/prod"):
        rollback_target(rows, "crm", "prod", to="v1")


def test_an_unfinished_rollback_is_found_until_its_checks_ran() -> None:
    v1 = _release("v1", 0)
    rb = _release("rb", 20, kind="rollback", rollback_of="v1")
    events = _events((v1, [True]), (_release("v2", 10), [False]), (rb, None))
    events.append(event("rb", "step", T0, "dev", {"step": "upload_wheel", "detail": "uploaded"}, 1))
    rows = fold(events)
    pending = unfinished_rollback(rows.values(), "shop", "prod")
    assert pending is not None and pending.release_id == "rb"
    assert [s["step"] for s in pending.steps] == ["upload_wheel"]
    events.append(event("rb", "checked", T0, "dev", {"checks": [Check("smoke", True).to_dict()]}, 2))
    rows = fold(events)
    assert unfinished_rollback(rows.values(), "shop", "prod") is None
    # the verified rollback is now the last known good (it carries v1's artifact)
    good = last_known_good(rows.values(), "shop", "prod")
    assert good is not None and good.release_id == "rb" and good.rollback_of == "v1"


def test_release_ids_sort_by_time_and_never_collide() -> None:
    a = release_id_for(T0, "1.2.0")
    assert a == "rel-20261102-090000-1.2.0"
    assert release_id_for(T0, "1.2.0", [a]) == f"{a}-2"
    assert release_id_for(T0, "a b/c") == "rel-20261102-090000-a-b-c"
    assert release_id_for(T0 + timedelta(seconds=1), "1.2.0") > a


def test_renderings_show_the_checks_and_escape_user_text() -> None:
    v1 = _release("v1", 0)
    doc = {
        "checks": [Check("smoke shop-nightly", False, "SUCCESS", "FAILED", "smoke <run> 4 FAILED").to_dict()]
    }
    events = [*_events((v1, None)), event("v1", "checked", T0, "dev", doc, 1)]
    release = fold(events)["v1"]
    assert "smoke <run> 4 FAILED" in release.to_markdown()
    assert "smoke &lt;run&gt; 4 FAILED" in release.to_html()
    assert release.to_dict()["status"] == "failed" and release.to_dict()["checks"][0]["actual"] == "FAILED"
    with pytest.raises(Exception, match="failed its post-deploy checks: smoke <run> 4 FAILED"):
        release.raise_on_failure()
