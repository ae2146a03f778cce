"""The rollback drill: carry a faulty change through every part of dbx_ops and prove recovery.

Seed 004 §6 asks for automated rollback drills: trigger a rollback in a
sandbox, run smoke tests, redeploy forward, and so prove that the recovery
runbook works before it is needed. :func:`run_drill` does that on the
lakehouse it is given (the local one, or a sandbox schema of a workspace):

1. build a small medallion pipeline (bronze → silver → gold) on generated
   orders and customers with daily partitions, and profile the gold tables;
2. start a ``prod-deploy`` checklist run for the change; its verifiers tick
   what they can (job spec lint on the pipeline's job);
3. snapshot the gold tables under the change's label (the snapshot verifier
   then ticks the rollback item);
4. apply a faulty "deployment": a new silver/gold transformation that loses
   rows, bursts nulls in a key column and changes a column's type;
5. validate the gold tables against the snapshot: the breaches must be caught
   by the right rules, the checklist's data-quality item fails, and the gate
   must say no-go with those reasons;
6. roll back: restore the gold tables from the snapshot (side by side), with the restore's
   proof (with a workspace also the pipeline's job, and its release back to the last known
   good);
7. validate again: everything must pass; the rollback-runbook checklist is
   filled from the run's facts (seed 003 §7 message);
8. optionally redeploy forward a fixed version and validate it.

Each step records what it expected and what it saw. The drill is ``ok`` only
when recovery was proven; :meth:`DrillReport.raise_on_failure` names the
step whose proof failed. The drill touches nothing outside its own schema,
refuses a schema that holds tables it did not create, and drops its tables
when asked to clean up.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from dbx_ops import render
from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import DbxOpsError, DrillFailedError, EnvironmentSetupError, InvalidInputError
from dbx_ops.names import TableName, parse_table_name, quote_string
from dbx_ops.progress import NullProgress, Progress
from dbx_ops.state import BufferedStateStore, StateStore
from dbx_ops.verdict import Check, Verdict, checks_html, checks_markdown

logger = logging.getLogger(__name__)

#: The comment the drill puts on its schema; a schema without it that holds tables is refused.
SCHEMA_MARK = "dbx_ops rollback drill sandbox"
#: The comment on the drill's own state schema (``<schema>_state``).
STATE_SCHEMA_MARK = "dbx_ops rollback drill state"
#: The state tables dbx_ops writes: an unmarked state schema holding only these is an earlier drill's.
STATE_TABLES = (
    "snapshots",
    "snapshot_events",
    "metrics",
    "validation_results",
    "checklist_events",
    "job_backups",
    "job_journals",
    "releases",
)
#: The tables the drill creates, in build order.
TABLES = ("bronze_customers", "bronze_orders", "silver_orders", "gold_orders", "gold_daily_revenue")
GOLD = ("gold_orders", "gold_daily_revenue")
#: What the faulty deployment must be caught by: (table, rule) pairs of fail-severity rules.
EXPECTED_BREACHES = (
    ("gold_orders", "row_count_change"),
    ("gold_orders", "null_rate_delta:customer_id"),
    ("gold_daily_revenue", "schema_contract"),
)
#: The sabotage the drill can rehearse: the snapshot's files vacuumed before the restore.
SABOTAGES = ("vacuum",)

#: The job of the drill's pipeline, as a team would deploy it (linted by the checklist).
PIPELINE_JOB: dict[str, Any] = {
    "name": "orders medallion pipeline",
    "timeout_seconds": 3600,
    "max_concurrent_runs": 1,
    "email_notifications": {"on_failure": ["oncall@company.com"]},
    "tags": {"team": "data-engineering", "dbx_ops_tables": ",".join(GOLD)},
    "tasks": [
        {
            "task_key": "silver",
            "notebook_task": {"notebook_path": "notebooks/orders_silver"},
            "job_cluster_key": "pipeline",
            "max_retries": 2,
        },
        {
            "task_key": "gold",
            "depends_on": [{"task_key": "silver"}],
            "notebook_task": {"notebook_path": "notebooks/orders_gold"},
            "job_cluster_key": "pipeline",
            "max_retries": 2,
        },
    ],
    "job_clusters": [
        {
            "job_cluster_key": "pipeline",
            "new_cluster": {
                "spark_version": "15.4.x-scala2.12",
                "node_type_id": "Standard_DS3_v2",
                "num_workers": 2,
                "policy_id": "job-cluster-policy",
            },
        }
    ],
}


@dataclass(frozen=True)
class DrillOptions:
    """How the drill runs.

    Attributes:
        rows: orders generated in bronze (customers: a fiftieth of that, at least 10).
        days: daily partitions of the orders.
        schema: the drill's own schema (``schema`` or ``catalog.schema``); nothing outside it is touched.
        label: snapshot label and change id (default ``drill-<UTC time>``).
        forward: also redeploy a fixed version and validate it (step 8).
        sabotage: ``"vacuum"`` rehearses a failed recovery (the snapshot's files are vacuumed before
            the restore); the drill must then fail and name the restore's proof.
        out: folder for ``drill.html`` / ``drill.md`` (None: write nothing).
        seed: seed of the generated data.
        keep: keep the pipeline's tables after a drill that proved recovery (default: they are
            dropped). A failed drill always keeps them, for the post-mortem. The state schema
            (snapshots, metrics, checklist events: the drill's record) is kept either way.
    """

    rows: int = 200_000
    days: int = 30
    schema: str = "dbx_ops_drill"
    label: str | None = None
    forward: bool = True
    sabotage: str | None = None
    out: Path | None = None
    seed: int = 7
    keep: bool = False

    def checked(self) -> DrillOptions:
        """These options, validated (one sentence per problem)."""
        if self.rows < 100:
            raise InvalidInputError(f"--rows {self.rows} is too small for a drill: use at least 100 rows.")
        if self.rows > 500_000_000:
            raise InvalidInputError(f"--rows {self.rows} is more than a drill needs: use at most 500000000.")
        if not 1 <= self.days <= 3650:
            raise InvalidInputError(f"--days {self.days} must be between 1 and 3650.")
        parsed = parse_table_name(self.schema)
        if parsed.is_path or len(parsed.parts) > 2:
            raise InvalidInputError(f"--schema {self.schema!r} must be 'schema' or 'catalog.schema'.")
        if self.sabotage is not None and self.sabotage not in SABOTAGES:
            raise InvalidInputError(f"--sabotage {self.sabotage!r} is not one of {', '.join(SABOTAGES)}.")
        if self.label is not None:
            from dbx_ops.snapshots.registry import validate_label

            validate_label(self.label)
        return self


@dataclass(frozen=True)
class DrillStep:
    """One step of the drill and its proof.

    Attributes:
        number: 1-based step number.
        name: short name (``snapshot``, ``validate after restore``).
        ok: whether the step's proof holds.
        summary: one sentence: what happened.
        checks: what the step expected and what it saw.
        seconds: how long it took.
        details: figures for machines (row counts, rule names, run ids).
        html: an embedded report (validation, restore proof, checklist audit), already HTML.
        markdown: the same report in Markdown.
    """

    number: int
    name: str
    ok: bool
    summary: str
    checks: tuple[Check, ...] = ()
    seconds: float = 0.0
    details: Mapping[str, Any] = field(default_factory=dict)
    html: str = ""
    markdown: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the embedded reports)."""
        return {
            "number": self.number,
            "name": self.name,
            "ok": self.ok,
            "summary": self.summary,
            "seconds": round(self.seconds, 2),
            "checks": [c.to_dict() for c in self.checks],
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class DrillReport(Verdict):
    """What the drill did and whether recovery was proven."""

    label: str
    schema: str
    rows: int
    steps: tuple[DrillStep, ...]
    started_at: datetime
    finished_at: datetime
    sabotage: str | None = None
    cleanup: str = ""

    error_class = DrillFailedError

    @property
    def ok(self) -> bool:
        """True when every step's proof held (recovery proven)."""
        return bool(self.steps) and all(s.ok for s in self.steps)

    @property
    def failed_step(self) -> DrillStep | None:
        """The first step whose proof failed, or None."""
        return next((s for s in self.steps if not s.ok), None)

    @property
    def seconds(self) -> float:
        """Wall time of the whole drill."""
        return (self.finished_at - self.started_at).total_seconds()

    def summary(self) -> str:
        """One sentence: recovered or which proof failed."""
        failed = self.failed_step
        if failed is None:
            return (
                f"Rollback drill {self.label}: recovery proven in {len(self.steps)} steps "
                f"({self.seconds:.0f} s, {self.rows} rows)."
            )
        return f"Rollback drill {self.label}: step {failed.number} ({failed.name}) failed: {failed.summary}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        failed = self.failed_step
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "label": self.label,
            "schema": self.schema,
            "rows": self.rows,
            "sabotage": self.sabotage,
            "started_at": render.iso(self.started_at),
            "finished_at": render.iso(self.finished_at),
            "seconds": round(self.seconds, 2),
            "failed_step": None if failed is None else failed.name,
            "cleanup": self.cleanup,
            "steps": [s.to_dict() for s in self.steps],
        }

    def to_text(self) -> str:
        """The short summary the CLI prints."""
        lines = [self.summary()]
        for s in self.steps:
            lines.append(f"  {render.text_mark(s.ok)} {s.number}. {s.name}: {s.summary} ({s.seconds:.1f} s)")
        if self.cleanup:
            lines.append(f"  {self.cleanup}")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The drill report in Markdown: summary, timeline, each step's checks and reports."""
        out = [f"# {self.summary()}", ""]
        out.append(
            f"Schema `{self.schema}`, {self.rows} rows, started {render.fmt(self.started_at)}, "
            f"finished {render.fmt(self.finished_at)}."
            + (f" {_sentence(self.cleanup)}" if self.cleanup else "")
        )
        out += ["", "## Timeline", ""]
        out.append(
            render.md_table(
                [
                    [s.number, render.md_mark(s.ok), s.name, s.summary, f"{s.seconds:.1f} s"]
                    for s in self.steps
                ],
                ["step", "ok", "name", "what happened", "time"],
            )
        )
        for s in self.steps:
            out += ["", f"## {s.number}. {s.name}", "", s.summary, ""]
            if s.checks:
                out += [checks_markdown(s.checks), ""]
            if s.markdown:
                out += [_demote(s.markdown), ""]
        return "\n".join(out).rstrip() + "\n"

    def to_html(self) -> str:
        """The drill report in HTML: a verdict card, the timeline, then every step's proof."""
        rows = [
            [
                s.number,
                render.badge("ok" if s.ok else "fail", render.tone_of(s.ok)),
                s.name,
                s.summary,
                f"{s.seconds:.1f}\u00a0s",  # a no-break space: the narrow column kept "19.2" and "s" apart
            ]
            for s in self.steps
        ]
        detail = (
            f"schema {self.schema} · {self.rows} rows · started {render.fmt(self.started_at)} · "
            f"{self.seconds:.0f} s" + (f" · {self.cleanup}" if self.cleanup else "")
        )
        parts = [
            f"<div id='drill-verdict'>{render.verdict_card(self.summary(), self.ok, detail)}</div>",
            render.section(
                "Timeline",
                render.html_table(
                    rows,
                    ["step", "", "name", "what happened", "time"],
                    [render.tone_of(s.ok) for s in self.steps],
                    [1],
                ),
            ),
        ]
        for s in self.steps:
            body = render.paragraph(s.summary)
            if s.checks:
                body += "\n" + checks_html(s.checks)
            if s.html:
                body += f"\n<details open><summary>report</summary>\n{s.html}\n</details>"
            outcome = "ok" if s.ok else "fail"
            parts.append(
                f"<section id='step-{s.number}' data-outcome='{outcome}'>\n"
                f"{render.section(f'{s.number}. {s.name}', body)}\n</section>"
            )
        return render.container(*parts)

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write ``drill.html`` and ``drill.md`` into ``folder``; returns both paths."""
        folder.mkdir(parents=True, exist_ok=True)
        html_path = folder / "drill.html"
        md_path = folder / "drill.md"
        html_path.write_text(
            render.html_document(f"dbx_ops drill {self.label}", self.to_html()), encoding="utf-8"
        )
        md_path.write_text(self.to_markdown(), encoding="utf-8")
        return html_path, md_path


def _demote(markdown: str) -> str:
    """Embedded Markdown reports one heading level down, so the drill's own headings lead."""
    return "\n".join(("#" + line) if line.startswith("#") else line for line in markdown.splitlines())


# -- the pipeline ------------------------------------------------------------------------------


def side_by_side(*tasks: Callable[[], Any]) -> list[Any]:
    """Run ``tasks`` in two threads of the same Spark session; their results in order.

    The drill's writes and profiles of independent tables are mostly small driver-side
    queries (Delta commits, log reads, metastore calls) that leave the second core idle; Spark
    runs the jobs of several threads of one session at once, and the metastore client is
    synchronised. The first task's error is raised after every task has finished.
    """
    from concurrent.futures import ThreadPoolExecutor

    if len(tasks) < 2:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="drill") as pool:
        futures = [pool.submit(task) for task in tasks]
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]


