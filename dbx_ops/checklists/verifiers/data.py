"""Data and environment verifiers: snapshots, validation, the lock, job health (each calls the library)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dbx_ops.checklists.model import Evidence, EvidenceKind, RunContext
from dbx_ops.checklists.verifiers.base import (
    NotAvailable,
    VerifierContext,
    VerifierResult,
    named,
    register,
    text_evidence,
)
from dbx_ops.clock import as_utc


def _report_ok(report: Any) -> bool:
    """``report.ok`` (the house shape), or ``passed`` on reports not renamed yet."""
    ok = getattr(report, "ok", None)
    return bool(report.passed if ok is None else ok)


def _report_problem(report: Any) -> str:
    failures = getattr(report, "failures", None) or []
    if failures:
        first = failures[0]
        return str(getattr(first, "message", None) or getattr(first, "rule", first))
    return str(getattr(report, "status", "failed"))


@register(
    "snapshot_exists",
    "Each named table has a live, restorable snapshot (dbx_ops.snapshots registry; optional label).",
    params=("tables", "label"),
    needs=("spark",),
)
def verify_snapshots(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Look each table up in the snapshot registry; restorable = not dropped/expired and within retention."""
    from dbx_ops.snapshots.registry import Registry, qualify, same_table

    tables = named(params, "tables", run.tables, "tables")
    label = str(params.get("label") or "")
    registry = Registry(ctx.spark, ctx.store)
    now = as_utc(ctx.now())
    records = registry.records(label if label and "{" not in label else None)
    ended = registry.ended(label if label and "{" not in label else None)
    missing, found = [], []
    for table in tables:
        wanted = str(qualify(ctx.spark, table))
        live = [
            r
            for r in records
            if same_table(r.table_name, wanted)
            and (r.label, r.table_name) not in ended
            and (r.restorable_until is None or as_utc(r.restorable_until) > now)
        ]
        if live:
            rec = live[-1]
            found.append(
                Evidence(EvidenceKind.TABLE, f"{rec.table_name}@v{rec.version} (snapshot {rec.label})")
            )
        else:
            missing.append(table)
    if missing:
        return VerifierResult.failed(f"no restorable snapshot of {', '.join(missing)}", *found)
    return VerifierResult.passed(f"{len(found)} table(s) have a restorable snapshot", *found)


@register(
    "tables_validate",
    "Each named table passes validation (dbx_ops.validation) against its baseline (default or given rules).",
    params=("tables", "baseline", "rules"),
    needs=("spark",),
)
def verify_validation(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Validate each table; evidence per table (ok or the first failing check)."""
    from dbx_ops.validation.validator import Validator

    tables = named(params, "tables", run.tables, "tables")
    baseline = params.get("baseline") or "previous"
    rules = params.get("rules") or None
    if isinstance(rules, str) and ("{" in rules or not rules):
        rules = None
    if isinstance(rules, str):
        rules = str(ctx.in_repo(rules))
    validator = Validator(ctx.spark, ctx.store)
    evidence, failed = [], []
    for table in tables:
        report = validator.validate(table, baseline=baseline, rules=rules)
        if _report_ok(report):
            evidence.append(Evidence(EvidenceKind.TABLE, f"{table}: ok"))
        else:
            failed.append(table)
            evidence.append(Evidence(EvidenceKind.TABLE, f"{table}: {_report_problem(report)}"))
    if failed:
        return VerifierResult.failed(f"validation failed for {', '.join(failed)}", *evidence)
    return VerifierResult.passed(f"{len(tables)} table(s) pass validation", *evidence)


@register(
    "env_matches_lock",
    "The Python environment matches the dependency lock (dbx_ops.deps envcheck).",
    params=("lock", "strays"),
)
def verify_env(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Check the running interpreter against ``lock`` (or the context's lock)."""
    from dbx_ops.deps.envcheck import check_environment

    lock = str(params.get("lock") or "")
    given = Path(lock) if lock and "{" not in lock else ctx.lock
    if given is None:
        raise NotAvailable("no lock file (set the item's lock or run with --lock)")
    path = ctx.in_repo(given)
    if not path.is_file():
        raise NotAvailable(f"lock file {path} does not exist")
    strays = str(params.get("strays", "true")).lower() not in ("false", "0", "no")
    report = check_environment(path, strays=strays)
    ev = [
        Evidence(EvidenceKind.FILE, str(path)),
        text_evidence(f"{report.checked} pins checked, {len(report.drifts)} drift(s)"),
    ]
    ev += [
        text_evidence(f"{d.kind}: {d.package} {d.installed or '-'} (lock {d.expected or '-'})")
        for d in report.drifts[:5]
    ]
    if report.ok:
        return VerifierResult.passed(f"environment matches the lock ({report.checked} pins)", *ev)
    return VerifierResult.failed(f"{len(report.drifts)} package(s) drifted from the lock", *ev)


@register(
    "jobs_healthy",
    "The named jobs are healthy (dbx_ops.jobs health: success rate, duration, failures in a row).",
    params=("jobs",),
    needs=("ws",),
)
def verify_jobs_health(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Check each job's health; HEALTHY passes, anything else fails with its status."""
    from dbx_ops.jobs.health import JobHealthChecker

    jobs = named(params, "jobs", run.jobs, "jobs")
    checker = JobHealthChecker(ctx.ws, store=ctx.store)
    evidence, bad = [], []
    for job in jobs:
        health = checker.check(int(job) if job.isdigit() else job)
        evidence.append(
            Evidence(
                EvidenceKind.RUN_ID,
                f"{health.job_name} ({health.job_id}): {health.status}, last run {health.last_run_id}",
            )
        )
        if str(health.status) != "HEALTHY":
            bad.append(f"{health.job_name}: {health.status}")
    if bad:
        return VerifierResult.failed("; ".join(bad), *evidence)
    return VerifierResult.passed(f"{len(jobs)} job(s) healthy", *evidence)
