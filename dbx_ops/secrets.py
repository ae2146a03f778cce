"""Hard-coded credentials in job definitions and other JSON-like values: find them, mask them.

One detector for every caller: deploy pre-checks, definition backups, deployment
manifests and reports, and the checklist verifiers ("no hard-coded tokens or
passwords", the repository secret scan). Pure: no Spark, no network.

What counts as a hard-coded credential:

* a value that *is* a credential by its shape: a Databricks personal access token
  (``dapi…``), an AWS access key id (``AKIA…``/``ASIA…``), an Azure storage account
  key (86 base64 characters and ``==``, or ``AccountKey=…``), an Azure AD client
  secret (``…8Q~…``), a GCP API key (``AIza…``), a PEM private key;
* a literal value under a name that says it is secret (``DB_PASSWORD``, ``api_token``,
  ``client_secret``, ``fs.azure.account.key.…``; a job parameter named so; the value
  after ``--token`` in a task's argument list);
* ``password=…`` / ``token: …`` style assignments and ``user:password@`` inside a
  longer value (a JDBC URL, a connection string, ``--secret=…``).

Secret references, ``{{secrets/<scope>/<key>}}``, are the right way and are never
findings (:func:`secret_references` lists them so the caller can check the scope
*and* the key exist). Placeholders (``${var.token}``, ``{{job.parameters.x}}``) and
empty values are not findings either. A finding never carries the secret itself.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: What a detected secret is replaced with in every file and output.
MASK = "**masked**"

SECRET_REF = re.compile(r"\{\{\s*secrets/([^/}\s]+)/([^}\s]+)\s*\}\}")
_PLACEHOLDER = re.compile(r"^\s*(\{\{.*\}\}|\$\{.*\}|\$[A-Z_][A-Z0-9_]*|<[^>]*>)\s*$")

#: Credentials recognised by their shape, wherever they appear.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("databricks_token", re.compile(r"\bdapi[0-9a-f]{32}(?:-\d+)?\b")),
    ("aws_access_key_id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("azure_storage_key", re.compile(r"(?<=AccountKey=)[A-Za-z0-9+/]{86}==|^[A-Za-z0-9+/]{86}==$")),
    ("azure_client_secret", re.compile(r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}")),
    ("gcp_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("github_token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("slack_token", re.compile(r"\bxox[abpr]-[A-Za-z0-9-]{10,}\b")),
    (
        "private_key",
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S),
    ),
)

_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "apikey", "credential", "credentials"}
)
_SECRET_PAIRS = (("api", "key"), ("access", "key"), ("private", "key"), ("account", "key"), ("secret", "key"))
#: A last word that makes a secret-sounding name innocent (``TOKEN_URL``, ``PASSWORD_MIN_LENGTH``).
_INNOCENT_LAST = frozenset(
    {
        "url", "uri", "endpoint", "file", "path", "dir", "location", "length", "len", "min", "max",
        "count", "ttl", "expiry", "expires", "lifetime", "name", "type", "scope", "header", "env",
        "var", "limit", "size", "id", "enabled", "rotation", "policy", "format", "provider", "mode",
    }
)  # fmt: skip
_ASSIGNMENT = re.compile(r"([A-Za-z0-9_.\-]+)\s*[=:]\s*([^\s&;,'\"]+)")
_USERINFO = re.compile(r"://[^/\s:@]+:([^/\s@]+)@")
_INNOCENT_VALUES = frozenset({"true", "false", "none", "null", "yes", "no"})
_KEYED_LISTS = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "parameters": "name",
    "environments": "environment_key",
}


@dataclass(frozen=True)
class SecretFinding:
    """A hard-coded credential: where it is and what kind (never the value).

    Attributes:
        path: where, e.g. ``tasks[ingest].spark_env_vars.API_TOKEN``.
        kind: ``databricks_token``, ``aws_access_key_id``, ``azure_storage_key``,
            ``azure_client_secret``, ``gcp_api_key``, ``github_token``, ``slack_token``,
            ``private_key`` or ``password_like``.
    """

    path: str
    kind: str

    @property
    def message(self) -> str:
        """One sentence saying where and how to fix it."""
        what = self.kind.replace("_", " ")
        return (
            f"{self.path} holds a hard-coded {what}: put it in a secret scope and reference it as "
            "{{secrets/<scope>/<key>}}"
        )

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"path": self.path, "kind": self.kind, "message": self.message}


#: Cheap gate: a value with none of these cannot hold a credential by shape or assignment.
_MAYBE = re.compile(r"dapi|AKIA|ASIA|AIza|gh[pousr]_|xox[abpr]-|==|\dQ~|PRIVATE KEY|[=:]")


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True when a key or parameter name says its value is a credential (``DB_PASSWORD``, ``apiKey``)."""
    words = _words(name)
    if not words or words[-1] in _INNOCENT_LAST:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(words[i : i + 2] == list(pair) for pair in _SECRET_PAIRS for i in range(len(words) - 1))