class _Pipeline:
    """The drill's medallion pipeline in one schema: builds, breaks and fixes its tables.

    Tables that do not read each other are written side by side (:func:`side_by_side`): the
    two bronze tables, then the two gold tables once silver is written.
    """

    def __init__(self, spark: Any, schema: str, rows: int, days: int, seed: int) -> None:
        self.spark = spark
        self.schema = parse_table_name(schema)
        self.rows = rows
        self.days = days
        self.seed = seed
        self.customers = max(10, rows // 50)

    def name(self, table: str) -> TableName:
        return TableName(parts=(*self.schema.parts, table))

    def sql_name(self, table: str) -> str:
        return self.name(table).sql

    def prepare_schema(self) -> None:
        """Create the schema (marked as the drill's), or check an existing one holds only drill tables."""
        spark = self.spark
        dotted = ".".join(self.schema.parts)
        if spark.catalog.databaseExists(dotted):
            comment = _schema_comment(spark, self.schema)
            # the session's temporary views are listed too; they belong to no schema
            tables = [t.name for t in spark.catalog.listTables(dotted) if not t.isTemporary]
            strangers = sorted(t for t in tables if t not in TABLES)
            if comment != SCHEMA_MARK and tables:
                raise InvalidInputError(
                    f"Schema {dotted} already holds tables the drill did not create "
                    f"({', '.join(tables[:5])}); "
                    "give the drill a schema of its own with --schema."
                )
            if strangers:
                raise InvalidInputError(
                    f"Schema {dotted} holds tables the drill did not create ({', '.join(strangers[:5])}); "
                    "give the drill a schema of its own with --schema."
                )
            if comment != SCHEMA_MARK:
                spark.sql(f"COMMENT ON SCHEMA {self.schema.sql} IS {quote_string(SCHEMA_MARK)}")
        else:
            spark.sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema.sql} COMMENT {quote_string(SCHEMA_MARK)}")

    def check_state_schema(self, state_schema: str) -> str | None:
        """Check the drill's state schema; the statement that creates it (None: it exists).

        An existing one is refused when it holds a table that is not a dbx_ops state table, unless
        it carries the drill's mark (set when the drill creates it); an unmarked one holding only
        state tables is an earlier drill's, from before the mark, and is used as it is (the local
        Hive metastore keeps no comment set after creation). The caller runs the statement once
        the drill's own schema has passed its check too, so a refusal of either leaves nothing.
        """
        spark = self.spark
        name = parse_table_name(state_schema)
        dotted = ".".join(name.parts)
        if not spark.catalog.databaseExists(dotted):
            return f"CREATE SCHEMA IF NOT EXISTS {name.sql} COMMENT {quote_string(STATE_SCHEMA_MARK)}"
        if _schema_comment(spark, name) == STATE_SCHEMA_MARK:
            return None
        tables = [t.name for t in spark.catalog.listTables(dotted) if not t.isTemporary]
        strangers = sorted(t for t in tables if t not in STATE_TABLES)
        if strangers:
            raise InvalidInputError(
                f"Schema {dotted}, where the drill keeps its record, holds tables dbx_ops did not create "
                f"({', '.join(strangers[:5])}); give the drill a schema of its own with --schema."
            )
        return None

    def drop_tables(self) -> None:
        for table in reversed(TABLES):
            self.spark.sql(f"DROP TABLE IF EXISTS {self.sql_name(table)}")

    def build_bronze(self) -> None:
        from pyspark.sql import functions as F

        spark = self.spark
        customers = spark.range(self.customers).select(
            F.col("id").alias("customer_id"),
            F.concat(F.lit("customer-"), F.col("id").cast("string")).alias("name"),
            F.element_at(
                F.array(*[F.lit(s) for s in ("retail", "smb", "enterprise", "public")]),
                (F.col("id") % 4 + 1).cast("int"),
            ).alias("segment"),
            F.element_at(
                F.array(*[F.lit(c) for c in ("US", "DE", "FR", "JP", "BR")]),
                (F.col("id") % 5 + 1).cast("int"),
            ).alias("country"),
        )
        orders = spark.range(self.rows).select(
            F.col("id").alias("order_id"),
            (F.abs(F.xxhash64(F.col("id"), F.lit(self.seed))) % self.customers).alias("customer_id"),
            F.date_add(F.lit("2026-01-01").cast("date"), (F.col("id") % self.days).cast("int")).alias(
                "order_date"
            ),
            (F.round(F.rand(self.seed) * 195 + 5, 2)).cast("decimal(10,2)").alias("amount"),
            F.element_at(
                F.array(
                    *[
                        F.lit(s)
                        for s in ("shipped", "shipped", "shipped", "delivered", "delivered", "cancelled")
                    ]
                ),
                (F.abs(F.xxhash64(F.col("id"))) % 6 + 1).cast("int"),
            ).alias("status"),
        )
        side_by_side(
            lambda: self._overwrite(customers, "bronze_customers"),
            lambda: self._overwrite(orders, "bronze_orders", partition_by="order_date"),
        )

    def _overwrite(self, df: Any, table: str, partition_by: str | None = None) -> None:
        writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        if partition_by:
            writer = writer.partitionBy(partition_by)
        writer.saveAsTable(self.sql_name(table))

    def build_silver_gold(self, version: str) -> None:
        """The silver/gold transformation: ``good`` (v1), ``faulty`` (v2) or ``fixed`` (v3)."""
        from pyspark.sql import functions as F

        spark = self.spark
        orders = spark.table(self.sql_name("bronze_orders")).where(F.col("status") != "cancelled")
        customers = spark.table(self.sql_name("bronze_customers")).select("customer_id", "segment")
        silver = orders.join(customers, "customer_id", "left").select(
            "order_id", "customer_id", "segment", "order_date", "amount", "status"
        )
        if version == "faulty":
            # The bug a real deployment could ship: a filter meant for test data drops big orders,
            # a refactored join key loses a fifth of the customer ids.
            silver = silver.where(F.col("amount") <= 150).withColumn(
                "customer_id", F.when(F.col("order_id") % 5 == 0, F.lit(None)).otherwise(F.col("customer_id"))
            )
        self._overwrite(silver, "silver_orders")
        silver = spark.table(self.sql_name("silver_orders"))
        gold = silver.select("order_id", "customer_id", "segment", "order_date", "amount")
        daily = silver.groupBy("order_date").agg(
            F.count("*").alias("orders"),
            F.sum("amount").alias("revenue"),
            F.countDistinct("customer_id").alias("customers"),
        )
        if version == "faulty":
            daily = daily.withColumn("revenue", F.format_number(F.col("revenue"), 2))  # a type change
        side_by_side(
            lambda: self._overwrite(gold, "gold_orders"),
            lambda: self._overwrite(daily, "gold_daily_revenue"),
        )

    def count(self, table: str) -> int:
        """The table's row count: from its Delta log on the driver when every file has statistics
        (no Spark job), else a ``count()``."""
        from dbx_ops.validation.delta_log import DeltaLogReader

        stats = DeltaLogReader(self.spark).read(self.name(table))
        if stats.available and stats.row_count is not None and stats.reader == "driver":
            return int(stats.row_count)
        return int(self.spark.table(self.sql_name(table)).count())

    def vacuum_all_history(self, tables: Sequence[str]) -> None:
        """Sabotage: drop every file older versions need, so the snapshot can no longer be restored."""
        spark = self.spark
        key = "spark.databricks.delta.retentionDurationCheck.enabled"
        spark.conf.set(key, "false")
        try:
            for table in tables:
                spark.sql(f"VACUUM {self.sql_name(table)} RETAIN 0 HOURS")
        finally:
            spark.conf.set(key, "true")


