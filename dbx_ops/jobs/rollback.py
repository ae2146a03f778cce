"""Roll a job back to its previous definition (seed 000 §6, seed 003).

Steps, in order: pause the schedule (remembering its status), cancel the
active runs, restore the previous definition from the store (applied paused),
re-enable the schedule as it was, trigger a verification run and wait for it,
write an incident summary (seed 003 §7).

Every step is recorded in a journal before and after it runs, so an
interrupted rollback (the workspace went away, the process was killed)
continues where it stopped when run again, and a finished one is not
repeated. The journal lives where it outlives the cluster: a folder the caller
gives (a Unity Catalog volume, ``<folder>/<job_id>.json``) or the state
schema's Delta table ``job_journals`` (see :mod:`dbx_ops.jobs.journal`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import CheckFailedError, WorkspaceError
from dbx_ops.jobs.api import DEFAULT_RETRY, RetryPolicy, active_runs, call
from dbx_ops.jobs.journal import FolderJournal, Journal, journal_for
from dbx_ops.jobs.store import (
    JobDefinitionStore,
    apply_settings,
    pause_status,
    paused,
    refuse_masked,
    settings_sha,
)
from dbx_ops.verdict import Verdict

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)

STEPS = ("pause", "cancel_runs", "restore", "resume_schedule", "verify", "summary")
TERMINAL = frozenset({"TERMINATED", "SKIPPED", "INTERNAL_ERROR"})
JOURNAL_KIND = "rollback"


class RollbackStatus(StrEnum):
    """Where a rollback stands."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ALREADY_ROLLED_BACK = "already_rolled_back"
    VERIFICATION_FAILED = "verification_failed"


@dataclass(frozen=True)
class RollbackOptions:
    """How a rollback runs.

    Attributes:
        backup: which backup to restore (see :meth:`JobDefinitionStore.resolve`); default the
            newest one that differs from the live definition.
        verify: trigger a verification run and wait for it.
        timeout_s: how long to wait for the verification run.
        poll_s: seconds between polls of the verification run.
        reason: what happened, for the incident summary.
        owner: who owns the incident (default: the workspace's current user).
        next_update_minutes: when the next update is due, for the summary.
    """

    backup: str | None = None
    verify: bool = True
    timeout_s: float = 3600.0
    poll_s: float = 10.0
    reason: str = "a bad deployment"
    owner: str | None = None
    next_update_minutes: int = 30


@dataclass(frozen=True)
class RollbackResult(Verdict):
    """The outcome of a rollback (or its plan, on a dry run).

    Attributes:
        job_id: the job.
        job_name: its name.
        status: ``planned``, ``completed``, ``already_rolled_back`` or ``verification_failed``.
        steps: each step with what it did.
        backup_version: the restored backup.
        verification_run_id: the verification run.
        verification_result: its result state.
        summary: the incident message.
        summary_path: where the summary was written.
        journal_path: the journal file.
        resumed: True when an interrupted rollback was continued.
    """

    job_id: int
    job_name: str
    status: RollbackStatus
    steps: list[dict[str, Any]]
    backup_version: str | None
    verification_run_id: int | None = None
    verification_result: str | None = None
    summary: str = ""
    summary_path: str | None = None
    journal_path: str | None = None
    resumed: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)

    error_class = CheckFailedError

    @property
    def ok(self) -> bool:
        """True unless the verification run failed."""
        return self.status != RollbackStatus.VERIFICATION_FAILED

    def failure_message(self) -> str:
        """One sentence: rolled back, but the verification run failed."""
        return (
            f"Job {self.job_id} was rolled back but verification run {self.verification_run_id} ended "
            f"{self.verification_result}: investigate before re-enabling anything else."
        )

    def to_text(self) -> str:
        """What the CLI prints (Markdown reads well on a terminal)."""
        return self.to_markdown()

    def to_markdown(self) -> str:
        """A Markdown account of the rollback."""
        from dbx_ops.jobs.report import rollback_markdown

        return rollback_markdown(self)

    def to_html(self) -> str:
        """HTML for ``displayHTML``."""
        from dbx_ops.jobs.report import rollback_html

        return rollback_html(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "job_id": self.job_id,
            "job_name": self.job_name,
            "status": str(self.status),
            "ok": self.ok,
            "steps": self.steps,
            "backup_version": self.backup_version,
            "verification_run_id": self.verification_run_id,
            "verification_result": self.verification_result,
            "summary": self.summary,
            "summary_path": self.summary_path,
            "journal_path": self.journal_path,
            "resumed": self.resumed,
            "changes": self.changes,
        }


