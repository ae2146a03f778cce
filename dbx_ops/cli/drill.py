"""``dbx-ops drill``: the rollback drill on the local lakehouse (or the cluster's)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dbx_ops.cli._common import add_json_flag, emit


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "drill",
        help="carry a faulty change through checklist, snapshot, validation, no-go, restore and proof",
        description=(
            "Build a small medallion pipeline in its own schema, snapshot it, deploy a faulty change, "
            "catch it, restore, and prove the data is back. Exit 0 only when recovery was proven."
        ),
    )
    p.add_argument("--rows", type=int, default=200_000, help="orders generated in bronze (default 200000)")
    p.add_argument("--days", type=int, default=30, help="daily partitions of the orders (default 30)")
    p.add_argument("--schema", default="dbx_ops_drill", help="the drill's own schema (default dbx_ops_drill)")
    p.add_argument("--label", help="snapshot label / change id (default drill-<UTC time>)")
    p.add_argument(
        "--out", type=Path, help="folder for drill.html, drill.md, drill.json (default <state>/drill/<label>)"
    )
    p.add_argument("--no-forward", action="store_true", help="skip step 8 (redeploy a fixed version)")
    p.add_argument(
        "--keep",
        action="store_true",
        help=(
            "keep the pipeline's tables after a drill that proved recovery (default: dropped; "
            "a failed drill always keeps them)"
        ),
    )
    p.add_argument(
        "--sabotage",
        choices=["vacuum"],
        help="rehearse a failed recovery: vacuum the snapshot files before the restore (the drill fails)",
    )
    p.add_argument(
        "--workspace",
        action="store_true",
        help=(
            "also deploy the pipeline's job, run it, deploy the faulty version and roll it back with a "
            "verification run: in DATABRICKS_HOST's workspace, else in a local stand-in started for the drill"
        ),
    )
    add_json_flag(p)
    p.set_defaults(handler=run_drill_command)


def run_drill_command(args: argparse.Namespace) -> int:
    from dbx_ops.clock import utc_now
    from dbx_ops.drill import DrillOptions, run_drill
    from dbx_ops.progress import auto_progress
    from dbx_ops.runtime import get_spark, state_home

    label = args.label or f"drill-{utc_now():%Y%m%d-%H%M%S}"
    out = args.out or state_home() / "drill" / label
    options = DrillOptions(
        rows=args.rows,
        days=args.days,
        schema=args.schema,
        label=label,
        forward=not args.no_forward,
        sabotage=args.sabotage,
        out=out,
        keep=args.keep,
    ).checked()
    if out.exists() and not out.is_dir():
        from dbx_ops.errors import InvalidInputError

        raise InvalidInputError(f"--out {out} is a file; give a folder for the drill's reports.")
    if args.workspace:
        import os

        from dbx_ops.drill import drill_workspace

        with drill_workspace(os.environ, out / "workspace" / "standin") as ws:
            report = run_drill(get_spark(), options=options, progress=auto_progress(), ws=ws)
    else:
        report = run_drill(get_spark(), options=options, progress=auto_progress())
    emit(
        args,
        {**report.to_dict(), "html": str(out / "drill.html"), "markdown": str(out / "drill.md")},
        lambda: f"{report.to_text()}\nreport: {out / 'drill.html'}\n        {out / 'drill.md'}",
    )
    return 0 if report.ok else 1
