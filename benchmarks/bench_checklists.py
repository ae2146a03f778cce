"""Checklist cost on real Delta: a 60-item run with 10,000 events in the store.

1. The gate from the CLI (``dbx-ops checklist gate RUN``, a fresh process) against the
   peer in the same run: a fresh process that only starts the local Spark session
   (``get_spark()``) — the difference is the gate's own cost beyond Spark start-up
   (goal ≤ 2 s).
2. In a warm local session: showing the run (read its events, fold, gate, render the
   read-only HTML; goal ≤ 1 s) and one tick (``set_item``: read heads, append one Delta
   commit; goal ≤ 1.5 s).

The 10,000 events are one run's: ticks, re-ticks, evidence and verifier results on the
60 items, written in one Delta commit (sealed in chain order first).

Usage: ``.venv/bin/python benchmarks/bench_checklists.py [--events 10000] [--items 60] [--repeat 3]``.
Runs in a temporary ``DBX_OPS_HOME``; prints a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def template_yaml(items: int) -> str:
    lines = [
        "name: bench60",
        'version: "1"',
        "title: Benchmark checklist",
        "roles:",
        "  Lead: {may_waive: true}",
        "  QA: {}",
        "signoff: [Lead, QA]",
        "phases:",
    ]
    for phase in range(6):
        lines += [f"  - name: Phase {phase}", "    items:"]
        lines += [
            f"      - {{id: p{phase}.i{n}, text: Item {n} of phase {phase}}}" for n in range(items // 6)
        ]
    return "\n".join(lines) + "\n"


def seeded_events(template, run_id: str, count: int) -> list:
    from dbx_ops import __version__
    from dbx_ops.checklists.model import Event, EventKind, Evidence, EvidenceKind, ItemState
    from dbx_ops.checklists.store import seal_next

    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    common = {
        "template": template.name,
        "template_version": template.version,
        "template_hash": template.content_hash,
        "dbx_ops_version": __version__,
    }
    out = [Event("e0", run_id, EventKind.START, t0, "bench", context={"target": "prod"}, **common).sealed("")]
    items = [i.id for i in template.items]
    for n in range(1, count):
        item = items[n % len(items)]
        state = ItemState.PASS if n > count - len(items) - 1 or n % 3 else ItemState.FAIL
        kind = EventKind.VERIFY if n % 5 == 0 else EventKind.ITEM
        event = Event(
            f"e{n:06d}",
            run_id,
            kind,
            t0 + timedelta(seconds=n),
            f"user{n % 7}",
            item=item,
            state=state,
            evidence=(Evidence(EvidenceKind.LINK, f"https://ci.example/{n}"),),
            **common,
        )
        # chain to the previous event only (seal_next over everything is quadratic)
        out.append(seal_next(out[-1:], event))
    return out


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def setup_env(home: Path) -> None:
    os.environ["DBX_OPS_HOME"] = str(home / "home")
    os.environ["DBX_OPS_SCHEMA"] = "bench_cl"
    os.environ["DBX_OPS_ACTOR"] = "bench"
    os.environ["DBX_OPS_CHECKLISTS"] = str(home / "tpl")


def in_process(args: argparse.Namespace) -> dict[str, float]:
    """Seed the store, then time show and tick in this (warm) process."""
    from dbx_ops.checklists import Actor, ChecklistRun, DeltaEventStore, TemplateLibrary
    from dbx_ops.checklists.report import run_html
    from dbx_ops.checklists.store import COLUMNS_DDL, TABLE, event_row
    from dbx_ops.runtime import get_spark
    from dbx_ops.state import StateStore

    t_start = time.perf_counter()
    spark = get_spark()
    startup = time.perf_counter() - t_start
    store = StateStore(spark, "bench_cl")
    events = DeltaEventStore(store)
    template = TemplateLibrary(env=os.environ).get("bench60")
    seeded = seeded_events(template, "bench-run", args.events)
    events.ensure()
    t_write = timed(lambda: store.append(TABLE, [event_row(e) for e in seeded], COLUMNS_DDL))
    run = ChecklistRun(template, "bench-run", events, Actor("bench"))
    assert len(run.recorded()) == args.events

    def show() -> None:
        state = run.state()
        run_html(template, state, run.gate(state=state))

    show()  # warm the query plan once
    show_s = [timed(show) for _ in range(args.repeat)]
    tick_s = [
        timed(lambda: run.set_item(template.items[0].id, "pass", evidence="bench"))
        for _ in range(args.repeat)
    ]
    assert run.chain().ok
    return {
        "in_process_spark_start_s": round(startup, 2),
        "seed_write_s": round(t_write, 2),
        "show_s_median": round(statistics.median(show_s), 3),
        "tick_s_median": round(statistics.median(tick_s), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--phase", choices=["all", "inproc"], default="all", help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "inproc":
        setup_env(args.home)
        print(json.dumps(in_process(args)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench_checklists_"))
    (tmp / "tpl").mkdir()
    (tmp / "tpl" / "bench60.yml").write_text(template_yaml(args.items))
    setup_env(tmp)
    env = {**os.environ}
    for key in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE", "SPARK_CONNECT_MODE"):
        env.pop(key, None)
    venv = REPO / ".venv" / "bin" / "python"
    python = str(venv) if venv.exists() else sys.executable
    # each phase is its own process: the local Derby metastore admits one JVM at a time
    first = subprocess.run(
        [
            python,
            __file__,
            "--phase",
            "inproc",
            "--home",
            str(tmp),
            "--events",
            str(args.events),
            "--repeat",
            str(args.repeat),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    if first.returncode != 0:
        raise SystemExit(f"in-process phase failed: {first.stderr.strip()[-500:]}")
    summary: dict[str, object] = {
        "events": args.events,
        "items": args.items,
        **json.loads(first.stdout.strip().splitlines()[-1]),
    }

    def cli_gate() -> None:
        proc = subprocess.run(
            [python, "-m", "dbx_ops", "checklist", "gate", "bench-run", "--json"],
            env=env,
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )
        if proc.returncode not in (0, 1):
            raise SystemExit(f"gate failed: {proc.stderr.strip()}")

    def spark_only() -> None:
        subprocess.run(
            [python, "-c", "from dbx_ops.runtime import get_spark; get_spark().sql('SELECT 1').collect()"],
            env=env,
            check=True,
            capture_output=True,
            cwd=REPO,
        )

    gate_s, startup_s = [], []
    for _ in range(args.repeat):
        startup_s.append(timed(spark_only))
        gate_s.append(timed(cli_gate))
    gate_med, startup_med = statistics.median(gate_s), statistics.median(startup_s)
    summary.update(
        {
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "cli_gate_s_median": round(gate_med, 2),
            "spark_only_process_s_median": round(startup_med, 2),
            "gate_beyond_spark_start_s": round(gate_med - startup_med, 2),
            "ratio_cli_gate_to_spark_start": round(gate_med / startup_med, 2),
        }
    )
    print(f"show (read {args.events} events, fold, gate, HTML): {summary['show_s_median']} s (goal <= 1 s)")
    print(f"tick (read heads, append one event): {summary['tick_s_median']} s (goal <= 1.5 s)")
    print(
        f"CLI gate: {gate_med:.2f} s vs Spark-only process {startup_med:.2f} s: "
        f"{gate_med - startup_med:.2f} s beyond start-up (goal <= 2 s)"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
