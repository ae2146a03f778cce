"""Scan a lock for known vulnerabilities and disallowed licences (seed 004 §5).

- CVEs: ``pip-audit -r <lock> --no-deps --disable-pip --format json`` (the PyPI
  advisory database; no account needed).
- Licences: the lock is installed ``--no-deps`` into a scratch folder for the
  runtime's Python and platform (``uv pip install --target``), a scratch virtual
  environment sees only that folder, and ``pip-licenses --python <scratch>``
  reads the licences. The deny list (default ``GPL`` and ``LGPL``) is matched
  by licence *family*, precisely: ``GPL`` matches the GNU General Public
  License (``GPL-3.0-only``, ``GPLv2+``, "GNU General Public License v3") but
  not ``LGPL`` or ``AGPL``; ``LGPL`` matches the Lesser/Library GPL; ``AGPL``
  the Affero GPL. Any other deny entry matches a licence name or SPDX id
  exactly (case-insensitive). When a package declares an SPDX expression with
  ``OR`` (a choice), it is allowed if one alternative is allowed; otherwise
  every licence it names must be allowed.
- ``safety`` needs an account: it runs only when ``SAFETY_API_KEY`` is set and
  the ``safety`` command is installed, and is skipped (and says so) otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbx_ops import render
from dbx_ops.deps.lock import LockFile, read_lock
from dbx_ops.deps.requirements import canonical
from dbx_ops.errors import AuditFailedError, DependencyError, EnvironmentSetupError
from dbx_ops.verdict import Check, Verdict, checks_html, checks_markdown

logger = logging.getLogger(__name__)

DEFAULT_DENY = ("GPL", "LGPL")
_FAMILIES = ("AGPL", "LGPL", "GPL")
_UNKNOWN = {"", "unknown", "none", "unknown license"}

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def licence_family(term: str) -> str | None:
    """``AGPL``, ``LGPL`` or ``GPL`` when ``term`` names a GNU GPL-family licence, else None.

    >>> licence_family("GNU Lesser General Public License v2 or later (LGPLv2+)")
    'LGPL'
    >>> licence_family("GPL-3.0-only"), licence_family("MIT")
    ('GPL', None)
    """
    upper = term.upper()
    if "AGPL" in upper or "AFFERO" in upper:
        return "AGPL"
    if "LGPL" in upper or "LESSER GENERAL PUBLIC" in upper or "LIBRARY GENERAL PUBLIC" in upper:
        return "LGPL"
    if re.search(r"(?<![A-Z])GPL", upper) or "GENERAL PUBLIC LICENSE" in upper:
        return "GPL"
    return None


def _terms(text: str) -> list[str]:
    parts = re.split(r";|\n", text or "")
    return [p.strip() for p in parts if p.strip().lower() not in _UNKNOWN]


def denied_by(licences: Sequence[str], expression: str, deny: Iterable[str]) -> list[str]:
    """Which deny entries a package's licences hit (empty: allowed).

    Args:
        licences: licence names (classifiers, the metadata licence field).
        expression: the SPDX ``License-Expression`` ('' when the package has none).
        deny: deny entries: ``GPL``, ``LGPL``, ``AGPL`` (families) or exact names/SPDX ids.
    """
    wanted = [d.strip() for d in deny if d.strip()]
    families = {d.upper() for d in wanted if d.upper() in _FAMILIES}
    exact = {d.lower() for d in wanted if d.upper() not in _FAMILIES}

    def hits(term: str) -> list[str]:
        found = []
        family = licence_family(term)
        if family and family in families:
            found.append(family)
        if term.strip("() ").lower() in exact:
            found.append(term.strip("() "))
        return found

    if expression and expression.strip().lower() not in _UNKNOWN:
        alternatives = re.split(r"\s+OR\s+", expression.strip("() "), flags=re.IGNORECASE)
        per_alt = [
            [h for t in re.split(r"\s+AND\s+", alt, flags=re.IGNORECASE) for h in hits(t)]
            for alt in alternatives
        ]
        if any(not h for h in per_alt):
            return []
        return sorted({hit for alt_hits in per_alt for hit in alt_hits})
    return sorted({h for term in licences for h in hits(term)})


@dataclass(frozen=True)
class Vulnerability:
    """A known vulnerability in a locked package.

    Attributes:
        package: canonical name.
        version: the locked version.
        id: the advisory id (``PYSEC-...``, ``GHSA-...``).
        aliases: other ids (``CVE-...``).
        fix_versions: versions that fix it.
        description: the advisory text (shortened).
    """

    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**self.__dict__, "aliases": list(self.aliases), "fix_versions": list(self.fix_versions)}


@dataclass(frozen=True)
class LicenceFinding:
    """One locked package's licence.

    Attributes:
        package: canonical name.
        version: installed version.
        licence: what the package declares (expression, classifiers or metadata).
        denied: the deny entries it hits (empty: allowed).
    """

    package: str
    version: str
    licence: str
    denied: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**self.__dict__, "denied": list(self.denied)}


@dataclass(frozen=True)
class AuditReport(Verdict):
    """The result of the scans.

    Attributes:
        lock: the lock scanned.
        vulnerabilities: every known vulnerability found.
        licences: every package's licence (empty when the licence scan did not run).
        deny: the licence deny list used.
        scanners: scanner -> ``ran`` / ``skipped: <why>``.
        unaudited: pins the CVE scanner could not check (with the reason).
    """

    error_class = AuditFailedError

    lock: str
    vulnerabilities: tuple[Vulnerability, ...] = ()
    licences: tuple[LicenceFinding, ...] = ()
    deny: tuple[str, ...] = DEFAULT_DENY
    scanners: Mapping[str, str] = field(default_factory=dict)
    unaudited: tuple[str, ...] = ()

    @property
    def denied(self) -> list[LicenceFinding]:
        """Packages whose licence is on the deny list."""
        return [f for f in self.licences if f.denied]

    @property
    def findings(self) -> bool:
        """True when a scanner said no: a vulnerability, a denied licence or a failing optional scanner."""
        failed = any(state.startswith("ran: FAILED") for state in self.scanners.values())
        return bool(self.vulnerabilities or self.denied or failed)

    @property
    def ok(self) -> bool:
        """True when nothing was found and every pin could be audited."""
        return not self.findings and not self.unaudited

    @property
    def checks(self) -> tuple[Check, ...]:
        """One :class:`~dbx_ops.verdict.Check` per scanner, in name order."""
        out = []
        for name, state in sorted(self.scanners.items()):
            ok = not state.startswith("ran: FAILED")
            if name == "pip-audit":
                ok = not self.vulnerabilities and not self.unaudited
            elif name == "pip-licenses":
                ok = not self.denied
            out.append(Check(name, ok, "no findings", state.splitlines()[0] if state else "-"))
        return tuple(out)

    def summary(self) -> str:
        """One sentence: what was found, or why the lock is not known to be clean."""
        if self.findings:
            parts = []
            if self.vulnerabilities:
                parts.append(f"{len(self.vulnerabilities)} known vulnerabilit(ies)")
            if self.denied:
                parts.append(f"{len(self.denied)} denied licence(s)")
            if any(state.startswith("ran: FAILED") for state in self.scanners.values()):
                parts.append("a failing scanner")
            found = " and ".join(parts)
            return f"The audit of {self.lock} found {found}; upgrade or replace them and lock again."
        if self.unaudited:
            return (
                f"pip-audit could not audit {len(self.unaudited)} pinned package(s) (no answer from the PyPI "
                "advisory API for them), so the lock is not known to be free of CVEs; rerun with network "
                "access to pypi.org."
            )
        return f"The audit of {self.lock} found nothing."

    def raise_on_failure(self) -> None:
        """Raise :class:`~dbx_ops.errors.AuditFailedError` on a finding, or
        :class:`~dbx_ops.errors.DependencyError` when pins could not be audited."""
        if self.findings:
            raise AuditFailedError(self.summary())
        if self.unaudited:
            raise DependencyError(self.summary())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ok": self.ok,
            "lock": self.lock,
            "vulnerabilities": [v.to_dict() for v in self.vulnerabilities],
            "licences": [f.to_dict() for f in self.licences],
            "denied_licences": [f.to_dict() for f in self.denied],
            "deny": list(self.deny),
            "scanners": dict(self.scanners),
            "unaudited": list(self.unaudited),
        }

    def _vulnerability_rows(self) -> list[list[str]]:
        return [
            [
                v.package,
                v.version,
                v.id + (f" ({', '.join(v.aliases)})" if v.aliases else ""),
                ", ".join(v.fix_versions) or "no fix released",
            ]
            for v in self.vulnerabilities
        ]

    def _licence_rows(self) -> list[list[str]]:
        return [[f.package, f.version, f.licence, ", ".join(f.denied)] for f in self.denied]

    _VULN_HEADERS = ("package", "version", "advisory", "fixed in")
    _LICENCE_HEADERS = ("package", "version", "licence", "denied by")

    def to_text(self) -> str:
        """Human rendering."""
        lines = [f"audit of {self.lock}: " + ("ok" if self.ok else "FAILED")]
        for name, state in sorted(self.scanners.items()):
            lines.append(f"  {name}: {state}")
        if self.unaudited:
            lines.append(f"NOT audited for CVEs ({len(self.unaudited)}):")
            lines += [f"  {u}" for u in self.unaudited]
        if self.vulnerabilities:
            lines.append(f"vulnerabilities ({len(self.vulnerabilities)}):")
            for v in self.vulnerabilities:
                fix = ", ".join(v.fix_versions) or "no fix released"
                alias = f" ({', '.join(v.aliases)})" if v.aliases else ""
                lines.append(f"  {v.package}=={v.version}  {v.id}{alias}  fixed in: {fix}")
        if self.licences:
            deny = ", ".join(self.deny) or "(empty)"
            lines.append(
                f"licences: {len(self.licences)} packages, {len(self.denied)} denied (deny list: {deny})"
            )
            for f in self.denied:
                lines.append(f"  {f.package}=={f.version}  {f.licence}  -> denied ({', '.join(f.denied)})")
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """Markdown rendering."""
        out = [f"**Audit of `{render.md_esc(self.lock)}`: {'ok' if self.ok else 'failed'}**", ""]
        out += [checks_markdown(self.checks), ""]
        if self.vulnerabilities:
            out += [render.md_table(self._vulnerability_rows(), self._VULN_HEADERS), ""]
        if self.denied:
            out += [render.md_table(self._licence_rows(), self._LICENCE_HEADERS)]
        return "\n".join(out).rstrip() + "\n"

    def to_html(self) -> str:
        """HTML rendering for ``displayHTML``."""
        parts = [
            render.verdict_card(f"Audit of {self.lock}", self.ok, self.summary()),
            checks_html(self.checks),
        ]
        if self.vulnerabilities:
            parts.append(
                render.section(
                    "Vulnerabilities", render.html_table(self._vulnerability_rows(), self._VULN_HEADERS)
                )
            )
        if self.denied:
            parts.append(
                render.section(
                    "Denied licences", render.html_table(self._licence_rows(), self._LICENCE_HEADERS)
                )
            )
        return render.container(*parts)


def parse_pip_audit(data: Mapping[str, Any]) -> tuple[list[Vulnerability], list[str]]:
    """Read ``pip-audit --format json`` output.

    Returns:
        The vulnerabilities (sorted), and ``name==version: reason`` for every pin it skipped.
    """
    found = []
    skipped = []
    for dep in data.get("dependencies", []):
        if dep.get("skip_reason"):
            skipped.append(f"{canonical(dep.get('name', '?'))}: {dep['skip_reason']}")
            continue
        for vuln in dep.get("vulns", []):
            found.append(
                Vulnerability(
                    package=canonical(dep["name"]),
                    version=dep.get("version", ""),
                    id=vuln.get("id", ""),
                    aliases=tuple(vuln.get("aliases", [])),
                    fix_versions=tuple(vuln.get("fix_versions", [])),
                    description=(vuln.get("description") or "")[:300],
                )
            )
    return sorted(found, key=lambda v: (v.package, v.id)), skipped


class Auditor:
    """Runs the scanners on a lock.

    Args:
        python: the interpreter that has pip-audit, pip-licenses and uv installed.
        env: environment for the scanners (``SAFETY_API_KEY`` turns safety on); os.environ when None.
        runner: ``subprocess.run`` or a stand-in with the same signature.
    """

    def __init__(
        self, python: str | None = None, env: Mapping[str, str] | None = None, runner: Runner = subprocess.run
    ) -> None:
        self.python = python or sys.executable
        self.env = dict(os.environ if env is None else env)
        self.runner = runner

    def _run(self, args: Sequence[str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
        try:
            return self.runner(list(args), capture_output=True, text=True, env=self.env, timeout=timeout)
        except FileNotFoundError as exc:
            raise EnvironmentSetupError(f"{args[0]} is not installed: {exc}; run `make setup`.") from None
        except subprocess.TimeoutExpired:
            raise DependencyError(f"{' '.join(args[:3])} took too long; check the network to PyPI.") from None

    def vulnerabilities(self, lock: LockFile) -> tuple[list[Vulnerability], list[str]]:
        """Known vulnerabilities of the lock's pins (pip-audit, PyPI advisory database).

        Returns:
            The vulnerabilities, and the pins pip-audit could not audit (with its reason).

        Raises:
            DependencyError: when pip-audit fails for another reason than finding vulnerabilities.
        """
        args = [self.python, "-m", "pip_audit", "-r", str(lock.path), "--no-deps", "--disable-pip"]
        args += ["--format", "json", "--progress-spinner", "off"]
        if lock.hashed:
            args.append("--require-hashes")
        out = self._run(args)
        try:
            data = json.loads(out.stdout) if out.stdout.strip() else None
        except json.JSONDecodeError:
            data = None
        if data is None:
            raise DependencyError(f"pip-audit failed on {lock.path}: {out.stderr.strip()[-400:]}")
        return parse_pip_audit(data)

    def licences(self, lock: LockFile, deny: Iterable[str] = DEFAULT_DENY) -> list[LicenceFinding]:
        """Every locked package's licence, read by pip-licenses from a scratch environment.

        Raises:
            DependencyError: when the lock cannot be installed or pip-licenses fails.
        """
        deny = tuple(deny)
        python_version = lock.header.get("python", "")
        with tempfile.TemporaryDirectory(prefix="dbx-ops-licences-") as tmp:
            scratch = Path(tmp)
            out = self._run(
                [self.python, "-m", "uv", "venv", "-q", str(scratch / "venv"), "--python", self.python]
            )
            if out.returncode != 0:
                raise DependencyError(f"cannot create a scratch environment: {out.stderr.strip()[-300:]}")
            install = [self.python, "-m", "uv", "pip", "install", "-q", "--no-deps", "--no-config"]
            install += ["--target", str(scratch / "site"), "-r", str(lock.path)]
            if python_version:
                install += ["--python-version", python_version, "--python-platform", "x86_64-manylinux_2_28"]
            out = self._run(install)
            if out.returncode != 0:
                raise DependencyError(
                    f"cannot install {lock.path} for the licence scan: {out.stderr.strip()[-400:]}"
                )
            venv_python = scratch / "venv" / "bin" / "python"
            purelib = self._run(
                [str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
            ).stdout.strip()
            Path(purelib, "dbx_ops_scratch.pth").write_text(str(scratch / "site") + "\n")
            out = self._run(
                [
                    self.python,
                    "-m",
                    "piplicenses",
                    "--python",
                    str(venv_python),
                    "--from=all",
                    "--format=json",
                    "--with-system",
                ]
            )
            if out.returncode != 0:
                raise DependencyError(f"pip-licenses failed: {out.stderr.strip()[-400:]}")
            rows = json.loads(out.stdout)
        locked = {p.name for p in lock.pins}
        findings = []
        for row in rows:
            name = canonical(row.get("Name", ""))
            if name not in locked:
                continue
            expression = row.get("License-Expression", "") or ""
            names = _terms(row.get("License-Classifier", "")) + _terms(row.get("License-Metadata", ""))
            if expression and expression.lower() not in _UNKNOWN:
                shown = expression
            else:
                shown = "; ".join(dict.fromkeys(names)) or "UNKNOWN"
                expression = ""
            findings.append(
                LicenceFinding(name, row.get("Version", ""), shown, tuple(denied_by(names, expression, deny)))
            )
        return sorted(findings, key=lambda f: f.package)

    def safety(self, lock: LockFile) -> str:
        """Run ``safety`` when configured; returns ``ran: ...`` or ``skipped: <why>``."""
        if not self.env.get("SAFETY_API_KEY"):
            return "skipped: needs an account (set SAFETY_API_KEY to enable)"
        exe = shutil.which("safety")
        if not exe:
            return "skipped: SAFETY_API_KEY is set but the safety command is not installed"
        out = self._run([exe, "check", "--file", str(lock.path), "--output", "text"])
        return "ran: no issues" if out.returncode == 0 else "ran: FAILED\n" + out.stdout.strip()[-1000:]

    def audit(
        self,
        lock_path: str | Path,
        deny: Iterable[str] = DEFAULT_DENY,
        cves: bool = True,
        licences: bool = True,
    ) -> AuditReport:
        """Run every enabled scanner on a lock."""
        lock = read_lock(lock_path)
        scanners: dict[str, str] = {}
        vulns: list[Vulnerability] = []
        found: list[LicenceFinding] = []
        unaudited: list[str] = []
        if cves:
            vulns, unaudited = self.vulnerabilities(lock)
            scanners["pip-audit"] = f"ran: {len(vulns)} vulnerabilities, {len(unaudited)} pins not audited"
        else:
            scanners["pip-audit"] = "skipped: --no-cves"
        if licences:
            found = self.licences(lock, deny)
            scanners["pip-licenses"] = f"ran: {sum(1 for f in found if f.denied)} denied"
        else:
            scanners["pip-licenses"] = "skipped: --no-licences"
        safety = self.safety(lock)
        scanners["safety"] = safety
        report = AuditReport(
            str(lock.path), tuple(vulns), tuple(found), tuple(deny), scanners, tuple(unaudited)
        )
        if safety.startswith("ran: FAILED"):
            logger.warning("safety reported issues for %s", lock.path)
        return report
