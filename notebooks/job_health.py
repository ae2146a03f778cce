# Databricks notebook source
# MAGIC %md
# MAGIC # Job health and alerts
# MAGIC Success rate, mean/p95 duration, last state and failures in a row over the newest runs of each job, with
# MAGIC the alert rules of the production checklist: failed run (P1), duration over 2x the mean (P2), 3+ failures in a
# MAGIC row (P1), data-quality failure in `validation_results` (P2). Tables are linked to a job by its tag
# MAGIC `dbx_ops_tables` (comma-separated) or the `tables` widget. The run fails when a P1 fires, so a scheduled job
# MAGIC of this notebook alerts through the job's own notifications.

# COMMAND ----------

dbutils.widgets.text("jobs", "", "Job ids or names (comma-separated; empty: all jobs)")  # noqa: F821
dbutils.widgets.text("tables", "", "Extra tables for the data-quality rule (comma-separated)")  # noqa: F821
dbutils.widgets.text("window", "10", "Runs considered")  # noqa: F821

# COMMAND ----------

from dbx_ops import get_spark
from dbx_ops.jobs.api import list_all_jobs
from dbx_ops.jobs.health import HealthRules, JobHealthChecker
from dbx_ops.jobs.report import health_html
from dbx_ops.runtime import workspace_client
from dbx_ops.state import state_schema

ws = workspace_client()
spark = get_spark()
wanted = [j.strip() for j in dbutils.widgets.get("jobs").split(",") if j.strip()]  # noqa: F821
tables = [t.strip() for t in dbutils.widgets.get("tables").split(",") if t.strip()]  # noqa: F821
checker = JobHealthChecker(ws, spark=spark, schema=state_schema(),
                           rules=HealthRules(window=int(dbutils.widgets.get("window"))))  # noqa: F821
results = checker.check_many(wanted or [int(j.job_id) for j in list_all_jobs(ws)], tables)
displayHTML(health_html(results))  # noqa: F821

# COMMAND ----------

p1 = [a.message for h in results for a in h.alerts if a.severity == "P1"]
if p1:
    raise RuntimeError("P1 job alerts: " + " | ".join(p1))