def incident_summary(
    job_name: str,
    job_id: int,
    reason: str,
    backup_version: str,
    cancelled: list[int],
    schedule: dict[str, str],
    verification: str,
    owner: str,
    next_update_minutes: int,
) -> str:
    """The seed 003 §7 message: what happened, impact, action, status, next update, owner (pure)."""
    impact = f"{len(cancelled)} active run(s) cancelled" if cancelled else "no active runs were affected"
    sched = ", ".join(f"{k} {v}" for k, v in sorted(schedule.items())) or "no schedule"
    return (
        f"Production job {job_name!r} ({job_id}) was affected by {reason}; {impact}. "
        f"Job rolled back to definition {backup_version} and its schedule restored ({sched}). "
        f"{verification} "
        f"Next update in {next_update_minutes} minutes. Owner: {owner}."
    )


class JobRollback:
    """Rolls a job back, resumably.

    Args:
        ws: the workspace client.
        definitions: the definition store holding the backups.
        journal_dir: a folder for journals and incident summaries that outlives the cluster
            (a Unity Catalog volume path); when None they go to the state schema's table
            ``job_journals`` of ``store``.
        store: the state store (default: the definition store's); used when no folder is given.
        retry: retry policy for workspace calls.
        sleep: the sleep function (tests may hand in a fast one).
        now: the clock (UTC-aware); also bounds the wait for the verification run.

    Raises:
        InvalidInputError: neither a journal folder nor a state store was given.
    """

    def __init__(
        self,
        ws: WorkspaceClient,
        definitions: JobDefinitionStore,
        journal_dir: str | Path | None = None,
        store: StateStore | Callable[[], StateStore] | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        now: Clock = utc_now,
    ) -> None:
        self.ws = ws
        self.definitions = definitions
        self.journal: Journal = journal_for(journal_dir, store or definitions.store, now)
        self.retry = retry
        self.sleep = sleep
        self._now = now

    # -- journal -----------------------------------------------------------------------------

    def journal_location(self, job_id: int) -> str:
        """Where the journal of a job's rollback lives (a file path or ``table[rollback/<id>]``)."""
        return self.journal.location(JOURNAL_KIND, str(job_id))

    def journal_path(self, job_id: int) -> Path:
        """The journal file of a job's rollback (folder journals only)."""
        if not isinstance(self.journal, FolderJournal):
            raise TypeError("this rollback keeps its journal in a Delta table: use journal_location()")
        return self.journal.path(JOURNAL_KIND, str(job_id))

    def _load(self, job_id: int) -> dict[str, Any] | None:
        return self.journal.load(JOURNAL_KIND, str(job_id))

    def _save(self, journal: dict[str, Any]) -> None:
        self.journal.save(JOURNAL_KIND, str(journal["job_id"]), journal)

    # -- planning ----------------------------------------------------------------------------

    def plan(self, job: int | str, options: RollbackOptions = RollbackOptions()) -> RollbackResult:
        """What a rollback would do, changing nothing (``--dry-run``)."""
        job_id, name, live = self.definitions.live(job)
        journal = self._load(job_id)
        if journal and journal.get("status") == "in_progress":
            done = [s for s in STEPS if journal["steps"].get(s, {}).get("done")]
            steps = [
                {"step": s, "done": s in done, "detail": "already done" if s in done else "will resume here"}
                for s in STEPS
            ]
            return RollbackResult(
                job_id,
                name,
                RollbackStatus.PLANNED,
                steps,
                journal.get("backup_version"),
                journal_path=self.journal_location(job_id),
                resumed=True,
            )
        if self._finished(journal, live, options):
            assert journal is not None
            return self._result(journal, status=RollbackStatus.ALREADY_ROLLED_BACK)
        target = self.definitions.resolve(job_id, options.backup or "previous", live_sha=settings_sha(live))
        runs = active_runs(self.ws, job_id, self.retry)
        sched = pause_status(live)
        diff = self.definitions.diff(job_id, target.version)
        steps = [
            {
                "step": "pause",
                "detail": f"pause {', '.join(sched) or 'nothing (no schedule)'}; remember {sched}",
            },
            {"step": "cancel_runs", "detail": f"cancel {len(runs)} active run(s) {runs}"},
            {
                "step": "restore",
                "detail": f"jobs.reset to backup {target.version} ({len(diff.changes)} change(s))",
            },
            {"step": "resume_schedule", "detail": f"set pause status back to {sched or 'n/a'}"},
            {
                "step": "verify",
                "detail": f"trigger a run and wait up to {options.timeout_s:.0f}s"
                if options.verify
                else "skipped (--no-verify)",
            },
            {"step": "summary", "detail": "write the incident summary"},
        ]
        changes = [
            {"path": c.path, "kind": c.kind, "live": c.after, "backup": c.before} for c in diff.changes
        ]
        return RollbackResult(job_id, name, RollbackStatus.PLANNED, steps, target.version, changes=changes)

    # -- running -----------------------------------------------------------------------------

    def run(self, job: int | str, options: RollbackOptions = RollbackOptions()) -> RollbackResult:
        """Roll the job back (or continue an interrupted rollback).

        Raises:
            NotFoundError: the job or a backup to go back to does not exist.
            WorkspaceError: the workspace kept failing; the journal keeps the progress, run again.
        """
        job_id, name, live = self.definitions.live(job)
        journal = self._load(job_id)
        resumed = False
        live_sha = settings_sha(live)
        if journal and journal.get("status") == "in_progress":
            resumed = True
            logger.info("resuming the interrupted rollback of job %s", job_id)
        elif self._finished(journal, live, options):
            assert journal is not None
            return self._result(journal, status=RollbackStatus.ALREADY_ROLLED_BACK)
        else:
            target = self.definitions.resolve(job_id, options.backup or "previous", live_sha=live_sha)
            refuse_masked(target.settings, f"job {job_id} (backup {target.version})")  # before any change
            journal = {
                "job_id": job_id,
                "job_name": name,
                "status": "in_progress",
                "started_at": self._now().isoformat(),
                "backup_version": target.version,
                "backup_path": str(target.path),
                "target_sha": settings_sha(paused(target.settings)),
                "target_settings": target.settings,
                "broken_sha": live_sha,
                "remembered_schedule": pause_status(live),
                "options": {"reason": options.reason, "owner": options.owner, "verify": options.verify},
                "steps": {},
            }
            self._save(journal)
        assert journal is not None
        try:
            for step in STEPS:
                if journal["steps"].get(step, {}).get("done"):
                    continue
                detail = getattr(self, f"_step_{step}")(journal, options)
                journal["steps"][step] = {"done": True, "detail": detail, "at": self._now().isoformat()}
                self._save(journal)
        except WorkspaceError as exc:
            self._save(journal)
            reason = str(exc).rstrip(".")
            raise type(exc)(
                f"Rollback of job {job_id} stopped ({reason}); its progress is in "
                f"{self.journal_location(job_id)}: run the rollback again to continue."
            ) from exc
        journal["status"] = str(
            RollbackStatus.COMPLETED
            if journal.get("verification_result") in (None, "SUCCESS")
            else RollbackStatus.VERIFICATION_FAILED
        )
        journal["finished_at"] = self._now().isoformat()
        self._save(journal)
        return self._result(journal, resumed=resumed)

    @staticmethod
    def _finished(journal: dict[str, Any] | None, live: dict[str, Any], options: RollbackOptions) -> bool:
        """True when the journal's rollback finished and the job still has the restored definition."""
        return bool(
            journal
            and journal.get("status") in (RollbackStatus.COMPLETED, RollbackStatus.VERIFICATION_FAILED)
            and settings_sha(paused(live)) == journal.get("target_sha")
            and options.backup is None
        )

    def _result(
        self, journal: dict[str, Any], status: RollbackStatus | None = None, resumed: bool = False
    ) -> RollbackResult:
        steps = [{"step": s, **journal["steps"].get(s, {"done": False})} for s in STEPS]
        return RollbackResult(
            job_id=int(journal["job_id"]),
            job_name=str(journal["job_name"]),
            status=status or RollbackStatus(str(journal["status"])),
            steps=steps,
            backup_version=journal.get("backup_version"),
            verification_run_id=journal.get("verification_run_id"),
            verification_result=journal.get("verification_result"),
            summary=str(journal.get("summary", "")),
            summary_path=journal.get("summary_path"),
            journal_path=self.journal_location(int(journal["job_id"])),
            resumed=resumed,
        )

    # -- the steps ---------------------------------------------------------------------------

    def _update(self, doing: str, job_id: int, update: dict[str, Any]) -> None:
        """A partial settings update (``jobs/update``), bounded and retried like every call."""
        from databricks.sdk.service.jobs import JobSettings

        call(
            doing,
            self.ws.jobs.update,
            retry=self.retry,
            job_id=job_id,
            new_settings=JobSettings.from_dict(update),
        )

    def _step_pause(self, journal: dict[str, Any], options: RollbackOptions) -> str:
        job_id = int(journal["job_id"])
        job = call(f"get job {job_id}", self.ws.jobs.get, retry=self.retry, job_id=job_id)
        settings = job.settings.as_dict() if job.settings else {}
        update: dict[str, Any] = {}
        for key in journal["remembered_schedule"]:
            if isinstance(settings.get(key), dict):
                update[key] = {**settings[key], "pause_status": "PAUSED"}
        if not update:
            return "no schedule to pause"
        self._update(f"pause job {job_id}", job_id, update)
        return f"paused {', '.join(sorted(update))} (was {journal['remembered_schedule']})"

    def _step_cancel_runs(self, journal: dict[str, Any], options: RollbackOptions) -> str:
        job_id = int(journal["job_id"])
        runs = active_runs(self.ws, job_id, self.retry)
        cancelled = list(journal.get("cancelled_runs", []))
        for run_id in runs:
            call(f"cancel run {run_id}", self.ws.jobs.cancel_run, retry=self.retry, run_id=run_id)
            cancelled.append(run_id)
            journal["cancelled_runs"] = cancelled
            self._save(journal)
        journal["cancelled_runs"] = cancelled
        return f"cancelled {len(runs)} active run(s)"

    def _step_restore(self, journal: dict[str, Any], options: RollbackOptions) -> str:
        job_id = int(journal["job_id"])
        apply_settings(self.ws, job_id, journal["target_settings"], pause=True, retry=self.retry)
        return f"restored backup {journal['backup_version']} (applied paused)"

    def _step_resume_schedule(self, journal: dict[str, Any], options: RollbackOptions) -> str:
        job_id = int(journal["job_id"])
        remembered: dict[str, str] = journal["remembered_schedule"]
        target = journal["target_settings"]
        update: dict[str, Any] = {}
        for key in ("schedule", "trigger", "continuous"):
            if isinstance(target.get(key), dict):
                update[key] = {
                    **target[key],
                    "pause_status": remembered.get(key, target[key].get("pause_status")) or "UNPAUSED",
                }
        if not update:
            return "the restored definition has no schedule"
        self._update(f"re-enable the schedule of job {job_id}", job_id, update)
        return "schedule set to " + ", ".join(f"{k} {v['pause_status']}" for k, v in sorted(update.items()))

    def _step_verify(self, journal: dict[str, Any], options: RollbackOptions) -> str:
        if not options.verify:
            return "skipped"
        job_id = int(journal["job_id"])
        run_id = journal.get("verification_run_id")
        if run_id is None:
            waiter = call(
                f"trigger a verification run of job {job_id}",
                self.ws.jobs.run_now,
                retry=self.retry,
                job_id=job_id,
            )
            run_id = int(getattr(waiter.response, "run_id", 0) or 0)
            journal["verification_run_id"] = run_id
            self._save(journal)
        result = wait_for_run(
            self.ws, int(run_id), options.timeout_s, options.poll_s, self.retry, self.sleep, self._now
        )
        journal["verification_result"] = result
        return f"verification run {run_id} ended {result}"

    def _step_summary(self, journal: dict[str, Any], options: RollbackOptions) -> str:
        owner = journal["options"].get("owner") or options.owner
        if not owner:
            try:
                owner = str(
                    call("read the current user", self.ws.current_user.me, retry=self.retry).user_name
                )
            except WorkspaceError:
                owner = "unknown"
        result = journal.get("verification_result")
        if result is None:
            verification = "No verification run was requested; monitoring."
        elif result == "SUCCESS":
            verification = (
                f"Verification run {journal['verification_run_id']} passed; monitoring normalising."
            )
        else:
            verification = (
                f"Verification run {journal['verification_run_id']} ended {result}: "
                "the job is NOT healthy yet, escalate."
            )
        text = incident_summary(
            str(journal["job_name"]),
            int(journal["job_id"]),
            str(journal["options"].get("reason") or options.reason),
            str(journal["backup_version"]),
            list(journal.get("cancelled_runs", [])),
            dict(journal["remembered_schedule"]),
            verification,
            str(owner),
            options.next_update_minutes,
        )
        stamp = self._now().strftime("%Y%m%dT%H%M%SZ")
        where = self.journal.attach(
            "incidents",
            f"{journal['job_id']}-{stamp}",
            f"# Rollback of {journal['job_name']} ({journal['job_id']})\n\n{text}\n",
        )
        journal["summary"] = text
        journal["summary_path"] = where
        return f"incident summary written to {where}"


