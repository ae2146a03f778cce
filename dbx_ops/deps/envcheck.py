"""Compare a running Python environment with a lock and its runtime baseline.

Run from a notebook (``check_environment()``), a scheduled job or CI
(``dbx-ops env check --lock requirements/<runtime>/requirements.txt``). It
reports, per package:

- ``missing``: pinned in the lock, not installed;
- ``wrong-version``: pinned in the lock, installed at another version;
- ``baseline-changed`` / ``baseline-missing``: the runtime no longer ships the
  baseline's version (a runtime maintenance update changed it underneath you);
- ``stray``: installed, but neither in the baseline, the lock nor protected;
- ``python``: the interpreter is not the lock's Python version.

Any drift makes the check fail (exit 1).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from dbx_ops import render
from dbx_ops.deps.baseline import BASELINE_FILE, Baseline, installed_distributions, parse_baseline
from dbx_ops.deps.initscript import DEFAULT_PROTECTED, PROTECTED_PREFIXES
from dbx_ops.deps.layout import read_text
from dbx_ops.deps.lock import LockFile, read_lock
from dbx_ops.deps.requirements import canonical
from dbx_ops.errors import EnvironmentDriftError, EnvironmentSetupError
from dbx_ops.verdict import Check, Verdict, checks_html, checks_markdown

logger = logging.getLogger(__name__)

_LISTING = (
    "import json, platform\n"
    "from importlib import metadata\n"
    "out = {}\n"
    "for d in metadata.distributions():\n"
    "    name = d.metadata['Name'] if d.metadata else None\n"
    "    if name and d.version:\n"
    "        out.setdefault(name, d.version)\n"
    "print(json.dumps({'python': platform.python_version(), 'packages': out}))\n"
)


def version_matches(installed: str, pinned: str) -> bool:
    """PEP 440 ``==``: True when ``installed`` satisfies ``==pinned``.

    A pin without a local label (``2.3.1``) is met by a local build (``2.3.1+cpu``).
    """
    try:
        return Version(installed) in SpecifierSet(f"=={pinned}")
    except (InvalidVersion, InvalidSpecifier):
        return installed == pinned


class DriftKind(StrEnum):
    """How a package differs from the lock or the baseline."""

    MISSING = "missing"
    WRONG_VERSION = "wrong-version"
    BASELINE_CHANGED = "baseline-changed"
    BASELINE_MISSING = "baseline-missing"
    STRAY = "stray"
    PYTHON = "python"


_DRIFT_MEANING = {
    DriftKind.MISSING: "pinned in the lock, not installed",
    DriftKind.WRONG_VERSION: "pinned in the lock, installed at another version",
    DriftKind.BASELINE_CHANGED: "the runtime ships another version than its baseline",
    DriftKind.BASELINE_MISSING: "in the runtime baseline, not installed",
    DriftKind.STRAY: "installed, but neither in the baseline, the lock nor protected",
    DriftKind.PYTHON: "the interpreter is not the lock's Python version",
}


@dataclass(frozen=True)
class Drift:
    """One difference between the environment and the lock.

    Attributes:
        kind: what differs (:class:`DriftKind`).
        package: the canonical package name (``python`` for the interpreter).
        expected: the version the lock or baseline names ('' for a stray).
        installed: the installed version ('' when missing).
    """

    kind: DriftKind
    package: str
    expected: str
    installed: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "kind": str(self.kind),
            "package": self.package,
            "expected": self.expected,
            "installed": self.installed,
        }

    def to_check(self) -> Check:
        """This drift as the one check record (a failed check named after the package)."""
        return Check(
            self.package,
            False,
            self.expected or "-",
            self.installed or "-",
            f"{self.kind}: {_DRIFT_MEANING[self.kind]}",
        )


@dataclass(frozen=True)
class Interpreter:
    """What an interpreter has installed.

    Attributes:
        python: its full Python version (``3.11.7``).
        packages: canonical name -> version.
        executable: its path ('' for the running one).
    """

    python: str
    packages: Mapping[str, str]
    executable: str = ""


def current_interpreter() -> Interpreter:
    """The running interpreter (``importlib.metadata``)."""
    import platform

    return Interpreter(platform.python_version(), installed_distributions(), sys.executable)


def inspect_interpreter(
    python: str, runner: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run
) -> Interpreter:
    """What another interpreter has installed (e.g. ``/databricks/python/bin/python``).

    Raises:
        EnvironmentSetupError: when it cannot be run.
    """
    try:
        out = runner([python, "-c", _LISTING], capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentSetupError(f"Cannot run {python}: {exc}; pass a working --python.") from None
    if out.returncode != 0:
        raise EnvironmentSetupError(f"{python} failed to list its packages: {out.stderr.strip()[-300:]}")
    data = json.loads(out.stdout)
    packages: dict[str, str] = {}
    for name, version in data["packages"].items():
        packages.setdefault(canonical(name), version)
    return Interpreter(data["python"], packages, python)


@dataclass(frozen=True)
class EnvReport(Verdict):
    """The result of an environment check.

    Attributes:
        lock: the lock file checked against.
        runtime: the lock's runtime.
        python: the interpreter's Python version.
        executable: the interpreter checked.
        checked: how many lock pins were checked.
        drifts: every difference found.
    """

    error_class = EnvironmentDriftError

    lock: str
    runtime: str
    python: str
    executable: str
    checked: int
    drifts: tuple[Drift, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when nothing drifted."""
        return not self.drifts

    @property
    def checks(self) -> tuple[Check, ...]:
        """Every drift as a failed :class:`~dbx_ops.verdict.Check` (empty when ok)."""
        return tuple(d.to_check() for d in self.drifts)

    def by_kind(self, kind: str) -> list[Drift]:
        """The drifts of one kind."""
        return [d for d in self.drifts if d.kind == kind]

    def summary(self) -> str:
        """One sentence: ok, or how many drifts of which kinds."""
        if self.ok:
            return f"The environment matches {self.lock} ({self.checked} pinned packages)."
        counts: dict[str, int] = {}
        for d in self.drifts:
            counts[str(d.kind)] = counts.get(str(d.kind), 0) + 1
        kinds = ", ".join(f"{n} {k}" for k, n in counts.items())
        return (
            f"The environment drifted from {self.lock} ({kinds}); "
            "run the init script or lock again, then check again."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ok": self.ok,
            "lock": self.lock,
            "runtime": self.runtime,
            "python": self.python,
            "executable": self.executable,
            "checked": self.checked,
            "drifts": [d.to_dict() for d in self.drifts],
        }

    def _rows(self) -> list[tuple[str, str, str, str]]:
        return [(str(d.kind), d.package, d.expected or "-", d.installed or "-") for d in self.drifts]

    def to_text(self) -> str:
        """Human rendering."""
        head = f"environment vs {self.lock} ({self.runtime}, Python {self.python}): "
        if self.ok:
            return head + f"ok, all {self.checked} pinned packages in place, no strays."
        table = render.text_table(self._rows(), ["drift", "package", "expected", "installed"])
        return head + f"DRIFT ({len(self.drifts)})\n" + table

    def to_markdown(self) -> str:
        """Markdown rendering."""
        if self.ok:
            return f"**Environment ok** against `{render.md_esc(self.lock)}` ({self.checked} pins)."
        return "\n".join(
            [f"**Environment drift** against `{render.md_esc(self.lock)}`:", "", checks_markdown(self.checks)]
        )

    def to_html(self) -> str:
        """HTML rendering for ``displayHTML`` in a notebook."""
        title = f"Environment {'ok' if self.ok else 'drift'} against {self.lock}"
        detail = f"{self.checked} pinned packages, Python {self.python}; {self.summary()}"
        body = "" if self.ok else checks_html(self.checks)
        return render.container(render.verdict_card(title, self.ok, detail), body)