# -- the pipeline's job in a workspace ------------------------------------------------------------

#: The drill's pipeline notebooks as they are imported into the workspace (Databricks source).
_NOTEBOOK = (
    "# Databricks notebook source\n"
    "# The dbx_ops rollback drill's {task} step ({version}); the drill checks the job, not this code.\n"
    "print('orders medallion pipeline: {task} {version}')\n"
)


class ReleaseRollback(Protocol):
    """The seam for "roll back to the last known-good release" (``dbx_ops.releases``).

    With a workspace the drill records each deployment of its pipeline job as a release (v1
    verified by its smoke run: the last known good; the faulty v2 recorded, never verified)
    and, after the job's definition is back, rolls the release back to the last known good;
    the release's verdict is part of that step's proof. :class:`DrillReleases` is the one the
    drill uses unless it is handed another.
    """

    def record(self, job_id: int, version: str, *, verify: bool) -> Any:
        """Record ``job_id``'s live deployment as a release; ``verify``: run its post-deploy checks.

        Returns:
            The :class:`~dbx_ops.releases.model.Release` (``known_good`` once verified).
        """
        ...

    def roll_back(self, job_id: int, *, reason: str) -> Any:
        """Roll ``job_id``'s release back to the last known-good one.

        Returns:
            The rollback :class:`~dbx_ops.releases.model.Release` (a Verdict with ``to_text`` /
            ``to_html`` / ``to_markdown``; ``known_good`` when its smoke run passed and
            ``rollback_of`` the release it redeployed).
        """
        ...