def wait_for_run(
    ws: WorkspaceClient,
    run_id: int,
    timeout_s: float,
    poll_s: float = 10.0,
    retry: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
    now: Clock = utc_now,
) -> str:
    """Poll a run until it finishes; its result state (``TIMEDOUT_WAITING`` when the wait ran out).

    Args:
        ws: the workspace client.
        run_id: the run.
        timeout_s: how long to wait, by ``now``.
        poll_s: seconds between polls.
        retry: retry policy of each poll.
        sleep: the sleep function.
        now: the clock the deadline is measured on (a test hands in a stepping one).
    """
    deadline = now() + timedelta(seconds=timeout_s)
    while True:
        run = call(f"get run {run_id}", ws.jobs.get_run, retry=retry, run_id=run_id)
        life = run.state.life_cycle_state.value if run.state and run.state.life_cycle_state else ""
        if life in TERMINAL:
            result = run.state.result_state.value if run.state and run.state.result_state else life
            return str(result)
        if now() >= deadline:
            logger.warning("run %s still %s after %.0fs", run_id, life, timeout_s)
            return "TIMEDOUT_WAITING"
        sleep(poll_s)


def require_ok(result: RollbackResult) -> RollbackResult:
    """Raise :class:`CheckFailedError` when the verification run failed (``result.raise_on_failure()``)."""
    result.raise_on_failure()
    return result
