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
from dbx_ops.jobs.health import HealthRules, JobHealthChecker
from dbx_ops.runtime import workspace_client
from dbx_ops.state import StateStore

get = dbutils.widgets.get  # noqa: F821
wanted = [j.strip() for j in get("jobs").split(",") if j.strip()]
tables = [t.strip() for t in get("tables").split(",") if t.strip()]
checker = JobHealthChecker(workspace_client(), store=StateStore.from_env(get_spark()),
                           rules=HealthRules(window=int(get("window"))))
report = checker.report(wanted, tables)
displayHTML(report.to_html())  # noqa: F821

# COMMAND ----------

report.raise_on_failure()  # UnhealthyJobError naming every P1 alert: the job run fails and alerts
