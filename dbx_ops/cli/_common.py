"""Shared CLI plumbing: --json, rendering, confirmations."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from dbx_ops.errors import InvalidInputError


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Add the ``--json`` flag every command has."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def to_json(data: Any) -> str:
    """JSON text for ``data`` (datetimes, paths and records made serialisable)."""
    return json.dumps(data, indent=2, sort_keys=True, default=_default)


def emit(args: argparse.Namespace, data: Any, human: Callable[[], str] | str) -> None:
    """Print ``data`` as JSON with --json, else the human rendering."""
    if getattr(args, "json", False):
        print(to_json(data))
    else:
        text = human() if callable(human) else human
        print(text)


def confirm(question: str, assume_yes: bool) -> bool:
    """Ask a yes/no question on the terminal; False without a terminal unless ``assume_yes``."""
    if assume_yes:
        return True
    if not sys.stdin or not sys.stdin.isatty():
        raise InvalidInputError(
            "This change needs confirmation: run it again with --yes (or --dry-run to preview)."
        )
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


def table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """A plain aligned text table for the terminal."""
    if not rows:
        return "(none)"
    cols = columns or list(rows[0])
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)