class DrillReleases:
    """The drill's pipeline job as releases, through :class:`~dbx_ops.releases.ops.Releases`.

    Every release is of bundle ``dbx_ops_drill`` and target = the drill's label, so drills
    never pick each other's last known good. The smoke job of each release is the pipeline
    job itself. The releases folder (JSON per release, the job's notebooks kept with it)
    lives beside the drill's reports; the events are not also appended to a Delta table, so
    the drill's releases cost no Spark job.

    Args:
        ws: the workspace client.
        folder: the releases folder.
        target: the release target (the drill's label).
        now: the clock.
        poll_s: seconds between polls of a smoke run.
        timeout_s: how long to wait for one smoke run.
        definitions: the job definition store the live job is backed up to before a rollback.
    """

    BUNDLE = "dbx_ops_drill"

    def __init__(
        self,
        ws: Any,
        folder: Path,
        target: str,
        now: Clock,
        poll_s: float = 0.5,
        timeout_s: float = 600,
        definitions: Any = None,
    ) -> None:
        from dbx_ops.releases import Releases

        self.target = target
        self.releases = Releases(
            ws,
            folder,
            store=None,
            definitions=definitions,
            now=now,
            smoke_timeout_s=timeout_s,
            poll_s=poll_s,
        )

    def record(self, job_id: int, version: str, *, verify: bool) -> Any:
        """Record the live job as release ``version``; with ``verify`` promote it (its smoke run)."""
        release = self.releases.record(
            self.BUNDLE,
            self.target,
            version=version,
            jobs=[int(job_id)],
            smoke_jobs=[str(job_id)],
            actor="dbx_ops drill",
        )
        if not verify:
            return release
        return self.releases.promote(release.release_id, actor="dbx_ops drill")

    def roll_back(self, job_id: int, *, reason: str) -> Any:
        """Redeploy the last known-good release (notebooks and job definition) and check its smoke run."""
        logger.info("rolling job %s back to the last known-good release: %s", job_id, reason)
        return self.releases.rollback(self.BUNDLE, self.target, actor="dbx_ops drill")


class _JobDrill:
    """The pipeline's job in a workspace: deploy v1 and run it, deploy a faulty v2, roll back.

    Everything goes through the job-operations code (:class:`~dbx_ops.jobs.deploy.JobDeployer`,
    :class:`~dbx_ops.jobs.rollback.JobRollback`); backups, manifests and the rollback journal
    are files in ``folder``, next to the drill's reports.
    """

    def __init__(
        self,
        ws: Any,
        folder: Path,
        label: str,
        now: Clock,
        poll_s: float = 0.5,
        timeout_s: float = 600,
        releases: ReleaseRollback | None = None,
    ) -> None:
        from dbx_ops.jobs.store import JobDefinitionStore

        self.ws = ws
        self.folder = folder
        self.label = label
        self.now = now
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self.root = f"/Workspace/Shared/dbx_ops_drill/{label}"
        self.name = f"{PIPELINE_JOB['name']} ({label})"
        self.definitions = JobDefinitionStore(ws, folder / "job_backups", now=now)
        self.job_id: int | None = None
        self.good_sha: str | None = None
        #: None: the drill's own releases (:class:`DrillReleases`) in ``folder/releases``.
        self.releases: ReleaseRollback = releases or DrillReleases(
            ws, folder / "releases", label, now, poll_s, timeout_s, self.definitions
        )
        self.good_release: str | None = None

    def spec(self, version: str) -> dict[str, Any]:
        """The pipeline's job: v1 (good) or v2 (the faulty deployment, a new silver notebook)."""
        tasks = []
        for task in PIPELINE_JOB["tasks"]:
            notebook = f"{self.root}/orders_{task['task_key']}"
            if version == "v2" and task["task_key"] == "silver":
                notebook += "_v2"
            tasks.append({**task, "notebook_task": {"notebook_path": notebook}})
        return {
            **PIPELINE_JOB,
            "name": self.name,
            "tasks": tasks,
            "tags": {**PIPELINE_JOB["tags"], "dbx_ops_drill": self.label, "version": version},
            "description": f"deployed by change {self.label} ({version})",
        }

    def _import_notebooks(self) -> None:
        import base64

        from databricks.sdk.service.workspace import ImportFormat, Language

        self.ws.workspace.mkdirs(self.root)
        for task, version in (("silver", "v1"), ("gold", "v1"), ("silver", "v2")):
            path = f"{self.root}/orders_{task}" + ("_v2" if version == "v2" else "")
            text = _NOTEBOOK.format(task=task, version=version)
            self.ws.workspace.import_(
                path,
                content=base64.b64encode(text.encode()).decode(),
                format=ImportFormat.SOURCE,
                language=Language.PYTHON,
                overwrite=True,
            )

    def _deploy(self, version: str) -> Any:
        from dbx_ops.jobs.deploy import DeployOptions, JobDeployer

        deployer = JobDeployer(self.ws, self.definitions, now=self.now)
        options = DeployOptions(
            environment="drill",
            manifest_dir=self.folder / "manifests",
            poll_s=self.poll_s,
            smoke_timeout_s=self.timeout_s,
        )
        return deployer.deploy(self.spec(version), options)

    def _live_sha(self) -> str:
        from dbx_ops.jobs.store import settings_sha

        assert self.job_id is not None
        return settings_sha(self.definitions.live(self.job_id)[2])

    def deploy_good(self) -> tuple[list[Check], dict[str, Any]]:
        """Import the notebooks, deploy v1 and record it as a release verified by its smoke run.

        The release's smoke run is the job's first run: v1 is the last known good because it ran.
        Its definition is also kept as the job-operations backup the job rollback returns to.
        """
        self._import_notebooks()
        result = self._deploy("v1")
        self.job_id = int(result.job_id or 0)
        release = self.releases.record(self.job_id, "v1", verify=True)
        self.good_release = str(release.release_id)
        smoke = next((c for c in release.checks if c.name.startswith("smoke")), None)
        self.definitions.backup([self.job_id], record=False)
        self.good_sha = self._live_sha()
        outcome = smoke.actual if smoke is not None else "no smoke run"
        checks = [
            Check("job v1 deployed", bool(result.ok and self.job_id), "live", f"job {self.job_id}"),
            Check("job v1 run", outcome == "SUCCESS", "SUCCESS", outcome, smoke.message if smoke else ""),
            Check(
                "release v1",
                bool(release.known_good),
                "verified (the last known good)",
                f"{release.release_id} {release.status}",
            ),
        ]
        details = {"job_id": self.job_id, "release_v1": self.good_release, "manifest": result.manifest_path}
        return checks, details

    def deploy_faulty(self) -> tuple[list[Check], dict[str, Any]]:
        """Deploy v2 over v1 (the deployer backs v1 up first) and record it as an unverified release."""
        result = self._deploy("v2")
        changed = self._live_sha() != self.good_sha
        assert self.job_id is not None
        release = self.releases.record(self.job_id, "v2", verify=False)
        checks = [
            Check("job v2 deployed", bool(result.ok) and changed, "v2 live", "v2" if changed else "v1"),
            Check(
                "release v2",
                not release.known_good,
                "recorded, not verified",
                f"{release.release_id} {release.status}",
            ),
        ]
        return checks, {"job_manifest_v2": result.manifest_path, "release_v2": str(release.release_id)}

    def roll_back(self, reason: str) -> tuple[list[Check], dict[str, Any], str, str]:
        """Roll the job back to v1 with a verification run, then its release to the last known good.

        The job rollback pauses the job, cancels its runs and restores the v1 definition; the
        release rollback then redeploys the last known-good release's kept notebooks and job
        definition (no rebuild) and checks its smoke run.
        """
        from dbx_ops.jobs.rollback import JobRollback, RollbackOptions

        assert self.job_id is not None
        rollback = JobRollback(self.ws, self.definitions, journal_dir=self.folder / "journal", now=self.now)
        result = rollback.run(
            self.job_id,
            RollbackOptions(
                poll_s=self.poll_s, timeout_s=self.timeout_s, reason=reason, owner="dbx_ops drill"
            ),
        )
        back = self._live_sha() == self.good_sha
        checks = [
            Check("job rollback", result.ok, "completed", str(result.status)),
            Check("job definition", back, "v1 (known good)", "v1" if back else "NOT v1"),
            Check(
                "verification run",
                result.verification_result == "SUCCESS",
                "SUCCESS",
                str(result.verification_result),
            ),
        ]
        html, md = result.to_html(), result.to_markdown()
        rb = self.releases.roll_back(self.job_id, reason=reason)
        to = str(getattr(rb, "rollback_of", None) or "none")
        checks.append(
            Check(
                "release rollback",
                bool(rb.known_good) and to == self.good_release,
                f"to {self.good_release} (the last known good), verified",
                f"{rb.release_id} to {to}, {rb.status}",
            )
        )
        smoke = [c for c in rb.checks if c.name.startswith("smoke")]
        checks.append(
            Check(
                "release smoke run",
                bool(smoke) and all(c.ok for c in smoke),
                "SUCCESS",
                ", ".join(c.actual for c in smoke) or "no smoke run",
                "; ".join(c.message for c in smoke),
            )
        )
        still = self._live_sha() == self.good_sha
        checks.append(Check("job definition after the release", still, "v1", "v1" if still else "NOT v1"))
        details: dict[str, Any] = {
            "job_id": self.job_id,
            "verification_run_id": result.verification_run_id,
            "release": to,
            "release_rollback": str(rb.release_id),
        }
        html += rb.to_html()
        md += "\n\n" + rb.to_markdown()
        return checks, details, html, md

    def clean_up(self) -> None:
        """Delete the drill's job and notebooks (a real sandbox keeps nothing of the drill)."""
        try:
            if self.job_id:
                self.ws.jobs.delete(job_id=self.job_id)
            self.ws.workspace.delete(self.root, recursive=True)
        except Exception:
            logger.warning(
                "the drill's job %s or folder %s was not deleted", self.job_id, self.root, exc_info=True
            )


