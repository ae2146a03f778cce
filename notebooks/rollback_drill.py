# Databricks notebook source
# MAGIC %md
# MAGIC # dbx_ops rollback drill
# MAGIC Carries a faulty change through checklist → snapshot → deploy → validation → no-go → restore → proof,
# MAGIC in a sandbox schema of its own (seed 004 §6). The run fails unless recovery was proven.

# COMMAND ----------

dbutils.widgets.text("schema", "dbx_ops_drill", "Sandbox schema (the drill's own)")  # noqa: F821
dbutils.widgets.text("rows", "200000", "Orders to generate")  # noqa: F821
dbutils.widgets.text("label", "", "Snapshot label (empty: drill-<time>)")  # noqa: F821
dbutils.widgets.text("out", "", "Folder for drill.html / drill.md (empty: none)")  # noqa: F821

# COMMAND ----------

from pathlib import Path

from dbx_ops.drill import DrillOptions, run_drill
from dbx_ops.progress import LineProgress

options = DrillOptions(
    schema=dbutils.widgets.get("schema"),  # noqa: F821
    rows=int(dbutils.widgets.get("rows") or 200000),  # noqa: F821
    label=dbutils.widgets.get("label") or None,  # noqa: F821
    out=Path(dbutils.widgets.get("out")) if dbutils.widgets.get("out") else None,  # noqa: F821
)
report = run_drill(spark, options=options, progress=LineProgress())  # noqa: F821
displayHTML(report.to_html())  # noqa: F821

# COMMAND ----------

report.raise_on_failure()