def _literal(value: str) -> bool:
    text = value.strip()
    if len(text) < 4 or text.lower() in _INNOCENT_VALUES or MASK in text:
        return False
    if SECRET_REF.fullmatch(text) or _PLACEHOLDER.match(text):
        return False
    return not (
        text.startswith(("http://", "https://", "/", "dbfs:", "s3://", "abfss://", "gs://"))
        and not _USERINFO.search(text)
    )


def _spans(value: str, secret_name: bool) -> tuple[str | None, list[tuple[int, int]]]:
    """The kind and the character spans of the credentials inside ``value``."""
    kind: str | None = None
    spans: list[tuple[int, int]] = []
    if not secret_name and not _MAYBE.search(value):
        return None, spans
    for name, pattern in PATTERNS:
        for m in pattern.finditer(value):
            kind = kind or name
            spans.append(m.span())
    if secret_name and _literal(value):
        return kind or "password_like", [(0, len(value))]
    for m in _ASSIGNMENT.finditer(value):
        if is_secret_name(m.group(1)) and _literal(m.group(2)):
            kind = kind or "password_like"
            spans.append(m.span(2))
    for m in _USERINFO.finditer(value):
        if _literal(m.group(1)) and not m.group(1).startswith("{{"):
            kind = kind or "password_like"
            spans.append(m.span(1))
    return kind, spans