# -- the drill ---------------------------------------------------------------------------------


class _BatchedEvents:
    """The drill's checklist events: chained in memory, written to Delta in one commit per step.

    A checklist run appends one event per action, and the Delta event store pays a read of the
    run's chain tip and one Delta commit for each. The drill is the only writer of its own runs
    (their ids carry the drill's label), so it chains events exactly as the Delta store does
    (:func:`~dbx_ops.checklists.store.seal_next` over the run's events) and :meth:`flush` appends
    every pending event in one commit at the end of each step. The audit record the drill
    reports is read back from the Delta table (:meth:`stored`), so the proof is what was stored.
    """

    def __init__(self, delta: Any) -> None:
        self.delta = delta
        self._runs: dict[str, list[Any]] = {}
        self._pending: list[Any] = []

    def _known(self, run_id: str) -> list[Any]:
        if run_id not in self._runs:
            self._runs[run_id] = list(self.delta.events(run_id))
        return self._runs[run_id]

    def append(self, event: Any) -> Any:
        """Chain ``event`` to the run's heads (in memory); written at the next :meth:`flush`."""
        from dbx_ops.checklists.store import seal_next

        known = self._known(event.run_id)
        sealed = seal_next(known, event)
        known.append(sealed)
        self._pending.append(sealed)
        return sealed

    def events(self, run_id: str) -> list[Any]:
        """The run's events in chain order (stored and pending)."""
        from dbx_ops.checklists.model import ordered

        return ordered(self._known(run_id))

    def runs(self) -> list[Any]:
        """Start events of every stored run (pending ones are written first)."""
        self.flush()
        return list(self.delta.runs())

    def flush(self) -> int:
        """Append the pending events to the Delta table in one commit; returns how many."""
        from dbx_ops.checklists.store import COLUMNS_DDL, TABLE, event_row

        if not self._pending:
            return 0
        self.delta.ensure()
        count = self.delta.store.append(TABLE, [event_row(e) for e in self._pending], COLUMNS_DDL)
        self._pending.clear()
        return int(count)

    def stored(self, run_id: str) -> list[Any]:
        """The run's events as the Delta table holds them (after a flush)."""
        self.flush()
        events = list(self.delta.events(run_id))
        self._runs[run_id] = list(events)
        return events


class _Steps:
    """Runs the numbered steps, timing each and turning unexpected errors into a failed step.

    Args:
        progress: where each finished step is shown.
        total: how many steps the drill has.
        after: called at the end of every step, inside its timing (the event flush).
        jobs: how many Spark jobs the session has started so far (None when it cannot tell);
            each step records the difference as ``details["spark_jobs"]``.
    """

    def __init__(
        self,
        progress: Progress,
        total: int,
        after: Callable[[], Any] | None = None,
        jobs: Callable[[], int | None] | None = None,
    ) -> None:
        self.progress = progress
        self.total = total
        self.after = after
        self.jobs = jobs or (lambda: None)
        self.done: list[DrillStep] = []

    def run(
        self, name: str, fn: Callable[[], tuple[bool, str, Sequence[Check], Mapping[str, Any], str, str]]
    ) -> DrillStep:
        started = time.perf_counter()
        jobs_before = self.jobs()
        try:
            ok, summary, checks, details, html, md = fn()
            if self.after is not None:
                self.after()
        except DbxOpsError as exc:
            ok, summary, checks, details, html, md = (
                False,
                str(exc),
                (),
                {"error": type(exc).__name__},
                "",
                "",
            )
        except Exception as exc:  # the drill reports a broken step instead of dying with a trace
            logger.exception("drill step %s failed", name)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            ok, summary, checks, details, html, md = False, f"{type(exc).__name__}: {first}", (), {}, "", ""
        jobs_after = self.jobs()
        extra = {} if jobs_before is None or jobs_after is None else {"spark_jobs": jobs_after - jobs_before}
        step = DrillStep(
            number=len(self.done) + 1,
            name=name,
            ok=ok,
            summary=summary,
            checks=tuple(checks),
            seconds=time.perf_counter() - started,
            details={**dict(details), **extra},
            html=html,
            markdown=md,
        )
        self.done.append(step)
        self.progress.advance(name, ok=ok, detail="" if ok else summary)
        return step


