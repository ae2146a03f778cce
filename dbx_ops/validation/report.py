"""ValidationReport: the verdicts of one validation, as text, HTML, Markdown and JSON.

Rendering goes through :mod:`dbx_ops.render` (one palette, one escaping rule);
the HTML is self-contained (inline CSS and SVG, no scripts) so it renders in a
notebook with ``displayHTML(report.to_html())`` and as a file from the CLI.
Every distribution that drifted gets a bar chart of baseline vs current share
per bin (:func:`dbx_ops.render.bar_chart`). No renderer reads the clock: the
report carries ``validated_at``, stamped by the validator's injected clock.

:class:`ValidationBatch` holds the reports of several tables (the scheduled
validation job).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from dbx_ops import render
from dbx_ops.errors import DbxOpsError, ValidationFailedError
from dbx_ops.validation.rules import RuleResult
from dbx_ops.verdict import Verdict

if TYPE_CHECKING:
    from dbx_ops.validation.planner import MetricSources


class ValidationStatus(StrEnum):
    """The outcome of a validation."""

    PASSED = "passed"
    WARNINGS = "passed with warnings"
    FIRST_RUN = "first run"
    FAILED = "failed"


@dataclass(frozen=True)
class ValidationReport(Verdict):
    """The outcome of one validation run.

    Attributes:
        table: what was validated (table name or ``DataFrame``).
        baseline: the baseline as given (``previous``, ``version:3``...), None without one.
        run_id: the run id (shared with the stored profile and results).
        results: one verdict per rule and column.
        current: summary of the current profile.
        baseline_profile: summary of the baseline profile, None without one.
        engine: ``dbx_ops`` or ``great_expectations`` (a GE suite shown in this format).
        first_run: True when the baseline was ``previous`` and nothing was stored yet: this run's
            profile became the baseline of the next run; rules comparing with a baseline were skipped.
        note: one sentence shown with the verdict (what a first run did), or None.
        validated_at: when the verdicts were made (UTC), from the validator's clock.
        sources: where each metric of the current profile came from (the Delta log, a stored
            profile of the same version, the data), None when not recorded.
    """

    error_class: ClassVar[type[DbxOpsError]] = ValidationFailedError

    table: str
    baseline: str | None
    run_id: str
    results: tuple[RuleResult, ...]
    current: Mapping[str, Any] = field(default_factory=dict)
    baseline_profile: Mapping[str, Any] | None = None
    engine: str = "dbx_ops"
    first_run: bool = False
    note: str | None = None
    validated_at: datetime = field(kw_only=True)
    sources: MetricSources | None = field(default=None, kw_only=True)

    @property
    def failures(self) -> list[RuleResult]:
        """Broken fail-severity rules."""
        return [r for r in self.results if r.failed_hard]

    @property
    def warnings(self) -> list[RuleResult]:
        """Broken warn-severity rules."""
        return [r for r in self.results if not r.ok and r.severity != "fail"]

    @property
    def ok(self) -> bool:
        """True when no fail-severity rule broke (warnings do not fail a run)."""
        return not self.failures

    @property
    def passed(self) -> bool:
        """Deprecated alias of :attr:`ok`."""
        return self.ok

    @property
    def status(self) -> ValidationStatus:
        """:class:`ValidationStatus`: failed, passed with warnings, first run or passed."""
        if self.failures:
            return ValidationStatus.FAILED
        if self.warnings:
            return ValidationStatus.WARNINGS
        return ValidationStatus.FIRST_RUN if self.first_run else ValidationStatus.PASSED

    def result(self, rule: str) -> RuleResult:
        """The verdict named ``rule`` (``null_rate_delta:amount``)."""
        for r in self.results:
            if r.rule == rule:
                return r
        raise KeyError(f"No result named {rule!r}; have {', '.join(r.rule for r in self.results)}.")

    def broken(self) -> list[str]:
        """Names of every rule that did not pass (fail or warn)."""
        return [r.rule for r in self.results if not r.ok]

    def summary(self) -> str:
        """One sentence: status and counts (and the first-run note)."""
        n_ok = sum(1 for r in self.results if r.ok)
        base = f" against {self.baseline}" if self.baseline else ""
        text = (
            f"Validation of {self.table}{base} {self.status}: {n_ok} of {len(self.results)} checks passed, "
            f"{len(self.failures)} failed, {len(self.warnings)} warned."
        )
        return f"{text} {self.note}" if self.note else text

    def failure_message(self) -> str:
        """The summary and the first broken rules (what :meth:`raise_on_failure` raises)."""
        broken = "; ".join(f"{r.rule}: {r.message}" for r in self.failures[:5])
        more = f" (+{len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
        return f"{self.summary()} {broken}{more}"

    # -- renderings --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``passed`` repeats ``ok`` for readers of the earlier format)."""
        return {
            "table": self.table,
            "baseline": self.baseline,
            "run_id": self.run_id,
            "engine": self.engine,
            "validated_at": self.validated_at.isoformat(),
            "status": str(self.status),
            "ok": self.ok,
            "passed": self.ok,
            "first_run": self.first_run,
            "note": self.note,
            "summary": self.summary(),
            "current": dict(self.current),
            "baseline_profile": None if self.baseline_profile is None else dict(self.baseline_profile),
            "results": [r.to_dict() for r in self.results],
            "sources": None if self.sources is None else self.sources.to_dict(),
        }

    def explain(self) -> str:
        """Plain text: where each metric came from (``dbx-ops validate --explain``)."""
        if self.sources is None:
            return "Where the metrics came from was not recorded."
        return self.sources.to_text()

    def to_json(self) -> str:
        """JSON text."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def _context(self) -> list[str]:
        lines = []
        if self.current:
            lines.append(f"current: {_describe(self.current)}")
        if self.baseline_profile:
            lines.append(f"baseline ({self.baseline}): {_describe(self.baseline_profile)}")
        if self.sources is not None:
            lines.append(f"metrics: {self.sources.summary()}")
        lines.append(f"validated at {render.fmt(self.validated_at)}")
        return lines

    def to_markdown(self) -> str:
        """A Markdown report: summary line and a table of every verdict, broken ones first."""
        head = [
            f"## Validation of `{self.table}`",
            "",
            f"**{str(self.status).upper()}** — {render.md_esc(self.summary())}",
            "",
        ]
        head += [f"- {render.md_esc(line)}" for line in self._context()]
        rows = [
            [_mark_md(r), f"`{r.rule}`", r.severity, r.observed, r.expected, r.message]
            for r in _ordered(self.results)
        ]
        table = render.md_table(rows, ["verdict", "rule", "severity", "observed", "expected", "message"])
        return "\n".join([*head, "", table]) + "\n"

    def to_text(self) -> str:
        """Plain text for a terminal."""
        lines = [self.summary()]
        for r in _ordered(self.results):
            lines.append(f"  {render.text_mark(r.ok, _warned(r))} {r.rule}: {r.message}")
        if self.sources is not None:
            lines.append(f"  metrics: {self.sources.summary()}")
        return "\n".join(lines)

    def to_html(self) -> str:
        """Self-contained HTML for ``displayHTML``: verdict, table of verdicts, drifted distributions."""
        ordered = _ordered(self.results)
        rows = [
            [
                render.badge(_word(r), render.tone_of(r.ok, _warned(r))),
                r.rule,
                r.severity,
                r.observed,
                r.expected,
                r.message,
            ]
            for r in ordered
        ]
        tones = [render.tone_of(r.ok, _warned(r)) for r in ordered]
        parts = [
            render.verdict_card(
                f"Validation of {self.table}", self.ok, self.summary(), warn=bool(self.warnings)
            ),
            *(render.paragraph(line) for line in self._context()),
            render.html_table(
                rows, ["verdict", "rule", "severity", "observed", "expected", "message"], tones, [0]
            ),
        ]
        drifted = [r for r in self.results if r.chart is not None and not r.ok]
        if drifted:
            charts = [
                render.bar_chart(
                    [str(x) for x in r.chart.get("labels", [])],  # type: ignore[union-attr]
                    {
                        "baseline": _shares(r.chart.get("baseline", [])),  # type: ignore[union-attr]
                        "current": _shares(r.chart.get("current", [])),  # type: ignore[union-attr]
                    },
                    title=f"{r.rule}: {r.observed} (share of non-null rows)",
                )
                for r in drifted
            ]
            parts.append(render.section("Distributions that drifted", "\n".join(charts), level=4))
        if self.sources is not None:
            parts.append(render.section("Where the metrics came from", self.sources.to_html(), level=4))
        return render.container(*parts)


def _shares(counts: Sequence[Any]) -> list[float]:
    values = [float(c) for c in counts]
    total = sum(values)
    return [v / total for v in values] if total else [0.0 for _ in values]


def _warned(r: RuleResult) -> bool:
    return not r.ok and r.severity != "fail"


def _word(r: RuleResult) -> str:
    if r.ok:
        return "ok"
    return "warn" if _warned(r) else "fail"


def _mark_md(r: RuleResult) -> str:
    # a broken warn rule is not ok, but warns: md_mark(False) would say FAIL
    return render.md_mark(True, warn=True) if _warned(r) else render.md_mark(r.ok)


def _ordered(results: Sequence[RuleResult]) -> list[RuleResult]:
    rank = {"fail": 0, "warn": 1, "ok": 2}
    return sorted(results, key=lambda r: rank[_word(r)])


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
    if summary.get("method") == "incremental":
        parts.append("incremental (the stored state merged with the appended rows)")
    sample = summary.get("sample")
    if sample:
        parts.append(
            f"distributions from a sample of {int(sample.get('rows') or 0):,} rows "
            f"({float(sample.get('fraction') or 0):.2%}, seed {sample.get('seed')})"
        )
    return ", ".join(parts)


@dataclass(frozen=True)
class ValidationBatch(Verdict):
    """The reports of several tables validated in one go (the scheduled validation job).

    Attributes:
        reports: one report per table, in the order given.
    """

    error_class: ClassVar[type[DbxOpsError]] = ValidationFailedError

    reports: tuple[ValidationReport, ...]

    @property
    def ok(self) -> bool:
        """True when every table's validation is ok."""
        return all(r.ok for r in self.reports)

    @property
    def failed(self) -> list[ValidationReport]:
        """The reports that are not ok."""
        return [r for r in self.reports if not r.ok]

    def summary(self) -> str:
        """One sentence: how many tables passed."""
        n = len(self.reports)
        bad = self.failed
        if not bad:
            return f"Validation of {n} table(s): all passed."
        return f"Validation of {n} table(s): {len(bad)} failed ({', '.join(r.table for r in bad)})."

    def failure_message(self) -> str:
        """The summary and each failed table's own message."""
        return " ".join([self.summary(), *(r.failure_message() for r in self.failed)])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"ok": self.ok, "summary": self.summary(), "reports": [r.to_dict() for r in self.reports]}

    def to_text(self) -> str:
        """Plain text: each table's report."""
        return "\n".join([self.summary(), *(r.to_text() for r in self.reports)])

    def to_markdown(self) -> str:
        """Markdown: the summary, then each table's report."""
        return "\n".join(
            [f"**{render.md_esc(self.summary())}**", "", *(r.to_markdown() for r in self.reports)]
        )

    def to_html(self) -> str:
        """HTML: a verdict card for the batch, then each table's report."""
        return render.container(
            render.verdict_card("Validation", self.ok, self.summary()), *(r.to_html() for r in self.reports)
        )
