"""Snapshot and restore cost on real Delta, against the obvious peers, in one run.

1. Pin-mode snapshot time on a 10 thousand and a 10 million row table: a pin
   reads only Delta metadata (DESCRIBE DETAIL/HISTORY, count(*) from the log),
   so the ratio large/small should be about 1. Peer in the same run: the
   seed's own rollback preparation, ``CREATE TABLE backup AS SELECT *`` (a
   full copy), on both sizes. ``--skip-pin`` leaves this part out.
2. Restoring the 10 million row table after a bad DELETE: ``dbx_ops`` restore
   (``RESTORE TO VERSION AS OF`` plus pre/post checks and the audit row,
   without and with the content fingerprint) against the bare ``RESTORE``
   statement it wraps: the ratio restore / bare is dbx_ops' fixed cost (goal
   ≤ 1.3). With ``--rewrite`` also the rewrite from the pinned version
   (``INSERT OVERWRITE t SELECT * FROM t VERSION AS OF n``).
3. A label of ``--tables`` small tables (1000 rows each) restored by one
   ``dbx_ops`` restore against the same number of bare ``RESTORE`` statements.

On a classic session it also prints the SQL executions (Delta's own included,
from the SQL status store) each way takes.

Usage: ``.venv/bin/python benchmarks/bench_snapshot.py [--small 10000] [--large 10000000] [--repeat 3]
[--tables 10] [--skip-pin] [--rewrite]``. Runs in a temporary ``DBX_OPS_HOME``; prints a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

# Long scans of large tables: the JVM's C2 compiler pays back here (dbx_ops.runtime.QUICK_JVM).
os.environ.setdefault("DBX_OPS_JVM", "full")


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def executions(spark: Any, fn: Callable[[], Any]) -> int | None:
    """SQL executions ``fn`` ran (classic only: the SQL status store), else None."""
    jss = getattr(spark, "_jsparkSession", None)
    if jss is None:
        fn()
        return None
    bus = jss.sparkContext().listenerBus()
    store = jss.sharedState().statusStore()

    def last_id() -> int:  # ids only grow; the store keeps only the newest 1000 executions
        n = store.executionsCount()
        return -1 if n == 0 else int(store.executionsList(n - 1, 1).head().executionId())

    bus.waitUntilEmpty()
    before = last_id()
    fn()
    bus.waitUntilEmpty()
    return last_id() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--skip-pin", action="store_true")
    parser.add_argument("--rewrite", action="store_true")
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
    # Creates the state tables (registry and events) outside the timings.
    snaps.snapshot("bench.t_small", "warm-up")
    spark.sql("DELETE FROM bench.t_small WHERE region = 0")
    snaps.restore("warm-up", fingerprint=False)

    summary: dict[str, Any] = {}
    if not args.skip_pin:
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
            summary[f"pin_{key}_s"] = statistics.median(pins)
            summary[f"ctas_{key}_s"] = statistics.median(ctas)
            print(
                f"{key:5} {n:>11,} rows: pin {summary[f'pin_{key}_s']:.2f}s, "
                f"CTAS copy {summary[f'ctas_{key}_s']:.2f}s"
            )
        summary["pin_ratio_large_over_small"] = summary["pin_large_s"] / summary["pin_small_s"]
        summary["ctas_ratio_large_over_small"] = summary["ctas_large_s"] / summary["ctas_small_s"]
        print(
            f"pin large/small = {summary['pin_ratio_large_over_small']:.2f} "
            f"(CTAS copy large/small = {summary['ctas_ratio_large_over_small']:.1f})"
        )

    # Restore of the large table vs the bare RESTORE statement, after the same bad DELETE.
    t = "bench.t_large"
    bad = f"DELETE FROM {t} WHERE id % 10 = 0"
    restore_s, proof_s, raw_s, rewrite_s = [], [], [], []
    counts: dict[str, int | None] = {}
    for i in range(args.repeat):
        [rec] = snaps.snapshot(t, f"restore-{i}")
        v = rec.version
        spark.sql(bad)
        raw_s.append(timed(lambda v=v: spark.sql(f"RESTORE TABLE {t} TO VERSION AS OF {v}")))
        spark.sql(bad)
        restore_s.append(timed(lambda i=i: snaps.restore(f"restore-{i}", fingerprint=False)))
        spark.sql(bad)
        proof_s.append(timed(lambda i=i: snaps.restore(f"restore-{i}", fingerprint=True)))
        if args.rewrite:
            spark.sql(bad)
            rewrite_s.append(
                timed(lambda v=v: spark.sql(f"INSERT OVERWRITE {t} SELECT * FROM {t} VERSION AS OF {v}"))
            )
        assert spark.sql(f"SELECT count(*) AS n FROM {t}").first()["n"] == args.large
    [rec] = snaps.snapshot(t, "restore-counted")
    spark.sql(bad)
    counts["bare_restore"] = executions(
        spark, lambda: spark.sql(f"RESTORE TABLE {t} TO VERSION AS OF {rec.version}")
    )
    spark.sql(bad)
    counts["restore"] = executions(spark, lambda: snaps.restore("restore-counted", fingerprint=False))
    summary.update(
        rows=args.large,
        raw_restore_sql_s=statistics.median(raw_s),
        restore_s=statistics.median(restore_s),
        restore_with_fingerprint_s=statistics.median(proof_s),
    )
    summary["restore_over_raw"] = summary["restore_s"] / summary["raw_restore_sql_s"]
    summary["restore_with_fingerprint_over_raw"] = (
        summary["restore_with_fingerprint_s"] / summary["raw_restore_sql_s"]
    )
    print(
        f"{args.large:,} rows: bare RESTORE {summary['raw_restore_sql_s']:.2f}s, dbx_ops restore "
        f"{summary['restore_s']:.2f}s ({summary['restore_over_raw']:.2f}x, goal <= 1.3), "
        f"with the fingerprint proof {summary['restore_with_fingerprint_s']:.2f}s "
        f"({summary['restore_with_fingerprint_over_raw']:.2f}x); "
        f"SQL executions: bare {counts['bare_restore']}, dbx_ops {counts['restore']}"
    )
    if rewrite_s:
        summary["rewrite_from_version_s"] = statistics.median(rewrite_s)
        summary["rewrite_over_restore"] = summary["rewrite_from_version_s"] / summary["restore_s"]
        print(f"rewrite from the pinned version {summary['rewrite_from_version_s']:.2f}s")

    # A label of several small tables vs as many bare RESTOREs.
    names = [f"bench.m_{j}" for j in range(args.tables)]
    for name in names:
        spark.sql(f"DROP TABLE IF EXISTS {name}")
        spark.range(1000).selectExpr("id", "id % 7 AS k").write.format("delta").saveAsTable(name)
    multi_s, multi_raw_s = [], []
    for i in range(args.repeat):
        recs = snaps.snapshot(names, f"multi-{i}")
        for name in names:
            spark.sql(f"DELETE FROM {name} WHERE k = 0")

        def bare(recs=recs) -> None:
            for r in recs:
                spark.sql(f"RESTORE TABLE {r.table_name} TO VERSION AS OF {r.version}")

        multi_raw_s.append(timed(bare))
        for name in names:
            spark.sql(f"DELETE FROM {name} WHERE k = 0")
        multi_s.append(timed(lambda i=i: snaps.restore(f"multi-{i}", fingerprint=False)))
    recs = snaps.snapshot(names, "multi-counted")
    for name in names:
        spark.sql(f"DELETE FROM {name} WHERE k = 0")
    counts["multi_restore"] = executions(spark, lambda: snaps.restore("multi-counted", fingerprint=False))
    summary.update(
        tables=args.tables,
        multi_bare_restores_s=statistics.median(multi_raw_s),
        multi_restore_s=statistics.median(multi_s),
        sql_executions=counts,
    )
    summary["multi_restore_over_raw"] = summary["multi_restore_s"] / summary["multi_bare_restores_s"]
    print(
        f"{args.tables} small tables: {args.tables} bare RESTOREs {summary['multi_bare_restores_s']:.2f}s, "
        f"one dbx_ops restore {summary['multi_restore_s']:.2f}s ({summary['multi_restore_over_raw']:.2f}x); "
        f"SQL executions of the dbx_ops restore: {counts['multi_restore']}"
    )
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
