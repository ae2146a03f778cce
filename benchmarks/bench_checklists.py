"""Checklist cost on real Delta: a 60-item run with 10,000 events in the store.

1. The gate from the CLI (``dbx-ops checklist gate RUN``, a fresh process) against the
   peer in the same run: a fresh process that only starts the local Spark session
   (``get_spark()``) — the difference is the gate's own cost beyond Spark start-up
   (goal ≤ 2 s).
2. In a warm local session: showing the run (the widget built from the store: read its
   events, fold, verify the chain, gate; goal ≤ 1 s; and the read-only HTML), one tick
   (``set_item``: click to committed event; goal ≤ 1.5 s), a click with the UI shown again,
   and the gate through ``dbx_ops.cli.main``; each with its number of Spark jobs, against
   the bare Delta read of the run's rows and a bare one-row Delta append in the same run.

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


class Jobs:
    """Times a call and counts the Spark jobs it ran (a job group per call; classic sessions)."""

    def __init__(self, spark) -> None:
        self.sc = spark.sparkContext
        self.n = 0

    def __call__(self, fn) -> tuple[float, int]:
        self.n += 1
        group = f"bench-{self.n}"
        self.sc.setJobGroup(group, group)
        try:
            t0 = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - t0
        finally:
            self.sc.setLocalProperty("spark.jobGroup.id", None)
        return elapsed, len(self.sc.statusTracker().getJobIdsForGroup(group))


def median_of(measure, fn, repeat: int) -> tuple[float, int]:
    runs = [measure(fn) for _ in range(repeat)]
    return round(statistics.median(r[0] for r in runs), 3), max(r[1] for r in runs)


def in_process(args: argparse.Namespace) -> dict[str, float]:
    """Seed the store, then time show, tick and the in-process gate in this (warm) process."""
    from pyspark.sql import functions as F

    from dbx_ops.checklists import Actor, ChecklistRun, DeltaEventStore, TemplateLibrary
    from dbx_ops.checklists.model import fold, verify_chain
    from dbx_ops.checklists.report import run_html
    from dbx_ops.checklists.store import COLUMNS_DDL, TABLE, event_row
    from dbx_ops.checklists.widgets import Checklist
    from dbx_ops.cli import main as cli
    from dbx_ops.runtime import get_spark
    from dbx_ops.state import StateStore

    t_start = time.perf_counter()
    spark = get_spark()
    startup = time.perf_counter() - t_start
    measure = Jobs(spark)
    store = StateStore(spark, "bench_cl")
    events = DeltaEventStore(store)
    template = TemplateLibrary(env=os.environ).get("bench60")
    seeded = seeded_events(template, "bench-run", args.events)
    events.ensure()
    t_write = timed(lambda: store.append(TABLE, [event_row(e) for e in seeded], COLUMNS_DDL))
    run = ChecklistRun(template, "bench-run", events, Actor("bench"))
    assert len(run.recorded()) == args.events
    table = store.table(TABLE).sql

    # the references: the bare Delta read of the run's rows, the bare one-row Delta append
    def bare_read() -> None:
        spark.table(table).where(F.col("run_id") == "bench-run").collect()

    one_row = [event_row(seeded[-1])]

    def bare_append() -> None:
        spark.createDataFrame(one_row, schema=COLUMNS_DDL).write.format("delta").mode("append").saveAsTable(
            "bench_cl.bare_append"
        )

    bare_append()  # create the reference table once
    bare_read()  # warm the plan once
    read_s, read_jobs = median_of(measure, bare_read, args.repeat)
    append_s, append_jobs = median_of(measure, bare_append, args.repeat)
    recorded = run.recorded()
    t0 = time.perf_counter()
    verify_chain(recorded)
    chain_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fold(recorded)
    fold_s = time.perf_counter() - t0

    def show_html() -> None:
        state = run.state()
        run_html(template, state, run.gate(state=state))

    def show_widget() -> None:
        Checklist(run).refresh()  # what show() displays: built from the store

    ui = Checklist(run)
    ui.refresh()
    item = template.items[0].id
    flip = iter(["fail", "pass"] * (args.repeat + 1))

    def tick() -> None:
        run.set_item(item, next(flip), evidence="bench")

    def click() -> None:
        ui.toggles[item].value = next(flip)  # the handler: one event, then the UI again from the store

    def gate_cli() -> None:
        cli(["checklist", "gate", "bench-run", "--json"])

    show_widget()  # warm the query plan once
    show_html_s, show_html_jobs = median_of(measure, show_html, args.repeat)
    show_s, show_jobs = median_of(measure, show_widget, args.repeat)
    tick_s, tick_jobs = median_of(measure, tick, args.repeat)
    click_s, click_jobs = median_of(measure, click, args.repeat)
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        gate_s, gate_jobs = median_of(measure, gate_cli, args.repeat)
    assert run.chain().ok
    return {
        "in_process_spark_start_s": round(startup, 2),
        "seed_write_s": round(t_write, 2),
        "bare_read_s": read_s,
        "bare_read_jobs": read_jobs,
        "bare_append_s": append_s,
        "bare_append_jobs": append_jobs,
        "chain_verify_s": round(chain_s, 3),
        "fold_s": round(fold_s, 3),
        "show_s_median": show_s,
        "show_jobs": show_jobs,
        "show_html_s_median": show_html_s,
        "show_html_jobs": show_html_jobs,
        "tick_s_median": tick_s,
        "tick_jobs": tick_jobs,
        "click_and_refresh_s_median": click_s,
        "click_and_refresh_jobs": click_jobs,
        "gate_in_process_s_median": gate_s,
        "gate_in_process_jobs": gate_jobs,
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
    s = summary
    print(
        f"load average {s['load_average']}; reference: bare read of the run's {args.events} rows "
        f"{s['bare_read_s']} s ({s['bare_read_jobs']} Spark jobs), bare one-row Delta append "
        f"{s['bare_append_s']} s ({s['bare_append_jobs']} jobs); chain verify {s['chain_verify_s']} s, "
        f"fold {s['fold_s']} s"
    )
    print(
        f"show (widget from the store): {s['show_s_median']} s, {s['show_jobs']} jobs, "
        f"{s['show_s_median'] / s['bare_read_s']:.2f}x the bare read (goal <= 1 s); "
        f"read-only HTML {s['show_html_s_median']} s"
    )
    print(
        f"tick (click to committed event): {s['tick_s_median']} s, {s['tick_jobs']} jobs, "
        f"{s['tick_s_median'] / (s['bare_read_s'] + s['bare_append_s']):.2f}x bare read + append "
        f"(goal <= 1.5 s); click and the UI again {s['click_and_refresh_s_median']} s"
    )
    print(f"gate in a warm process: {s['gate_in_process_s_median']} s, {s['gate_in_process_jobs']} jobs")
    print(
        f"CLI gate: {gate_med:.2f} s vs Spark-only process {startup_med:.2f} s: "
        f"{gate_med - startup_med:.2f} s beyond start-up (goal <= 2 s)"
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
