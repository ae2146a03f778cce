"""The one place HTML, Markdown and text rendering lives.

Every report in dbx_ops (restore, validation, environment, job health, deploy,
doctor, checklist gate, drill) renders through these helpers, so they share
one escaping rule, one palette and one look for ok / warn / fail. Everything
here is pure: no Spark, no I/O, no clock (callers pass times in).

HTML is self-contained (inline CSS and SVG, no scripts): it renders in a
notebook with ``displayHTML`` and as a file opened in a browser.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Tone(StrEnum):
    """How a status looks: the one palette of every report."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    INFO = "info"
    MUTED = "muted"


#: Foreground and background colour of each tone (GitHub-like, readable on white).
PALETTE: Mapping[Tone, tuple[str, str]] = {
    Tone.OK: ("#1a7f37", "#dafbe1"),
    Tone.WARN: ("#9a6700", "#fff8c5"),
    Tone.FAIL: ("#cf222e", "#ffebe9"),
    Tone.INFO: ("#0969da", "#ddf4ff"),
    Tone.MUTED: ("#57606a", "#f6f8fa"),
}

#: Two series colours for charts (baseline, current), distinguishable in greyscale too.
SERIES_COLOURS = ("#8da0cb", "#fc8d62")

_TEXT_MARK = {Tone.OK: "ok", Tone.WARN: "WARN", Tone.FAIL: "FAIL", Tone.INFO: "info", Tone.MUTED: "-"}


def tone_of(ok: bool | None, warn: bool = False) -> Tone:
    """The tone for a verdict: fail when ``ok`` is False, warn when ``warn``, muted when None."""
    if ok is None:
        return Tone.MUTED
    if not ok:
        return Tone.FAIL
    return Tone.WARN if warn else Tone.OK


def fmt(value: Any) -> str:
    """A value as a short display string (``-`` for None, ISO times to the second)."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, StrEnum):
        return str(value.value)
    return str(value)


def iso(value: Any) -> Any:
    """ISO text for datetimes (JSON-ready), anything else unchanged."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# -- escaping ----------------------------------------------------------------------------------


def esc(value: Any) -> str:
    """HTML-escape a value's display string (quotes included)."""
    return _html.escape(fmt(value), quote=True)