def _masked(value: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            start = last
        if start >= end:
            continue
        out += [value[last:start], MASK]
        last = end
    out.append(value[last:])
    return "".join(out)


def _walk(value: Any, path: str, name: str, findings: list[SecretFinding] | None) -> Any:
    """Masked copy of ``value``; appends findings when a list is given."""
    if isinstance(value, Mapping):
        # A job parameter {"name": "api_token", "default": "..."}: its name names the default.
        param_name = value.get("name") if isinstance(value.get("name"), str) else None
        out = {}
        for k, v in value.items():
            key = str(k)
            child_name = param_name if (param_name and key in ("default", "value")) else key
            out[k] = _walk(v, f"{path}.{key}" if path else key, child_name, findings)
        return out
    if isinstance(value, list | tuple):
        keyed = _KEYED_LISTS.get(name)
        items = []
        previous = ""
        for i, item in enumerate(value):
            label = f"[{i}]"
            if keyed and isinstance(item, Mapping) and isinstance(item.get(keyed), str):
                label = f"[{item[keyed]}]"
            # The argument after a flag such as --token is named by the flag.
            flag = previous.lstrip("-") if previous.startswith("-") and "=" not in previous else ""
            items.append(_walk(item, f"{path}{label}", flag or name, findings))
            previous = item if isinstance(item, str) else ""
        return items
    if isinstance(value, str):
        kind, spans = _spans(value, is_secret_name(name))
        if not spans:
            return value
        if findings is not None:
            findings.append(SecretFinding(path or "(value)", kind or "password_like"))
        return _masked(value, spans)
    return value


def find_secrets(value: Any) -> list[SecretFinding]:
    """Every hard-coded credential in a JSON-like value (a job definition, a backup, a manifest).

    Returns:
        The findings, in document order, one per value that holds a credential.
    """
    findings: list[SecretFinding] = []
    _walk(value, "", "", findings)
    return findings


def scan(value: Any) -> tuple[Any, list[SecretFinding]]:
    """The masked copy of ``value`` and its findings, in one pass."""
    findings: list[SecretFinding] = []
    return _walk(value, "", "", findings), findings


def mask_secrets(value: Any) -> Any:
    """A copy of ``value`` with every detected credential replaced by :data:`MASK` (input untouched)."""
    return _walk(value, "", "", None)


def mask_text(text: str) -> str:
    """``text`` with credentials recognised by shape or assignment masked (for logs, diffs, files)."""
    _, spans = _spans(text, False)
    return _masked(text, spans) if spans else text


#: A line of a source file carrying this marker is an accepted use (a test fixture, a documented example).
ALLOW_MARKER = "dbx-ops: allow-secret"

#: ``name = "value"``, ``name: 'value'``, ``"name": "value"`` in source code. Only quoted values
#: count: in code, ``token = get_token()`` is a call, not a credential.
_QUOTED_ASSIGNMENT = re.compile(
    r"""([A-Za-z_][A-Za-z0-9_.\-]*)["']?\s*(?::|=|:=)\s*[rbuf]?(["'])([^"'\s{}$<>]{6,})\2"""
)


@dataclass(frozen=True)
class TextFinding:
    """A hard-coded credential on a line of text: the line, the kind and where on the line.

    Attributes:
        line: the line number (from 1).
        kind: as for :class:`SecretFinding`.
        start: where the credential starts on the line.
        end: where it ends (exclusive).
    """

    line: int
    kind: str
    start: int
    end: int


def _line_secret(line: str) -> tuple[str, int, int] | None:
    for kind, pattern in PATTERNS:
        match = pattern.search(line)
        if match:
            return kind, *match.span()
    for match in _QUOTED_ASSIGNMENT.finditer(line):
        if is_secret_name(match.group(1)) and _literal(match.group(3)):
            return "password_like", *match.span(3)
    for match in _USERINFO.finditer(line):
        if _literal(match.group(1)) and not match.group(1).startswith("{{"):
            return "password_like", *match.span(1)
    return None


def scan_text(text: str) -> list[TextFinding]:
    """Hard-coded credentials in source text (code, SQL, config files), at most one per line.

    A line is a finding when it holds a credential by its shape (as in :func:`find_secrets`),
    a quoted literal assigned to a secret-sounding name (``DB_PASSWORD = "..."``), or a
    password inside a URL. Lines with :data:`ALLOW_MARKER` are skipped.
    """
    out: list[TextFinding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if ALLOW_MARKER in line or not line.strip():
            continue
        hit = _line_secret(line)
        if hit is not None:
            out.append(TextFinding(number, *hit))
    return out


def has_masked_values(value: Any) -> bool:
    """True when a value holds :data:`MASK` somewhere (a backup whose credentials were masked)."""
    if isinstance(value, Mapping):
        return any(has_masked_values(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_masked_values(v) for v in value)
    return isinstance(value, str) and MASK in value


def masked_paths(value: Any, path: str = "", name: str = "") -> list[str]:
    """Where :data:`MASK` appears in a value (paths as :class:`SecretFinding` names them)."""
    if isinstance(value, Mapping):
        return [
            p for k, v in value.items() for p in masked_paths(v, f"{path}.{k}" if path else str(k), str(k))
        ]
    if isinstance(value, list | tuple):
        keyed = _KEYED_LISTS.get(name)
        out = []
        for i, v in enumerate(value):
            label = (
                f"[{v[keyed]}]"
                if keyed and isinstance(v, Mapping) and isinstance(v.get(keyed), str)
                else f"[{i}]"
            )
            out += masked_paths(v, f"{path}{label}", name)
        return out
    return [path] if isinstance(value, str) and MASK in value else []


def secret_references(value: Any) -> list[tuple[str, str]]:
    """The ``{{secrets/<scope>/<key>}}`` references in a value, as sorted unique (scope, key) pairs."""
    found: set[tuple[str, str]] = set()

    def visit(v: Any) -> None:
        if isinstance(v, Mapping):
            for item in v.values():
                visit(item)
        elif isinstance(v, list | tuple):
            for item in v:
                visit(item)
        elif isinstance(v, str):
            found.update((m.group(1), m.group(2)) for m in SECRET_REF.finditer(v))

    visit(value)
    return sorted(found)
