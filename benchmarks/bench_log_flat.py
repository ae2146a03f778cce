"""Is a log-answered validation flat in the row count? The same rules on tables of different sizes, one run.

Takes existing Delta tables by path (for example the ``bench.orders`` tables that
``bench_validation.py --rows 5000000`` and ``--rows 50000000`` leave under their temporary
``DBX_OPS_HOME``), and times, interleaved so both see the same machine load, a validation whose
rules the Delta log answers (``bench_validation.RULES`` less the distinct counts; a new
``Validator`` each run, ``save=False``) and a bare ``noop`` scan of each. Prints the times, each
over its scan, and the ratio between the largest and the smallest table.

Usage: ``.venv/bin/python benchmarks/bench_log_flat.py PATH [PATH ...] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

# Long scans of large tables: the JVM's C2 compiler pays back here (dbx_ops.runtime.QUICK_JVM).
os.environ.setdefault("DBX_OPS_JVM", "full")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["DBX_OPS_HOME"] = tempfile.mkdtemp(prefix="bench_log_flat_")
    os.environ["DBX_OPS_SPARK"] = "classic"
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_validation import RULES

    from dbx_ops.runtime import get_spark
    from dbx_ops.state import StateStore
    from dbx_ops.validation import Validator

    spark = get_spark()
    store = StateStore(spark, schema="flat_state")
    rules = [r for r in RULES if r["type"] != "distinct_count_bounds"]
    tables = [f"delta.`{os.path.abspath(p)}`" for p in args.paths]
    best: dict[str, dict[str, float]] = {t: {"validate": 1e9, "scan": 1e9} for t in tables}
    rows: dict[str, int] = {}
    for _ in range(args.repeat):
        for t in tables:  # interleaved: every table sees the same load
            t0 = time.perf_counter()
            report = Validator(spark, store=store).validate(t, rules=rules, save=False)
            best[t]["validate"] = min(best[t]["validate"], time.perf_counter() - t0)
            assert not report.sources.scanned, report.explain()
            rows[t] = int(report.current["row_count"]) if isinstance(report.current, dict) else 0
            t0 = time.perf_counter()
            spark.read.format("delta").load(os.path.abspath(t[7:-1])).write.format("noop").mode(
                "overwrite"
            ).save()
            best[t]["scan"] = min(best[t]["scan"], time.perf_counter() - t0)
    out: dict[str, Any] = {}
    for t in tables:
        b = best[t]
        out[t] = {
            "rows": rows[t],
            "validate_s": round(b["validate"], 3),
            "scan_s": round(b["scan"], 2),
            "over_scan": round(b["validate"] / b["scan"], 3),
        }
        print(
            f"{rows[t]:>12,} rows: log-answered validation {b['validate']:.3f} s, noop scan {b['scan']:.2f} s"
            f" -> {b['validate'] / b['scan']:.3f}x the scan"
        )
    small, large = min(tables, key=lambda t: rows[t]), max(tables, key=lambda t: rows[t])
    ratio = best[large]["validate"] / best[small]["validate"]
    out["largest_over_smallest"] = round(ratio, 2)
    print(f"largest over smallest table: {ratio:.2f} (goal about 1)")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
