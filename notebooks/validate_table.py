# Databricks notebook source
# MAGIC %md
# MAGIC # Validate tables: row counts, nulls, distinct counts, drift, schema, freshness
# MAGIC After a deployment or a Databricks Runtime upgrade: name the tables (`tables`, comma-separated) and what to
# MAGIC compare them with — `snapshot:LABEL` (the pre-deployment snapshot), `version:N`, `previous` (the last stored
# MAGIC profile; on the very first run the profile is stored and the run passes with a note), `table:NAME`, or
# MAGIC `partition:date = current_date() - 1` with `where` = `date = current_date()` (seed 001 §4.2).
# MAGIC Leave `rules` empty for the default rules, or give the path of a rules YAML file.
# MAGIC The profile and every verdict are stored in Delta (`<state_schema>.metrics`, `<state_schema>.validation_results`).
# MAGIC `fail_job = true` (the default, as in the bundle's job) fails the task when a fail-severity rule breaks.

# COMMAND ----------

dbutils.widgets.text("tables", "", "Tables (comma-separated)")  # noqa: F821
dbutils.widgets.text("table", "", "Table (alias of tables)")  # noqa: F821
dbutils.widgets.text("baseline", "previous", "Baseline")  # noqa: F821
dbutils.widgets.text("where", "", "Rows of this run (optional), e.g. date = current_date()")  # noqa: F821
dbutils.widgets.text("rules", "", "Rules YAML path (empty: defaults)")  # noqa: F821
dbutils.widgets.text("fail_job", "true", "Fail the job on a broken fail rule (true/false)")  # noqa: F821
dbutils.widgets.text("state_schema", "", "State schema (empty: DBX_OPS_SCHEMA or dbx_ops)")  # noqa: F821
dbutils.widgets.text("full", "false", "Scan every row (true/false; default: log, stored, incremental)")  # noqa: F821
dbutils.widgets.text("sample", "", "Distributions from a sample: fraction (0.1) or rows (empty: all)")  # noqa: F821

# COMMAND ----------

from dbx_ops.progress import LineProgress
from dbx_ops.validation.job import ValidationJob

job = ValidationJob.from_params({name: dbutils.widgets.get(name) for name in ValidationJob.PARAMETERS})  # noqa: F821
batch = job.run(spark, progress=LineProgress())  # noqa: F821
displayHTML(batch.to_html())  # noqa: F821

# COMMAND ----------

# MAGIC %md
# MAGIC ## History of these tables' metrics

# COMMAND ----------

display(job.history(spark))  # noqa: F821

# COMMAND ----------

job.finish(batch)
