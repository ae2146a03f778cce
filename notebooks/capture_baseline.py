# Databricks notebook source
# MAGIC %md
# MAGIC # Capture the runtime baseline
# MAGIC Run on a **fresh** cluster of the runtime you want to lock against (before any `%pip install`, with no
# MAGIC init script and no cluster libraries): it writes `requirements/<runtime>/runtime-baseline.in` with every
# MAGIC installed package at its exact version (`importlib.metadata`), the runtime, Python version and date.
# MAGIC Commit the file, then run `dbx-ops deps lock --runtime <runtime>` in CI or locally.

# COMMAND ----------

from dbx_ops.deps.baseline import capture_baseline, runtime_key_from_spark

dbutils.widgets.text("runtime", runtime_key_from_spark(spark) or "", "Runtime (spark_version key)")  # noqa: F821
dbutils.widgets.text("output", "../requirements/{runtime}/runtime-baseline.in", "Write to (blank: display only)")  # noqa: F821

# COMMAND ----------

runtime = dbutils.widgets.get("runtime").strip() or None  # noqa: F821
output = dbutils.widgets.get("output").strip()  # noqa: F821
path = output.format(runtime=runtime) if output else None
baseline = capture_baseline(runtime, path, spark=spark)  # noqa: F821

# COMMAND ----------

displayHTML(baseline.to_html(path))  # noqa: F821
