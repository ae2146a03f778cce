"""Repository verifiers: tests pass, no hard-coded credentials, no collect()/toPandas(), bundle validates."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbx_ops.checklists.model import Evidence, EvidenceKind, RunContext
from dbx_ops.checklists.verifiers.base import (
    NotAvailable,
    VerifierContext,
    VerifierResult,
    register,
    text_evidence,
)
from dbx_ops.checklists.verifiers.jobspec import databricks_binary
from dbx_ops.checklists.verifiers.secrets import scan_text

SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "node_modules",
    ".cache",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "build",
    "dist",
}
TEXT_SUFFIXES = {
    ".py",
    ".sql",
    ".scala",
    ".r",
    ".yml",
    ".yaml",
    ".json",
    ".cfg",
    ".ini",
    ".toml",
    ".sh",
    ".env",
    ".txt",
    ".md",
    ".ipynb",
    ".conf",
    ".properties",
    "",
}
#: a notebook line carrying this marker is an accepted collect()/toPandas() (a small lookup, a display).
ACCEPT_COLLECT = "dbx-ops: accept collect"
COLLECT_RE = re.compile(r"\.\s*(collect|toPandas)\s*\(")


def _resolve(path_param: Any, ctx: VerifierContext) -> Path:
    text = str(path_param or "")
    if not text or "{" in text:
        if ctx.repo is None:
            raise NotAvailable("no repository folder (give the item a path or run with --repo)")
        return Path(ctx.repo)
    return ctx.in_repo(text)


def iter_files(root: Path, suffixes: set[str] | None = None, max_bytes: int = 1_000_000) -> Iterator[Path]:
    """Text files under ``root`` (skipping VCS, venvs, caches), sorted."""
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if suffixes is not None and path.suffix.lower() not in suffixes:
                continue
            try:
                if path.stat().st_size > max_bytes:
                    continue
            except OSError:
                continue
            yield path


def _read(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:4096]:
        return None
    return data.decode("utf-8", errors="replace")


def _texts(root: Path, suffixes: set[str]) -> Iterator[tuple[str, str]]:
    """``(name relative to root, text)`` of each readable text file under ``root``."""
    for path in iter_files(root, suffixes):
        text = _read(path)
        if text is not None:
            yield str(path.relative_to(root) if root.is_dir() else path.name), text


@register(
    "secret_scan",
    "No hard-coded credentials (tokens, keys, passwords) in a repository folder.",
    params=("path",),
    needs=(),
)
def verify_secret_scan(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Scan text files under ``path`` (default: the repository)."""
    root = _resolve(params.get("path"), ctx)
    if not root.exists():
        return VerifierResult.failed(f"{root} does not exist")
    findings = []
    scanned = 0
    for name, text in _texts(root, TEXT_SUFFIXES):
        scanned += 1
        findings += scan_text(text, name)
    ev = [Evidence(EvidenceKind.FILE, str(root)), text_evidence(f"{scanned} files scanned")]
    if findings:
        return VerifierResult.failed(
            f"{len(findings)} suspected hard-coded credential(s)",
            *ev,
            *(text_evidence(f.text()) for f in findings[:10]),
        )
    return VerifierResult.passed(f"no hard-coded credentials in {scanned} files", *ev)


def collect_uses(text: str) -> list[tuple[int, str]]:
    """``(line, call)`` of every ``.collect()`` / ``.toPandas()`` not marked accepted (comments skipped)."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
        if ACCEPT_COLLECT in line:
            continue
        for match in COLLECT_RE.finditer(code):
            out.append((number, match.group(1)))
    return out


@register(
    "no_collect",
    f"No collect() / toPandas() in notebooks (static scan; mark an accepted use with '# {ACCEPT_COLLECT}').",
    params=("path",),
)
def verify_no_collect(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Scan ``.py`` / ``.sql`` / ``.scala`` notebooks and sources under ``path``."""
    root = _resolve(params.get("path"), ctx)
    if not root.exists():
        return VerifierResult.failed(f"{root} does not exist")
    hits = []
    files = 0
    for name, text in _texts(root, {".py", ".scala", ".ipynb"}):
        files += 1
        hits += [f"{name}:{line}: {call}()" for line, call in collect_uses(text)]
    ev = [Evidence(EvidenceKind.FILE, str(root)), text_evidence(f"{files} files scanned")]
    if hits:
        return VerifierResult.failed(
            f"{len(hits)} unmarked collect()/toPandas() call(s)", *ev, *(text_evidence(h) for h in hits[:10])
        )
    return VerifierResult.passed(f"no unmarked collect()/toPandas() in {files} files", *ev)


