"""Reading a Delta table's file statistics: the driver's replay vs the Spark replay vs delta-rs.

One table of many files (``--files`` in the first write, then ``--appends`` commits of 10
files each, so the replay reads a checkpoint's Parquet and the JSON commits after it), read
the same way a validation reads it:

1. ``DeltaLogReader`` on the driver (stdlib JSON + pyarrow, no Spark job), the summed figures;
2. ``DeltaLogReader(driver=False)``: ``spark.read`` of the checkpoint and commits plus one
   aggregation query;
3. the ``deltalake`` package (delta-rs), when installed: ``DeltaTable(path).get_add_actions(
   flatten=True)`` — the add actions with their statistics, not yet summed — on the same table,
   and whether it opens tables with deletion vectors and column mapping.

Every reading starts cold (the reader's cache is new). Prints ratios against the Spark replay
and a JSON summary last.

Usage: ``.venv/bin/python benchmarks/bench_delta_log.py [--files 200] [--appends 15] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

# Long scans of large tables: the JVM's C2 compiler pays back here (dbx_ops.runtime.QUICK_JVM).
os.environ.setdefault("DBX_OPS_JVM", "full")


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--appends", type=int, default=15)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench_delta_log_")
    os.environ["DBX_OPS_HOME"] = os.path.join(tmp, "home")
    os.environ["DBX_OPS_SPARK"] = "classic"
    from pyspark.sql import functions as F

    from dbx_ops.runtime import get_spark
    from dbx_ops.validation.delta_log import DeltaLogReader

    spark = get_spark()
    path = os.path.join(tmp, "orders")

    def rows(n: int, start: int = 0) -> Any:
        return spark.range(start, start + n).select(
            "id",
            F.when(F.col("id") % 50 != 0, (F.col("id") % 10_000) * 1.5).alias("amount"),
            (F.col("id") % 1000).cast("int").alias("qty"),
            F.concat(F.lit("cat_"), (F.col("id") % 8).cast("string")).alias("cat"),
            F.expr("date_add(date'2026-01-01', cast(id % 90 as int))").alias("day"),
        )

    rows(args.rows).repartition(args.files).write.format("delta").option(
        "delta.checkpointInterval", "10"
    ).save(path)
    for k in range(args.appends):
        rows(10_000, args.rows + k * 10_000).repartition(10).write.format("delta").mode("append").save(path)
    table = f"delta.`{path}`"

    driver_s, driver = best(lambda: DeltaLogReader(spark).read(table), args.repeat)
    spark_s, through = best(lambda: DeltaLogReader(spark, driver=False).read(table), args.repeat)
    assert driver.reader == "driver" and through.reader == "spark", driver.reason

    def figures(stats: Any) -> dict[str, Any]:
        return {k: v for k, v in stats.to_dict().items() if k not in ("seconds", "reader", "reason")}

    same = figures(driver) == figures(through)
    results: dict[str, Any] = {
        "files": driver.files,
        "version": driver.version,
        "driver_s": round(driver_s, 4),
        "spark_s": round(spark_s, 3),
        "spark_over_driver": round(spark_s / driver_s, 1),
        "same_figures": same,
    }
    try:
        from deltalake import DeltaTable
    except ImportError:
        results["deltalake"] = "not installed"
    else:
        import deltalake

        rs_s, actions = best(lambda: DeltaTable(path).get_add_actions(flatten=True), args.repeat)
        names = list(actions.column_names)
        results.update(
            deltalake=deltalake.__version__,
            deltalake_s=round(rs_s, 4),
            deltalake_over_driver=round(rs_s / driver_s, 2),
            deltalake_rows=actions.num_rows,
            deltalake_has_dv_cardinality=any("deletion" in n.lower() for n in names),
        )
        # does it open the kinds of table the reader must be exact on?
        for kind, options in (
            ("deletion_vectors", {"delta.enableDeletionVectors": "true"}),
            ("column_mapping", {"delta.columnMapping.mode": "name"}),
        ):
            other = os.path.join(tmp, kind)
            writer = rows(1000).repartition(2).write.format("delta")
            for k, v in options.items():
                writer = writer.option(k, v)
            writer.save(other)
            if kind == "deletion_vectors":
                spark.sql(f"DELETE FROM delta.`{other}` WHERE id % 10 = 1")
            else:
                spark.sql(f"ALTER TABLE delta.`{other}` RENAME COLUMN amount TO amount_eur")
            try:
                got = DeltaTable(other).get_add_actions(flatten=True)
                results[f"deltalake_{kind}"] = f"opens; columns: {', '.join(got.column_names)}"
            except Exception as exc:  # recorded, not raised: what it cannot open
                results[f"deltalake_{kind}"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"

    print(f"table: {driver.files} files at version {driver.version} (checkpoint every 10 commits)")
    print(
        f"driver replay {driver_s * 1000:.1f} ms   Spark replay {spark_s * 1000:.0f} ms"
        f"   -> the driver is {results['spark_over_driver']}x faster; same figures: {same}"
    )
    if "deltalake_s" in results:
        print(
            f"deltalake {results['deltalake']} get_add_actions: {results['deltalake_s'] * 1000:.1f} ms"
            f" ({results['deltalake_over_driver']}x the driver replay, actions only, not summed)"
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