def spark_job_counter(spark: Any) -> Callable[[], int | None]:
    """A counter of the Spark jobs ``spark`` has started (classic sessions; None on Spark Connect).

    Job ids grow by one per job, so the newest id the status tracker knows is the count so far.
    """
    try:
        tracker = spark.sparkContext.statusTracker()
    except Exception:  # Spark Connect has no SparkContext on the client
        return lambda: None

    def count() -> int | None:
        try:
            ids = tracker.getJobIdsForGroup(None)
        except Exception:
            return None
        return (max(ids) + 1) if ids else 0

    return count


def _validate_all(validator: Any, tables: Sequence[str], label: str) -> dict[str, Any]:
    """Every table validated against the snapshot ``label``: table -> ValidationReport.

    The tables are validated side by side (:func:`side_by_side`): a validation of a drill-sized
    table is mostly small metadata queries. The drill's validator writes to a
    :class:`~dbx_ops.state.BufferedStateStore`, so the threads' profiles and results wait in
    memory until the step's flush.
    """
    reports = side_by_side(*(partial(validator.validate, t, baseline=f"snapshot:{label}") for t in tables))
    return dict(zip(tables, reports, strict=True))


def _pass_checks(reports: Mapping[str, Any]) -> list[Check]:
    """One check per table: no fail-severity breach against the baseline."""
    return [
        Check(
            f"{_short(t)} validates",
            not rep.failures,
            "no fail-severity breach",
            ", ".join(r.rule for r in rep.failures) or "none",
        )
        for t, rep in reports.items()
    ]


