# Databricks notebook source
# MAGIC %md
# MAGIC # Environment check
# MAGIC Compares this cluster's Python packages with the pinned lock and the runtime baseline next to it:
# MAGIC packages missing, at the wrong version, changed underneath by the runtime, or stray. Fails the run on
# MAGIC drift, so the scheduled job alerts. Same check as `dbx-ops env check --lock <file>`.

# COMMAND ----------

dbutils.widgets.text("lock", "../requirements/15.4.x-scala2.12/requirements.txt", "Lock file")  # noqa: F821
dbutils.widgets.text("baseline", "", "Baseline (blank: next to the lock)")  # noqa: F821
dbutils.widgets.dropdown("strays", "true", ["true", "false"], "Report strays")  # noqa: F821
dbutils.widgets.dropdown("fail_on_drift", "true", ["true", "false"], "Fail the run on drift")  # noqa: F821

# COMMAND ----------

from dbx_ops.deps.envcheck import check_environment

report = check_environment(
    dbutils.widgets.get("lock"),  # noqa: F821
    dbutils.widgets.get("baseline") or None,  # noqa: F821
    strays=dbutils.widgets.get("strays") == "true",  # noqa: F821
)
displayHTML(report.to_html())  # noqa: F821

# COMMAND ----------

if dbutils.widgets.get("fail_on_drift") == "true":  # noqa: F821
    report.raise_on_failure()
