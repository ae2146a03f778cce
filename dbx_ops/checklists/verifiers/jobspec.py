"""Job spec lint: timeout, concurrency, failure notifications, tags, retries, policy or pool, no secrets.

Reads a job JSON/YAML file (the settings, or ``{settings: ...}``), a bundle
resource file (``resources: jobs: {key: settings}``), or the resolved
configuration ``databricks bundle validate -o json`` prints (same
``resources.jobs`` shape). Structure is checked by
:func:`dbx_ops.jobs.deploy.spec_problems`; credentials by
:mod:`dbx_ops.checklists.verifiers.secrets`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from dbx_ops.checklists.model import Evidence, EvidenceKind, RunContext
from dbx_ops.checklists.verifiers.base import (
    NotAvailable,
    VerifierContext,
    VerifierResult,
    register,
    text_evidence,
)
from dbx_ops.checklists.verifiers.secrets import find_secrets
from dbx_ops.errors import InvalidInputError
from dbx_ops.verdict import Check


def jobs_in(data: Any, source: str = "the document") -> dict[str, dict[str, Any]]:
    """Job settings by key from a job file, a bundle resource file or ``bundle validate -o json`` output."""
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"{source} is not a job definition or bundle configuration.")
    resources = data.get("resources")
    if isinstance(resources, Mapping) and isinstance(resources.get("jobs"), Mapping):
        return {str(k): dict(v or {}) for k, v in resources["jobs"].items()}
    for key in ("settings", "new_settings"):
        if isinstance(data.get(key), Mapping):
            data = data[key]
    if "tasks" in data or "name" in data:
        return {str(data.get("name") or "job"): dict(data)}
    raise InvalidInputError(f"{source} has no job settings (no tasks, no resources.jobs).")


def _clusters(spec: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    out = [
        (f"job cluster {jc.get('job_cluster_key')}", jc.get("new_cluster") or {})
        for jc in spec.get("job_clusters") or []
        if isinstance(jc, Mapping)
    ]
    out += [
        (f"task {t.get('task_key')} cluster", t["new_cluster"])
        for t in spec.get("tasks") or []
        if isinstance(t, Mapping) and isinstance(t.get("new_cluster"), Mapping)
    ]
    return out


def lint_job(key: str, spec: Mapping[str, Any]) -> list[Check]:
    """Production lint of one job's settings (pure)."""
    from dbx_ops.jobs.deploy import spec_problems

    checks: list[Check] = []
    problems = spec_problems(spec)
    checks.append(Check(f"{key}: structure", not problems, "valid", "; ".join(problems) or "valid"))
    timeout = spec.get("timeout_seconds")
    checks.append(
        Check(
            f"{key}: timeout_seconds",
            isinstance(timeout, int) and timeout > 0,
            "> 0",
            str(timeout or "unset"),
        )
    )
    mcr = spec.get("max_concurrent_runs")
    checks.append(
        Check(
            f"{key}: max_concurrent_runs",
            isinstance(mcr, int) and mcr >= 1,
            "set (>= 1)",
            str(mcr or "unset"),
        )
    )
    email = (spec.get("email_notifications") or {}).get("on_failure") or []
    hooks = (spec.get("webhook_notifications") or {}).get("on_failure") or []
    checks.append(
        Check(
            f"{key}: failure notifications",
            bool(email or hooks),
            "email or webhook on_failure",
            f"{len(email)} email, {len(hooks)} webhook",
        )
    )
    tags = spec.get("tags") or {}
    checks.append(Check(f"{key}: tags", bool(tags), "at least one tag", ", ".join(sorted(tags)) or "none"))
    tasks = [t for t in spec.get("tasks") or [] if isinstance(t, Mapping)]
    no_retry = [str(t.get("task_key")) for t in tasks if "max_retries" not in t]
    checks.append(
        Check(
            f"{key}: retries",
            not no_retry,
            "max_retries set on every task",
            f"missing on {', '.join(no_retry)}" if no_retry else "set",
        )
    )
    clusters = _clusters(spec)
    bare = [name for name, c in clusters if not (c.get("policy_id") or c.get("instance_pool_id"))]
    checks.append(
        Check(
            f"{key}: cluster policy or pool",
            not bare,
            "policy_id or instance_pool_id on every new cluster",
            f"missing on {', '.join(bare)}" if bare else f"{len(clusters)} cluster(s) ok",
        )
    )
    secrets = find_secrets(spec)
    checks.append(
        Check(
            f"{key}: no hard-coded credentials",
            not secrets,
            "none",
            "; ".join(f.text() for f in secrets[:5]) or "none",
        )
    )
    return checks


