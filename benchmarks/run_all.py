"""Run every ``benchmarks/bench_*.py`` script in turn (each prints its own ratios).

Usage: ``python benchmarks/run_all.py [NAME ...]`` — names like ``platform`` or
``snapshot`` pick scripts; none runs them all. Exits non-zero if a script fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        wanted = {f"bench_{n}.py" for n in argv}
        scripts = [s for s in scripts if s.name in wanted]
        if len(scripts) != len(wanted):
            known = ", ".join(s.stem.removeprefix("bench_") for s in sorted(HERE.glob("bench_*.py")))
            print(f"unknown benchmark name in {argv}; known: {known}", file=sys.stderr)
            return 2
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