def compare(
    lock: LockFile,
    baseline: Baseline | None,
    interpreter: Interpreter,
    protected: Iterable[str] = DEFAULT_PROTECTED,
    strays: bool = True,
) -> EnvReport:
    """Compare an interpreter's packages with a lock and baseline (pure).

    Args:
        lock: the lock.
        baseline: the runtime baseline (None: no baseline checks, strays are everything not locked).
        interpreter: what is installed.
        protected: names never reported as strays.
        strays: report strays.
    """
    installed = dict(interpreter.packages)
    drifts: list[Drift] = []
    lock_python = lock.python
    running = ".".join(interpreter.python.split(".")[:2])
    if lock_python and running != lock_python:
        drifts.append(Drift(DriftKind.PYTHON, "python", lock_python, interpreter.python))
    locked = {p.name: p.version for p in lock.pins}
    for name, version in sorted(locked.items()):
        have = installed.get(name)
        if have is None:
            drifts.append(Drift(DriftKind.MISSING, name, version, ""))
        elif not version_matches(have, version):
            drifts.append(Drift(DriftKind.WRONG_VERSION, name, version, have))
    known = set(locked) | {canonical(p) for p in protected}
    if baseline is not None:
        known |= baseline.names()
        for pin in baseline.pins:
            if pin.name in locked:
                continue
            have = installed.get(pin.name)
            if have is None:
                drifts.append(Drift(DriftKind.BASELINE_MISSING, pin.name, pin.version, ""))
            elif not version_matches(have, pin.version):
                drifts.append(Drift(DriftKind.BASELINE_CHANGED, pin.name, pin.version, have))
    if strays:
        for name in sorted(installed):
            if name in known or name.startswith(PROTECTED_PREFIXES):
                continue
            drifts.append(Drift(DriftKind.STRAY, name, "", installed[name]))
    return EnvReport(
        lock=str(lock.path),
        runtime=lock.runtime,
        python=interpreter.python,
        executable=interpreter.executable,
        checked=len(locked),
        drifts=tuple(drifts),
    )


def check_environment(
    lock: str | Path,
    baseline: str | Path | None = None,
    python: str | None = None,
    strays: bool = True,
    protected: Iterable[str] = (),
) -> EnvReport:
    """Check an interpreter against a lock (and the baseline next to it).

    Args:
        lock: the lock file (``requirements/<runtime>/requirements.txt``).
        baseline: the baseline; ``runtime-baseline.in`` next to the lock when None and present.
        python: another interpreter to check (default: the running one).
        strays: report packages that are neither in the baseline, the lock nor protected.
        protected: more names never reported as strays.

    Returns:
        The report; ``report.ok`` is False on any drift.
    """
    lock_file = read_lock(lock)
    base_path = Path(baseline) if baseline else lock_file.path.parent / BASELINE_FILE
    base = parse_baseline(read_text(base_path), str(base_path)) if base_path.is_file() else None
    if base is None:
        logger.warning("no baseline at %s: strays are everything not in the lock", base_path)
    interpreter = inspect_interpreter(python) if python else current_interpreter()
    return compare(lock_file, base, interpreter, (*DEFAULT_PROTECTED, *protected), strays)
