"""The notebook runner's own overhead, and a bundle job run on the stand-in end to end, in one run.

1. In one process and one Spark session (Spark start excluded from both sides): the
   validation notebook ``notebooks/validate_table.py`` run by the local runner (what
   ``dbx-ops notebook run`` does after start-up) against the same library calls made
   directly in Python — ``ValidationJob.from_params``, ``run``, ``to_html``, the history
   table's first rows, ``finish`` — on the same Delta table, alternating, median of
   ``--repeat``. Goal: runner / direct ≤ 1.2.
2. ``databricks bundle run dbx_ops_validation`` (the real CLI) on the stand-in executing
   the notebook task with the runner, start to result, against the bare operation: the
   same notebook run by ``python -m dbx_ops notebook run`` as a fresh process (both pay a
   Python and a Spark start). The ratio is what the CLI, the stand-in, the wheel unpacking
   and the job plumbing add to a job run.

Usage: ``.venv/bin/python benchmarks/bench_notebooks.py [--rows 100000] [--repeat 5] [--bundle-runs 2]``
(``--bundle-runs 0`` skips part 2, ``--repeat 0`` part 1). Runs in a temporary folder;
prints a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "validate_table.py"
CLI = REPO / ".cache" / "bin" / "databricks"


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def runner_vs_direct(spark: Any, table: str, repeat: int, tmp: Path) -> dict[str, Any]:
    from dbx_ops.notebooks import NotebookRunner, TaskValues
    from dbx_ops.progress import LineProgress
    from dbx_ops.validation.job import ValidationJob

    params = {"tables": table, "baseline": "previous", "state_schema": "bench_nb_state"}

    def via_runner() -> None:
        run = NotebookRunner(spark, params, TaskValues(), dbfs_root=tmp / "dbfs").run(NOTEBOOK)
        if not run.ok:
            raise SystemExit(f"the notebook failed: {run.summary()}")

    def direct() -> None:
        values = {name: params.get(name, "") for name in ValidationJob.PARAMETERS}
        values["fail_job"] = "true"
        job = ValidationJob.from_params(values)
        batch = job.run(spark, progress=LineProgress())
        batch.to_html()
        job.history(spark).limit(101).collect()
        job.finish(batch)

    direct()  # first profile stored and state tables created outside the timings
    via_runner()
    runner_s, direct_s = [], []
    for _ in range(repeat):
        runner_s.append(timed(via_runner))
        direct_s.append(timed(direct))
    r, d = statistics.median(runner_s), statistics.median(direct_s)
    return {"runner_s": round(r, 3), "direct_s": round(d, 3), "ratio": round(r / d, 3), "repeat": repeat}


def bundle_vs_bare(table: str, runs: int, tmp: Path) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / "tools" / "workspace"))
    from standin import StandIn

    from dbx_ops.runtime import jars_dir

    root = tmp / "bundle"
    shutil.copytree(
        REPO,
        root,
        ignore=shutil.ignore_patterns(
            ".venv*", ".cache", ".git", ".dbx_ops", "dist", "build", "*.egg-info", "__pycache__",
            ".pytest_cache", ".mypy_cache", ".ruff_cache", ".databricks", "tests", "benchmarks", "tools",
        ),
    )  # fmt: skip
    job_home, bare_home = tmp / "job-home", tmp / "bare-home"
    (tmp / "ws").mkdir()
    server = StandIn.start(
        state_file=tmp / "ws" / "state.json",
        log=tmp / "server.log",
        notebook_python=sys.executable,
        env={
            "DBX_OPS_HOME": str(job_home),
            "DBX_OPS_SPARK": "classic",
            "DBX_OPS_JARS": str(jars_dir()),
            "PYTHONPATH": "",
        },
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABRICKS_")}
    env.update(
        DATABRICKS_HOST=server.host,
        DATABRICKS_TOKEN=server.token,
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        DATABRICKS_CLI_DO_NOT_TRACK="true",
        BUNDLE_VAR_critical_tables=table,
    )
    bare_env = {**os.environ, "DBX_OPS_HOME": str(bare_home), "DBX_OPS_SPARK": "classic",
                "PYTHONPATH": str(REPO)}  # fmt: skip
    bare_env.pop("DBX_OPS_METASTORE", None)

    def cli(*args: str) -> None:
        out = subprocess.run([str(CLI), "bundle", *args], env=env, cwd=root, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"databricks bundle {' '.join(args)} failed: {out.stderr[-2000:]}")

    def bare() -> None:
        out = subprocess.run(
            [sys.executable, "-m", "dbx_ops", "notebook", "run", str(NOTEBOOK), "--param", f"tables={table}",
             "--param", "state_schema=dbx_ops_dev"],
            env=bare_env, cwd=NOTEBOOK.parent, capture_output=True, text=True,
        )  # fmt: skip
        if out.returncode != 0:
            raise SystemExit(f"the bare notebook run failed: {out.stderr[-2000:]}")

    try:
        deploy_s = timed(lambda: cli("deploy", "-t", "dev"))
        bundle_s, bare_s = [], []
        for _ in range(runs):
            bundle_s.append(timed(lambda: cli("run", "-t", "dev", "dbx_ops_validation")))
            bare_s.append(timed(bare))
        cli("destroy", "-t", "dev", "--auto-approve")
    finally:
        server.stop()
    b, p = statistics.median(bundle_s), statistics.median(bare_s)
    return {
        "deploy_s": round(deploy_s, 2),
        "bundle_run_s": round(b, 2),
        "bare_notebook_process_s": round(p, 2),
        "ratio": round(b / p, 3),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bundle-runs", type=int, default=2)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_notebooks_"))
    os.environ["DBX_OPS_HOME"] = str(tmp / "home")
    os.environ.pop("DBX_OPS_METASTORE", None)
    from dbx_ops.runtime import get_spark

    load = os.getloadavg()
    spark = get_spark()
    path = tmp / "orders"
    spark.range(args.rows).selectExpr(
        "id", "CAST(id % 13 AS STRING) AS region", "id * 1.5 AS amount", "concat('c', id % 1000) AS customer"
    ).write.format("delta").save(str(path))
    table = f"delta.`{path}`"
    summary: dict[str, Any] = {"rows": args.rows, "load_average_at_start": [round(x, 2) for x in load]}
    if args.repeat > 0:
        summary["runner_vs_direct"] = runner_vs_direct(spark, table, args.repeat, tmp)
        print(f"runner vs direct calls: {summary['runner_vs_direct']}", flush=True)
    if args.bundle_runs > 0:
        summary["bundle_run_vs_bare_process"] = bundle_vs_bare(table, args.bundle_runs, tmp)
        print(f"bundle run vs bare notebook process: {summary['bundle_run_vs_bare_process']}", flush=True)
    summary["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    spark.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
