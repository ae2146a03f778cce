# Databricks notebook source
# MAGIC %md
# MAGIC # Validate a table: row counts, nulls, distinct counts, drift, schema, freshness
# MAGIC After a deployment or a Databricks Runtime upgrade: name the table and what to compare it with —
# MAGIC `snapshot:LABEL` (the pre-deployment snapshot), `version:N`, `previous` (the last stored profile),
# MAGIC `table:NAME`, or `partition:date = current_date() - 1` with `where` = `date = current_date()` (seed 001 §4.2).
# MAGIC Leave `rules` empty for the default rules, or give the path of a rules YAML file.
# MAGIC The profile and every verdict are stored in Delta (`dbx_ops.metrics`, `dbx_ops.validation_results`).
# MAGIC As a job task, `fail_job = yes` fails the task when a fail-severity rule breaks.

# COMMAND ----------

dbutils.widgets.text("table", "", "Table")  # noqa: F821
dbutils.widgets.text("baseline", "previous", "Baseline")  # noqa: F821
dbutils.widgets.text("where", "", "Rows of this run (optional), e.g. date = current_date()")  # noqa: F821
dbutils.widgets.text("rules", "", "Rules YAML path (empty: defaults)")  # noqa: F821
dbutils.widgets.dropdown("fail_job", "no", ["no", "yes"], "Fail the job on a broken fail rule")  # noqa: F821

# COMMAND ----------

from dbx_ops.validation import Validator

get = dbutils.widgets.get  # noqa: F821
report = Validator(spark).validate(  # noqa: F821
    get("table").strip(),
    baseline=get("baseline").strip() or None,
    rules=get("rules").strip() or None,
    where=get("where").strip() or None,
)
displayHTML(report.to_html())  # noqa: F821

# COMMAND ----------

# MAGIC %md
# MAGIC ## History of this table's metrics

# COMMAND ----------

from pyspark.sql import functions as F

history = (
    Validator(spark).metrics.history()  # noqa: F821
    .where((F.col("table_name") == report.table) & (F.col("metric").isin("row_count", "null_rate")))
    .orderBy(F.col("profiled_at").desc())
    .limit(200)
)
display(history)  # noqa: F821

# COMMAND ----------

if get("fail_job") == "yes":
    report.raise_on_failure()
