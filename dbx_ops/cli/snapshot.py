"""``dbx-ops snapshot create|list|show|verify|restore|drop|expire``: thin over :mod:`dbx_ops.snapshots`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dbx_ops.cli._common import add_json_flag, confirm, emit, to_json
from dbx_ops.errors import DbxOpsError, InvalidInputError


def register(subparsers: argparse._SubParsersAction) -> None:
    snap = subparsers.add_parser("snapshot", help="snapshot Delta tables before a change; restore and prove")
    sub = snap.add_subparsers(dest="snapshot_command", metavar="SUBCOMMAND")
    snap.set_defaults(handler=lambda args: (snap.print_help(), 2)[1])

    c = sub.add_parser("create", help="snapshot one table or a labelled set")
    c.add_argument(
        "tables", nargs="+", metavar="TABLE", help="schema.table, catalog.schema.table or delta.`/path`"
    )
    c.add_argument("--label", required=True, help="label to restore by, e.g. pre-deploy-2024-06-01")
    c.add_argument(
        "--mode",
        choices=("pin", "shallow", "deep"),
        default="pin",
        help="pin: record the version (default); shallow: SHALLOW CLONE; deep: full copy",
    )
    c.add_argument("--keep", help="how long it must stay restorable, e.g. 30d, 12h, 2w")
    c.add_argument(
        "--extend-retention",
        action="store_true",
        help="raise the tables' Delta retention properties when --keep needs it (else refused)",
    )
    c.add_argument("--note", help="free text kept with the snapshot")
    c.add_argument("--fingerprint", action="store_true", help="also record a content fingerprint (full scan)")
    c.add_argument("--clone-schema", help="schema for shallow/deep copies (default <state schema>_snapshots)")
    add_json_flag(c)
    c.set_defaults(handler=run_create)

    ls = sub.add_parser("list", help="snapshot labels, newest first")
    ls.add_argument("--all", action="store_true", help="include dropped and expired labels")
    add_json_flag(ls)
    ls.set_defaults(handler=run_list)

    sh = sub.add_parser("show", help="a label's tables, versions, retention and history")
    sh.add_argument("label")
    add_json_flag(sh)
    sh.set_defaults(handler=run_show)

    v = sub.add_parser("verify", help="is every table of a label still restorable? (exit 1 when not)")
    v.add_argument("label")
    add_json_flag(v)
    v.set_defaults(handler=run_verify)

    r = sub.add_parser("restore", help="restore a label's tables and prove the data is back")
    r.add_argument("label")
    r.add_argument("--table", action="append", dest="tables", help="restore only this table (repeat)")
    r.add_argument("--dry-run", action="store_true", help="show the plan (commits to undo); change nothing")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.add_argument("--no-fingerprint", action="store_true", help="skip the content fingerprint check")
    r.add_argument("--max-attempts", type=int, default=3, help="tries per table under concurrent writers")
    r.add_argument(
        "--parallel",
        default="1",
        metavar="N",
        help="restore up to N tables at once (default 1: one after another); on a failure the tables "
        "already running finish and the rest are not started",
    )
    r.add_argument("--html", type=Path, help="also write the report as HTML to this file")
    r.add_argument("--markdown", type=Path, help="also write the report as Markdown to this file")
    add_json_flag(r)
    r.set_defaults(handler=run_restore)

    d = sub.add_parser("drop", help="end a label: mark it dropped (history kept) and delete its copies")
    d.add_argument("label")
    d.add_argument("--table", action="append", dest="tables", help="drop only this table's snapshot (repeat)")
    d.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")
    d.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_json_flag(d)
    d.set_defaults(handler=run_drop)

    e = sub.add_parser("expire", help="mark snapshots past their retention expired and delete their copies")
    e.add_argument("--dry-run", action="store_true", help="say what would expire; change nothing")
    e.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_json_flag(e)
    e.set_defaults(handler=run_expire)


def _snapshots(args: argparse.Namespace) -> Any:
    from dbx_ops.progress import auto_progress
    from dbx_ops.runtime import get_spark
    from dbx_ops.snapshots import Snapshots
    from dbx_ops.state import StateStore

    spark = get_spark()
    return Snapshots(
        spark,
        StateStore.from_env(spark),
        clone_schema=getattr(args, "clone_schema", None),
        progress=auto_progress(),
    )


def _check_inputs(args: argparse.Namespace) -> None:
    """Refuse malformed names, labels and durations before Spark starts."""
    from dbx_ops.names import parse_table_name
    from dbx_ops.snapshots.registry import validate_label
    from dbx_ops.state import state_schema

    state_schema()
    if getattr(args, "label", None) is not None:
        validate_label(args.label)
    for name in getattr(args, "tables", None) or ():
        parse_table_name(name)
    if getattr(args, "clone_schema", None):
        clone = parse_table_name(args.clone_schema)
        if clone.is_path or len(clone.parts) > 2:
            raise InvalidInputError(
                f"--clone-schema {args.clone_schema!r} must be 'schema' or 'catalog.schema'."
            )
    if getattr(args, "max_attempts", 1) < 1:
        raise InvalidInputError(f"--max-attempts {args.max_attempts} must be 1 or more.")
    for flag in ("html", "markdown"):
        path = getattr(args, flag, None)
        if path is not None and (path.is_dir() or not path.parent.is_dir()):
            raise InvalidInputError(f"--{flag} {path} must be a file in an existing folder.")


def _parallel(text: str) -> int:
    """``--parallel``'s value as a number of tables, 1 or more (a clear error sentence otherwise)."""
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidInputError(
            f"--parallel {text!r} must be a whole number of tables to restore at once, 1 or more."
        )
    return value


