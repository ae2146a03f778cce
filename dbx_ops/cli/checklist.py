"""``dbx-ops checklist ...``: list, show, verifiers, start, set, verify, sign, gate, status, report."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from dbx_ops.cli._common import add_json_flag, emit, table
from dbx_ops.errors import InvalidInputError


def register(subparsers: argparse._SubParsersAction) -> None:
    cl = subparsers.add_parser("checklist", help="checklist runs: tick, verify, sign off, gate go/no-go")
    sub = cl.add_subparsers(dest="checklist_command", metavar="SUBCOMMAND")
    cl.set_defaults(handler=lambda args: (cl.print_help(), 2)[1])

    def common(p: argparse.ArgumentParser, acting: bool = False) -> None:
        p.add_argument(
            "--templates",
            action="append",
            default=[],
            help="folder or file of user templates (repeat; also DBX_OPS_CHECKLISTS)",
        )
        if acting:
            p.add_argument(
                "--as-user", help="the person acting (default: platform user, DBX_OPS_ACTOR or OS user)"
            )
        add_json_flag(p)

    p = sub.add_parser("list", help="the templates (shipped and yours)")
    common(p)
    p.set_defaults(handler=run_list)

    p = sub.add_parser("show", help="a template's phases, stages, items, roles")
    p.add_argument("name", help="template name or YAML file")
    common(p)
    p.set_defaults(handler=run_show)

    p = sub.add_parser("verifiers", help="the auto-verifiers items can use")
    add_json_flag(p)
    p.set_defaults(handler=run_verifiers)

    p = sub.add_parser("start", help="start a run of a template")
    p.add_argument("name", help="template name or YAML file")
    p.add_argument("--run", help="run id (default: <template>-<date>-<random>)")
    p.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="K=V",
        help="run fact (target=prod, change=<sha>, tables=a.b,c.d, jobs=42, owner=…; repeat)",
    )
    common(p, acting=True)
    p.set_defaults(handler=run_start)

    p = sub.add_parser("set", help="set an item: pass, fail, na, waive or pending")
    p.add_argument("run", help="run id")
    p.add_argument("item", help="item id (see `checklist status RUN`)")
    p.add_argument("state", help="pass | fail | na | waive | pending")
    p.add_argument(
        "--evidence", action="append", default=[], help="text, link:URL, table:NAME, run_id:N, file:PATH"
    )
    p.add_argument("--reason", default="", help="why (required to waive)")
    p.add_argument("--as", dest="role", help="the role you act as (required to waive)")
    common(p, acting=True)
    p.set_defaults(handler=run_set)

    p = sub.add_parser("verify", help="run the verifiers of a run's items and record the results")
    p.add_argument("run", help="run id")
    p.add_argument("--item", action="append", default=[], help="only this item (repeat)")
    p.add_argument("--repo", type=Path, default=Path("."), help="repository root for scans/tests (default .)")
    p.add_argument("--lock", type=Path, help="lock file for the environment check")
    p.add_argument("--no-workspace", action="store_true", help="do not connect to the workspace")
    common(p, acting=True)
    p.set_defaults(handler=run_verify)

    p = sub.add_parser("sign", help="sign off a run (or one stage) as a role: go or no-go")
    p.add_argument("run", help="run id")
    p.add_argument("--role", required=True, help="the role you sign as")
    p.add_argument("--decision", required=True, help="go | no-go")
    p.add_argument("--stage", help="the stage signed (default: the whole run)")
    p.add_argument("--comment", default="", help="comment recorded with the sign-off")
    common(p, acting=True)
    p.set_defaults(handler=run_sign)

    p = sub.add_parser("gate", help="go/no-go of a run or a stage (exit 1 on no-go)")
    p.add_argument("run", help="run id")
    p.add_argument("--stage", help="gate only this stage")
    common(p)
    p.set_defaults(handler=run_gate)

    p = sub.add_parser("status", help="every item's state, sign-offs and the gate")
    p.add_argument("run", help="run id")
    common(p)
    p.set_defaults(handler=run_status)

    p = sub.add_parser("report", help="the audit record as HTML and/or Markdown")
    p.add_argument("run", help="run id")
    p.add_argument("--html", type=Path, help="write the HTML audit record here")
    p.add_argument("--md", type=Path, help="write the Markdown audit record here")
    common(p)
    p.set_defaults(handler=run_report)


# -- edges: build collaborators from the environment ------------------------------------------


def _library(args: argparse.Namespace) -> Any:
    from dbx_ops.checklists import TemplateLibrary

    return TemplateLibrary(getattr(args, "templates", []) or [], env=os.environ)


def _template(args: argparse.Namespace, name: str) -> Any:
    lib = _library(args)
    path = Path(name)
    if path.suffix in (".yml", ".yaml"):
        if not path.is_file():
            raise InvalidInputError(f"Template file {path} does not exist.")
        return lib.load_file(path)
    return lib.get(name)


def _events() -> Any:
    from dbx_ops.checklists import DeltaEventStore
    from dbx_ops.runtime import get_spark
    from dbx_ops.state import StateStore

    spark = get_spark()
    store = StateStore.from_env(spark)
    return spark, store, DeltaEventStore(store)


def _ws_if_configured() -> Any:
    from dbx_ops.runtime import workspace_client, workspace_configured

    try:
        if not workspace_configured().get("configured"):
            return None
    except Exception:
        return None
    return workspace_client()


def _actor(args: argparse.Namespace, spark: Any, ws: Any) -> Any:
    from dbx_ops.checklists import detect_actor
    from dbx_ops.runtime import is_databricks

    return detect_actor(
        spark=spark if is_databricks() else None, ws=ws, as_user=getattr(args, "as_user", None)
    )


def _open(args: argparse.Namespace, need_ws: bool = False) -> Any:
    run, _state, spark, store, ws = _open_state(args, need_ws)
    return run, spark, store, ws


def _open_state(args: argparse.Namespace, need_ws: bool = False) -> Any:
    """The run and its state from one read of the store (for commands that only read)."""
    from dbx_ops.checklists import ChecklistRun
    from dbx_ops.checklists.runs import validate_run_id

    validate_run_id(args.run)  # before Spark starts
    spark, store, events = _events()
    ws = _ws_if_configured() if need_ws else None
    run, state = ChecklistRun.open_state(args.run, events, _actor(args, spark, ws), library=_library(args))
    return run, state, spark, store, ws


def _context(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--context {pair!r} must be KEY=VALUE (for example target=prod).")
        out[key.strip()] = value.strip()
    return out


# -- handlers ------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    lib = _library(args)
    rows = []
    for name in lib.names():
        tpl = lib.get(name)
        rows.append(
            {
                "name": name,
                "version": tpl.version,
                "items": len(tpl.items),
                "stages": len(tpl.stages),
                "title": tpl.title,
            }
        )
    emit(args, rows, lambda: table(rows, ["name", "version", "items", "stages", "title"]))
    return 0


def run_show(args: argparse.Namespace) -> int:
    tpl = _template(args, args.name)

    def human() -> str:
        lines = [
            f"{tpl.name} v{tpl.version}: {tpl.title}",
            f"hash {tpl.content_hash[:16]}  source {tpl.source}",
            "",
        ]
        for stage in tpl.stages:
            lines.append(f"stage {stage.id}: {stage.title}  (sign-off: {', '.join(stage.signoff) or '-'})")
            lines += [f"    go/no-go: {c}" for c in stage.criteria]
        roles = ", ".join(f"{r.name}" + (f" [{r.group}]" if r.group else "") for r in tpl.roles.values())
        lines += [f"roles: {roles}", f"run sign-off: {', '.join(tpl.signoff) or '-'}", ""]
        rows = [
            {
                "phase": i.phase,
                "item": i.id,
                "required": "yes" if i.required else "no",
                "owner": i.owner or "",
                "verifier": i.verifier or "",
                "text": i.text,
            }
            for i in tpl.items
        ]
        return "\n".join(lines) + table(rows, ["phase", "item", "required", "owner", "verifier", "text"])

    emit(args, tpl.to_dict(), human)
    return 0


def run_verifiers(args: argparse.Namespace) -> int:
    from dbx_ops.checklists.verifiers import VERIFIERS

    rows = [v.to_dict() for v in sorted(VERIFIERS.values(), key=lambda v: v.name)]
    human_rows = [
        {
            "name": r["name"],
            "params": ", ".join(r["params"]),
            "needs": ", ".join(r["needs"]),
            "checks": r["description"],
        }
        for r in rows
    ]
    emit(args, rows, lambda: table(human_rows, ["name", "params", "needs", "checks"]))
    return 0


def run_start(args: argparse.Namespace) -> int:
    from dbx_ops.checklists import ChecklistRun
    from dbx_ops.checklists.runs import validate_run_id

    tpl = _template(args, args.name)
    context = _context(args.context)
    if args.run is not None:
        validate_run_id(args.run)  # before Spark starts
    spark, _, events = _events()
    run = ChecklistRun.start(tpl, events, _actor(args, spark, None), context, run_id=args.run)
    data = {"run_id": run.run_id, "template": tpl.name, "version": tpl.version, "hash": tpl.content_hash}
    emit(args, data, f"started {run.run_id} ({tpl.name} v{tpl.version}, {len(tpl.items)} items)")
    return 0


def run_set(args: argparse.Namespace) -> int:
    from dbx_ops.checklists import ItemState

    state = ItemState.parse(args.state)
    run, *_ = _open(args, need_ws=bool(args.role))
    event = run.set_item(args.item, state, evidence=args.evidence, reason=args.reason, role=args.role)
    emit(args, event.to_dict(), f"{run.run_id}: {args.item} = {event.state} (by {event.actor})")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from dbx_ops.checklists.verifiers import VerifierContext
    from dbx_ops.progress import auto_progress

    run, spark, store, ws = _open(args, need_ws=not args.no_workspace)
    ctx = VerifierContext(
        spark=spark, ws=ws, store=store, repo=args.repo.resolve(), env=dict(os.environ), lock=args.lock
    )
    events = run.verify(ctx, items=args.item or None, progress=auto_progress())
    rows = [{"item": e.item, "state": str(e.state), "reason": e.reason} for e in events]
    emit(args, [e.to_dict() for e in events], lambda: table(rows, ["item", "state", "reason"]))
    return 0


def run_sign(args: argparse.Namespace) -> int:
    run, *_ = _open(args, need_ws=True)
    event = run.sign(args.role, args.decision, stage=args.stage, comment=args.comment)
    where = f"stage {args.stage}" if args.stage else "the run"
    emit(
        args,
        event.to_dict(),
        f"{event.actor} signed {event.decision} as {event.role} for {where} of {run.run_id}",
    )
    return 0


def run_gate(args: argparse.Namespace) -> int:
    run, state, *_ = _open_state(args)
    result = run.gate(stage=args.stage, state=state)
    emit(args, result.to_dict(), result.to_text)
    return 0 if result.ok else 1


def run_status(args: argparse.Namespace) -> int:
    run, state, *_ = _open_state(args)
    gate = run.gate(state=state)

    def human() -> str:
        rows = []
        for item in run.template.items:
            st = state.status(item.id)
            rows.append(
                {
                    "item": item.id,
                    "state": str(st.state),
                    "by": st.actor,
                    "stage": item.stage or "",
                    "evidence": "; ".join(e.value for e in st.evidence)[:60],
                }
            )
        signs = [f"  {s.stage or 'run'}: {s.role} {s.decision} by {s.person}" for s in state.signoffs]
        return "\n".join(
            [table(rows, ["item", "state", "by", "stage", "evidence"]), "sign-offs:", *signs, gate.to_text()]
        )

    data = {
        "run_id": run.run_id,
        "items": {k: {"state": str(v.state), "actor": v.actor} for k, v in state.items.items()},
        "signoffs": [s.to_dict() for s in state.signoffs],
        "gate": gate.to_dict(),
    }
    emit(args, data, human)
    return 0


def run_report(args: argparse.Namespace) -> int:
    run, state, *_ = _open_state(args)
    report = run.report(state=state)
    written = []
    if args.html:
        report.write_html(args.html, title=f"Checklist audit {run.run_id}")
        written.append(str(args.html))
    if args.md:
        args.md.write_text(report.to_markdown(), encoding="utf-8")
        written.append(str(args.md))
    emit(args, {**report.to_dict(), "written": written}, lambda: "\n".join([report.summary(), *written]))
    return 0
