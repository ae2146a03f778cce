"""Rendering of job health, rollbacks and deployments: text, Markdown, HTML (pure).

Everything goes through :mod:`dbx_ops.render` (one palette, one escaping rule);
nothing here reads the clock: times are passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dbx_ops import render
from dbx_ops.verdict import checks_html, checks_markdown

if TYPE_CHECKING:
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


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def health_tone(h: JobHealth) -> render.Tone:
    """The tone of a job's status: fail when unhealthy, warn when degraded, muted without runs."""
    from dbx_ops.jobs.health import HealthStatus

    return {
        HealthStatus.HEALTHY: render.Tone.OK,
        HealthStatus.DEGRADED: render.Tone.WARN,
        HealthStatus.UNHEALTHY: render.Tone.FAIL,
        HealthStatus.NO_RUNS: render.Tone.MUTED,
    }[h.status]


def health_rows(results: Sequence[JobHealth]) -> list[dict[str, Any]]:
    """One display row per job."""
    return [
        {
            "job_id": h.job_id,
            "job_name": h.job_name,
            "status": str(h.status),
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
    alerts = [(str(a.severity), h.job_name, a.message) for h in results for a in h.alerts]
    return [f"[{sev}] {msg}" for sev, _, msg in sorted(alerts)]


def health_text(results: Sequence[JobHealth]) -> str:
    """The terminal report: a table, then the alerts."""
    lines = [render.text_table(health_rows(results), HEALTH_COLUMNS)]
    lines += health_alert_lines(results) or ["No alerts."]
    return "\n".join(lines)


def health_markdown(results: Sequence[JobHealth], checked_at: datetime | None = None) -> str:
    """A Markdown table of job health plus the alerts."""
    rows = health_rows(results)
    lines = []
    if checked_at is not None:
        lines += [f"Checked at {render.fmt(checked_at)} UTC", ""]
    lines.append(render.md_table([[r[c] for c in HEALTH_COLUMNS] for r in rows], HEALTH_COLUMNS))
    alerts = health_alert_lines(results)
    if alerts:
        lines += ["", "**Alerts**", ""] + [f"- {a}" for a in alerts]
    return "\n".join(lines) + "\n"


def health_html(
    results: Sequence[JobHealth], title: str = "Job health", checked_at: datetime | None = None
) -> str:
    """An HTML table of job health for ``displayHTML`` in a notebook."""
    rows = health_rows(results)
    status_col = HEALTH_COLUMNS.index("status")
    cells = []
    for h, r in zip(results, rows, strict=True):
        row: list[Any] = [r[c] for c in HEALTH_COLUMNS]
        row[status_col] = render.badge(h.status, health_tone(h))
        cells.append(row)
    table = render.html_table(cells, HEALTH_COLUMNS, [health_tone(h) for h in results], [status_col])
    alerts = health_alert_lines(results)
    ok = all(h.ok for h in results)
    card = render.verdict_card(
        title,
        ok,
        f"{len(results)} job(s)" + (f", checked at {render.fmt(checked_at)} UTC" if checked_at else ""),
        warn=bool(alerts),
    )
    body = render.section("Alerts", render.html_list(alerts), 4) if alerts else render.paragraph("No alerts.")
    return render.container(card, table, body)


# -- rollback ------------------------------------------------------------------------------------


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
    steps = render.html_table(
        [[s["step"], render.fmt(bool(s.get("done"))), s.get("detail", "not done")] for s in result.steps],
        ["step", "done", "detail"],
    )
    parts = [
        render.verdict_card(
            f"Rollback of {result.job_name} ({result.job_id})", result.ok, str(result.status)
        ),
        render.paragraph(f"Target definition: {result.backup_version or '-'}"),
        steps,
    ]
    if result.changes:
        parts.append(
            render.html_table(
                [[c["path"], c["live"], c["backup"]] for c in result.changes], ["field", "live", "backup"]
            )
        )
    if result.summary:
        parts.append(render.section("Incident summary", render.paragraph(result.summary), 4))
    return render.container(*parts)


# -- deployment ----------------------------------------------------------------------------------


def deploy_markdown(result: DeployResult) -> str:
    """A Markdown deployment report (or plan, on a dry run)."""
    verdict = "dry run" if result.dry_run else ("succeeded" if result.ok else "FAILED")
    lines = [f"## Deployment {result.deployment_id}: {verdict}", ""]
    if result.job_id is not None:
        lines.append(f"- job: {result.job_name} ({result.job_id})")
    else:
        lines.append(f"- job: {result.job_name} (new)")
    if result.previous_job_id is not None and result.previous_job_id != result.job_id:
        lines.append(f"- previous job: {result.previous_job_id}")
    lines.append(f"- strategy: {result.strategy}; environment: {result.environment}")
    if result.backup_version:
        lines.append(f"- previous definition backed up as `{result.backup_version}`")
    if result.test_run_id:
        lines.append(f"- test run {result.test_run_id}: {result.test_run_result}")
    if result.error:
        lines.append(f"- error: {result.error}")
    if result.checks:
        lines += ["", "Checks:", "", checks_markdown(result.checks)]
    lines += ["", "Plan:" if result.dry_run else "Steps:", ""]
    lines += [f"{i}. {s}" for i, s in enumerate(result.steps, start=1)]
    if result.changes:
        lines += ["", f"{len(result.changes)} change(s):", ""]
        lines += [f"- `{c['path']}`: {c['previous']!r} -> {c['new']!r}" for c in result.changes[:50]]
        if len(result.changes) > 50:
            lines.append(f"- ... and {len(result.changes) - 50} more (see --json)")
    elif result.previous_job_id is not None:
        lines += ["", "No change to the definition."]
    return "\n".join(lines) + "\n"


def deploy_html(result: DeployResult) -> str:
    """The deployment report as HTML."""
    verdict = "dry run" if result.dry_run else ("succeeded" if result.ok else "failed")
    parts = [
        render.verdict_card(f"Deployment {result.deployment_id}", result.ok, f"{result.job_name}: {verdict}"),
        render.html_list(result.steps),
    ]
    if result.checks:
        parts.append(render.section("Checks", checks_html(result.checks), 4))
    if result.changes:
        parts.append(
            render.html_table(
                [[c["path"], c["previous"], c["new"]] for c in result.changes], ["field", "previous", "new"]
            )
        )
    return render.container(*parts)