def md_esc(value: Any) -> str:
    """A value safe inside a Markdown table cell: pipes escaped, newlines flattened."""
    return fmt(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


# -- HTML --------------------------------------------------------------------------------------

_TABLE_STYLE = "border-collapse:collapse;font-size:13px;margin:6px 0"
_CELL_STYLE = "border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top"


def badge(text: Any, tone: Tone) -> str:
    """A small coloured label (``<span>``) for a status word."""
    fg, bg = PALETTE[tone]
    return (
        f"<span style='color:{fg};background:{bg};border:1px solid {fg};border-radius:10px;"
        f"padding:0 8px;font-weight:600;font-size:12px'>{esc(text)}</span>"
    )


def html_table(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str],
    tones: Sequence[Tone | None] | None = None,
    raw_columns: Iterable[int] = (),
) -> str:
    """An HTML table; every cell escaped except the columns in ``raw_columns`` (pre-rendered HTML).

    Args:
        rows: the cell values, one sequence per row.
        headers: column headings.
        tones: optional tone per row (the row's background).
        raw_columns: indexes of columns whose values are already HTML (badges, links).
    """
    raw = set(raw_columns)
    out = [f"<table style='{_TABLE_STYLE}'>", "<tr>"]
    out += [f"<th style='{_CELL_STYLE};background:#f6f8fa'>{esc(h)}</th>" for h in headers]
    out.append("</tr>")
    for i, row in enumerate(rows):
        tone = tones[i] if tones is not None and i < len(tones) else None
        style = f" style='background:{PALETTE[tone][1]}'" if tone is not None else ""
        cells = "".join(
            f"<td style='{_CELL_STYLE}'>{cell if j in raw else esc(cell)}</td>" for j, cell in enumerate(row)
        )
        out.append(f"<tr{style}>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def verdict_card(title: str, ok: bool | None, detail: str = "", warn: bool = False) -> str:
    """The one-line verdict card that opens every HTML report."""
    tone = tone_of(ok, warn)
    fg, bg = PALETTE[tone]
    word = {Tone.OK: "OK", Tone.WARN: "WARN", Tone.FAIL: "FAIL", Tone.MUTED: "-", Tone.INFO: "INFO"}[tone]
    extra = f"<div style='color:#24292f;margin-top:4px'>{esc(detail)}</div>" if detail else ""
    return (
        f"<div style='border-left:6px solid {fg};background:{bg};padding:10px 14px;margin:8px 0;"
        f"font-family:sans-serif'><span style='color:{fg};font-weight:700;font-size:16px'>{word}</span> "
        f"<span style='font-size:16px;font-weight:600'>{esc(title)}</span>{extra}</div>"
    )


def section(title: str, body: str, level: int = 3) -> str:
    """A heading and its (already rendered) HTML body."""
    return f"<h{level} style='font-family:sans-serif;margin:14px 0 4px'>{esc(title)}</h{level}>\n{body}"


def paragraph(text: Any) -> str:
    """An escaped paragraph."""
    return f"<p style='margin:4px 0'>{esc(text)}</p>"


def html_list(items: Iterable[Any]) -> str:
    """An escaped bullet list."""
    return "<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def container(*parts: str) -> str:
    """Wrap rendered parts in the common report container."""
    return (
        "<div style='font-family:sans-serif;color:#24292f'>\n" + "\n".join(p for p in parts if p) + "\n</div>"
    )


def html_document(title: str, body: str) -> str:
    """A complete standalone HTML page (for ``--html FILE``)."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title></head>\n<body style='margin:20px'>\n{body}\n</body></html>\n"
    )


def bar_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    title: str = "",
    width: int = 640,
    bar_area_height: int = 180,
) -> str:
    """A grouped bar chart as inline SVG, sized to read, with labels that do not overlap.

    Args:
        labels: one label per group (bin or category); long labels are shortened and rotated.
        series: name -> values (one per label), at most two series use the shared palette.
        title: caption above the chart.
        width: total width in pixels (grows with the number of groups so bars stay readable).
        bar_area_height: height of the plotting area in pixels.
    """
    names = list(series)
    n = len(labels)
    if n == 0 or not names:
        return ""
    colours = {name: SERIES_COLOURS[i % len(SERIES_COLOURS)] for i, name in enumerate(names)}
    peak = max((float(v) for vals in series.values() for v in vals), default=0.0) or 1.0
    left, top, legend_h = 48, 28 if title else 10, 18
    group_w = max(24.0, (width - left - 10) / n)
    plot_w = group_w * n
    total_w = int(left + plot_w + 10)
    label_h = 70
    height = top + legend_h + bar_area_height + label_h
    bar_w = max(3.0, (group_w - 6) / len(names))
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{total_w}' height='{height}' "
        f"role='img' style='font-family:sans-serif;font-size:11px'>"
    ]
    if title:
        out.append(f"<text x='{left}' y='16' font-size='13' font-weight='600'>{esc(title)}</text>")
    lx = left
    for name in names:
        out.append(f"<rect x='{lx}' y='{top}' width='10' height='10' fill='{colours[name]}'/>")
        out.append(f"<text x='{lx + 14}' y='{top + 9}'>{esc(name)}</text>")
        lx += 24 + 7 * len(name)
    base_y = top + legend_h + bar_area_height
    out.append(f"<line x1='{left}' y1='{base_y}' x2='{left + plot_w}' y2='{base_y}' stroke='#57606a'/>")
    out.append(
        f"<text x='{left - 4}' y='{top + legend_h + 8}' text-anchor='end'>{esc(_short_num(peak))}</text>"
    )
    out.append(f"<text x='{left - 4}' y='{base_y}' text-anchor='end'>0</text>")
    for i, label in enumerate(labels):
        gx = left + i * group_w + 3
        for k, name in enumerate(names):
            values = series[name]
            v = float(values[i]) if i < len(values) and values[i] is not None else 0.0
            h = bar_area_height * v / peak
            out.append(
                f"<rect x='{gx + k * bar_w:.1f}' y='{base_y - h:.1f}' width='{bar_w - 1:.1f}' "
                f"height='{h:.1f}' fill='{colours[name]}'><title>{esc(name)} {esc(label)}: "
                f"{esc(_short_num(v))}</title></rect>"
            )
        short = label if len(label) <= 14 else label[:13] + "…"
        cx = left + i * group_w + group_w / 2
        out.append(
            f"<text x='{cx:.1f}' y='{base_y + 12}' text-anchor='end' "
            f"transform='rotate(-40 {cx:.1f} {base_y + 12})'>{esc(short)}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _short_num(v: float) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M"
    if abs(v) >= 1e3:
        return f"{v / 1e3:.1f}k"
    return f"{v:g}"


# -- Markdown ----------------------------------------------------------------------------------


def md_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A Markdown table, every cell escaped."""
    lines = ["| " + " | ".join(md_esc(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def md_mark(ok: bool | None, warn: bool = False) -> str:
    """The Markdown status word of a verdict (bold when it is not ok)."""
    tone = tone_of(ok, warn)
    word = _TEXT_MARK[tone]
    return word if tone in (Tone.OK, Tone.MUTED, Tone.INFO) else f"**{word}**"


# -- text --------------------------------------------------------------------------------------


def text_mark(ok: bool | None, warn: bool = False) -> str:
    """``[ok ]``, ``[WARN]``, ``[FAIL]`` or ``[ - ]`` for terminal lines."""
    return "[" + _TEXT_MARK[tone_of(ok, warn)].ljust(4)[:4] + "]"


def text_table(rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]], columns: Sequence[str]) -> str:
    """A plain aligned text table for the terminal (mappings read by column name)."""
    if not rows:
        return "(none)"
    cells: list[list[str]] = []
    for row in rows:
        if isinstance(row, Mapping):
            cells.append(["" if row.get(c) is None else fmt(row.get(c)) for c in columns])
        else:
            cells.append(["" if v is None else fmt(v) for v in row])
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def code_block(text: Any) -> str:
    """Preformatted, escaped text (source code, tracebacks, captured output)."""
    return (
        "<pre style='background:#f6f8fa;border:1px solid #d0d7de;padding:6px 8px;margin:4px 0;"
        f"font-size:12px;white-space:pre-wrap'>{esc(text)}</pre>"
    )
