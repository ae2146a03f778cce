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
dbutils.widgets.dropdown("workspace", "no", ["no", "yes"], "Also deploy, break and roll back a job here")  # noqa: F821
dbutils.widgets.dropdown("keep", "no", ["no", "yes"], "Keep the pipeline's tables after a passed drill")  # noqa: F821

# COMMAND ----------

from pathlib import Path

from dbx_ops.drill import DrillOptions, run_drill
from dbx_ops.progress import LineProgress
from dbx_ops.runtime import workspace_client

options = DrillOptions(
    schema=dbutils.widgets.get("schema"),  # noqa: F821
    rows=int(dbutils.widgets.get("rows") or 200000),  # noqa: F821
    label=dbutils.widgets.get("label") or None,  # noqa: F821
    out=Path(dbutils.widgets.get("out")) if dbutils.widgets.get("out") else None,  # noqa: F821
    keep=dbutils.widgets.get("keep") == "yes",  # noqa: F821
)
# With workspace=yes the drill deploys its pipeline's job in this workspace, breaks it and rolls it back
# (the job and its notebooks are deleted afterwards).
ws = workspace_client() if dbutils.widgets.get("workspace") == "yes" else None  # noqa: F821
report = run_drill(spark, options=options, progress=LineProgress(), ws=ws)  # noqa: F821
displayHTML(report.to_html())  # noqa: F821

# COMMAND ----------

report.raise_on_failure()
