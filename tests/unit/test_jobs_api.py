"""Retry and error translation of workspace calls (with the SDK's real error classes)."""

from __future__ import annotations

import pytest
import requests
from databricks.sdk import errors

from dbx_ops.errors import NotFoundError, WorkspaceError
from dbx_ops.jobs.api import RetryPolicy, call, is_transient, job_ref
from dbx_ops.jobs.rollback import incident_summary


def flaky(failures: list[BaseException], value: str = "ok"):
    calls = []

    def fn() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return value

    return fn, calls


def test_transient_failures_are_retried_with_backoff():
    sleeps: list[float] = []
    fn, calls = flaky(
        [
            errors.InternalError("boom"),
            # (Connection errors are not here: the SDK retries them for its whole budget, so one that
            # reaches dbx_ops means the workspace is gone; see the test after the next ones.)
            errors.DatabricksError("502 Bad Gateway"),
            errors.DatabricksError("x", error_code="TEMPORARILY_UNAVAILABLE"),
        ]
    )
    assert (
        call("do it", fn, retry=RetryPolicy(attempts=5, base_delay=1, max_delay=3), sleep=sleeps.append)
        == "ok"
    )
    assert len(calls) == 4 and sleeps == [1, 2, 3]


def test_giving_up_says_so():
    fn, calls = flaky([errors.InternalError("boom")] * 5)
    with pytest.raises(
        WorkspaceError, match=r"Cannot reset job 1: the workspace kept failing after 2 attempts"
    ):
        call("reset job 1", fn, retry=RetryPolicy(attempts=2), sleep=lambda s: None)
    assert len(calls) == 2


def test_missing_and_refused_are_not_retried():
    fn, calls = flaky([errors.InvalidParameterValue("Job 9 does not exist.")])
    with pytest.raises(NotFoundError, match="Job 9 does not exist"):
        call("get job 9", fn, sleep=lambda s: None)
    fn, calls = flaky([errors.PermissionDenied("no")])
    with pytest.raises(WorkspaceError, match=r"refused it \(no\)"):
        call("delete job 9", fn, sleep=lambda s: None)
    assert len(calls) == 1
    assert is_transient(errors.DatabricksError("502 Bad Gateway")) and not is_transient(ValueError("x"))


def test_job_refs_and_summary():
    assert job_ref("123") == 123 and job_ref(" etl ") == "etl" and job_ref(5) == 5
    with pytest.raises(Exception, match="empty"):
        job_ref(" ")
    text = incident_summary(
        "etl",
        7,
        "a schema mismatch",
        "v1",
        [1, 2],
        {"schedule": "UNPAUSED"},
        "Smoke tests passed.",
        "Ana",
        30,
    )
    assert text == (
        "Production job 'etl' (7) was affected by a schema mismatch; 2 active run(s) cancelled. "
        "Job rolled back to definition v1 and its schedule restored (schedule UNPAUSED). Smoke tests passed. "
        "Next update in 30 minutes. Owner: Ana."
    )


def test_a_dead_workspace_is_not_retried_again_on_top_of_the_sdk():
    """The SDK already spent its retry budget on a refused or timed-out connection: one sentence, now."""
    from dbx_ops.errors import WorkspaceUnreachableError

    for exc in (requests.ConnectionError("refused"), TimeoutError("Timed out after 0:00:45")):
        sleeps: list[float] = []
        fn, calls = flaky([exc] * 5)
        with pytest.raises(WorkspaceUnreachableError, match=r"did not answer while trying to get job 1"):
            call("get job 1", fn, sleep=sleeps.append)
        assert len(calls) == 1 and sleeps == []


def test_retries_honour_a_total_deadline():
    from datetime import UTC, datetime, timedelta

    from dbx_ops.clock import FixedClock

    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        clock.advance(timedelta(seconds=s))

    fn, calls = flaky([errors.InternalError("boom")] * 50)
    policy = RetryPolicy(attempts=50, base_delay=4, max_delay=8, total_s=20)
    with pytest.raises(WorkspaceError, match=r"kept failing for 20s"):
        call("reset job 1", fn, retry=policy, sleep=sleep, now=clock)
    assert sum(sleeps) <= 20 and len(calls) < 50
