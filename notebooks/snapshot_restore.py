# Databricks notebook source
# MAGIC %md
# MAGIC # Delta snapshot and restore
# MAGIC Before a deployment or a Databricks Runtime upgrade: pick `action = snapshot`, list the critical tables
# MAGIC and a label. When the change goes wrong: `action = restore` with the same label. Leave `confirm` at `no`
# MAGIC to see the plan only (the commits the restore would undo); `yes` restores and shows the proof
# MAGIC (history, row counts, schema, properties, content fingerprint). `verify` says whether a label is still
# MAGIC restorable. A restore that stopped part-way resumes when run again.

# COMMAND ----------

dbutils.widgets.dropdown("action", "verify", ["snapshot", "verify", "restore", "list"], "Action")  # noqa: F821
dbutils.widgets.text("tables", "", "Tables (comma-separated; snapshot, or restore a subset)")  # noqa: F821
dbutils.widgets.text("label", "", "Snapshot label, e.g. pre-deploy-2024-06-01")  # noqa: F821
dbutils.widgets.dropdown("mode", "pin", ["pin", "shallow", "deep"], "Snapshot mode")  # noqa: F821
dbutils.widgets.text("keep", "", "Keep restorable for (e.g. 30d; empty: table retention)")  # noqa: F821
dbutils.widgets.dropdown("extend_retention", "no", ["no", "yes"], "Raise table retention for keep")  # noqa: F821
dbutils.widgets.dropdown("confirm", "no", ["no", "yes"], "Apply the restore")  # noqa: F821

# COMMAND ----------

from dbx_ops.progress import LineProgress
from dbx_ops.snapshots import Snapshots
from dbx_ops.state import StateStore

get = dbutils.widgets.get  # noqa: F821
snaps = Snapshots(spark, StateStore.from_env(spark), progress=LineProgress())  # noqa: F821
action, label = get("action"), get("label").strip()
tables = [t.strip() for t in get("tables").split(",") if t.strip()] or None

if action == "snapshot":
    records = snaps.snapshot(
        tables or [],
        label,
        mode=get("mode"),
        keep=get("keep") or None,
        extend_retention=get("extend_retention") == "yes",
    )
    displayHTML(records.to_html())  # noqa: F821
elif action == "list":
    displayHTML(snaps.list_labels().to_html())  # noqa: F821
elif action == "verify":
    verdict = snaps.verify(label)
    displayHTML(verdict.to_html())  # noqa: F821
    verdict.raise_on_failure()
elif action == "restore":
    plan = snaps.restore(label, tables, dry_run=True)
    displayHTML(plan.to_html())  # noqa: F821
    plan.raise_on_failure()

# COMMAND ----------

if action == "restore" and get("confirm") == "yes":
    report = snaps.restore(label, tables)
    displayHTML(report.to_html())  # noqa: F821
    report.raise_on_failure()
