"""Validation cost on one real Delta table, against its peers, in one run.

1. The same nine checks (row count bounds, not-null with and without
   ``mostly``, value ranges, distinct-count bounds, a column-set contract) as a
   Great Expectations 1.x suite on the Spark DataFrame vs ``dbx_ops`` validate
   (goal: >= 20x faster).
2. A full ``dbx_ops`` profile of every column (counted over stored bins: the
   steady-state single pass) vs a bare scan of the same table,
   ``df.write.format("noop")`` (goal: <= 1.5x).
3. Spark jobs per validation (classic ``statusTracker`` — benchmark only):
   the profile query alone, a validation whose baseline is stored
   (``previous``) and one whose baseline is not (``version:0``).
4. A Delta metadata row count (``COUNT(*)`` answered from the log) vs
   ``df.count()`` that has to scan.
5. Answers from the Delta log (issue 15): a validation whose rules the log answers (the nine
   checks less the two distinct counts) vs the bare ``noop`` scan (goal <= 0.2x, flat in the row
   count); the nine checks in a new process (``cold``: a fresh ``Validator``, the stored profile
   of the version read back from the metrics table) beside the steady state of section 1 (the
   table was profiled once by this process, which remembers that profile); with and without
   saving the history rows; Spark jobs of each.

``--log-only`` runs sections 1 and 5 only (for the large sizes).

Usage: ``.venv/bin/python benchmarks/bench_validation.py [--rows 5000000] [--repeat 3]``.
Runs in classic mode in a temporary ``DBX_OPS_HOME``; prints a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

# Long scans of large tables: the JVM's C2 compiler pays back here (dbx_ops.runtime.QUICK_JVM).
os.environ.setdefault("DBX_OPS_JVM", "full")

RULES = [
    {"type": "row_count_bounds", "min": 1, "max": 1_000_000_000},
    {"type": "not_null", "columns": ["id"]},
    {"type": "not_null", "columns": ["amount"], "mostly": 0.95},
    {"type": "not_null", "columns": ["cat"]},
    {"type": "value_range", "column": "amount", "min": 0, "max": 100_000},
    {"type": "value_range", "column": "qty", "min": 0, "max": 1_000},
    {"type": "distinct_count_bounds", "column": "cat", "min": 1, "max": 20},
    {"type": "distinct_count_bounds", "column": "region", "min": 1, "max": 200},
    {
        "type": "schema_contract",
        "columns": {
            "id": "bigint",
            "amount": "double",
            "qty": "int",
            "region": "int",
            "cat": "string",
            "customer": "string",
            "flag": "boolean",
            "ts": "timestamp",
        },
    },
]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def jobs(spark: Any, fn: Callable[[], Any]) -> int:
    """Spark jobs ``fn`` ran (classic only: a job group and the status tracker)."""
    sc = spark.sparkContext
    group = f"bench-{uuid.uuid4().hex[:8]}"
    sc.setJobGroup(group, group)
    try:
        fn()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return len(sc.statusTracker().getJobIdsForGroup(group))


def queries(spark: Any, fn: Callable[[], Any]) -> int:
    """SQL executions ``fn`` ran, Delta's own internal ones included (classic only: the SQL status store)."""
    store = spark._jsparkSession.sharedState().statusStore()
    before = store.executionsCount()
    fn()
    return int(store.executionsCount() - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ge-repeat", type=int, default=2)
    parser.add_argument("--log-only", action="store_true", help="sections 1 and 5 only")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench_validation_")
    os.environ["DBX_OPS_HOME"] = os.path.join(tmp, "home")
    os.environ["DBX_OPS_SPARK"] = "classic"
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    from pyspark.sql import functions as F

    from dbx_ops.runtime import get_spark
    from dbx_ops.state import StateStore
    from dbx_ops.validation import Validator
    from dbx_ops.validation.ge import run_expectation_suite, to_expectation_suite

    spark = get_spark()
    spark.sql("CREATE SCHEMA IF NOT EXISTS bench")
    table = "bench.orders"
    spark.range(args.rows).select(
        "id",
        F.when(F.col("id") % 50 != 0, (F.col("id") % 10_000) * 1.5).alias("amount"),
        (F.col("id") % 1000).cast("int").alias("qty"),
        (F.col("id") % 97).cast("int").alias("region"),
        F.concat(F.lit("cat_"), (F.col("id") % 8).cast("string")).alias("cat"),
        F.concat(F.lit("customer_"), (F.col("id") % 100_000).cast("string")).alias("customer"),
        (F.col("id") % 3 == 0).alias("flag"),
        F.expr("timestamp'2026-01-01 00:00:00' + make_interval(0, 0, 0, 0, 0, 0, id % 86400)").alias("ts"),
    ).write.format("delta").mode("overwrite").saveAsTable(table)
    df = spark.table(table)
    validator = Validator(spark, store=StateStore(spark, schema="bench_state"))
    first = validator.profile(table)  # the reference: bins and top values, stored
    results: dict[str, Any] = {"rows": args.rows, "columns": len(df.columns)}

    # 1. GE suite vs dbx_ops on the same nine checks.
    export = to_expectation_suite(RULES, name="bench")
    run_expectation_suite(spark, df, export)  # warm-up (GE imports, context)
    validator.validate(table, rules=RULES, save=False)
    ge_s, ge_report = timed(lambda: run_expectation_suite(spark, df, export), args.ge_repeat)

    def steady() -> Any:  # the log read afresh each time; the stored profile remembered by this process
        validator.sourcing.log_reader._cache.clear()
        return validator.validate(table, rules=RULES, save=False)

    ours_s, ours_report = timed(steady, args.repeat)

    def verdicts(report: Any) -> dict[str, bool]:  # schema_contract gives GE one result, us three
        out: dict[str, bool] = {}
        for r in report.results:
            key = r.rule.split(":")[0] if r.type == "schema_contract" else r.rule
            out[key] = out.get(key, True) and r.ok
        return out

    same = verdicts(ours_report) == verdicts(ge_report)
    results["ge_suite_s"] = round(ge_s, 2)
    results["dbx_ops_validate_s"] = round(ours_s, 3)
    results["ge_over_dbx_ops"] = round(ge_s / ours_s, 1)
    results["same_verdicts"] = same
    results["expectations"] = len(export.suite.expectations)
    results["nine_checks_sources"] = ours_report.sources.summary()
    if not args.log_only:
        sections_2_to_4(args, spark, validator, table, df, first, results)
    section_5(args, spark, validator, table, df, results)

    print(
        f"rows: {args.rows:,} x {results['columns']} columns "
        "(bigint, double, int, string, boolean, timestamp)"
    )
    print(
        f"GE 1.x suite ({results['expectations']} expectations): {ge_s:.2f} s"
        f"   dbx_ops validate: {ours_s:.3f} s"
        f"   -> {results['ge_over_dbx_ops']}x faster (goal >= 20x); same verdicts: {same}"
    )
    print(f"  where the nine checks' metrics came from: {results['nine_checks_sources']}")
    if not args.log_only:
        print_sections_2_to_4(results)
    print(
        "answers from the Delta log: a validation the log answers {log_validate_s} s vs noop scan "
        "{log_noop_scan_s} s -> {log_over_scan}x (goal <= 0.2x), Spark jobs {jobs_log_validate};"
        " the nine checks cold (new Validator) {nine_cold_s} s -> GE/cold {ge_over_cold}x, Spark jobs "
        "{jobs_nine_cold} (steady {jobs_nine_steady}); saving the history rows: {nine_saved_s} s, "
        "Spark jobs {jobs_nine_saved}".format(**results)
    )
    print(json.dumps(results, indent=2))


def section_5(args: Any, spark: Any, validator: Any, table: str, df: Any, results: dict[str, Any]) -> None:
    """Answers from the Delta log: vs the bare scan, cold vs steady, with and without saving."""
    from dbx_ops.validation import Validator

    log_rules = [r for r in RULES if r["type"] != "distinct_count_bounds"]
    store = validator.store

    def noop() -> None:
        df.write.format("noop").mode("overwrite").save()

    def log_validate() -> Any:  # a new Validator: nothing remembered, the log read afresh
        return Validator(spark, store=store).validate(table, rules=log_rules, save=False)

    def nine_cold() -> Any:
        return Validator(spark, store=store).validate(table, rules=RULES, save=False)

    def nine_steady() -> Any:
        validator.sourcing.log_reader._cache.clear()
        return validator.validate(table, rules=RULES, save=False)

    noop()
    scan_s, _ = timed(noop, args.repeat)
    log_s, log_report = timed(log_validate, args.repeat)
    assert not log_report.sources.scanned, log_report.explain()
    cold_s, cold_report = timed(nine_cold, args.repeat)
    saved_s, _ = timed(lambda: validator.validate(table, rules=RULES), args.repeat)
    results["log_noop_scan_s"] = round(scan_s, 2)
    results["log_validate_s"] = round(log_s, 3)
    results["log_over_scan"] = round(log_s / scan_s, 3)
    results["log_reader"] = log_report.sources.log_reader
    results["log_read_s"] = round(log_report.sources.log_seconds, 4)
    results["nine_cold_s"] = round(cold_s, 3)
    results["nine_cold_sources"] = cold_report.sources.summary()
    results["ge_over_cold"] = round(results["ge_suite_s"] / cold_s, 1)
    results["nine_saved_s"] = round(saved_s, 3)
    results["jobs_log_validate"] = jobs(spark, log_validate)
    results["jobs_nine_steady"] = jobs(spark, nine_steady)
    results["jobs_nine_cold"] = jobs(spark, nine_cold)
    results["jobs_nine_saved"] = jobs(spark, lambda: validator.validate(table, rules=RULES))


def sections_2_to_4(
    args: Any, spark: Any, validator: Any, table: str, df: Any, first: Any, results: dict[str, Any]
) -> None:
    """The full profile vs the scan, Spark jobs and SQL executions, the metadata row count."""
    from pyspark.sql import functions as F

    from dbx_ops.state import StateStore
    from dbx_ops.validation import Validator

    # 2. Full profile (one pass over stored bins) vs a bare scan.
    def noop() -> None:
        df.write.format("noop").mode("overwrite").save()

    def one_pass() -> Any:
        src = validator.profiler.source(table)
        return validator.profiler.profile_source(src, None, first)

    noop()
    scan_s, _ = timed(noop, args.repeat)
    prof_s, _ = timed(one_pass, args.repeat)
    no_distinct_s, _ = timed(
        lambda: validator.profiler.profile_source(validator.profiler.source(table), None, first, distinct=[]),
        args.repeat,
    )
    no_dist_s, _ = timed(
        lambda: validator.profiler.profile_source(validator.profiler.source(table), None, first, False),
        args.repeat,
    )
    first_s, _ = timed(lambda: validator.profiler.profile(table), 1)
    results["noop_scan_s"] = round(scan_s, 2)
    results["profile_one_pass_s"] = round(prof_s, 2)
    results["profile_over_scan"] = round(prof_s / scan_s, 2)
    results["first_profile_with_bins_s"] = round(first_s, 2)
    results["profile_without_distributions_s"] = round(no_dist_s, 2)
    results["profile_without_distributions_over_scan"] = round(no_dist_s / scan_s, 2)
    results["profile_without_distinct_s"] = round(no_distinct_s, 2)
    results["profile_without_distinct_over_scan"] = round(no_distinct_s / scan_s, 2)

    # 3. Spark jobs.
    src = validator.profiler.source(table)
    results["jobs_profile_query"] = jobs(spark, lambda: validator.profiler.profile_source(src, None, first))
    results["jobs_noop_scan"] = jobs(spark, noop)
    results["jobs_baseline_profile_with_bins"] = jobs(
        spark, lambda: validator.profiler.profile_source(validator.profiler.source(table, version=0), None)
    )
    results["jobs_validate_previous_no_save"] = jobs(
        spark, lambda: validator.validate(table, "previous", save=False)
    )
    results["jobs_validate_previous_saved"] = jobs(spark, lambda: validator.validate(table, "previous"))
    fresh = Validator(spark, store=StateStore(spark, schema=f"bench_state_{uuid.uuid4().hex[:6]}"))
    results["jobs_validate_version0_not_stored_no_save"] = jobs(
        spark, lambda: fresh.validate(table, "version:0", save=False)
    )

    results["queries_profile_query"] = queries(
        spark, lambda: validator.profiler.profile_source(src, None, first)
    )
    results["queries_noop_scan"] = queries(spark, noop)
    results["queries_validate_previous_no_save"] = queries(
        spark, lambda: validator.validate(table, "previous", save=False)
    )
    results["queries_validate_rules_no_save"] = queries(
        spark, lambda: validator.validate(table, rules=RULES, save=False)
    )
    other = Validator(spark, store=StateStore(spark, schema=f"bench_state_{uuid.uuid4().hex[:6]}"))
    results["queries_validate_version0_not_stored_no_save"] = queries(
        spark, lambda: other.validate(table, "version:0", save=False)
    )

    # 4. Metadata row count vs a scan.
    meta_s, meta_n = timed(lambda: spark.table(table).count(), args.repeat)
    scan_count_s, scan_n = timed(
        lambda: spark.table(table).where(F.col("id").isNotNull()).count(), args.repeat
    )
    assert meta_n == scan_n == args.rows
    results["metadata_count_s"] = round(meta_s, 3)
    results["scan_count_s"] = round(scan_count_s, 3)
    results["scan_over_metadata"] = round(scan_count_s / meta_s, 1)


def print_sections_2_to_4(results: dict[str, Any]) -> None:
    """The lines of sections 2 to 4."""
    print(
        f"profile, all columns, one pass: {results['profile_one_pass_s']:.2f} s"
        f"   noop scan: {results['noop_scan_s']:.2f} s"
        f"   -> {results['profile_over_scan']}x the scan (goal <= 1.5x);"
        f" first profile with bins/top-k: {results['first_profile_with_bins_s']:.2f} s"
    )
    print(
        "profile without histograms / top-k (nulls, distinct, min/max/mean/stddev): "
        f"{results['profile_without_distributions_s']:.2f} s"
        f"   -> {results['profile_without_distributions_over_scan']}x the scan"
    )
    print(
        f"the full pass without distinct counts: {results['profile_without_distinct_s']:.2f} s"
        f"   -> {results['profile_without_distinct_over_scan']}x the scan"
    )
    print(
        "Spark jobs: profile query {jobs_profile_query} (noop scan {jobs_noop_scan}); baseline profiled with "
        "bins {jobs_baseline_profile_with_bins}; validate previous {jobs_validate_previous_no_save} "
        "(+ saving: {jobs_validate_previous_saved}); validate version:0 not stored "
        "{jobs_validate_version0_not_stored_no_save}".format(**results)
    )
    print(
        "SQL executions (Delta's internal ones included): profile {queries_profile_query} (noop scan "
        "{queries_noop_scan}); validate previous {queries_validate_previous_no_save}; the nine checks "
        "{queries_validate_rules_no_save}; version:0 not stored, nothing stored for the table "
        "{queries_validate_version0_not_stored_no_save}".format(**results)
    )
    print(
        f"row count: metadata {results['metadata_count_s'] * 1000:.0f} ms"
        f" vs scan {results['scan_count_s'] * 1000:.0f} ms"
        f"   -> {results['scan_over_metadata']}x"
    )


if __name__ == "__main__":
    main()
