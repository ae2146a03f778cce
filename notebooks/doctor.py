# Databricks notebook source
# MAGIC %md
# MAGIC # dbx_ops doctor
# MAGIC Where this notebook runs, the versions it sees, and a real Delta write/read.
# MAGIC Needs the dbx_ops wheel on the cluster (the bundle's jobs attach it; interactively: `%pip install` the wheel from the bundle's artifacts).

# COMMAND ----------

from dbx_ops import doctor

report = doctor.diagnose()
displayHTML("<pre>" + report.to_text() + "</pre>")  # noqa: F821 - Databricks notebook global

# COMMAND ----------

if not report.ok:
    raise RuntimeError("dbx_ops doctor found problems: " + "; ".join(
        f"{name}: {c['detail']}" for name, c in report.checks.items() if not c["ok"]))
