# Databricks notebook source
# MAGIC %md
# MAGIC # Checklist: `deploy-workflow`
# MAGIC Interactive: pick or name a run in the `run` widget (a new id starts a new run; `context` takes JSON facts
# MAGIC such as `{"target": "prod", "change": "<sha>", "tables": "sales.orders", "jobs": "42"}`), tick items with
# MAGIC evidence, run the verifiers, sign off by role; the gate banner says go or no-go. Every click is one event
# MAGIC in the append-only `checklist_events` table of the state schema.
# MAGIC
# MAGIC As a job task: set `mode` to `job` (and `job_run_id` to `{{job.run_id}}`); `ticks` and `signoffs`
# MAGIC take JSON lists. The decision is published as the task value `decision` (go / no-go) for an If/else task,
# MAGIC and the task fails on no-go.

# COMMAND ----------

for name, default in [("run", ""), ("context", ""), ("mode", "interactive"), ("ticks", ""), ("signoffs", ""),
                      ("stage", ""), ("job_run_id", "")]:
    dbutils.widgets.text(name, default)  # noqa: F821

# COMMAND ----------

from dbx_ops import get_spark
from dbx_ops.checklists.job import notebook_main

result = notebook_main("deploy-workflow", dbutils, get_spark(), displayHTML)  # noqa: F821
