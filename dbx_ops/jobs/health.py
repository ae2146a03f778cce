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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbx_ops.errors import InvalidInputError
from dbx_ops.jobs.api import DEFAULT_RETRY, RetryPolicy, call, get_job

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

logger = logging.getLogger(__name__)

TABLES_TAG = "dbx_ops_tables"
VALIDATION_TABLE = "validation_results"
FAILED_STATES = frozenset({"FAILED", "TIMEDOUT", "INTERNAL_ERROR", "MAXIMUM_CONCURRENT_RUNS_REACHED"})
ACTIVE_STATES = frozenset({"PENDING", "QUEUED", "RUNNING", "TERMINATING", "BLOCKED", "WAITING_FOR_RETRY"})


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

    rule: str
    severity: str
    message: str
    run_id: int | None = None


@dataclass(frozen=True)
class JobHealth:
    """Health of one job over its newest runs.

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

    @property
    def has_p1(self) -> bool:
        """True when a P1 alert fired."""
        return any(a.severity == "P1" for a in self.alerts)

    @property
    def status(self) -> str:
        """``NO_RUNS``, ``UNHEALTHY`` (a P1), ``DEGRADED`` (a P2 or low success rate) or ``HEALTHY``."""
        if self.runs == 0 and not self.alerts:
            return "NO_RUNS"
        if self.has_p1:
            return "UNHEALTHY"
        if self.alerts or (self.success_rate is not None and self.success_rate < self.healthy_success_rate):
            return "DEGRADED"
        return "HEALTHY"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "job_id": self.job_id,
            "job_name": self.job_name,
            "status": self.status,
            "runs": self.runs,
            "success_rate": self.success_rate,
            "mean_duration_s": self.mean_duration_s,
            "p95_duration_s": self.p95_duration_s,
            "last_state": self.last_state,
            "last_run_id": self.last_run_id,
            "last_start_time": self.last_start_time,
            "consecutive_failures": self.consecutive_failures,
            "tables": list(self.tables),
            "alerts": [
                {"rule": a.rule, "severity": a.severity, "message": a.message, "run_id": a.run_id}
                for a in self.alerts
            ],
        }


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
                "job_failed",
                "P1",
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
                        "long_running",
                        "P2",
                        f"Run {newest.run_id} of {job_name!r} {verb} {took:.0f}s, more than "
                        f"{rules.duration_factor:g}x the mean of {mean_before:.0f}s.",
                        newest.run_id,
                    )
                )
    if streak >= rules.consecutive_failures:
        alerts.append(
            Alert(
                "consecutive_fails",
                "P1",
                f"{job_name!r} failed {streak} runs in a row (threshold {rules.consecutive_failures}).",
                finished[0].run_id,
            )
        )
    for table, message in sorted((dq_failures or {}).items()):
        alerts.append(Alert("data_quality", "P2", f"Data quality failed on {table}: {message}"))
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


def data_quality_failures(spark: Any, schema: str, tables: Sequence[str]) -> dict[str, str]:
    """Linked tables whose latest validation run has a failed ``severity='fail'`` rule.

    Reads ``<schema>.validation_results`` (columns ``run_id, table_name, validated_at, rule,
    severity, passed, observed, expected, message``) with the DataFrame API; only the rows of
    the linked tables reach the driver, and only their failures.

    Returns:
        table name -> a message naming the failed rules; empty when the table does not exist yet.
    """
    if not tables:
        return {}
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    from dbx_ops.state import StateStore

    store = StateStore(spark, schema)
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
        spark: a Spark session for data-quality results (None skips that rule).
        schema: the state schema holding ``validation_results``.
        rules: the thresholds.
        retry: retry policy for workspace calls.
        clock: returns now in epoch milliseconds.
    """

    def __init__(
        self,
        ws: WorkspaceClient,
        spark: Any = None,
        schema: str | None = None,
        rules: HealthRules = HealthRules(),
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Any = None,
    ) -> None:
        import time

        self.ws = ws
        self.spark = spark
        self.schema = schema
        self.rules = rules
        self.retry = retry
        self._clock = clock or (lambda: int(time.time() * 1000))

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
        if linked and self.spark is not None:
            from dbx_ops.state import state_schema

            dq = data_quality_failures(self.spark, self.schema or state_schema(), linked)
        elif linked:
            logger.warning(
                "job %s is linked to tables but no Spark session was given: data quality not checked", job_id
            )
        return evaluate(
            job_id, name, self.runs(job_id), self._clock(), self.rules, dq, linked if self.spark else ()
        )

    def check_many(self, jobs: Iterable[int | str], tables: Sequence[str] = ()) -> list[JobHealth]:
        """Health of several jobs."""
        return [self.check(j, tables) for j in jobs]
