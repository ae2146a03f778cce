"""Workspace verifiers (databricks-sdk): secret scopes, token expiry, IP lists, run_as, cluster policies.

Each one calls the workspace API through the client it is given; an
endpoint the workspace does not serve (404 / 501 on a list call, a disabled
feature) or is not allowed to read makes the result "not available" with the
reason, never a pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from dbx_ops.checklists.model import Evidence, EvidenceKind, RunContext
from dbx_ops.checklists.verifiers.base import (
    NotAvailable,
    VerifierContext,
    VerifierResult,
    named,
    register,
    text_evidence,
)

T = TypeVar("T")


def endpoint(what: str, fn: Callable[[], T]) -> T:
    """Call ``fn``; a missing or forbidden endpoint becomes :class:`NotAvailable` naming ``what``."""
    try:
        return fn()
    except Exception as exc:
        name = type(exc).__name__
        text = (str(exc).splitlines() or [name])[0]
        status = getattr(getattr(exc, "response", None), "status_code", None) or getattr(
            exc, "status_code", None
        )
        missing = name in (
            "NotFound",
            "NotImplemented",
            "ResourceDoesNotExist",
            "FeatureDisabled",
        ) or status in (404, 501)
        missing = missing or any(
            s in text for s in ("ENDPOINT_NOT_FOUND", "FEATURE_DISABLED", "No API found", "not found")
        )
        if missing:
            raise NotAvailable(f"the workspace does not serve {what} ({text})") from None
        if name in ("PermissionDenied", "Unauthenticated") or status in (401, 403):
            raise NotAvailable(f"not allowed to read {what} ({text})") from None
        raise


def _list_keys(ws: Any, scope: str) -> list[Any]:
    return list(ws.secrets.list_secrets(scope=scope))


def _kind(x: Any) -> str:
    kind = getattr(x, "list_type", None)
    return str(getattr(kind, "value", kind or ""))


def _job_settings(ws: Any, jobs: list[str]) -> list[tuple[str, dict[str, Any]]]:
    from dbx_ops.jobs.api import get_job

    out = []
    for ref in jobs:
        job = get_job(ws, int(ref) if ref.isdigit() else ref)
        settings = job.settings.as_dict() if job.settings is not None else {}
        out.append((str(settings.get("name") or job.job_id), settings))
    return out


@register(
    "secret_scopes_exist",
    "Secret scopes (and scope/key pairs) exist: those named and those jobs reference as {{secrets/s/k}}.",
    params=("scopes", "jobs"),
    needs=("ws",),
)
def verify_secret_scopes(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """List scopes (and keys) and compare with what is wanted."""
    from dbx_ops.secrets import SECRET_REF

    wanted = set(named(params, "scopes"))
    named_jobs = named(params, "jobs", run.jobs)
    if named_jobs:
        import json

        for _, settings in _job_settings(ctx.ws, named_jobs):
            wanted |= {f"{m.group(1)}/{m.group(2)}" for m in SECRET_REF.finditer(json.dumps(settings))}
    if not wanted:
        raise NotAvailable("no scopes named and the jobs reference none (set scopes or jobs)")
    scopes = {s.name for s in endpoint("secret scopes", lambda: list(ctx.ws.secrets.list_scopes()))}
    missing = []
    keys_cache: dict[str, set[str]] = {}
    for entry in sorted(wanted):
        scope, _, key = entry.partition("/")
        if scope not in scopes:
            missing.append(f"scope {scope}")
            continue
        if key:
            if scope not in keys_cache:
                listed: list[Any] = endpoint("secret keys", partial(_list_keys, ctx.ws, scope))
                keys_cache[scope] = {k.key for k in listed}
            if key not in keys_cache[scope]:
                missing.append(f"key {scope}/{key}")
    ev = [text_evidence(f"wanted: {', '.join(sorted(wanted))}")]
    if missing:
        return VerifierResult.failed(f"missing: {', '.join(missing)}", *ev)
    return VerifierResult.passed(f"{len(wanted)} secret scope(s)/key(s) exist", *ev)


@register(
    "tokens_expire",
    "Personal access tokens expire within max_days (default 90) of creation (token management, else own).",
    params=("max_days",),
    needs=("ws",),
)
def verify_tokens(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Every token has an expiry and lives at most ``max_days``."""
    max_days = int(params.get("max_days") or 90)
    try:
        tokens = endpoint("token management", lambda: list(ctx.ws.token_management.list()))
        source = "token management"
    except NotAvailable:
        tokens = endpoint("tokens", lambda: list(ctx.ws.tokens.list()))
        source = "own tokens"
    limit_ms = int(timedelta(days=max_days).total_seconds() * 1000)
    bad = []
    for t in tokens:
        expiry = getattr(t, "expiry_time", None)
        created = getattr(t, "creation_time", None)
        name = getattr(t, "comment", None) or getattr(t, "token_id", "?")
        if not expiry or expiry <= 0:
            bad.append(f"{name}: never expires")
        elif created and expiry - created > limit_ms:
            bad.append(f"{name}: lives {int((expiry - created) / 86_400_000)} days")
    ev = [text_evidence(f"{len(tokens)} token(s) from {source}")] + [text_evidence(b) for b in bad[:10]]
    if bad:
        return VerifierResult.failed(f"{len(bad)} token(s) outlive {max_days} days", *ev)
    return VerifierResult.passed(f"all {len(tokens)} token(s) expire within {max_days} days", *ev)


