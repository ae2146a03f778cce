"""The shared shapes: rendering, verdicts, clock, progress, lazy entry points."""

from __future__ import annotations

import importlib
import io
from datetime import UTC, datetime, timedelta

import pytest

import dbx_ops
from dbx_ops import render
from dbx_ops.clock import FixedClock, as_utc, utc_now
from dbx_ops.errors import CheckFailedError, NoGoError
from dbx_ops.progress import LineProgress, NullProgress, auto_progress
from dbx_ops.verdict import Check, Verdict, checks_html, checks_markdown


def test_html_cells_are_escaped_unless_marked_raw() -> None:
    out = render.html_table(
        [["<script>x</script>", render.badge("ok", render.Tone.OK)]], ["a", "b"], raw_columns=[1]
    )
    assert "&lt;script&gt;" in out and "<script>" not in out
    assert "<span" in out


def test_markdown_cells_escape_pipes_and_newlines() -> None:
    out = render.md_table([["a|b", "line1\nline2"]], ["x", "y"])
    assert "a\\|b" in out and "line1 line2" in out
    assert out.splitlines()[1] == "|---|---|"


def test_one_palette_for_ok_warn_fail() -> None:
    assert render.tone_of(True) is render.Tone.OK
    assert render.tone_of(False) is render.Tone.FAIL
    assert render.tone_of(True, warn=True) is render.Tone.WARN
    assert render.tone_of(None) is render.Tone.MUTED
    assert {render.PALETTE[t][0] for t in render.Tone} == {v[0] for v in render.PALETTE.values()}
    assert len({render.PALETTE[t][0] for t in render.Tone}) == len(render.Tone)


def test_bar_chart_is_readable_and_escaped() -> None:
    labels = [f"[{i * 1000}, {(i + 1) * 1000})" for i in range(10)]
    svg = render.bar_chart(
        labels, {"baseline": list(range(10)), "current<x>": list(range(10, 0, -1))}, title="amt"
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    width = int(svg.split("width='", 1)[1].split("'", 1)[0])
    assert width >= 600
    assert "current&lt;x&gt;" in svg
    assert "rotate(-40" in svg  # labels slanted so neighbours do not overlap
    assert render.bar_chart([], {"a": []}) == ""


def test_text_table_aligns_columns() -> None:
    out = render.text_table([{"a": 1, "bb": None}, {"a": 22, "bb": "x"}], ["a", "bb"])
    lines = out.splitlines()
    assert lines[0].startswith("a ") and lines[1].startswith("--")
    assert render.text_table([], ["a"]) == "(none)"


def test_fmt_values() -> None:
    assert render.fmt(None) == "-"
    assert render.fmt(datetime(2026, 1, 2, 3, 4, 5, 999, tzinfo=UTC)) == "2026-01-02 03:04:05+00:00"
    assert render.fmt(True) == "yes"


class _Result(Verdict):
    error_class = NoGoError

    def __init__(self, ok: bool) -> None:
        self._ok = ok

    @property
    def ok(self) -> bool:
        return self._ok

    def summary(self) -> str:
        return "gate of run r1: no-go (2 items pending)."


def test_verdict_raises_the_matching_error_with_one_sentence() -> None:
    _Result(True).raise_on_failure()
    with pytest.raises(NoGoError, match=r"^gate of run r1: no-go \(2 items pending\)\.$") as info:
        _Result(False).raise_on_failure()
    assert isinstance(info.value, CheckFailedError) and info.value.exit_code == 1


def test_check_record_renders_everywhere() -> None:
    checks = (
        Check("row_count", True, "10", "10"),
        Check("schema", False, "a INT", "a STRING", "type changed"),
    )
    assert checks[1].to_dict() == {
        "name": "schema",
        "ok": False,
        "expected": "a INT",
        "actual": "a STRING",
        "message": "type changed",
    }
    assert checks[1].to_text().startswith("[FAIL] schema: type changed")
    assert "a STRING" in checks_html(checks) and "**FAIL**" in checks_markdown(checks)


def test_clock_is_utc_aware() -> None:
    assert utc_now().tzinfo is UTC
    assert as_utc(datetime(2026, 1, 1)).tzinfo is UTC
    clock = FixedClock(datetime(2026, 1, 1), step=timedelta(seconds=1))
    assert clock() == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock() - datetime(2026, 1, 1, tzinfo=UTC) == timedelta(seconds=1)


def test_line_progress_for_logs() -> None:
    stream = io.StringIO()
    ticks = iter([0.0, 1.5, 2.0])
    progress = LineProgress(stream, clock=lambda: next(ticks))
    with progress.task("restoring", 2):
        progress.advance("sales.orders")
        progress.advance("sales.customers", ok=False, detail="vacuumed")
    lines = stream.getvalue().splitlines()
    assert lines == [
        "restoring: 2 step(s)",
        "[1/2] restoring sales.orders ... ok (1.5 s)",
        "[2/2] restoring sales.customers ... FAILED: vacuumed (0.5 s)",
    ]
    assert isinstance(auto_progress(io.StringIO()), LineProgress)
    NullProgress().advance("nothing")


def test_top_level_entry_points_resolve_lazily() -> None:
    listed = dir(dbx_ops)
    for name, (module, attr) in dbx_ops._LAZY.items():
        assert name in listed
        assert getattr(importlib.import_module(module), attr) is getattr(dbx_ops, name)
    with pytest.raises(AttributeError):
        dbx_ops.no_such_thing  # noqa: B018


def test_version_in_one_place() -> None:
    import importlib.metadata

    assert importlib.metadata.version("dbx-ops") == dbx_ops.__version__
