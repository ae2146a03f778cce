"""Job health and alert rules (seed 000 §5 and its alert table).

The statistics and rules are pure functions over :class:`RunRecord` lists;
:class:`JobHealthChecker` is the thin edge that reads runs with
``jobs.list_runs`` and data-quality results from the validation engineer's
Delta table ``validation_results``.

Alert rules:

=====================  =====================================================  ========
rule                   fires when                                             severity
=====================  =====================================================  ========
``job_failed``         the newest finished run failed                         P1
``long_running``       the newest run (finished or still running) took more   P2
                       than 2x the mean duration of the finished runs before
``consecutive_fails``  3 or more of the newest finished runs failed in a row   P1
``data_quality``       a table linked to the job failed a ``severity='fail'``  P2
                       rule in its latest validation run
=====================  =====================================================  ========

A job is linked to tables by its tag ``dbx_ops_tables`` (comma-separated
table names) and/or the ``tables`` argument.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import InvalidInputError, UnhealthyJobError
from dbx_ops.jobs.api import DEFAULT_RETRY, RetryPolicy, call, get_job
from dbx_ops.verdict import Verdict

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)

TABLES_TAG = "dbx_ops_tables"
VALIDATION_TABLE = "validation_results"
FAILED_STATES = frozenset({"FAILED", "TIMEDOUT", "INTERNAL_ERROR", "MAXIMUM_CONCURRENT_RUNS_REACHED"})
ACTIVE_STATES = frozenset({"PENDING", "QUEUED", "RUNNING", "TERMINATING", "BLOCKED", "WAITING_FOR_RETRY"})


class HealthStatus(StrEnum):
    """A job's health in one word."""

    HEALTHY = "HEALTHY"
    DEGRADED = "DEGRADED"
    UNHEALTHY = "UNHEALTHY"
    NO_RUNS = "NO_RUNS"


class Severity(StrEnum):
    """How urgent an alert is: P1 pages the on-call engineer, P2 is looked at the same day."""

    P1 = "P1"
    P2 = "P2"


class AlertRule(StrEnum):
    """The alert rules (seed 000's alert table)."""

    JOB_FAILED = "job_failed"
    LONG_RUNNING = "long_running"
    CONSECUTIVE_FAILS = "consecutive_fails"
    DATA_QUALITY = "data_quality"


@dataclass(frozen=True)
class HealthRules:
    """Thresholds of the alert rules.

    Attributes:
        window: how many of the newest runs the statistics use.
        duration_factor: ``long_running`` fires above this multiple of the mean duration.
        consecutive_failures: ``consecutive_fails`` fires at this many failures in a row.
        healthy_success_rate: below it a job is DEGRADED.
    """

    window: int = 10
    duration_factor: float = 2.0
    consecutive_failures: int = 3
    healthy_success_rate: float = 0.9

    def __post_init__(self) -> None:
        if not 1 <= self.window <= 1000:
            raise InvalidInputError(f"window={self.window} must be between 1 and 1000 runs.")
        if self.duration_factor <= 1:
            raise InvalidInputError(f"duration_factor={self.duration_factor} must be greater than 1.")
        if self.consecutive_failures < 1:
            raise InvalidInputError("consecutive_failures must be at least 1.")


@dataclass(frozen=True)
class RunRecord:
    """One run as health needs it.

    Attributes:
        run_id: the run.
        start_time: start, epoch milliseconds.
        end_time: end, epoch milliseconds (None while active).
        life_cycle_state: e.g. TERMINATED, RUNNING.
        result_state: e.g. SUCCESS, FAILED (None while active).
        state_message: the workspace's message.
    """

    run_id: int
    start_time: int
    end_time: int | None
    life_cycle_state: str
    result_state: str | None = None
    state_message: str = ""

    @property
    def active(self) -> bool:
        """True while the run has not finished."""
        return self.life_cycle_state in ACTIVE_STATES

    @property
    def failed(self) -> bool:
        """True when the run finished unsuccessfully (cancelled and skipped runs are not failures)."""
        return not self.active and (
            self.result_state in FAILED_STATES or self.life_cycle_state == "INTERNAL_ERROR"
        )

    def duration_s(self, now_ms: int) -> float:
        """Duration in seconds (elapsed so far while active)."""
        end = self.end_time if self.end_time else now_ms
        return max(end - self.start_time, 0) / 1000.0

    @classmethod
    def from_api(cls, run: Any) -> RunRecord:
        """From an SDK ``BaseRun``/``Run``."""
        state = run.state
        life = getattr(getattr(state, "life_cycle_state", None), "value", None) or ""
        result = getattr(getattr(state, "result_state", None), "value", None)
        return cls(
            run_id=int(run.run_id or 0),
            start_time=int(run.start_time or 0),
            end_time=int(run.end_time) if run.end_time else None,
            life_cycle_state=str(life),
            result_state=str(result) if result else None,
            state_message=str(getattr(state, "state_message", "") or ""),
        )


