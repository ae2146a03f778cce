"""Hard-coded credential detection: one small seam the verifiers call.

The jobs package is getting its own detector (branch ``jobs``); when it
lands, :func:`find_secrets` and :func:`scan_text` delegate to it and the
patterns below go away. Until then these are the patterns the checklist
verifiers use. Values are never returned in full: findings carry a masked
preview only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: A line carrying this marker is an accepted use (a test fixture, a documented example).
ALLOW_MARKER = "dbx-ops: allow-secret"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("databricks token", re.compile(r"\bdapi[0-9a-f]{32}(?:-\d)?\b")),
    ("aws access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("github token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("slack token", re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b")),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----")),
    (
        "password or token assignment",
        re.compile(
            r"""(?i)\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)\b["']?\s*[:=]\s*["']([^"'\s{}$<>]{6,})["']"""
        ),
    ),
)
_SENSITIVE_KEY = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|access[_-]?key|credential)")
_REFERENCE = re.compile(r"^\s*(\{\{\s*secrets/|\$\{|<|\*+$|dbutils\.secrets)")


@dataclass(frozen=True)
class Finding:
    """One suspected hard-coded credential: where, what kind, a masked preview."""

    where: str
    kind: str
    preview: str

    def text(self) -> str:
        """``where: kind (preview)``."""
        return f"{self.where}: {self.kind} ({self.preview})"


def mask(value: str) -> str:
    """The first 4 characters and the length, never the secret itself."""
    return f"{value[:4]}… ({len(value)} chars)"


def scan_text(text: str, source: str = "") -> list[Finding]:
    """Credentials in text, one finding per line and kind; lines with :data:`ALLOW_MARKER` are skipped."""
    out: list[Finding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if ALLOW_MARKER in line:
            continue
        for kind, pattern in _PATTERNS:
            match = pattern.search(line)
            if match:
                value = match.group(match.lastindex or 0)
                out.append(Finding(f"{source}:{number}" if source else f"line {number}", kind, mask(value)))
                break
    return out


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, path.rsplit(".", 1)[-1], value


def find_secrets(spec: Any) -> list[Finding]:
    """Hard-coded credentials in a job definition: sensitive keys with literal values, token shapes."""
    out: list[Finding] = []
    for path, key, value in _walk(spec, ""):
        if not isinstance(value, str) or not value:
            continue
        if _SENSITIVE_KEY.search(key) and not _REFERENCE.match(value) and len(value) >= 6:
            out.append(Finding(path, f"literal value for {key!r}", mask(value)))
            continue
        for finding in scan_text(value):
            out.append(Finding(path, finding.kind, finding.preview))
    return out
