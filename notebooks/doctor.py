# Databricks notebook source
# MAGIC %md
# MAGIC # dbx_ops doctor
# MAGIC Where this notebook runs, the versions it sees, and a real Delta write/read.
# MAGIC Needs the dbx_ops wheel on the cluster (the bundle's jobs attach it; interactively: `%pip install` the wheel from the bundle's artifacts).

# COMMAND ----------

from dbx_ops import doctor

report = doctor.diagnose()
displayHTML(report.to_html())  # noqa: F821 - Databricks notebook global

# COMMAND ----------

report.raise_on_failure()
