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

import html

from dbx_ops.snapshots import Snapshots

get = dbutils.widgets.get  # noqa: F821
snaps = Snapshots(spark)  # noqa: F821
action, label = get("action"), get("label").strip()
tables = [t.strip() for t in get("tables").split(",") if t.strip()] or None


def rows_html(rows):
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
    return f"<table border='1' cellpadding='4'><tr>{head}</tr>{body}</table>"


if action == "snapshot":
    records = snaps.snapshot(
        tables or [],
        label,
        mode=get("mode"),
        keep=get("keep") or None,
        extend_retention=get("extend_retention") == "yes",
    )
    displayHTML(rows_html([  # noqa: F821
        {"table": r.table_name, "version": r.version, "rows": r.row_count, "mode": r.mode,
         "copy": r.clone_target or "", "restorable until": r.restorable_until or "until dropped"}
        for r in records
    ]))
elif action == "list":
    displayHTML(rows_html([s.to_dict() for s in snaps.list_labels()]))  # noqa: F821
elif action == "verify":
    displayHTML(rows_html([v.to_dict() for v in snaps.verify(label)]))  # noqa: F821
elif action == "restore":
    plan = snaps.restore(label, tables, dry_run=True)
    displayHTML(plan.to_html())  # noqa: F821

# COMMAND ----------

if action == "restore" and get("confirm") == "yes":
    report = snaps.restore(label, tables)
    displayHTML(report.to_html())  # noqa: F821
    if not report.ok:
        raise RuntimeError(report.summary())
