"""``dbx-ops release record|list|show|promote|rollback``: thin over :mod:`dbx_ops.releases`."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from dbx_ops.cli._common import add_json_flag, confirm, emit, table
from dbx_ops.errors import InvalidInputError


def register(subparsers: argparse._SubParsersAction) -> None:
    rel = subparsers.add_parser(
        "release", help="record deployments, keep the last known good, roll back to its artifact"
    )
    sub = rel.add_subparsers(dest="release_command", metavar="SUBCOMMAND")
    rel.set_defaults(handler=lambda args: (rel.print_help(), 2)[1])

    def common(p: argparse.ArgumentParser, waits: bool = False) -> None:
        p.add_argument(
            "--dir",
            type=Path,
            default=Path("releases"),
            help="releases folder: JSON per release and its artifact (default ./releases; a UC volume "
            "inside Databricks)",
        )
        p.add_argument(
            "--no-table", action="store_true", help="folder only: no Delta table 'releases' (no Spark)"
        )
        if waits:
            p.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for each smoke run")
            p.add_argument("--poll", type=float, default=10.0, help="seconds between polls of a smoke run")
        add_json_flag(p)

    r = sub.add_parser("record", help="record what was just deployed as a release")
    r.add_argument("--bundle", required=True, help="bundle name")
    r.add_argument("--target", required=True, help="bundle target (dev, staging, prod)")
    r.add_argument("--version", dest="release_version", help="artifact version (default: the wheel's)")
    r.add_argument("--commit", help="git commit deployed (default: $GITHUB_SHA or git rev-parse HEAD)")
    r.add_argument("--job", action="append", default=[], help="deployed job id or exact name (repeat)")
    r.add_argument("--wheel", type=Path, help="the built wheel (copied into the release folder)")
    r.add_argument("--wheel-path", help="the wheel's workspace path (default: the job library of that name)")
    r.add_argument("--file", action="append", default=[], help="another workspace file to keep (repeat)")
    r.add_argument("--smoke", action="append", default=[], help="job whose run must succeed (repeat)")
    r.add_argument(
        "--validate",
        action="append",
        default=[],
        metavar="TABLE[@BASELINE]",
        help="validation that must pass",
    )
    r.add_argument("--checklist", help="checklist run whose gate must be go")
    r.add_argument("--actor", help="who deployed (default: the current workspace user)")
    r.add_argument("--promote", action="store_true", help="run the post-deploy checks right away")
    common(r, waits=True)
    r.set_defaults(handler=run_record)

    ls = sub.add_parser("list", help="releases, newest first")
    ls.add_argument("--bundle", help="only this bundle")
    ls.add_argument("--target", help="only this target")
    common(ls)
    ls.set_defaults(handler=run_list)

    sh = sub.add_parser("show", help="one release: artifact, jobs, checks, rollback steps")
    sh.add_argument("release_id", help="the release id")
    common(sh)
    sh.set_defaults(handler=run_show)

    pr = sub.add_parser(
        "promote",
        help="run a release's post-deploy checks; verified (last known good) when all pass, exit 1 if not",
    )
    pr.add_argument("release_id", help="the release id")
    common(pr, waits=True)
    pr.set_defaults(handler=run_promote)

    rb = sub.add_parser(
        "rollback", help="redeploy the last known-good release's wheel, files and jobs; run its smoke jobs"
    )
    rb.add_argument("--bundle", required=True, help="bundle name")
    rb.add_argument("--target", required=True, help="bundle target")
    rb.add_argument("--to", help="a verified release to go back to (default: the last known good)")
    rb.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    rb.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    common(rb, waits=True)
    rb.set_defaults(handler=run_rollback)


def _releases(args: argparse.Namespace) -> Any:
    from dbx_ops.releases import Releases
    from dbx_ops.runtime import workspace_client

    store = None
    if not args.no_table:
        from dbx_ops.runtime import get_spark
        from dbx_ops.state import StateStore

        store = StateStore.from_env(get_spark())
    return Releases(
        workspace_client(),
        args.dir,
        store=store,
        smoke_timeout_s=getattr(args, "timeout", 3600.0),
        poll_s=getattr(args, "poll", 10.0),
    )


def _commit(given: str | None) -> str:
    if given:
        return given
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def _version(args: argparse.Namespace) -> str:
    if args.release_version:
        return str(args.release_version)
    if args.wheel is not None:
        match = re.match(r"^[^-]+-([^-]+)-", args.wheel.name)
        if match:
            return match.group(1)
    raise InvalidInputError(
        "A release needs a version: give --version (or --wheel named <name>-<version>-...)."
    )


def _show(release: Any) -> str:
    return str(release.to_text())


def run_record(args: argparse.Namespace) -> int:
    releases = _releases(args)
    release = releases.record(
        args.bundle,
        args.target,
        version=_version(args),
        git_commit=_commit(args.commit),
        jobs=args.job,
        wheel=args.wheel,
        wheel_path=args.wheel_path,
        files=args.file,
        smoke_jobs=args.smoke,
        validations=args.validate,
        checklist_run=args.checklist,
        actor=args.actor,
    )
    if args.promote:
        release = releases.promote(release.release_id, actor=args.actor)
    emit(args, release.to_dict(), lambda: f"Recorded release {release.release_id}.\n\n{_show(release)}")
    return 0 if release.ok else 1


def run_list(args: argparse.Namespace) -> int:
    rows = [r.summary_row() for r in _releases(args).history(args.bundle, args.target)]
    emit(args, {"releases": rows}, lambda: table(rows))
    return 0


def run_show(args: argparse.Namespace) -> int:
    release = _releases(args).get(args.release_id)
    emit(args, release.to_dict(), lambda: _show(release))
    return 0


def run_promote(args: argparse.Namespace) -> int:
    release = _releases(args).promote(args.release_id)
    emit(args, release.to_dict(), lambda: _show(release))
    return 0 if release.ok else 1


def run_rollback(args: argparse.Namespace) -> int:
    releases = _releases(args)
    plan = releases.plan_rollback(args.bundle, args.target, args.to)  # refusals come before any change
    if args.dry_run:
        emit(args, plan.to_dict(), plan.to_text)
        return 0
    if not confirm(f"Roll {args.bundle}/{args.target} back to release {plan.restores}?", args.yes):
        print("Nothing was changed.")
        return 2
    release = releases.rollback(args.bundle, args.target, args.to)
    emit(args, release.to_dict(), lambda: _show(release))
    return 0 if release.ok else 1