def run_drill(
    spark: Any,
    *,
    store: StateStore | None = None,
    options: DrillOptions | None = None,
    progress: Progress | None = None,
    now: Clock = utc_now,
    ws: Any = None,
    releases: ReleaseRollback | None = None,
) -> DrillReport:
    """Run the rollback drill on ``spark``'s lakehouse and return its report.

    With a workspace (``ws``) the drill also deploys the pipeline's job (v1) and records it as
    a release verified by its run (the last known good), deploys the faulty v2 (recorded as a
    release, never verified) with the faulty transformation, and after the restore rolls the
    job back with a verification run and its release back to the last known good
    (``dbx_ops.releases``), whose smoke run must pass.

    Args:
        spark: the Spark session (local or a Databricks cluster).
        store: the state store for snapshots, metrics and checklist events (default: a state schema
            beside the drill's own schema, ``<schema>_state``, so the drill leaves nothing elsewhere).
        options: sizes, schema, label, sabotage, output folder.
        progress: where step progress goes (default: nothing).
        now: the clock.
        ws: a ``WorkspaceClient`` (the local stand-in or a sandbox workspace); None: tables only.
        releases: the releases of the pipeline's job (see :class:`ReleaseRollback`); None: the
            drill's own :class:`DrillReleases` in ``<out>/workspace/releases``.

    Returns:
        The :class:`DrillReport`; ``ok`` only when recovery was proven.

    Raises:
        InvalidInputError: bad options, or a schema that holds tables the drill did not create.
    """
    from dbx_ops.checklists import DeltaEventStore, open_run
    from dbx_ops.checklists.identity import Actor
    from dbx_ops.checklists.verifiers import VerifierContext
    from dbx_ops.snapshots import Snapshots
    from dbx_ops.validation import Validator

    opts = (options or DrillOptions()).checked()
    started_at = now()
    label = opts.label or f"drill-{started_at:%Y%m%d-%H%M%S}"
    state = store or StateStore(spark, schema=f"{opts.schema}_state")
    pipeline = _Pipeline(spark, opts.schema, opts.rows, opts.days, opts.seed)
    gold = [".".join(pipeline.name(t).parts) for t in GOLD]
    events = _BatchedEvents(DeltaEventStore(state))
    actor = Actor("dbx_ops drill")
    # the validations' profiles and results wait in memory and are written at the end of each
    # step, one commit per state table (written side by side with the checklist events)
    buffered = BufferedStateStore.over(state)
    validator = Validator(spark, store=buffered)
    snaps = Snapshots(spark, store=state, now=now)
    bar = progress or NullProgress()
    total = (8 if opts.forward else 7) + (2 if ws is not None else 0)

    def flush() -> None:
        tables = [partial(buffered.flush, name) for name in buffered.pending()]
        side_by_side(events.flush, *tables)

    steps = _Steps(bar, total, after=flush, jobs=spark_job_counter(spark))
    facts: dict[str, Any] = {"label": label, "gold": gold}
    work = opts.out
    verifier_ctx = VerifierContext(spark=spark, store=state, now=now)
    runs: dict[str, Any] = {}
    jobs = None
    if ws is not None:
        import tempfile

        jobs_folder = (
            (work / "workspace") if work is not None else Path(tempfile.mkdtemp(prefix="dbx-ops-drill-"))
        )
        jobs = _JobDrill(ws, jobs_folder, label, now, releases=releases)

    # the drill's own state schema, beside its schema, is checked like it (not a store given to it)
    state_sql = pipeline.check_state_schema(state.schema) if store is None else None
    pipeline.prepare_schema()
    if state_sql is not None:
        spark.sql(state_sql)
    bar.start(f"rollback drill {label}", total)
    try:
        # 1. build ----------------------------------------------------------------------------
        def build() -> Any:
            pipeline.drop_tables()
            pipeline.build_bronze()
            pipeline.build_silver_gold("good")
            # the profiles count the gold rows; bronze holds exactly what was generated
            profiled = side_by_side(*(partial(validator.profile, t) for t in gold))
            profiles = {_short(t): p for t, p in zip(gold, profiled, strict=True)}
            counts = {
                "bronze_orders": opts.rows,
                "bronze_customers": pipeline.customers,
                **{t: int(p.row_count) for t, p in profiles.items()},
            }
            facts["counts_v1"] = counts
            checks = [
                Check("gold_orders rows", counts["gold_orders"] > 0, "> 0", str(counts["gold_orders"])),
                Check(
                    "gold_daily_revenue rows",
                    counts["gold_daily_revenue"] == opts.days,
                    str(opts.days),
                    str(counts["gold_daily_revenue"]),
                ),
            ]
            summary = (
                f"built bronze → silver → gold in {'.'.join(pipeline.schema.parts)}: "
                f"{counts['bronze_orders']} orders, {counts['gold_orders']} gold rows; gold tables profiled"
            )
            return all(c.ok for c in checks), summary, checks, {"counts": counts}, "", ""

        steps.run("build the pipeline", build)

        if jobs is not None:
            job_drill = jobs

            def deploy_job() -> Any:
                checks, details = job_drill.deploy_good()
                summary = (
                    f"deployed the pipeline's job {details['job_id']} (v1) through the job operations "
                    f"and ran it: {checks[1].actual}; release {details['release_v1']} is the last known good"
                )
                return all(c.ok for c in checks), summary, checks, details, "", ""

            steps.run("deploy and run the pipeline job", deploy_job)

        # 2. checklist ------------------------------------------------------------------------
        def checklist() -> Any:
            spec_path = _write_job_spec(work, label)
            context = {
                "target": "drill",
                "change": label,
                "tables": ",".join(gold),
                "job_spec": str(spec_path),
            }
            run = open_run("prod-deploy", f"{label}-prod-deploy", events=events, actor=actor, context=context)
            runs["prod-deploy"] = run
            facts["checklist_run"] = run.run_id
            done = run.verify(verifier_ctx, items=["job.spec_lint"])
            st = run.state()
            lint = st.status("job.spec_lint").state
            checks = [Check("job spec lint", str(lint) == "pass", "pass", str(lint))]
            gate = run.gate(state=st)
            summary = (
                f"prod-deploy run {run.run_id} started; {len(done)} item(s) verified; gate {gate.decision}"
            )
            return all(c.ok for c in checks), summary, checks, {"run_id": run.run_id}, "", ""

        steps.run("start the prod-deploy checklist", checklist)

        def prod_run() -> Any:
            if "prod-deploy" not in runs:
                raise DrillFailedError("the prod-deploy checklist run was not started (step 2 failed).")
            return runs["prod-deploy"]

        # 3. snapshot -------------------------------------------------------------------------
        def snapshot() -> Any:
            run = prod_run()
            # the fingerprint recorded now, before the faulty deployment, is what the restore's
            # proof compares the restored content with
            snaps.snapshot(gold, label=label, note="rollback drill", fingerprint=True)
            run.verify(verifier_ctx, items=["rollback.snapshot"])
            item = run.state().status("rollback.snapshot")
            checks = [Check("snapshot verifier", str(item.state) == "pass", "pass", str(item.state))]
            summary = f"gold tables snapshotted as {label!r}; the checklist's rollback item says {item.state}"
            return all(c.ok for c in checks), summary, checks, {"label": label}, "", ""

        steps.run("snapshot the gold tables", snapshot)

        # 4. faulty deployment -----------------------------------------------------------------
        def deploy() -> Any:
            pipeline.build_silver_gold("faulty")
            counts = {"gold_orders": pipeline.count("gold_orders")}
            facts["counts_v2"] = counts
            summary = (
                "deployed v2 of the silver/gold transformation: "
                f"gold_orders {facts['counts_v1']['gold_orders']} → {counts['gold_orders']} rows, "
                "customer_id nulls, gold_daily_revenue.revenue retyped to string"
            )
            checks: list[Check] = []
            details: dict[str, Any] = {"counts": counts}
            if jobs is not None:
                checks, more = jobs.deploy_faulty()
                details.update(more)
                summary += "; the job's definition v2 is live"
            return all(c.ok for c in checks), summary, checks, details, "", ""

        steps.run("apply the faulty deployment", deploy)

        # 5. validation catches it; the gate says no-go -----------------------------------------
        def detect() -> Any:
            run = prod_run()
            reports = _validate_all(validator, gold, label)
            caught = {(_short(t), _rule_base(r.rule)) for t, rep in reports.items() for r in rep.failures}
            caught |= {(_short(t), r.rule) for t, rep in reports.items() for r in rep.failures}
            checks = [
                Check(
                    f"{table}: {rule}",
                    (table, rule) in caught,
                    "breached",
                    "breached" if (table, rule) in caught else "passed",
                )
                for table, rule in EXPECTED_BREACHES
            ]
            broken = "; ".join(
                f"{_short(t)}: {', '.join(r.rule for r in rep.failures)}"
                for t, rep in reports.items()
                if rep.failures
            )
            run.set_item(
                "testing.data_quality",
                "fail",
                evidence=[f"table:{t}" for t in gold] + [f"validation against snapshot:{label}: {broken}"],
            )
            gate = run.gate()
            reasons = [c for c in gate.reasons() if not c.ok]
            dq_reason = any("testing.data_quality" in (c.name + c.message) for c in reasons)
            checks.append(Check("gate", not gate.ok, "no-go", gate.decision))
            checks.append(
                Check(
                    "gate reasons name data quality",
                    dq_reason,
                    "testing.data_quality",
                    "named" if dq_reason else "absent",
                )
            )
            facts["breaches"] = broken
            html = "\n".join(rep.to_html() for rep in reports.values())
            md = "\n\n".join(rep.to_markdown() for rep in reports.values())
            summary = f"validation against the snapshot caught: {broken}; checklist gate {gate.decision}"
            return (
                all(c.ok for c in checks),
                summary,
                checks,
                {"breaches": broken, "gate": gate.decision},
                html,
                md,
            )

        steps.run("validate: catch the breach, gate says no-go", detect)

        if opts.sabotage == "vacuum":
            pipeline.vacuum_all_history(GOLD)

        # 6. roll back ----------------------------------------------------------------------------
        def rollback() -> Any:
            report = snaps.restore(label, parallel=2)  # the two gold tables side by side
            checks = [
                Check(
                    "restore proof",
                    report.ok,
                    "every table back at its snapshot",
                    "ok" if report.ok else "NOT OK",
                )
            ]
            # the restore's proof counted the restored rows; compared here with the build's count
            counts = {
                _short(t.table_name): int(c.actual)
                for t in report.tables
                for c in t.checks
                if c.name == "row count" and c.actual.isdigit()
            }
            checks.append(
                Check(
                    "gold_orders rows",
                    counts.get("gold_orders") == facts["counts_v1"]["gold_orders"],
                    str(facts["counts_v1"]["gold_orders"]),
                    str(counts.get("gold_orders", "not counted")),
                )
            )
            summary = report.summary() if hasattr(report, "summary") else "restored"
            return (
                all(c.ok for c in checks),
                summary,
                checks,
                {"counts": counts},
                report.to_html(),
                report.to_markdown(),
            )

        restored = steps.run("roll back: restore from the snapshot", rollback)

        if jobs is not None:
            job_drill = jobs

            def rollback_job() -> Any:
                reason = f"rollback drill {label}: {facts.get('breaches') or 'validation failures'}"
                checks, details, html, md = job_drill.roll_back(reason)
                summary = (
                    f"rolled the pipeline's job {details['job_id']} back to v1; verification run "
                    f"{details['verification_run_id']}: {checks[2].actual}; release rolled back to "
                    f"{details['release']} (last known good) as {details['release_rollback']}: "
                    f"{checks[3].actual.rsplit(', ', 1)[-1]}"
                )
                return all(c.ok for c in checks), summary, checks, details, html, md

            steps.run("roll back the pipeline job", rollback_job)

        # 7. validate again; fill the rollback runbook --------------------------------------------
        def recheck() -> Any:
            run = prod_run()
            reports = _validate_all(validator, gold, label)
            checks = _pass_checks(reports)
            recovered = all(c.ok for c in checks) and restored.ok
            runbook = open_run(
                "rollback-runbook",
                f"{label}-rollback",
                events=events,
                actor=actor,
                context={
                    "target": "drill",
                    "change": label,
                    "tables": ",".join(gold),
                    "extra": {
                        "prior_change": f"snapshot {label}",
                        "symptoms": facts.get("breaches", "validation failures"),
                        "impact": ", ".join(gold),
                        "action": "Restored the gold tables from the snapshot",
                        "status": "Recovered, validation passes" if recovered else "NOT recovered",
                        "next_update": "30 minutes",
                        "owner": actor.name,
                    },
                },
            )
            proof = "; ".join(c.to_text() for c in checks)
            for item in ("rollback.tables_readable", "data.schema_contracts", "data.row_counts"):
                try:
                    runbook.set_item(item, "pass" if recovered else "fail", evidence=[proof])
                except DbxOpsError:
                    logger.debug("runbook item %s not set", item, exc_info=True)
            # the audit records are read back from the Delta table: the proof is what was stored
            events.stored(run.run_id)
            events.stored(runbook.run_id)
            audit = run.report()
            runbook_audit = runbook.report()
            chained = audit.chain.ok and runbook_audit.chain.ok
            chain_text = "intact" if chained else "BROKEN"
            checks.append(Check("checklist chains verify", chained, "intact", chain_text))
            facts["runbook_run"] = runbook.run_id
            html = (
                "\n".join(rep.to_html() for rep in reports.values())
                + audit.to_html()
                + runbook_audit.to_html()
            )
            md = (
                "\n\n".join(rep.to_markdown() for rep in reports.values())
                + "\n\n"
                + runbook_audit.to_markdown()
            )
            summary = (
                "after the restore every gold table validates against the snapshot; rollback-runbook "
                f"{runbook.run_id} filled from the run's facts"
                if recovered
                else "after the restore the gold tables still breach: recovery NOT proven"
            )
            return recovered and chained, summary, checks, {"runbook_run": runbook.run_id}, html, md

        steps.run("validate again after the restore", recheck)

        # 8. forward fix ---------------------------------------------------------------------------
        if opts.forward:

            def forward() -> Any:
                pipeline.build_silver_gold("fixed")
                checks = _pass_checks(_validate_all(validator, gold, label))
                summary = (
                    "redeployed a fixed v3 and it validates against the snapshot"
                    if all(c.ok for c in checks)
                    else "the fixed v3 still breaches"
                )
                return all(c.ok for c in checks), summary, checks, {}, "", ""

            steps.run("redeploy forward a fixed version", forward)
    finally:
        bar.finish()
        try:
            flush()  # a failed step's events and validation records are kept too
        except Exception:
            logger.exception("the drill's pending checklist events or validation records were not written")
        if jobs is not None:
            jobs.clean_up()

    cleanup = _clean_up_tables(
        pipeline, keep=opts.keep, proven=bool(steps.done) and all(s.ok for s in steps.done)
    )
    report = DrillReport(
        label=label,
        schema=".".join(pipeline.schema.parts),
        rows=opts.rows,
        steps=tuple(steps.done),
        started_at=started_at,
        finished_at=now(),
        sabotage=opts.sabotage,
        cleanup=cleanup,
    )
    if work is not None:
        report.write(work)
        (work / "drill.json").write_text(
            json.dumps(report.to_dict(), indent=2, default=str), encoding="utf-8"
        )
    return report


