"""The house shapes on job operations: ok / raise_on_failure, StrEnums, one clock, journals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from dbx_ops.clock import FixedClock
from dbx_ops.errors import DeployFailedError, InvalidInputError, UnhealthyJobError
from dbx_ops.jobs.deploy import DeployResult
from dbx_ops.jobs.health import HealthReport, HealthStatus, RunRecord, Severity, evaluate
from dbx_ops.jobs.journal import FolderJournal, journal_for
from dbx_ops.jobs.rollback import JobRollback, wait_for_run
from dbx_ops.verdict import Check

NOW = 10_000_000


def failed_job() -> object:
    runs = [RunRecord(i, NOW - 1000 * i, NOW - 1000 * i + 10, "TERMINATED", "FAILED") for i in range(1, 4)]
    return evaluate(7, "gold", runs, NOW)


def test_job_health_says_ok_and_raises_unhealthy_job_error():
    h = failed_job()
    assert not h.ok and h.status is HealthStatus.UNHEALTHY and h.status == "UNHEALTHY"
    assert {a.severity for a in h.alerts} == {Severity.P1}
    with pytest.warns(DeprecationWarning):
        assert h.has_p1
    with pytest.raises(UnhealthyJobError, match=r"'gold' \(7\) is unhealthy: Run 1 of 'gold' ended FAILED"):
        h.raise_on_failure()
    healthy = evaluate(8, "silver", [RunRecord(1, NOW - 100, NOW, "TERMINATED", "SUCCESS")], NOW)
    assert healthy.ok and healthy.status is HealthStatus.HEALTHY
    healthy.raise_on_failure()


def test_health_report_fails_on_any_p1_and_renders_without_the_clock():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    report = HealthReport((failed_job(),), at)
    assert not report.ok and report.to_dict()["ok"] is False and report.to_dict()["p1"] is True
    with pytest.raises(UnhealthyJobError, match="P1 job alerts: "):
        report.raise_on_failure()
    assert "2026-01-02 03:04:05" in report.to_html() and "2026-01-02 03:04:05" in report.to_markdown()
    assert "UNHEALTHY" in report.to_text() and "[P1]" in report.to_text()


def _deploy_result(ok: bool) -> DeployResult:
    return DeployResult(
        deployment_id="deploy-1",
        strategy="direct",
        environment="dev",
        job_name="gold",
        ok=ok,
        dry_run=False,
        job_id=1,
        previous_job_id=1,
        previous_config={},
        new_config={},
        backup_version=None,
        checks=[Check("definition", True, "a valid job definition", "1 task(s)")],
        steps=["a", "b"],
        error=None if ok else "smoke run 5 on 'gold-green' ended FAILED",
    )


def test_deploy_result_says_ok_and_raises_deploy_failed_error():
    good, bad = _deploy_result(True), _deploy_result(False)
    good.raise_on_failure()
    assert (
        good.to_dict()["ok"] is True and good.to_dict()["checks"][0]["expected"] == "a valid job definition"
    )
    with pytest.warns(DeprecationWarning):
        assert good.success
    with pytest.raises(DeployFailedError, match="did not go live: smoke run 5"):
        bad.raise_on_failure()
    assert "FAILED" in bad.to_markdown() and "fail" in bad.to_html().lower()


class _Runs:
    """A jobs API whose run never finishes."""

    def __init__(self) -> None:
        self.polls = 0

    def get_run(self, run_id: int) -> object:
        self.polls += 1
        return SimpleNamespace(state=SimpleNamespace(life_cycle_state=SimpleNamespace(value="RUNNING")))


def test_wait_for_run_measures_its_deadline_on_the_injected_clock():
    runs = _Runs()
    ws = SimpleNamespace(jobs=runs)
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC), step=timedelta(seconds=60))
    slept: list[float] = []
    result = wait_for_run(ws, 1, timeout_s=600, poll_s=5, sleep=slept.append, now=clock)  # type: ignore[arg-type]
    # No wall time passed: the stepping clock alone ran the 10 minutes out.
    assert result == "TIMEDOUT_WAITING" and runs.polls == 10 and slept == [5] * 9


def test_a_rollback_journal_needs_a_place_that_outlives_the_cluster(tmp_path: Path):
    definitions = SimpleNamespace(store=None)
    with pytest.raises(InvalidInputError, match="outlives the cluster"):
        JobRollback(SimpleNamespace(), definitions)  # type: ignore[arg-type]
    journal = journal_for(tmp_path / "vol", None)
    assert isinstance(journal, FolderJournal)
    journal.save("rollback", "42", {"status": "in_progress"})
    assert journal.load("rollback", "42") == {"status": "in_progress"}
    assert json.loads((tmp_path / "vol" / "42.json").read_text()) == {"status": "in_progress"}
    assert journal.load("rollback", "43") is None


def test_the_deploy_gate_hook_refuses_before_anything_changes(monkeypatch: pytest.MonkeyPatch):
    import dbx_ops.jobs.deploy as deploy_module
    from dbx_ops.errors import NoGoError

    seen: list[str] = []

    def gate(spec, options) -> None:
        seen.append(options.environment)
        raise NoGoError("checklist run r1 is no-go: 2 required items pending.")

    changes: list[str] = []
    monkeypatch.setattr(deploy_module, "find_jobs_by_name", lambda ws, name, retry: [])
    deployer = deploy_module.JobDeployer(SimpleNamespace(), SimpleNamespace(store=None), gate=gate)  # type: ignore[arg-type]
    monkeypatch.setattr(deployer, "validate", lambda spec, allow_secrets=False: [])
    monkeypatch.setattr(deployer, "_create", lambda settings: changes.append("create") or 1)
    spec = {
        "name": "j",
        "tasks": [{"task_key": "t", "existing_cluster_id": "c", "notebook_task": {"notebook_path": "/n"}}],
    }
    for dry_run in (True, False):
        options = deploy_module.DeployOptions(environment="prod", dry_run=dry_run, manifest_dir="unused")
        with pytest.raises(NoGoError, match="no-go"):
            deployer.deploy(spec, options)
    assert seen == ["prod", "prod"] and changes == []
