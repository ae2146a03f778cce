"""ValidationReport: the verdicts of one validation, as HTML, Markdown and JSON.

The HTML is self-contained (inline CSS and SVG, no scripts) so it renders in
a notebook with ``displayHTML(report.to_html())`` and as a file from the CLI;
every distribution that drifted gets a small bar chart of baseline vs current
counts per bin.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dbx_ops.errors import CheckFailedError
from dbx_ops.validation.rules import RuleResult

_BASE_COLOUR = "#8da0cb"
_CUR_COLOUR = "#fc8d62"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of one validation run.

    Attributes:
        table: what was validated (table name or ``DataFrame``).
        baseline: the baseline as given (``previous``, ``version:3``...), None without one.
        run_id: the run id (shared with the stored profile and results).
        results: one verdict per rule and column.
        current: summary of the current profile.
        baseline_profile: summary of the baseline profile, None without one.
        validated_at: when the verdicts were made (UTC).
        engine: ``dbx_ops`` or ``great_expectations`` (a GE suite shown in this format).
    """

    table: str
    baseline: str | None
    run_id: str
    results: tuple[RuleResult, ...]
    current: Mapping[str, Any] = field(default_factory=dict)
    baseline_profile: Mapping[str, Any] | None = None
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    engine: str = "dbx_ops"

    @property
    def failures(self) -> list[RuleResult]:
        """Broken fail-severity rules."""
        return [r for r in self.results if r.failed_hard]

    @property
    def warnings(self) -> list[RuleResult]:
        """Broken warn-severity rules."""
        return [r for r in self.results if not r.passed and r.severity != "fail"]

    @property
    def passed(self) -> bool:
        """True when no fail-severity rule broke (warnings do not fail a run)."""
        return not self.failures

    @property
    def status(self) -> str:
        """``passed``, ``passed with warnings`` or ``failed``."""
        if self.failures:
            return "failed"
        return "passed with warnings" if self.warnings else "passed"

    def result(self, rule: str) -> RuleResult:
        """The verdict named ``rule`` (``null_rate_delta:amount``)."""
        for r in self.results:
            if r.rule == rule:
                return r
        raise KeyError(f"No result named {rule!r}; have {', '.join(r.rule for r in self.results)}.")

    def broken(self) -> list[str]:
        """Names of every rule that did not pass (fail or warn)."""
        return [r.rule for r in self.results if not r.passed]

    def summary(self) -> str:
        """One sentence: status and counts."""
        n_ok = sum(1 for r in self.results if r.passed)
        base = f" against {self.baseline}" if self.baseline else ""
        return (
            f"Validation of {self.table}{base} {self.status}: {n_ok} of {len(self.results)} checks passed, "
            f"{len(self.failures)} failed, {len(self.warnings)} warned."
        )

    def raise_on_failure(self) -> None:
        """Raise :class:`~dbx_ops.errors.CheckFailedError` when a fail-severity rule broke (for jobs)."""
        if self.failures:
            broken = "; ".join(f"{r.rule}: {r.message}" for r in self.failures[:5])
            more = f" (+{len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
            raise CheckFailedError(f"{self.summary()} {broken}{more}")

    # -- renderings --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "table": self.table,
            "baseline": self.baseline,
            "run_id": self.run_id,
            "engine": self.engine,
            "validated_at": self.validated_at.isoformat(),
            "status": self.status,
            "passed": self.passed,
            "summary": self.summary(),
            "current": dict(self.current),
            "baseline_profile": None if self.baseline_profile is None else dict(self.baseline_profile),
            "results": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        """JSON text."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_markdown(self) -> str:
        """A Markdown report: summary line and a table of every verdict, broken ones first."""
        lines = [f"## Validation of `{self.table}`", "", f"**{self.status.upper()}** — {self.summary()}", ""]
        if self.current:
            lines.append(f"- current: {_describe(self.current)}")
        if self.baseline_profile:
            lines.append(f"- baseline ({self.baseline}): {_describe(self.baseline_profile)}")
        lines += [
            "",
            "| verdict | rule | severity | observed | expected | message |",
            "|---|---|---|---|---|---|",
        ]
        for r in _ordered(self.results):
            cells = [_verdict(r), f"`{r.rule}`", r.severity, r.observed, r.expected, r.message]
            lines.append("| " + " | ".join(_md(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        """Plain text for a terminal."""
        lines = [self.summary()]
        for r in _ordered(self.results):
            lines.append(f"  [{_verdict(r):4}] {r.rule}: {r.message}")
        return "\n".join(lines)

    def to_html(self) -> str:
        """Self-contained HTML for ``displayHTML``: summary, verdicts, charts of drifted distributions."""
        colour = {"failed": "#c0392b", "passed with warnings": "#d68910", "passed": "#1e8449"}[self.status]
        e = html.escape
        parts = [
            '<div style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:13px">',
            f'<h3 style="margin:4px 0">Validation of <code>{e(self.table)}</code></h3>',
            f'<p style="margin:4px 0"><b style="color:{colour}">{e(self.status.upper())}</b> &mdash; '
            f"{e(self.summary())}</p>",
        ]
        if self.current:
            parts.append(f'<p style="margin:2px 0">current: {e(_describe(self.current))}</p>')
        if self.baseline_profile:
            parts.append(
                f'<p style="margin:2px 0">baseline ({e(str(self.baseline))}): '
                f"{e(_describe(self.baseline_profile))}</p>"
            )
        parts.append(
            '<table style="border-collapse:collapse;margin-top:6px">'
            "<tr>"
            + "".join(
                f'<th style="text-align:left;border-bottom:1px solid #999;padding:2px 8px">{h}</th>'
                for h in ("verdict", "rule", "severity", "observed", "expected", "message")
            )
            + "</tr>"
        )
        for r in _ordered(self.results):
            badge = {"FAIL": "#c0392b", "WARN": "#d68910", "ok": "#1e8449"}[_verdict(r)]
            cells = [
                f'<b style="color:{badge}">{_verdict(r)}</b>',
                f"<code>{e(r.rule)}</code>",
                e(r.severity),
                e(r.observed),
                e(r.expected),
                e(r.message),
            ]
            parts.append(
                "<tr>"
                + "".join(f'<td style="padding:2px 8px;border-bottom:1px solid #eee">{c}</td>' for c in cells)
                + "</tr>"
            )
        parts.append("</table>")
        drifted = [r for r in self.results if r.chart is not None and not r.passed]
        if drifted:
            parts.append('<h4 style="margin:10px 0 4px">Distributions that drifted</h4>')
            parts.append(
                f'<p style="margin:2px 0"><span style="color:{_BASE_COLOUR}">&#9632;</span> baseline '
                f'<span style="color:{_CUR_COLOUR}">&#9632;</span> current (share of non-null rows)</p>'
            )
            parts.append('<div style="display:flex;flex-wrap:wrap;gap:12px">')
            for r in drifted:
                assert r.chart is not None
                parts.append(
                    f'<figure style="margin:0"><figcaption><code>{e(r.rule)}</code> '
                    f"{e(r.observed)}</figcaption>{bar_chart_svg(r.chart)}</figure>"
                )
            parts.append("</div>")
        parts.append("</div>")
        return "\n".join(parts)


def bar_chart_svg(chart: Mapping[str, Any], width: int = 320, height: int = 140) -> str:
    """A small SVG bar chart of baseline vs current shares per bin.

    Args:
        chart: ``{"labels": [...], "baseline": [counts], "current": [counts]}``.
        width: SVG width in pixels.
        height: SVG height in pixels.
    """
    labels = [str(x) for x in chart.get("labels", [])]
    base = _shares(chart.get("baseline", []))
    cur = _shares(chart.get("current", []))
    n = max(len(labels), len(base), len(cur), 1)
    top = max([*base, *cur, 1e-9])
    plot_h = height - 30
    slot = (width - 10) / n
    bar = max(slot / 2 - 1, 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<line x1="5" y1="{plot_h + 5}" x2="{width - 5}" y2="{plot_h + 5}" stroke="#999"/>',
    ]
    for i in range(n):
        x = 5 + i * slot
        for j, (values, colour) in enumerate(((base, _BASE_COLOUR), (cur, _CUR_COLOUR))):
            v = values[i] if i < len(values) else 0.0
            h = v / top * plot_h
            label = html.escape(labels[i] if i < len(labels) else str(i))
            title = f"{label}: {'baseline' if j == 0 else 'current'} {v:.1%}"
            out.append(
                f'<rect x="{x + j * bar:.1f}" y="{plot_h + 5 - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{title}</title></rect>'
            )
        if n <= 12 and i < len(labels):
            text = html.escape(labels[i][:10])
            out.append(
                f'<text x="{x + slot / 2:.1f}" y="{height - 8}" font-size="8" '
                f'text-anchor="middle">{text}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def _shares(counts: Sequence[Any]) -> list[float]:
    values = [float(c) for c in counts]
    total = sum(values)
    return [v / total for v in values] if total else [0.0 for _ in values]


def _ordered(results: Sequence[RuleResult]) -> list[RuleResult]:
    rank = {"FAIL": 0, "WARN": 1, "ok": 2}
    return sorted(results, key=lambda r: rank[_verdict(r)])


def _verdict(r: RuleResult) -> str:
    if r.passed:
        return "ok"
    return "FAIL" if r.severity == "fail" else "WARN"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _describe(summary: Mapping[str, Any]) -> str:
    parts = [str(summary.get("table") or "DataFrame")]
    if summary.get("delta_version") is not None:
        parts.append(f"version {summary['delta_version']}")
    if summary.get("filter"):
        parts.append(f"where {summary['filter']}")
    if summary.get("row_count") is not None:
        parts.append(f"{int(summary['row_count']):,} rows")
    if summary.get("profiled_at"):
        parts.append(f"profiled {summary['profiled_at']}")
    return ", ".join(parts)
