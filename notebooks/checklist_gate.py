# Databricks notebook source
# MAGIC %md
# MAGIC # Checklist gate: go / no-go of a checklist run
# MAGIC The bundle job `dbx_ops_checklist_gate` runs this notebook for the run named by `run` (the id
# MAGIC `dbx-ops checklist start` printed, or the `run` widget of a checklist notebook). It reads the run's
# MAGIC events from the `checklist_events` table of the state schema and decides go or no-go: required items
# MAGIC passed or waived, required roles signed go, nobody signed no-go, no stale verifier result, the event
# MAGIC chain verifies. It records no ticks or sign-offs; `verify = true` re-runs the run's verifiers first.
# MAGIC
# MAGIC The decision is published as the task value `decision` (`go` / `no-go`, with `run_id` and `reasons`), so
# MAGIC an If/else task can test `{{tasks.gate.values.decision}} == "go"`; the task fails on no-go.

# COMMAND ----------

dbutils.widgets.text("run", "", "Checklist run id")  # noqa: F821
dbutils.widgets.text("stage", "", "Gate only this stage (empty: the whole run)")  # noqa: F821
dbutils.widgets.text("verify", "false", "Re-run the verifiers first (true/false)")  # noqa: F821
dbutils.widgets.text("job_run_id", "", "Job run id ({{job.run_id}})")  # noqa: F821
dbutils.widgets.text("state_schema", "", "State schema (empty: DBX_OPS_SCHEMA or dbx_ops)")  # noqa: F821

# COMMAND ----------

from dbx_ops import get_spark
from dbx_ops.checklists.job import gate_notebook_main

result = gate_notebook_main(dbutils, get_spark(), displayHTML)  # noqa: F821
