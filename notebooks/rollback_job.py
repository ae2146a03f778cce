# Databricks notebook source
# MAGIC %md
# MAGIC # Roll a job back
# MAGIC Pause the schedule (remembering it), cancel active runs, restore the previous definition from the backup
# MAGIC folder, re-enable the schedule, trigger a verification run and wait for it, then write the incident summary.
# MAGIC Leave `confirm` at `no` to see the plan only. An interrupted rollback continues where it stopped when run again.

# COMMAND ----------

dbutils.widgets.text("job", "", "Job id or exact name")  # noqa: F821
dbutils.widgets.text("backup_dir", "/Workspace/Shared/dbx_ops/job_backups", "Backup folder")  # noqa: F821
dbutils.widgets.text("backup", "", "Backup version (empty: newest that differs from live)")  # noqa: F821
dbutils.widgets.text("reason", "a bad deployment", "What happened")  # noqa: F821
dbutils.widgets.text("owner", "", "Incident owner (empty: you)")  # noqa: F821
dbutils.widgets.dropdown("confirm", "no", ["no", "yes"], "Apply the rollback")  # noqa: F821

# COMMAND ----------

from dbx_ops.jobs.report import rollback_html
from dbx_ops.jobs.rollback import JobRollback, RollbackOptions, require_ok
from dbx_ops.jobs.store import JobDefinitionStore
from dbx_ops.runtime import workspace_client

ws = workspace_client()
get = dbutils.widgets.get  # noqa: F821
options = RollbackOptions(backup=get("backup") or None, reason=get("reason"), owner=get("owner") or None)
rollback = JobRollback(ws, JobDefinitionStore(ws, get("backup_dir")))
plan = rollback.plan(get("job"), options)
displayHTML(rollback_html(plan))  # noqa: F821

# COMMAND ----------

if get("confirm") == "yes":
    result = rollback.run(plan.job_id, options)
    displayHTML(rollback_html(result))  # noqa: F821
    require_ok(result)