@register("ip_access_lists", "IP access lists are configured and enabled in the workspace.", needs=("ws",))
def verify_ip_lists(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """At least one enabled ALLOW list."""
    lists = endpoint("IP access lists", lambda: list(ctx.ws.ip_access_lists.list()))
    enabled = [x for x in lists if getattr(x, "enabled", True)]
    ev = [
        text_evidence(
            f"{getattr(x, 'label', '?')}: {_kind(x)}, "
            f"{len(getattr(x, 'ip_addresses', None) or [])} address(es)"
        )
        for x in enabled[:10]
    ]
    if not enabled:
        return VerifierResult.failed(
            "no enabled IP access list", text_evidence(f"{len(lists)} list(s), none enabled")
        )
    return VerifierResult.passed(f"{len(enabled)} enabled IP access list(s)", *ev)


@register(
    "prod_run_as_service_principal",
    "Production jobs run as a service principal (settings.run_as.service_principal_name).",
    params=("jobs", "target"),
    needs=("ws",),
)
def verify_run_as(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Each named job's ``run_as`` is a service principal."""
    jobs = named(params, "jobs", run.jobs, "jobs")
    bad, ev = [], []
    for name, settings in _job_settings(ctx.ws, jobs):
        run_as = settings.get("run_as") or {}
        sp = run_as.get("service_principal_name")
        if sp:
            ev.append(text_evidence(f"{name}: run_as service principal {sp}"))
        else:
            who = run_as.get("user_name") or "the job owner"
            bad.append(f"{name} runs as {who}")
    if bad:
        return VerifierResult.failed("; ".join(bad), *ev)
    return VerifierResult.passed(f"{len(jobs)} job(s) run as a service principal", *ev)


@register(
    "job_clusters_use_policy",
    "Every new cluster of the named jobs sets a cluster policy (policy_id), and the policy exists.",
    params=("jobs",),
    needs=("ws",),
)
def verify_policies(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Each job/task new_cluster has ``policy_id``; the policies exist in the workspace."""
    jobs = named(params, "jobs", run.jobs, "jobs")
    bad, used = [], set()
    for name, settings in _job_settings(ctx.ws, jobs):
        clusters = [
            (f"{name}/{jc.get('job_cluster_key')}", jc.get("new_cluster") or {})
            for jc in settings.get("job_clusters") or []
        ]
        clusters += [
            (f"{name}/{t.get('task_key')}", t["new_cluster"])
            for t in settings.get("tasks") or []
            if t.get("new_cluster")
        ]
        for where, cluster in clusters:
            if cluster.get("policy_id"):
                used.add(str(cluster["policy_id"]))
            else:
                bad.append(f"{where} has no policy")
    if used:
        known = {
            p.policy_id for p in endpoint("cluster policies", lambda: list(ctx.ws.cluster_policies.list()))
        }
        bad += [f"policy {p} does not exist" for p in sorted(used - known)]
    ev = [Evidence(EvidenceKind.TEXT, f"policies used: {', '.join(sorted(used)) or 'none'}")]
    if bad:
        return VerifierResult.failed("; ".join(bad[:5]), *ev)
    return VerifierResult.passed(f"every job cluster of {len(jobs)} job(s) uses a policy", *ev)
