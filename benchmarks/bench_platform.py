"""Local Spark start-up and first Delta write, against a bare pyspark session.

Each variant runs in a fresh Python process (a JVM starts once per process):

* ``bare``    — ``SparkSession.builder.master("local[2]")``, no Delta, no Hive; first write is Parquet.
* ``classic`` — ``dbx_ops.get_spark()``: Delta + Hive metastore in the state folder; first write is Delta.
* ``connect`` — ``dbx_ops.get_spark()`` with ``DBX_OPS_SPARK=connect``; first write is Delta.

Prints seconds per phase (median of ``--repeat`` runs) and ratios against ``bare``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time, os
mode, folder = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if mode == "bare":
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4").getOrCreate())
else:
    from dbx_ops import get_spark
    spark = get_spark()
spark.sql("SELECT 1").collect()
t1 = time.perf_counter()
df = spark.range(100_000).selectExpr("id", "id * 2 AS twice", "cast(id AS string) AS label")
if mode == "bare":
    df.write.mode("overwrite").parquet(folder)
else:
    df.write.format("delta").mode("overwrite").save(folder)
t2 = time.perf_counter()
print(json.dumps({"startup": t1 - t0, "first_write": t2 - t1}))
"""


def run(mode: str, repeat: int) -> dict[str, float]:
    results = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "DBX_OPS_HOME": os.path.join(tmp, "home")}
            if mode in ("classic", "connect"):
                env["DBX_OPS_SPARK"] = mode
            out = subprocess.run(
                [sys.executable, "-c", CHILD, mode, os.path.join(tmp, "t")],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in results) for k in ("startup", "first_write")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = {mode: run(mode, args.repeat) for mode in ("bare", "classic", "connect")}
    base = rows["bare"]
    print(f"{'variant':<8} {'startup s':>10} {'x bare':>7} {'1st write s':>12} {'x bare':>7}")
    for mode, r in rows.items():
        print(
            f"{mode:<8} {r['startup']:>10.2f} {r['startup'] / base['startup']:>7.2f} "
            f"{r['first_write']:>12.2f} {r['first_write'] / base['first_write']:>7.2f}"
        )


if __name__ == "__main__":
    main()