def lint_document(data: Any, source: str = "the document") -> list[Check]:
    """Lint every job of a job file / bundle resource / bundle validate output."""
    return [c for key, spec in jobs_in(data, source).items() for c in lint_job(key, spec)]


def _result(checks: list[Check], source: str) -> VerifierResult:
    failed = [c for c in checks if not c.ok]
    evidence = [Evidence(EvidenceKind.FILE, source)] + [
        text_evidence(f"{c.name}: {c.actual}") for c in failed[:10]
    ]
    if failed:
        return VerifierResult.failed(f"{len(failed)} of {len(checks)} job spec checks failed", *evidence)
    return VerifierResult.passed(f"all {len(checks)} job spec checks passed", *evidence)


def bundle_validate_json(
    binary: Path, folder: Path, target: str, env: Mapping[str, str], timeout: int = 180
) -> dict[str, Any]:
    """Run ``databricks bundle validate -o json -t TARGET`` in ``folder``; the resolved configuration."""
    import os

    run = subprocess.run(
        [str(binary), "bundle", "validate", "-o", "json", "-t", target],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
    )
    if run.returncode != 0:
        first = (run.stderr or run.stdout).strip().splitlines()
        raise InvalidInputError(
            f"databricks bundle validate -t {target} failed: {first[-1] if first else run.returncode}"
        )
    data = json.loads(run.stdout)
    return data if isinstance(data, dict) else {}


def databricks_binary(ctx: VerifierContext) -> Path:
    """The databricks CLI: the context's, else ``.cache/bin/databricks`` in the repository, else PATH."""
    candidates = [ctx.databricks_bin] if ctx.databricks_bin else []
    if ctx.repo is not None:
        candidates.append(Path(ctx.repo) / ".cache" / "bin" / "databricks")
    import shutil

    found = shutil.which("databricks")
    if found:
        candidates.append(Path(found))
    for c in candidates:
        if c is not None and Path(c).is_file():
            return Path(c)
    raise NotAvailable("no databricks CLI binary (.cache/bin/databricks or on PATH)")


@register(
    "job_spec_lint",
    "Job settings set timeout, max_concurrent_runs, failure notifications, tags, retries, a cluster policy "
    "or pool, and no hard-coded tokens or passwords (job file, bundle resource or bundle validate JSON).",
    params=("spec", "bundle_target"),
)
def verify_job_spec(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Lint a job spec file, or the resolved bundle configuration for ``bundle_target``."""
    spec = str(params.get("spec") or "")
    target = str(params.get("bundle_target") or "")
    if spec and "{" not in spec:
        path = Path(spec) if Path(spec).is_absolute() or ctx.repo is None else Path(ctx.repo) / spec
        if not path.is_file():
            return VerifierResult.failed(
                f"job spec {path} does not exist", Evidence(EvidenceKind.FILE, str(path))
            )
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            return VerifierResult.failed(f"{path} is not valid YAML/JSON: {str(exc).splitlines()[0]}")
        return _result(lint_document(data, str(path)), str(path))
    if target and "{" not in target:
        folder = Path(ctx.need("repo"))
        data = bundle_validate_json(databricks_binary(ctx), folder, target, ctx.env)
        return _result(lint_document(data, f"bundle validate -t {target}"), f"bundle validate -t {target}")
    raise NotAvailable("no job spec given (set the item's spec or the run context fact job_spec)")
