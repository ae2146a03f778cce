"""``dbx-ops doctor`` and ``dbx-ops smoke``."""

from __future__ import annotations

import argparse

from dbx_ops import doctor, runtime
from dbx_ops.cli._common import add_json_flag, emit


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("doctor", help="check Python, Java, Spark, Delta and workspace credentials")
    add_json_flag(p)
    p.set_defaults(handler=run_doctor)
    s = subparsers.add_parser("smoke", help="run doctor, then a Delta round trip on the local lakehouse")
    s.add_argument(
        "--schema", default="dbx_ops_smoke", help="schema for the smoke table (default dbx_ops_smoke)"
    )
    add_json_flag(s)
    s.set_defaults(handler=run_smoke)


def run_doctor(args: argparse.Namespace) -> int:
    report = doctor.diagnose()
    emit(args, report.to_dict(), report.to_text)
    if not report.environment_ok:
        return 2
    return 0 if report.ok else 1


def run_smoke(args: argparse.Namespace) -> int:
    report = doctor.diagnose()
    if not report.ok:
        emit(args, {"doctor": report.to_dict(), "steps": []}, report.to_text)
        return 2 if not report.environment_ok else 1
    steps = doctor.lakehouse_smoke(runtime.get_spark(), schema=args.schema)
    ok = all(s.ok for s in steps)

    def human() -> str:
        lines = [report.to_text(), "smoke run:"]
        lines += [f"  [{'ok ' if s.ok else 'FAIL'}] {s.name}: {s.detail} ({s.seconds:.1f}s)" for s in steps]
        lines.append("smoke: " + ("ok" if ok else "FAILED"))
        return "\n".join(lines)

    emit(args, {"doctor": report.to_dict(), "steps": [s.__dict__ for s in steps], "ok": ok}, human)
    return 0 if ok else 1