def run_create(args: argparse.Namespace) -> int:
    from dbx_ops.snapshots.retention import parse_keep

    keep = parse_keep(args.keep) if args.keep is not None else None
    _check_inputs(args)
    records = _snapshots(args).snapshot(
        args.tables,
        args.label,
        mode=args.mode,
        note=args.note,
        keep=keep,
        extend_retention=args.extend_retention,
        fingerprint=args.fingerprint,
    )
    emit(args, [r.to_dict() for r in records], records.to_text)
    return 0


def run_list(args: argparse.Namespace) -> int:
    _check_inputs(args)
    labels = _snapshots(args).list_labels(include_ended=args.all)
    emit(args, [s.to_dict() for s in labels], labels.to_text)
    return 0


def run_show(args: argparse.Namespace) -> int:
    from dbx_ops.snapshots.report import label_detail_text

    _check_inputs(args)
    data = _snapshots(args).show(args.label)
    emit(args, data, lambda: label_detail_text(args.label, data["records"], data["events"]))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    _check_inputs(args)
    report = _snapshots(args).verify(args.label)
    emit(args, report.to_dict(), report.to_text)
    return 0 if report.ok else 1


def run_restore(args: argparse.Namespace) -> int:
    _check_inputs(args)
    parallel = _parallel(args.parallel)  # before Spark starts, like the other inputs
    snaps = _snapshots(args)
    fingerprint = not args.no_fingerprint
    plan = snaps.restore(args.label, args.tables, dry_run=True, fingerprint=fingerprint, parallel=parallel)
    if args.dry_run:
        _write(args, plan)
        emit(args, plan.to_dict(), plan.to_text)
        return 0 if plan.ok else 1
    if not args.yes:
        print(plan.to_text(), file=sys.stderr)
        if not plan.ok:
            print("error: the plan has refused tables; nothing was changed.", file=sys.stderr)
            return 1
        if not confirm(f"Restore snapshot {args.label!r} as planned above?", assume_yes=False):
            print("Nothing was changed.", file=sys.stderr)
            return 1
    try:
        report = snaps.restore(
            args.label,
            args.tables,
            fingerprint=fingerprint,
            max_attempts=args.max_attempts,
            parallel=parallel,
        )
    except DbxOpsError as exc:
        partial = getattr(exc, "report", None)
        if partial is not None:
            _write(args, partial)
            if args.json:
                print(to_json(partial.to_dict()))
            else:
                print(partial.to_text(), file=sys.stderr)
        raise
    _write(args, report)
    emit(args, report.to_dict(), report.to_text)
    return 0 if report.ok else 1


def run_drop(args: argparse.Namespace) -> int:
    _check_inputs(args)
    snaps = _snapshots(args)
    actions = snaps.drop(args.label, args.tables, dry_run=True)
    if args.dry_run:
        emit(args, {"label": args.label, "dry_run": True, "actions": actions}, lambda: "\n".join(actions))
        return 0
    if not args.yes:
        print("\n".join(actions), file=sys.stderr)
        if not confirm(f"Drop snapshot {args.label!r} as above?", assume_yes=False):
            print("Nothing was changed.", file=sys.stderr)
            return 1
    done = snaps.drop(args.label, args.tables)
    emit(args, {"label": args.label, "dry_run": False, "actions": done}, lambda: "\n".join(done))
    return 0


def run_expire(args: argparse.Namespace) -> int:
    _check_inputs(args)
    snaps = _snapshots(args)
    due = snaps.expire(dry_run=True)
    if args.dry_run or not due:
        emit(args, {"dry_run": args.dry_run, "expired": due}, lambda: "\n".join(due) or "nothing to expire")
        return 0
    if not args.yes:
        print("\n".join(due), file=sys.stderr)
        if not confirm("Mark these snapshots expired and drop their copies?", assume_yes=False):
            print("Nothing was changed.", file=sys.stderr)
            return 1
    done = snaps.expire()
    emit(args, {"dry_run": False, "expired": done}, lambda: "\n".join(done))
    return 0


def _write(args: argparse.Namespace, report: Any) -> None:
    if getattr(args, "html", None):
        report.write_html(args.html, title=report.summary())
    if getattr(args, "markdown", None):
        args.markdown.write_text(report.to_markdown(), encoding="utf-8")