@dataclass(frozen=True)
class Alert:
    """An alert rule that fired.

    Attributes:
        rule: ``job_failed``, ``long_running``, ``consecutive_fails`` or ``data_quality``.
        severity: ``P1`` or ``P2``.
        message: one sentence for the on-call engineer.
        run_id: the run concerned, when there is one.
    """

    rule: AlertRule
    severity: Severity
    message: str
    run_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "rule": str(self.rule),
            "severity": str(self.severity),
            "message": self.message,
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class JobHealth(Verdict):
    """Health of one job over its newest runs; :attr:`ok` unless a P1 alert fired.

    Attributes:
        job_id: the job.
        job_name: its name.
        runs: runs considered (finished ones, newest first).
        success_rate: share of those that succeeded (None without runs).
        mean_duration_s: mean duration of finished runs, seconds.
        p95_duration_s: 95th percentile duration, seconds (nearest rank).
        last_state: result (or life-cycle state while active) of the newest run.
        last_run_id: the newest run.
        last_start_time: its start, epoch ms.
        consecutive_failures: failures in a row from the newest finished run.
        alerts: the rules that fired.
        tables: tables whose validation results were checked.
        healthy_success_rate: below this success rate the job is DEGRADED.
    """

    job_id: int
    job_name: str
    runs: int
    success_rate: float | None
    mean_duration_s: float | None
    p95_duration_s: float | None
    last_state: str | None
    last_run_id: int | None
    last_start_time: int | None
    consecutive_failures: int
    alerts: tuple[Alert, ...] = field(default_factory=tuple)
    tables: tuple[str, ...] = field(default_factory=tuple)
    healthy_success_rate: float = 0.9

    error_class = UnhealthyJobError

    @property
    def ok(self) -> bool:
        """True unless a P1 alert fired."""
        return not self.p1_alerts

    @property
    def p1_alerts(self) -> tuple[Alert, ...]:
        """The P1 alerts that fired."""
        return tuple(a for a in self.alerts if a.severity == Severity.P1)

    @property
    def has_p1(self) -> bool:
        """Deprecated: use ``not ok``."""
        warnings.warn(
            "JobHealth.has_p1 is deprecated: use `not health.ok`.", DeprecationWarning, stacklevel=2
        )
        return not self.ok

    def failure_message(self) -> str:
        """One sentence naming the P1 alerts."""
        return f"Job {self.job_name!r} ({self.job_id}) is unhealthy: " + " | ".join(
            a.message for a in self.p1_alerts
        )

    @property
    def status(self) -> HealthStatus:
        """``NO_RUNS``, ``UNHEALTHY`` (a P1), ``DEGRADED`` (a P2 or low success rate) or ``HEALTHY``."""
        if self.runs == 0 and not self.alerts:
            return HealthStatus.NO_RUNS
        if not self.ok:
            return HealthStatus.UNHEALTHY
        if self.alerts or (self.success_rate is not None and self.success_rate < self.healthy_success_rate):
            return HealthStatus.DEGRADED
        return HealthStatus.HEALTHY

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "job_id": self.job_id,
            "job_name": self.job_name,
            "ok": self.ok,
            "status": str(self.status),
            "runs": self.runs,
            "success_rate": self.success_rate,
            "mean_duration_s": self.mean_duration_s,
            "p95_duration_s": self.p95_duration_s,
            "last_state": self.last_state,
            "last_run_id": self.last_run_id,
            "last_start_time": self.last_start_time,
            "consecutive_failures": self.consecutive_failures,
            "tables": list(self.tables),
            "alerts": [a.to_dict() for a in self.alerts],
        }


