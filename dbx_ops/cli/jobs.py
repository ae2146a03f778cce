"""``dbx-ops jobs backup|diff|restore|health|rollback|deploy``: thin over :mod:`dbx_ops.jobs`."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbx_ops.cli._common import add_json_flag, confirm, emit, table
from dbx_ops.errors import InvalidInputError


def register(subparsers: argparse._SubParsersAction) -> None:
    jobs = subparsers.add_parser("jobs", help="job definition backups, health, rollback and deployments")
    sub = jobs.add_subparsers(dest="jobs_command", metavar="SUBCOMMAND")
    jobs.set_defaults(handler=lambda args: (jobs.print_help(), 2)[1])

    def common(p: argparse.ArgumentParser, folder: bool = True) -> None:
        if folder:
            p.add_argument("--dir", default="job_backups", help="backup folder (default ./job_backups)")
        add_json_flag(p)

    b = sub.add_parser("backup", help="write job definitions as stable JSON to the backup folder")
    b.add_argument(
        "--job", action="append", default=[], help="job id or exact name (repeat); default all jobs"
    )
    b.add_argument("--no-table", action="store_true", help="do not record in the Delta table job_backups")
    common(b)
    b.set_defaults(handler=run_backup)

    d = sub.add_parser("diff", help="compare a live job with its backup (exit 1 when they differ)")
    d.add_argument("--job", required=True, help="job id or exact name")
    d.add_argument("--backup", help="backup version, sha prefix, 'latest' (default), 'previous' or a file")
    common(d)
    d.set_defaults(handler=run_diff)

    r = sub.add_parser("restore", help="apply a backup to a job with jobs.reset")
    r.add_argument("--job", required=True, help="job id or exact name")
    r.add_argument("--backup", help="backup version, sha prefix, 'latest' (default), 'previous' or a file")
    r.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    common(r)
    r.set_defaults(handler=run_restore)

    h = sub.add_parser("health", help="success rate, durations, alerts; exit 1 when a P1 alert fires")
    h.add_argument(
        "--job", action="append", default=[], help="job id or exact name (repeat); default all jobs"
    )
    h.add_argument(
        "--tables",
        action="append",
        default=[],
        help="table whose validation results count for data quality (repeat; adds to the "
        "job tag dbx_ops_tables)",
    )
    h.add_argument("--window", type=int, default=10, help="newest runs considered (default 10)")
    h.add_argument("--no-data-quality", action="store_true", help="skip the data-quality rule (no Spark)")
    h.add_argument("--html", type=Path, help="also write the report as HTML to this file")
    h.add_argument("--markdown", type=Path, help="also write the report as Markdown to this file")
    common(h, folder=False)
    h.set_defaults(handler=run_health)

    rb = sub.add_parser(
        "rollback", help="pause, cancel runs, restore the previous definition, resume, verify"
    )
    rb.add_argument("--job", required=True, help="job id or exact name")
    rb.add_argument("--backup", help="backup to restore (default: newest that differs from live)")
    rb.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    rb.add_argument("--no-verify", action="store_true", help="do not trigger a verification run")
    rb.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for the verification run")
    rb.add_argument("--poll", type=float, default=10.0, help="seconds between polls of the verification run")
    rb.add_argument("--reason", default="a bad deployment", help="what happened, for the incident summary")
    rb.add_argument("--owner", help="incident owner (default: the current workspace user)")
    rb.add_argument(
        "--journal-dir",
        type=Path,
        help="journal folder that outlives the cluster, e.g. a UC volume (default: the state schema)",
    )
    rb.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    common(rb)
    rb.set_defaults(handler=run_rollback)

    dp = sub.add_parser("deploy", help="deploy a job definition (direct, blue-green or canary)")
    dp.add_argument(
        "spec", type=Path, help="job definition file (YAML or JSON job settings, or a bundle resource file)"
    )
    dp.add_argument("--job-key", help="the job of a bundle resource file (resources: jobs: <key>: ...)")
    dp.add_argument("--strategy", choices=["direct", "blue-green", "canary"], default="direct")
    dp.add_argument("--environment", default="dev", help="environment label for the manifest (default dev)")
    dp.add_argument("--dry-run", action="store_true", help="validate and print the plan; change nothing")
    dp.add_argument("--no-validate", action="store_true", help="skip the pre-deployment checks")
    dp.add_argument(
        "--allow-secrets",
        action="store_true",
        help="deploy a definition with hard-coded credentials anyway (still masked in every output)",
    )
    dp.add_argument(
        "--canary-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="job parameter of the canary run (default dbx_ops_canary_percentage=10)",
    )
    dp.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait for a smoke/canary run")
    dp.add_argument("--poll", type=float, default=10.0, help="seconds between polls of that run")
    dp.add_argument(
        "--manifest-dir",
        type=Path,
        help="manifest folder that outlives the cluster, e.g. a UC volume (default: the state schema)",
    )
    dp.add_argument("--report", type=Path, help="also write the JSON report to this file")
    dp.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    dp.add_argument("--checklist", help="checklist run whose gate must be go (needed for prod)")
    common(dp)
    dp.set_defaults(handler=run_deploy)


def _workspace_errors(doing: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[..., int]]:
    """Map a workspace failure the library did not map itself to one dbx_ops sentence."""

    def wrap(handler: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
        @functools.wraps(handler)
        def run(args: argparse.Namespace) -> int:
            from dbx_ops.runtime import workspace_error

            try:
                return handler(args)
            except Exception as exc:
                mapped = workspace_error(exc, doing)
                if mapped is None or mapped is exc:
                    raise
                raise mapped from exc

        return run

    return wrap


def _ws() -> Any:
    from dbx_ops.runtime import workspace_client

    return workspace_client()


def _state() -> Any:
    from dbx_ops.runtime import get_spark
    from dbx_ops.state import StateStore

    return StateStore.from_env(get_spark())


def _store(args: argparse.Namespace, ws: Any, state: Any = None) -> Any:
    from dbx_ops.jobs.store import JobDefinitionStore

    return JobDefinitionStore(ws, folder=args.dir, store=state)


@_workspace_errors("backing up job definitions")
def run_backup(args: argparse.Namespace) -> int:
    ws = _ws()
    store = _store(args, ws, None if args.no_table else _state())
    backups = store.backup(args.job or None)
    rows = [b.to_dict() for b in backups]
    emit(
        args,
        {"backups": rows, "folder": str(store.folder)},
        lambda: (
            f"{len(rows)} job(s) backed up to {store.folder}\n"
            + table(rows, ["job_id", "job_name", "version", "path"])
        ),
    )
    return 0


@_workspace_errors("comparing a job with its backup")
def run_diff(args: argparse.Namespace) -> int:
    result = _store(args, _ws()).diff(args.job, args.backup)

    def human() -> str:
        if not result.differs:
            return f"Job {result.job_id} matches backup {result.backup.version}."
        return f"Job {result.job_id} differs from backup {result.backup.version}:\n{result.text}"

    emit(args, result.to_dict(), human)
    return 1 if result.differs else 0


@_workspace_errors("restoring a job definition")
def run_restore(args: argparse.Namespace) -> int:
    store = _store(args, _ws())
    plan = store.restore(args.job, args.backup, dry_run=True)
    if args.dry_run or not plan.differs:
        note = "would apply" if plan.differs else "nothing to do:"
        emit(
            args,
            {**plan.to_dict(), "dry_run": args.dry_run, "applied": False},
            lambda: f"{note} backup {plan.backup.version} to job {plan.job_id}\n{plan.text}",
        )
        return 0
    if not args.json:
        print(f"Restoring job {plan.job_id} to backup {plan.backup.version}:\n{plan.text}")
    if not confirm(f"Apply backup {plan.backup.version} to job {plan.job_id}?", args.yes):
        raise InvalidInputError("Restore cancelled: nothing was changed.")
    done = store.restore(plan.job_id, plan.backup.version)
    emit(
        args,
        {**done.to_dict(), "dry_run": False, "applied": True},
        f"Job {done.job_id} restored to backup {done.backup.version}.",
    )
    return 0


@_workspace_errors("checking job health")
def run_health(args: argparse.Namespace) -> int:
    from dbx_ops.jobs.health import HealthRules, JobHealthChecker, linked_tables

    rules = HealthRules(window=args.window)
    linked_tables(None, args.tables)  # validates the names before anything runs
    ws = _ws()
    checker = JobHealthChecker(ws, store=None if args.no_data_quality else _state(), rules=rules)
    report = checker.report(args.job or None, args.tables)
    if args.html:
        report.write_html(args.html, "Job health")
    if args.markdown:
        args.markdown.write_text(report.to_markdown())
    emit(args, report.to_dict(), report.to_text)
    return 0 if report.ok else 1


@_workspace_errors("rolling back a job")
def run_rollback(args: argparse.Namespace) -> int:
    from dbx_ops.jobs.rollback import JobRollback, RollbackOptions, RollbackStatus

    ws = _ws()
    options = RollbackOptions(
        backup=args.backup,
        verify=not args.no_verify,
        timeout_s=args.timeout,
        poll_s=args.poll,
        reason=args.reason,
        owner=args.owner,
    )
    # Without --journal-dir the journal lives in the state schema; Spark starts only when it is read.
    rollback = JobRollback(ws, _store(args, ws), journal_dir=args.journal_dir, store=_state)
    plan = rollback.plan(args.job, options)
    if plan.status == RollbackStatus.ALREADY_ROLLED_BACK:
        emit(
            args,
            {**plan.to_dict(), "dry_run": args.dry_run},
            f"Job {plan.job_id} is already rolled back to {plan.backup_version}: nothing to do.",
        )
        return 0
    if args.dry_run:
        emit(args, {**plan.to_dict(), "dry_run": True}, plan.to_text)
        return 0
    if not args.json:
        print(plan.to_text())
    if not confirm(f"Roll job {plan.job_id} back to {plan.backup_version}?", args.yes):
        raise InvalidInputError("Rollback cancelled: nothing was changed.")
    result = rollback.run(plan.job_id, options)
    emit(args, result.to_dict(), result.to_text)
    result.raise_on_failure()
    return 0


def _params(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--canary-param {pair!r} must look like KEY=VALUE.")
        out[key.strip()] = value
    return out


@_workspace_errors("deploying a job")
def run_deploy(args: argparse.Namespace) -> int:
    from dbx_ops.cli._common import to_json
    from dbx_ops.jobs.deploy import DeployOptions, JobDeployer, load_spec

    canary = _params(args.canary_param) or {"dbx_ops_canary_percentage": "10"}
    base = dict(
        strategy=args.strategy,
        environment=args.environment,
        validate=not args.no_validate,
        allow_secrets=args.allow_secrets,
        canary_parameters=canary,
        smoke_timeout_s=args.timeout,
        poll_s=args.poll,
        manifest_dir=args.manifest_dir,
    )
    spec = load_spec(args.spec, args.job_key)  # bad input is refused before the workspace is contacted
    ws = _ws()
    # Without --manifest-dir the manifest goes to the state schema (Spark starts when it is written).
    deployer = JobDeployer(ws, _store(args, ws), store=_state)
    plan = deployer.deploy(spec, DeployOptions(dry_run=True, **base))
    if args.dry_run:
        if args.report:
            args.report.write_text(to_json(plan.to_dict()) + "\n")
        emit(args, plan.to_dict(), plan.to_text)
        return 0
    if not args.json:
        print(plan.to_text())
    # seed 002's --approval-required: prod deploys need a checklist run whose gate says go
    from dbx_ops.checklists.ci import require_go_from_env

    require_go_from_env(getattr(args, "checklist", None), args.environment)
    if not confirm(f"Deploy {plan.job_name!r} with the {args.strategy} strategy?", args.yes):
        raise InvalidInputError("Deployment cancelled: nothing was changed.")
    result = deployer.deploy(spec, DeployOptions(**base))
    if args.report:
        args.report.write_text(to_json(result.to_dict()) + "\n")
    emit(args, result.to_dict(), result.to_text)
    return 0 if result.ok else 1