@dataclass(frozen=True)
class JUnitCounts:
    """Counts from a JUnit XML report."""

    tests: int
    failures: int
    errors: int
    skipped: int

    @property
    def ok(self) -> bool:
        """Tests ran and none failed or errored."""
        return self.tests > 0 and self.failures == 0 and self.errors == 0

    def text(self) -> str:
        """``12 tests, 0 failures, 0 errors, 1 skipped``."""
        return f"{self.tests} tests, {self.failures} failures, {self.errors} errors, {self.skipped} skipped"


def read_junit(path: Path) -> JUnitCounts:
    """Sum the counts of every ``<testsuite>`` of a JUnit XML file."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = [0, 0, 0, 0]
    for suite in suites:
        for i, key in enumerate(("tests", "failures", "errors", "skipped")):
            totals[i] += int(suite.get(key, "0") or 0)
    return JUnitCounts(*totals)


@register(
    "tests_pass",
    "Tests pass: reads a JUnit XML report (junit), or runs pytest (pytest: its arguments); records counts.",
    params=("junit", "pytest"),
)
def verify_tests(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Read ``junit`` or run ``pytest`` with the given arguments in the repository."""
    junit = str(params.get("junit") or "")
    args = params.get("pytest")
    if junit and "{" not in junit:
        path = ctx.in_repo(junit)
        if not path.is_file():
            return VerifierResult.failed(f"JUnit report {path} does not exist")
        try:
            counts = read_junit(path)
        except ET.ParseError as exc:
            return VerifierResult.failed(f"{path} is not JUnit XML: {exc}")
        ev = (Evidence(EvidenceKind.FILE, str(path)), text_evidence(counts.text()))
        return (
            VerifierResult.passed(counts.text(), *ev)
            if counts.ok
            else VerifierResult.failed(counts.text(), *ev)
        )
    if args is not None and "{" not in str(args):
        folder = Path(ctx.need("repo"))
        argv = args.split() if isinstance(args, str) else [str(a) for a in args]
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "junit.xml"
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", f"--junitxml={report}", *argv],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=int(params.get("timeout", 1800)),
                check=False,
            )
            if not report.is_file():
                tail = (proc.stdout or proc.stderr).strip().splitlines()[-1:] or [str(proc.returncode)]
                return VerifierResult.failed(f"pytest wrote no report: {tail[0]}")
            counts = read_junit(report)
        ev = (text_evidence("pytest " + " ".join(argv)), text_evidence(counts.text()))
        if counts.ok and proc.returncode == 0:
            return VerifierResult.passed(counts.text(), *ev)
        return VerifierResult.failed(counts.text(), *ev)
    raise NotAvailable("no JUnit report or pytest arguments given (set junit or pytest)")


@register(
    "bundle_validates",
    "The asset bundle validates for the target (runs the real `databricks bundle validate -t TARGET`).",
    params=("target", "path"),
)
def verify_bundle(params: Mapping[str, Any], run: RunContext, ctx: VerifierContext) -> VerifierResult:
    """Run ``databricks bundle validate -t TARGET`` in the bundle folder."""
    target = str(params.get("target") or run.target or "")
    if not target or "{" in target:
        raise NotAvailable("no bundle target (set the run's target)")
    folder = _resolve(params.get("path"), ctx)
    if not (folder / "databricks.yml").is_file():
        return VerifierResult.failed(f"{folder} has no databricks.yml")
    binary = databricks_binary(ctx)
    proc = subprocess.run(
        [str(binary), "bundle", "validate", "-t", target],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=int(params.get("timeout", 180)),
        env={**os.environ, **dict(ctx.env)},
        check=False,
    )
    lines = (proc.stdout + "\n" + proc.stderr).strip().splitlines()
    ev = [text_evidence(f"databricks bundle validate -t {target}: exit {proc.returncode}")]
    ev += [text_evidence(line) for line in lines[-5:]]
    if proc.returncode == 0:
        return VerifierResult.passed(f"bundle validates for target {target}", *ev)
    return VerifierResult.failed(
        f"bundle does not validate for target {target}: {lines[-1] if lines else proc.returncode}", *ev
    )