@dataclass(frozen=True)
class HealthReport(Verdict):
    """The health of several jobs, checked at one time: what the CLI and the notebook show.

    :attr:`ok` unless a P1 alert fired on any job; :meth:`raise_on_failure` raises
    :class:`~dbx_ops.errors.UnhealthyJobError` naming every P1 alert (a scheduled
    health job fails, and alerts through its own notifications).

    Attributes:
        jobs: one result per job.
        checked_at: when the check ran (UTC; renderers never read the clock).
    """

    jobs: tuple[JobHealth, ...]
    checked_at: datetime

    error_class = UnhealthyJobError

    @property
    def ok(self) -> bool:
        """True unless a P1 alert fired on a job."""
        return all(h.ok for h in self.jobs)

    def failure_message(self) -> str:
        """One sentence naming every P1 alert."""
        return "P1 job alerts: " + " | ".join(a.message for h in self.jobs for a in h.p1_alerts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``p1`` kept for existing consumers: it is ``not ok``)."""
        return {
            "ok": self.ok,
            "p1": not self.ok,
            "checked_at": self.checked_at.isoformat(),
            "jobs": [h.to_dict() for h in self.jobs],
        }

    def to_text(self) -> str:
        """What the CLI prints."""
        from dbx_ops.jobs.report import health_text

        return health_text(self.jobs)

    def to_markdown(self) -> str:
        """A Markdown table plus the alerts."""
        from dbx_ops.jobs.report import health_markdown

        return health_markdown(self.jobs, checked_at=self.checked_at)

    def to_html(self) -> str:
        """HTML for ``displayHTML``."""
        from dbx_ops.jobs.report import health_html

        return health_html(self.jobs, checked_at=self.checked_at)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (``pct`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def evaluate(
    job_id: int,
    job_name: str,
    runs: Iterable[RunRecord],
    now_ms: int,
    rules: HealthRules = HealthRules(),
    dq_failures: Mapping[str, str] | None = None,
    tables: Sequence[str] = (),
) -> JobHealth:
    """Statistics and alerts for one job (pure).

    Args:
        job_id: the job.
        job_name: its name.
        runs: its runs, any order (cancelled and skipped runs count for nothing).
        now_ms: the current time, epoch milliseconds.
        rules: the thresholds.
        dq_failures: table name -> message for linked tables whose latest validation failed.
        tables: the linked tables that were checked.
    """
    ordered = sorted(runs, key=lambda r: (r.start_time, r.run_id), reverse=True)
    newest = ordered[0] if ordered else None
    finished = [
        r for r in ordered if not r.active and r.result_state not in ("CANCELED", "SKIPPED", "EXCLUDED")
    ]
    finished = finished[: rules.window]
    durations = [r.duration_s(now_ms) for r in finished]
    successes = sum(1 for r in finished if r.result_state in ("SUCCESS", "SUCCESS_WITH_FAILURES"))
    streak = 0
    for r in finished:
        if not r.failed:
            break
        streak += 1
    alerts: list[Alert] = []
    last_done = finished[0] if finished else None
    if last_done is not None and last_done.failed:
        alerts.append(
            Alert(
                AlertRule.JOB_FAILED,
                Severity.P1,
                f"Run {last_done.run_id} of {job_name!r} ended {last_done.result_state}"
                + (f": {last_done.state_message}" if last_done.state_message else "."),
                last_done.run_id,
            )
        )
    # Long running: the newest run against the mean of the finished runs before it.
    if newest is not None and not (newest.active is False and newest not in finished):
        earlier = [r.duration_s(now_ms) for r in finished if r.run_id != newest.run_id]
        if earlier:
            mean_before = sum(earlier) / len(earlier)
            took = newest.duration_s(now_ms)
            if mean_before > 0 and took > rules.duration_factor * mean_before:
                verb = "has been running for" if newest.active else "took"
                alerts.append(
                    Alert(
                        AlertRule.LONG_RUNNING,
                        Severity.P2,
                        f"Run {newest.run_id} of {job_name!r} {verb} {took:.0f}s, more than "
                        f"{rules.duration_factor:g}x the mean of {mean_before:.0f}s.",
                        newest.run_id,
                    )
                )
    if streak >= rules.consecutive_failures:
        alerts.append(
            Alert(
                AlertRule.CONSECUTIVE_FAILS,
                Severity.P1,
                f"{job_name!r} failed {streak} runs in a row (threshold {rules.consecutive_failures}).",
                finished[0].run_id,
            )
        )
    for table, message in sorted((dq_failures or {}).items()):
        alerts.append(
            Alert(AlertRule.DATA_QUALITY, Severity.P2, f"Data quality failed on {table}: {message}")
        )
    return JobHealth(
        job_id=job_id,
        job_name=job_name,
        runs=len(finished),
        success_rate=(successes / len(finished)) if finished else None,
        mean_duration_s=(sum(durations) / len(durations)) if durations else None,
        p95_duration_s=percentile(durations, 95),
        last_state=(newest.result_state or newest.life_cycle_state) if newest else None,
        last_run_id=newest.run_id if newest else None,
        last_start_time=newest.start_time if newest else None,
        consecutive_failures=streak,
        alerts=tuple(alerts),
        tables=tuple(tables),
        healthy_success_rate=rules.healthy_success_rate,
    )


def linked_tables(tags: Mapping[str, str] | None, extra: Iterable[str] = ()) -> list[str]:
    """Tables linked to a job: its ``dbx_ops_tables`` tag (comma-separated) plus ``extra``, validated."""
    from dbx_ops.names import parse_table_name

    names = [t.strip() for t in str((tags or {}).get(TABLES_TAG, "")).split(",") if t.strip()]
    names += [t.strip() for t in extra if t.strip()]
    out: list[str] = []
    for n in names:
        parse_table_name(n)
        if n not in out:
            out.append(n)
    return out


def data_quality_failures(store: StateStore, tables: Sequence[str]) -> dict[str, str]:
    """Linked tables whose latest validation run has a failed ``severity='fail'`` rule.

    Reads ``validation_results`` of the state store (columns ``run_id, table_name, validated_at, rule,
    severity, passed, observed, expected, message``) with the DataFrame API; only the rows of
    the linked tables reach the driver, and only their failures.

    Returns:
        table name -> a message naming the failed rules; empty when the table does not exist yet.
    """
    if not tables:
        return {}
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    if not store.exists(VALIDATION_TABLE):
        logger.info("no %s table yet: no data-quality results", VALIDATION_TABLE)
        return {}
    df = store.read(VALIDATION_TABLE).where(F.col("table_name").isin(list(tables)))
    latest = Window.partitionBy("table_name").orderBy(F.col("validated_at").desc())
    last_runs = (
        df.select("table_name", "run_id", "validated_at")
        .withColumn("_rank", F.row_number().over(latest))
        .where("_rank = 1")
        .select("table_name", "run_id")
    )
    failed = (
        df.join(last_runs, ["table_name", "run_id"])
        .where((F.col("severity") == "fail") & (~F.col("passed")))
        .groupBy("table_name")
        .agg(F.sort_array(F.collect_set("rule")).alias("rules"), F.first("run_id").alias("run_id"))
        .collect()
    )
    return {r["table_name"]: f"validation run {r['run_id']} failed {', '.join(r['rules'])}." for r in failed}


class JobHealthChecker:
    """Reads runs and validation results and evaluates the alert rules.

    Args:
        ws: the workspace client.
        store: the state store holding ``validation_results`` (None skips the data-quality rule).
        rules: the thresholds.
        retry: retry policy for workspace calls.
        now: the clock (UTC-aware).
    """

    def __init__(
        self,
        ws: WorkspaceClient,
        store: StateStore | None = None,
        rules: HealthRules = HealthRules(),
        retry: RetryPolicy = DEFAULT_RETRY,
        now: Clock = utc_now,
    ) -> None:
        self.ws = ws
        self.store = store
        self.rules = rules
        self.retry = retry
        self._now = now

    def _now_ms(self) -> int:
        return int(self._now().timestamp() * 1000)

    def runs(self, job_id: int) -> list[RunRecord]:
        """The job's newest runs: enough finished ones for the window, plus the active ones."""
        import itertools

        def _read() -> list[RunRecord]:
            listed = self.ws.jobs.list_runs(job_id=job_id, limit=25)
            return [RunRecord.from_api(r) for r in itertools.islice(listed, self.rules.window + 25)]

        return call(f"list runs of job {job_id}", _read, retry=self.retry)

    def check(self, job: int | str, tables: Sequence[str] = ()) -> JobHealth:
        """Health and alerts of one job (id or name)."""
        found = get_job(self.ws, job, self.retry)
        job_id = int(found.job_id or 0)
        name = str(found.settings.name if found.settings and found.settings.name else job_id)
        tags = found.settings.tags if found.settings else None
        linked = linked_tables(tags, tables)
        dq: dict[str, str] = {}
        if linked and self.store is not None:
            dq = data_quality_failures(self.store, linked)
        elif linked:
            logger.warning(
                "job %s is linked to tables but no state store was given: data quality not checked", job_id
            )
        return evaluate(
            job_id, name, self.runs(job_id), self._now_ms(), self.rules, dq, linked if self.store else ()
        )

    def check_many(self, jobs: Iterable[int | str], tables: Sequence[str] = ()) -> list[JobHealth]:
        """Health of several jobs."""
        return [self.check(j, tables) for j in jobs]

    def report(self, jobs: Iterable[int | str] | None = None, tables: Sequence[str] = ()) -> HealthReport:
        """Health of several jobs (every job in the workspace when ``jobs`` is None or empty).

        Call :meth:`HealthReport.raise_on_failure` to fail a notebook or job on a P1 alert.
        """
        from dbx_ops.jobs.api import list_all_jobs

        checked_at = self._now()
        wanted = list(jobs or []) or [int(j.job_id or 0) for j in list_all_jobs(self.ws, self.retry)]
        return HealthReport(tuple(self.check_many(wanted, tables)), checked_at)
