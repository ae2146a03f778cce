"""The rollback drill end to end, Spark start-up included, against the bare start-up, in one run.

1. Reference: a fresh process that only starts the dbx_ops Spark session (``get_spark()``:
   Delta JARs, Derby metastore in a new state folder) and runs one tiny query.
2. The drill: a fresh process running ``dbx-ops drill`` (the default size unless ``--rows``),
   in a new state folder, so its figure includes everything a newcomer's ``make run`` pays.
   Its ``drill.json`` gives the per-step seconds and the Spark jobs each step started.

Printed: both wall times, the drill / start-up ratio, the per-step table, the load average
before and after (``os.getloadavg``: on a shared 2-core machine absolute seconds swing with it),
and a JSON summary last. ``--workspace`` runs the drill with ``--workspace`` (the local stand-in).

Usage: ``.venv/bin/python benchmarks/bench_drill.py [--rows 200000] [--days 30] [--workspace]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

STARTUP = (
    "import time; t = time.perf_counter(); from dbx_ops.runtime import get_spark; "
    "spark = get_spark(); spark.range(1).count(); print(round(time.perf_counter() - t, 2))"
)


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "DBX_OPS_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("DBX_OPS_SPARK", None)  # classic, as `make run`
    return env


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, check=False)
    return time.perf_counter() - t0, done


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workspace", action="store_true", help="run the drill with --workspace")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_drill_"))
    load_before = _load()

    startup_wall, started = _timed([sys.executable, "-c", STARTUP], _env(tmp / "home-startup"))
    if started.returncode != 0:
        print(started.stderr[-2000:], file=sys.stderr)
        return 1
    startup_inside = float(started.stdout.strip().splitlines()[-1])

    out = tmp / "drill"
    cmd = [sys.executable, "-m", "dbx_ops", "drill", "--rows", str(args.rows), "--days", str(args.days)]
    cmd += ["--out", str(out), "--json"] + (["--workspace"] if args.workspace else [])
    drill_wall, ran = _timed(cmd, _env(tmp / "home-drill"))
    load_after = _load()
    report_path = out / "drill.json"
    if not report_path.is_file():
        print(ran.stderr[-3000:], file=sys.stderr)
        return 1
    report = json.loads(report_path.read_text())

    print(f"load average (1/5/15 min) before {load_before}, after {load_after}")
    print(f"bare start-up (get_spark + one query, fresh process): {startup_wall:.1f} s wall")
    print(f"  of which get_spark() and the query inside the process: {startup_inside:.1f} s")
    print(
        f"dbx-ops drill --rows {args.rows}{' --workspace' if args.workspace else ''}, fresh process: "
        f"{drill_wall:.1f} s wall (exit {ran.returncode}); the drill's own clock {report['seconds']:.1f} s"
    )
    print(f"drill / bare start-up: {drill_wall / startup_wall:.2f}")
    print(f"{'step':<48} {'s':>7} {'jobs':>5} {'share':>6}")
    for step in report["steps"]:
        jobs = step["details"].get("spark_jobs")
        share = step["seconds"] / drill_wall
        print(f"{step['number']}. {step['name']:<45} {step['seconds']:7.1f} {jobs!s:>5} {share:6.1%}")
    outside = drill_wall - report["seconds"]
    print(f"{'outside the steps (interpreter, Spark start-up, schema)':<48} {outside:7.1f}")
    summary = {
        "rows": args.rows,
        "workspace": args.workspace,
        "load_before": load_before,
        "load_after": load_after,
        "startup_s": round(startup_wall, 2),
        "drill_s": round(drill_wall, 2),
        "drill_over_startup": round(drill_wall / startup_wall, 2),
        "ok": report["ok"],
        "steps": {s["name"]: [s["seconds"], s["details"].get("spark_jobs")] for s in report["steps"]},
    }
    print(json.dumps(summary))
    return 0 if ran.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
