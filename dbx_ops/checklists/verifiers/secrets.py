"""Hard-coded credential detection for the checklist verifiers, delegated to :mod:`dbx_ops.secrets`.

The library has one set of credential patterns (:mod:`dbx_ops.secrets`, shared with deploy
pre-checks and backups); this module only shapes its findings as the verifiers report them:
where, what kind, a masked preview. Values are never returned in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dbx_ops import secrets as _secrets

#: A line carrying this marker is an accepted use (a test fixture, a documented example).
ALLOW_MARKER = _secrets.ALLOW_MARKER


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


def _kind(kind: str) -> str:
    return kind.replace("_", " ")


def scan_text(text: str, source: str = "") -> list[Finding]:
    """Credentials in text, one finding per line; lines with :data:`ALLOW_MARKER` are skipped."""
    lines = text.splitlines()
    out = []
    for hit in _secrets.scan_text(text):
        where = f"{source}:{hit.line}" if source else f"line {hit.line}"
        out.append(Finding(where, _kind(hit.kind), mask(lines[hit.line - 1][hit.start : hit.end])))
    return out


def find_secrets(spec: Any) -> list[Finding]:
    """Hard-coded credentials in a job definition (see :func:`dbx_ops.secrets.find_secrets`)."""
    return [Finding(f.path, _kind(f.kind), _secrets.MASK) for f in _secrets.find_secrets(spec)]