@contextmanager
def drill_workspace(env: Mapping[str, str], folder: Path) -> Iterator[Any]:
    """The workspace of ``dbx-ops drill --workspace``: ``DATABRICKS_HOST``'s, or a local stand-in.

    Without ``DATABRICKS_HOST`` the local stand-in workspace (``tools/workspace`` of a dbx_ops
    checkout, built by ``make workspace``) is started for the drill, its state kept in
    ``folder``, and stopped afterwards.

    Raises:
        EnvironmentSetupError: no ``DATABRICKS_HOST`` and no stand-in to start.
    """
    from dbx_ops.runtime import workspace_client

    if env.get("DATABRICKS_HOST"):
        yield workspace_client(env)
        return
    tools = Path(__file__).resolve().parents[1] / "tools" / "workspace"
    binary = Path(__file__).resolve().parents[1] / ".cache" / "bin" / "dbx-workspace"
    if not (tools / "standin.py").is_file() or not binary.is_file():
        raise EnvironmentSetupError(
            "--workspace needs DATABRICKS_HOST (a sandbox workspace) or the local stand-in: "
            "run `make workspace` in a dbx_ops checkout."
        )
    import importlib.util
    import sys

    standin = sys.modules.get("standin")  # the test suite's, when it imported it already
    if standin is None:
        spec = importlib.util.spec_from_file_location("standin", tools / "standin.py")
        assert spec is not None and spec.loader is not None
        standin = importlib.util.module_from_spec(spec)
        sys.modules["standin"] = standin
        spec.loader.exec_module(standin)
    folder.mkdir(parents=True, exist_ok=True)
    server = standin.StandIn.start(state_file=folder / "state.json", log=folder / "server.log")
    try:
        yield workspace_client({}, host=server.host, token=server.token)
    finally:
        server.stop()


def clean_up(spark: Any, schema: str = DrillOptions.schema) -> None:
    """Drop the drill's tables (only the drill's) from ``schema``."""
    _Pipeline(spark, schema, 100, 1, 0).drop_tables()


def _schema_comment(spark: Any, schema: TableName) -> str:
    """The comment of an existing schema ("" when it has none)."""
    for row in spark.sql(f"DESCRIBE SCHEMA EXTENDED {schema.sql}").collect():
        if str(row[0]).strip().lower() in ("comment", "description"):
            return str(row[1] or "")
    return ""


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _clean_up_tables(pipeline: _Pipeline, *, keep: bool, proven: bool) -> str:
    """Drop the pipeline's tables after a drill that proved recovery; say what became of them."""
    where = ".".join(pipeline.schema.parts)
    if keep:
        return f"the pipeline's tables are kept in {where} (--keep)"
    if not proven:
        return f"the pipeline's tables are kept in {where} for the post-mortem: the drill failed"
    try:
        pipeline.drop_tables()
    except Exception as exc:  # the drill's verdict stands; the leftovers are named
        from dbx_ops.snapshots.tables import first_line

        logger.warning("could not drop the drill's tables from %s", where, exc_info=True)
        return f"the pipeline's tables could not all be dropped from {where}: {first_line(exc)}"
    return f"the pipeline's tables were dropped from {where} (--keep keeps them)"


def _short(table: str) -> str:
    return table.rsplit(".", 1)[-1]


def _rule_base(rule: str) -> str:
    """``schema_contract:retyped`` → ``schema_contract`` (the rule type of a rule name)."""
    return rule.split(":", 1)[0]


def _write_job_spec(folder: Path | None, label: str) -> Path:
    if folder is None:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="dbx-ops-drill-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pipeline-job.json"
    path.write_text(
        json.dumps({**PIPELINE_JOB, "description": f"deployed by change {label}"}, indent=2), encoding="utf-8"
    )
    return path
