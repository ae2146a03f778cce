"""Snapshot and restore cost on real Delta, against the obvious peers, in one run.

1. Pin-mode snapshot time on a 10 thousand and a 10 million row table: a pin
   reads only Delta metadata (DESCRIBE DETAIL/HISTORY, count(*) from the log),
   so the ratio large/small should be about 1. Peer in the same run: the
   seed's own rollback preparation, ``CREATE TABLE backup AS SELECT *`` (a
   full copy), on both sizes.
2. Restoring the 10 million row table after a bad DELETE: ``dbx_ops`` restore
   (``RESTORE TO VERSION AS OF`` plus pre/post checks and audit rows, without
   and with the content fingerprint) and a bare ``RESTORE`` statement, against
   rewriting the table from the pinned version
   (``INSERT OVERWRITE t SELECT * FROM t VERSION AS OF n``).

Usage: ``.venv/bin/python benchmarks/bench_snapshot.py [--small 10000] [--large 10000000] [--repeat 3]``.
Runs in a temporary ``DBX_OPS_HOME``; prints a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench_snapshot_")
    os.environ.setdefault("DBX_OPS_HOME", os.path.join(tmp, "home"))
    from dbx_ops.runtime import get_spark
    from dbx_ops.snapshots import Snapshots
    from dbx_ops.state import StateStore

    spark = get_spark()
    spark.sql("CREATE SCHEMA IF NOT EXISTS bench")
    snaps = Snapshots(spark, StateStore(spark, schema="bench_state"))
    sizes = {"small": args.small, "large": args.large}
    for key, n in sizes.items():
        spark.sql(f"DROP TABLE IF EXISTS bench.t_{key}")
        spark.range(n).selectExpr(
            "id",
            "id % 97 AS region",
            "cast(id * 1.5 AS double) AS amount",
            "concat('c', id % 1000) AS customer",
        ).write.format("delta").partitionBy("region").saveAsTable(f"bench.t_{key}")
    snaps.snapshot("bench.t_small", "warm-up")  # creates the state tables outside the timings

    results: dict[str, dict[str, float]] = {}
    for key, n in sizes.items():
        pins, ctas = [], []
        for i in range(args.repeat):
            pins.append(timed(lambda key=key, i=i: snaps.snapshot(f"bench.t_{key}", f"pin-{key}-{i}")))
            spark.sql(f"DROP TABLE IF EXISTS bench.copy_{key}")
            ctas.append(
                timed(
                    lambda key=key: spark.sql(
                        f"CREATE TABLE bench.copy_{key} USING DELTA AS SELECT * FROM bench.t_{key}"
                    )
                )
            )
        results[key] = {"rows": n, "pin_s": statistics.median(pins), "ctas_copy_s": statistics.median(ctas)}
        print(
            f"{key:5} {n:>11,} rows: pin {results[key]['pin_s']:.2f}s, "
            f"CTAS copy {results[key]['ctas_copy_s']:.2f}s"
        )

    # Restore vs rewrite on the large table.
    t = "bench.t_large"
    restore_s, proof_s, rewrite_s, raw_s = [], [], [], []
    for i in range(args.repeat):
        [rec] = snaps.snapshot(t, f"restore-{i}")
        spark.sql(f"DELETE FROM {t} WHERE id % 10 = 0")
        restore_s.append(timed(lambda i=i: snaps.restore(f"restore-{i}", fingerprint=False)))
        spark.sql(f"DELETE FROM {t} WHERE id % 10 = 0")
        proof_s.append(timed(lambda i=i: snaps.restore(f"restore-{i}", fingerprint=True)))
        spark.sql(f"DELETE FROM {t} WHERE id % 10 = 0")
        raw_s.append(timed(lambda v=rec.version: spark.sql(f"RESTORE TABLE {t} TO VERSION AS OF {v}")))
        spark.sql(f"DELETE FROM {t} WHERE id % 10 = 0")
        rewrite_s.append(
            timed(
                lambda v=rec.version: spark.sql(f"INSERT OVERWRITE {t} SELECT * FROM {t} VERSION AS OF {v}")
            )
        )
        assert spark.sql(f"SELECT count(*) AS n FROM {t}").first()["n"] == args.large
    summary = {
        "pin_small_s": results["small"]["pin_s"],
        "pin_large_s": results["large"]["pin_s"],
        "pin_ratio_large_over_small": results["large"]["pin_s"] / results["small"]["pin_s"],
        "ctas_ratio_large_over_small": results["large"]["ctas_copy_s"] / results["small"]["ctas_copy_s"],
        "ctas_large_s": results["large"]["ctas_copy_s"],
        "restore_s": statistics.median(restore_s),
        "restore_with_fingerprint_s": statistics.median(proof_s),
        "rewrite_from_version_s": statistics.median(rewrite_s),
        "raw_restore_sql_s": statistics.median(raw_s),
    }
    summary["rewrite_over_restore"] = summary["rewrite_from_version_s"] / summary["restore_s"]
    summary["rewrite_over_raw_restore"] = summary["rewrite_from_version_s"] / summary["raw_restore_sql_s"]
    print(
        f"pin large/small = {summary['pin_ratio_large_over_small']:.2f} "
        f"(CTAS copy large/small = {summary['ctas_ratio_large_over_small']:.1f})"
    )
    print(
        f"restore {summary['restore_s']:.2f}s "
        f"(with fingerprint proof {summary['restore_with_fingerprint_s']:.2f}s) "
        f"vs rewrite from the pinned version {summary['rewrite_from_version_s']:.2f}s: "
        f"rewrite/restore = {summary['rewrite_over_restore']:.1f}; bare RESTORE SQL "
        f"{summary['raw_restore_sql_s']:.2f}s, rewrite/bare = {summary['rewrite_over_raw_restore']:.1f}"
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
