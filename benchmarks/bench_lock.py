"""Lock time with uv (what ``dbx-ops deps lock`` runs) against pip-compile on the same inputs,
and the init script's time on a node that already matches the lock.

Inputs: the shipped ``requirements/15.4.x-cpu-ml-scala2.12`` baseline (352 pins, as constraints)
and additions (Python 3.11, the interpreter both resolvers run on, so pip-compile resolves for
the same Python). Cold runs start with empty caches (uv ``--cache-dir`` and pip's cache in a
fresh folder); warm runs reuse them. Prints seconds (median of ``--repeat``) and ratios.

    .venv/bin/python benchmarks/bench_lock.py [--repeat 3] [--json]
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

REPO = Path(__file__).resolve().parent.parent
RT = "15.4.x-cpu-ml-scala2.12"
DATE = "2026-11-01T00:00:00Z"


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{out.stderr[-2000:]}")
    return time.perf_counter() - started


def pins(path: Path) -> set[str]:
    return {
        ln.split()[0].lower() for ln in path.read_text().splitlines() if "==" in ln and not ln.startswith(" ")
    }


def bench_resolvers(repeat: int) -> dict[str, float | bool | int]:
    work = Path(tempfile.mkdtemp(prefix="bench-lock-"))
    try:
        shutil.copy(REPO / "requirements" / RT / "runtime-baseline.in", work)
        additions = (REPO / "requirements" / RT / "additional-packages.in").read_text()
        (work / "in.in").write_text(additions + "-c runtime-baseline.in\n")
        env = dict(os.environ)
        uv = [sys.executable, "-m", "uv", "pip", "compile", "in.in", "--python-version", "3.11"]
        uv += ["--python-platform", "x86_64-manylinux_2_28", "--exclude-newer", DATE, "--no-header", "-q"]
        pipc = [str(Path(sys.executable).parent / "pip-compile"), "in.in", "--quiet", "--no-header"]
        results: dict[str, list[float]] = {
            "uv_cold": [],
            "uv_warm": [],
            "uv_offline": [],
            "pip_cold": [],
            "pip_warm": [],
        }
        for i in range(repeat):
            cache = work / f"uv-cache-{i}"
            cmd = [*uv, "--cache-dir", str(cache), "-o", "uv.txt"]
            results["uv_cold"].append(timed(cmd, work, env))
            results["uv_warm"].append(timed(cmd, work, env))
            results["uv_offline"].append(timed([*cmd, "--offline"], work, env))  # cache only: `--offline`
            pip_env = dict(env, PIP_CACHE_DIR=str(work / f"pip-cache-{i}"))
            cmd = [*pipc, "--cache-dir", str(work / f"pipc-cache-{i}"), "-o", "pip.txt"]
            results["pip_cold"].append(timed([*cmd, "--rebuild"], work, pip_env))
            results["pip_warm"].append(timed(cmd, work, pip_env))
        med = {k: statistics.median(v) for k, v in results.items()}
        uv_pins, pip_pins = pins(work / "uv.txt"), pins(work / "pip.txt")
        return {
            **{f"{k}_s": round(v, 3) for k, v in med.items()},
            "cold_speedup": round(med["pip_cold"] / med["uv_cold"], 1),
            "warm_speedup": round(med["pip_warm"] / med["uv_warm"], 1),
            "offline_speedup": round(med["pip_warm"] / med["uv_offline"], 1),
            "packages": len(uv_pins),
            "same_packages": {p.split("==")[0] for p in uv_pins} == {p.split("==")[0] for p in pip_pins},
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_init_script(repeat: int) -> dict[str, float | int]:
    """Time enforce-lock.sh on a venv node that already matches a small real lock."""
    sys.path.insert(0, str(REPO))
    from dbx_ops.cli import main

    work = Path(tempfile.mkdtemp(prefix="bench-init-"))
    try:
        rt = "15.4.x-scala2.12"
        folder = work / "requirements" / rt
        folder.mkdir(parents=True)
        shutil.copy(REPO / "requirements" / rt / "runtime-baseline.in", folder)
        (folder / "additional-packages.in").write_text("chispa==0.11.1\ndatabricks-sdk==0.40.0\n")
        args = ["--runtime", rt, "--root", str(work)]
        if main(["deps", "lock", *args, "--hashes", "--exclude-newer", DATE[:10]]) != 0:
            raise SystemExit("lock failed")
        main(["deps", "init-script", *args])
        venv = work / "python"
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
        pip = venv / "bin" / "pip"
        env = dict(os.environ, DBX_OPS_PIP=str(pip), DATABRICKS_RUNTIME_VERSION="15.4")
        script = work / "init" / rt / "enforce-lock.sh"
        first = timed(["bash", str(script)], work, env)  # installs the lock
        times = [timed(["bash", str(script)], work, env) for _ in range(max(repeat, 3))]
        locked = sum(1 for ln in (folder / "requirements.txt").read_text().splitlines() if "==" in ln)
        return {
            "first_run_s": round(first, 2),
            "matching_node_s": round(statistics.median(times), 2),
            "pins": locked,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    resolvers = bench_resolvers(args.repeat)
    init = bench_init_script(args.repeat)
    if args.json:
        print(json.dumps({"lock": resolvers, "init_script": init}, indent=2))
        return
    print(f"lock {RT} (baseline as constraints, {resolvers['packages']} pins in the lock)")
    print(
        f"  uv cold   {resolvers['uv_cold_s']:8.2f} s   pip-compile cold {resolvers['pip_cold_s']:8.2f} s   "
        f"uv is {resolvers['cold_speedup']}x faster (goal >= 20x)"
    )
    print(
        f"  uv warm   {resolvers['uv_warm_s']:8.2f} s   pip-compile warm {resolvers['pip_warm_s']:8.2f} s   "
        f"uv is {resolvers['warm_speedup']}x faster"
    )
    print(
        f"  uv warm, --offline (cache only) {resolvers['uv_offline_s']:.2f} s: "
        f"{resolvers['offline_speedup']}x faster than pip-compile warm"
    )
    print(f"  same packages chosen by both: {resolvers['same_packages']}")
    print(
        f"init script on a node matching a {init['pins']}-pin lock: {init['matching_node_s']} s "
        f"(goal <= 5 s; first run, installing: {init['first_run_s']} s)"
    )


if __name__ == "__main__":
    main()
