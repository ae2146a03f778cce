# Databricks notebook source
# MAGIC %md
# MAGIC # Roll a job back
# MAGIC Pause the schedule (remembering it), cancel active runs, restore the previous definition from the backup
# MAGIC folder, re-enable the schedule, trigger a verification run and wait for it, then write the incident summary.
# MAGIC Leave `confirm` at `no` to see the plan only. An interrupted rollback continues where it stopped when run again.

# COMMAND ----------

dbutils.widgets.text("job", "", "Job id or exact name")  # noqa: F821
dbutils.widgets.text("backup_dir", "/Workspace/Shared/dbx_ops/job_backups", "Backup folder")  # noqa: F821
dbutils.widgets.text("journal_dir", "", "Journal folder, e.g. a UC volume (empty: the state schema)")  # noqa: F821
dbutils.widgets.text("backup", "", "Backup version (empty: newest that differs from live)")  # noqa: F821
dbutils.widgets.text("reason", "a bad deployment", "What happened")  # noqa: F821
dbutils.widgets.text("owner", "", "Incident owner (empty: you)")  # noqa: F821
dbutils.widgets.dropdown("confirm", "no", ["no", "yes"], "Apply the rollback")  # noqa: F821

# COMMAND ----------

from dbx_ops import get_spark
from dbx_ops.jobs.rollback import JobRollback, RollbackOptions
from dbx_ops.jobs.store import JobDefinitionStore
from dbx_ops.runtime import workspace_client
from dbx_ops.state import StateStore

ws = workspace_client()
get = dbutils.widgets.get  # noqa: F821
options = RollbackOptions(backup=get("backup") or None, reason=get("reason"), owner=get("owner") or None)
# The journal outlives the cluster: the state schema's job_journals table, or the folder given.
definitions = JobDefinitionStore(ws, get("backup_dir"), store=StateStore.from_env(get_spark()))
rollback = JobRollback(ws, definitions, journal_dir=get("journal_dir") or None)
plan = rollback.plan(get("job"), options)
displayHTML(plan.to_html())  # noqa: F821

# COMMAND ----------

if get("confirm") == "yes":
    result = rollback.run(plan.job_id, options)
    displayHTML(result.to_html())  # noqa: F821
    result.raise_on_failure()
