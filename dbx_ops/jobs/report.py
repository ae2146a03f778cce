"""Rendering of job health, rollbacks and deployments: text, Markdown, HTML (pure)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dbx_ops.jobs.deploy import DeployResult
from dbx_ops.jobs.health import JobHealth
from dbx_ops.jobs.rollback import RollbackResult

HEALTH_COLUMNS = [
    "job_id",
    "job_name",
    "status",
    "runs",
    "success_rate",
    "mean_s",
    "p95_s",
    "last_state",
    "fails_in_row",
    "alerts",
]
_COLOURS = {"HEALTHY": "#1b7f3b", "DEGRADED": "#b36b00", "UNHEALTHY": "#b00020", "NO_RUNS": "#666666"}


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def health_rows(results: Sequence[JobHealth]) -> list[dict[str, Any]]:
    """One display row per job."""
    return [
        {
            "job_id": h.job_id,
            "job_name": h.job_name,
            "status": h.status,
            "runs": h.runs,
            "success_rate": "" if h.success_rate is None else f"{h.success_rate:.0%}",
            "mean_s": _fmt(h.mean_duration_s),
            "p95_s": _fmt(h.p95_duration_s),
            "last_state": h.last_state or "",
            "fails_in_row": h.consecutive_failures,
            "alerts": "; ".join(f"{a.severity} {a.rule}" for a in h.alerts),
        }
        for h in results
    ]


def health_alert_lines(results: Sequence[JobHealth]) -> list[str]:
    """One line per fired alert, P1 first."""
    alerts = [(a.severity, h.job_name, a.message) for h in results for a in h.alerts]
    return [f"[{sev}] {msg}" for sev, _, msg in sorted(alerts)]


def health_markdown(results: Sequence[JobHealth]) -> str:
    """A Markdown table of job health plus the alerts."""
    rows = health_rows(results)
    lines = ["| " + " | ".join(HEALTH_COLUMNS) + " |", "|" + "---|" * len(HEALTH_COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(str(r[c]).replace("|", "\\|") for c in HEALTH_COLUMNS) + " |")
    alerts = health_alert_lines(results)
    if alerts:
        lines += ["", "**Alerts**", ""] + [f"- {a}" for a in alerts]
    return "\n".join(lines) + "\n"


def health_html(results: Sequence[JobHealth], title: str = "Job health") -> str:
    """An HTML table of job health for ``displayHTML`` in a notebook."""
    esc = html.escape
    head = "".join(f"<th style='text-align:left;padding:4px 8px'>{esc(c)}</th>" for c in HEALTH_COLUMNS)
    body = []
    for h, r in zip(results, health_rows(results), strict=True):
        cells = []
        for c in HEALTH_COLUMNS:
            style = "padding:4px 8px"
            if c == "status":
                style += f";color:{_COLOURS.get(h.status, '#000')};font-weight:bold"
            cells.append(f"<td style='{style}'>{esc(str(r[c]))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    alerts = "".join(f"<li>{esc(a)}</li>" for a in health_alert_lines(results))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<div><h3>{esc(title)}</h3><p style='color:#666'>{esc(stamp)}</p>"
        f"<table style='border-collapse:collapse'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
        + (f"<h4>Alerts</h4><ul>{alerts}</ul>" if alerts else "<p>No alerts.</p>")
        + "</div>"
    )


def rollback_markdown(result: RollbackResult) -> str:
    """A Markdown account of a rollback (or its plan)."""
    lines = [f"## Rollback of {result.job_name} ({result.job_id}): {result.status}", ""]
    if result.backup_version:
        lines.append(f"Target definition: `{result.backup_version}`")
    if result.resumed:
        lines.append("Continued an interrupted rollback from its journal.")
    lines.append("")
    for s in result.steps:
        mark = "x" if s.get("done") or result.status == "planned" else " "
        lines.append(f"- [{mark}] **{s['step']}**: {s.get('detail', 'not done')}")
    if result.changes:
        lines += ["", "Changes (live -> backup):", ""]
        lines += [f"- `{c['path']}`: {c['live']!r} -> {c['backup']!r}" for c in result.changes]
    if result.summary:
        lines += ["", f"> {result.summary}"]
    return "\n".join(lines) + "\n"


def rollback_html(result: RollbackResult) -> str:
    """The rollback account as HTML for ``displayHTML``."""
    esc = html.escape
    items = "".join(
        f"<li><b>{esc(s['step'])}</b>: {esc(str(s.get('detail', 'not done')))}</li>" for s in result.steps
    )
    summary = f"<blockquote>{esc(result.summary)}</blockquote>" if result.summary else ""
    return (
        f"<div><h3>Rollback of {esc(result.job_name)} ({result.job_id}): {esc(result.status)}</h3>"
        f"<p>Target definition: <code>{esc(str(result.backup_version))}</code></p>"
        f"<ol>{items}</ol>{summary}</div>"
    )


def deploy_markdown(result: DeployResult) -> str:
    """A Markdown deployment report."""
    verdict = "dry run" if result.dry_run else ("succeeded" if result.success else "FAILED")
    lines = [
        f"## Deployment {result.deployment_id}: {verdict}",
        "",
        f"- job: {result.job_name} ({result.job_id}); previous: {result.previous_job_id}",
        f"- strategy: {result.strategy}; environment: {result.environment}",
    ]
    if result.backup_version:
        lines.append(f"- previous definition backed up as `{result.backup_version}`")
    if result.test_run_id:
        lines.append(f"- test run {result.test_run_id}: {result.test_run_result}")
    if result.error:
        lines.append(f"- error: {result.error}")
    if result.checks:
        lines += ["", "Checks:", ""] + [
            f"- [{'x' if c.ok else ' '}] {c.name}: {c.message}" for c in result.checks
        ]
    lines += ["", "Steps:" if not result.dry_run else "Plan:", ""] + [f"1. {s}" for s in result.steps]
    if result.changes:
        lines += ["", f"{len(result.changes)} change(s):", ""]
        lines += [f"- `{c['path']}`: {c['previous']!r} -> {c['new']!r}" for c in result.changes[:50]]
    return "\n".join(lines) + "\n"


def deploy_html(result: DeployResult) -> str:
    """The deployment report as HTML."""
    esc = html.escape
    return "<pre>" + esc(deploy_markdown(result)) + "</pre>"
