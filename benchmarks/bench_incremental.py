"""Incremental and full profiles against a bare scan of the same Delta table, in one run.

1. A table of ``--rows`` rows (8 columns, as ``bench_validation.py``) is profiled once: the stored
   state (bins, top values, sums, HLL sketches). Then 1 % new rows are appended.
2. Timed, best of ``--repeat`` (nothing saved, so every repetition does the same work):

   * the incremental profile: the stored state merged with the appended rows only
     (goal: <= 0.05x the full profile);
   * the full profile with distributions (``full=True``: every row, every metric from data);
   * the bare scan ``df.write.format("noop")`` of the whole table, the floor for anything that
     reads the data (goal for the full profile: <= 3x);
   * a profile with distributions from a 10 % sample (``ProfileOptions(sample=0.1)``, full).

Printed: each figure, the ratios, the load average before and after, and a JSON summary last.

Usage: ``.venv/bin/python benchmarks/bench_incremental.py [--rows 5000000] [--repeat 3]``.
Runs in classic mode in a temporary ``DBX_OPS_HOME``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from typing import Any

from bench_validation import timed  # the scripts run from benchmarks/, which is on sys.path

# Long scans of large tables: the JVM's C2 compiler pays back here (dbx_ops.runtime.QUICK_JVM).
os.environ.setdefault("DBX_OPS_JVM", "full")


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def rows_of(spark: Any, start: int, n: int) -> Any:
    from pyspark.sql import functions as F

    return spark.range(start, start + n).select(
        "id",
        F.when(F.col("id") % 50 != 0, (F.col("id") % 10_000) * 1.5).alias("amount"),
        (F.col("id") % 1000).cast("int").alias("qty"),
        (F.col("id") % 97).cast("int").alias("region"),
        F.concat(F.lit("cat_"), (F.col("id") % 8).cast("string")).alias("cat"),
        F.concat(F.lit("customer_"), (F.col("id") % 100_000).cast("string")).alias("customer"),
        (F.col("id") % 3 == 0).alias("flag"),
        F.expr("timestamp'2026-01-01 00:00:00' + make_interval(0, 0, 0, 0, 0, 0, id % 86400)").alias("ts"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    load_before = _load()

    tmp = tempfile.mkdtemp(prefix="bench_incremental_")
    os.environ["DBX_OPS_HOME"] = os.path.join(tmp, "home")
    os.environ["DBX_OPS_SPARK"] = "classic"
    from dbx_ops.runtime import get_spark
    from dbx_ops.state import StateStore
    from dbx_ops.validation import Validator
    from dbx_ops.validation.profile import ProfileOptions

    spark = get_spark()
    spark.sql("CREATE SCHEMA IF NOT EXISTS bench")
    table = "bench.orders"
    rows_of(spark, 0, args.rows).write.format("delta").mode("overwrite").saveAsTable(table)
    store = StateStore(spark, schema="bench_state")
    validator = Validator(spark, store=store)
    validator.profile(table)  # the stored state the incremental profile merges into
    added = max(args.rows // 100, 1)
    rows_of(spark, 10 * args.rows, added).write.format("delta").mode("append").saveAsTable(table)
    df = spark.table(table)

    scan_s, _ = timed(lambda: df.write.format("noop").mode("overwrite").save(), args.repeat)
    inc_s, inc = timed(lambda: validator.profile(table, save=False), args.repeat)
    full_s, full = timed(lambda: validator.profile(table, full=True, save=False), args.repeat)
    sampled = Validator(spark, store=store, options=ProfileOptions(sample=0.1))
    sample_s, samp = timed(lambda: sampled.profile(table, full=True, save=False), args.repeat)
    assert inc.method == "incremental", inc.method_note
    assert inc.row_count == full.row_count == args.rows + added
    same = all(
        inc.columns[n].null_count == c.null_count and inc.columns[n].histogram == c.histogram
        for n, c in full.columns.items()
    )

    out = {
        "rows": args.rows,
        "appended": added,
        "load_before": load_before,
        "load_after": _load(),
        "scan_noop_s": round(scan_s, 3),
        "incremental_s": round(inc_s, 3),
        "full_profile_s": round(full_s, 3),
        "sampled_profile_s": round(sample_s, 3),
        "sample_rows": samp.sample["rows"] if samp.sample else None,
        "incremental_over_full": round(inc_s / full_s, 4),
        "full_over_scan": round(full_s / scan_s, 2),
        "sampled_over_scan": round(sample_s / scan_s, 2),
        "incremental_equals_full": same,
    }
    print(f"load average before {load_before}, after {out['load_after']}")
    print(f"{args.rows:,} rows, {added:,} appended (1 %)")
    print(f"bare scan (noop)              {scan_s:8.2f} s")
    ratio = out["full_over_scan"]
    print(f"full profile (distributions)  {full_s:8.2f} s   {ratio:.2f}x the scan (goal <= 3x)")
    print(f"sampled profile (10 %)        {sample_s:8.2f} s   {out['sampled_over_scan']:.2f}x the scan")
    print(
        f"incremental profile           {inc_s:8.2f} s   {out['incremental_over_full']:.3f}x the full "
        f"profile (goal <= 0.05x); counts and histograms equal: {same}"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
