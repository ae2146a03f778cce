"""The local JVM's settings: the drill with ``DBX_OPS_JVM=quick`` (dbx_ops' default) against ``full``.

Each mode runs in a fresh process and a fresh state folder: start the local session, run
the rollback drill in process (default size unless ``--rows``), then read the JVM's own CPU
time per thread from ``/proc`` (Linux). Printed per mode: wall time, the JVM's CPU-seconds
and the threads that used most of them (the JIT compilers, the collector, Spark's task and
driver threads), then the quick / full ratios of wall and CPU, the load average before and
after, and a JSON summary last.

Usage: ``.venv/bin/python benchmarks/bench_jvm.py [--rows 200000] [--modes quick,full]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

#: Run in the child: the drill in process, then the JVM's CPU per thread kind as one JSON line.
CHILD = r"""
import collections, glob, json, os, sys, time
from pathlib import Path
t0 = time.perf_counter()
from dbx_ops.runtime import get_spark
from dbx_ops.drill import DrillOptions, run_drill
spark = get_spark()
spark.range(1).count()
startup = time.perf_counter() - t0
pid = int(spark._jvm.java.lang.ProcessHandle.current().pid())
report = run_drill(spark, options=DrillOptions(rows=int(sys.argv[1]), out=Path(sys.argv[2])))
wall = time.perf_counter() - t0
tick = os.sysconf("SC_CLK_TCK")
kinds = collections.Counter()
for task in glob.glob(f"/proc/{pid}/task/*"):
    try:
        name = Path(task, "comm").read_text().strip()
        fields = Path(task, "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        continue
    kinds[name.rstrip("0123456789#").strip()] += (int(fields[11]) + int(fields[12])) / tick
print(json.dumps({"ok": report.ok, "startup_s": round(startup, 1), "wall_s": round(wall, 1),
                  "jvm_cpu_s": round(sum(kinds.values()), 1),
                  "threads": {k: round(v, 1) for k, v in kinds.most_common(6)}}))
"""


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _run(mode: str, rows: int, tmp: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "DBX_OPS_HOME": str(tmp / f"home-{mode}"),
        "PYTHONPATH": str(REPO),
        "DBX_OPS_JVM": mode,
    }
    env.pop("DBX_OPS_SPARK", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(rows), str(tmp / f"out-{mode}")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the {mode} run failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return dict(json.loads(lines[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--modes", default="quick,full")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="bench_jvm_"))
    before = _load()
    results = {mode: _run(mode, args.rows, tmp) for mode in modes}
    after = _load()
    print(f"load average (1/5/15 min) before {before}, after {after}")
    for mode, r in results.items():
        threads = ", ".join(f"{k} {v}" for k, v in r["threads"].items())
        print(
            f"DBX_OPS_JVM={mode}: drill {r['wall_s']} s wall (start-up {r['startup_s']} s), "
            f"JVM {r['jvm_cpu_s']} CPU-s; most: {threads}; ok={r['ok']}"
        )
    if "quick" in results and "full" in results:
        q, f = results["quick"], results["full"]
        print(
            f"quick / full: wall {float(q['wall_s']) / float(f['wall_s']):.2f}, "
            f"JVM CPU {float(q['jvm_cpu_s']) / float(f['jvm_cpu_s']):.2f}"
        )
    print(json.dumps({"rows": args.rows, "load_before": before, "load_after": after, "runs": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
