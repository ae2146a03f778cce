"""``%pip`` cells, checked against the installed environment instead of installing.

A local run must not change the environment under the test (or the developer), so
``%pip install X`` passes when ``X`` is already satisfied and otherwise fails with
"install X into the environment first".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from dbx_ops.errors import InvalidInputError
from dbx_ops.notebooks.source import parse_pip


class PipNotSatisfiedError(InvalidInputError):
    """A ``%pip install`` names a package the local environment does not satisfy."""


@dataclass(frozen=True)
class PipCheck:
    """The outcome of one requirement of a ``%pip install`` cell."""

    requirement: str
    installed: str | None
    ok: bool


def _installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_pip(
    source: str, base: Path, installed: Callable[[str], str | None] = _installed_version
) -> list[PipCheck]:
    """Check a ``%pip`` cell against the environment.

    Args:
        source: the cell's text after ``%pip``.
        base: folder that ``-r file`` paths are relative to.
        installed: name -> installed version (None when not installed).

    Returns:
        One :class:`PipCheck` per requirement, all ok.

    Raises:
        PipNotSatisfiedError: a requirement is missing or at a version the specifier excludes.
        InvalidInputError: the cell is not ``%pip install`` of package requirements.
    """
    cmd = parse_pip(source)
    if cmd.command != "install":
        raise InvalidInputError(
            f"%pip {cmd.command or ''}: the local runner only checks `%pip install` cells against the "
            "environment (it never changes it)."
        )
    if cmd.unsupported:
        raise InvalidInputError(f"%pip install: option {cmd.unsupported[0]} is not supported by the local runner.")
    lines = list(cmd.requirements)
    for file in cmd.files:
        path = (base / file) if not Path(file).is_absolute() else Path(file)
        if not path.is_file():
            raise InvalidInputError(f"%pip install -r {file}: {path} not found.")
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line and not line.startswith(("#", "-")):
                lines.append(line)
    checks: list[PipCheck] = []
    missing: list[str] = []
    for line in lines:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            raise PipNotSatisfiedError(
                f"%pip install {line}: the local runner cannot check a wheel, URL or path; "
                f"install {line} into the environment first and name the package instead."
            ) from None
        if req.marker is not None and not req.marker.evaluate():
            continue
        version = installed(canonicalize_name(req.name))
        ok = version is not None and (not req.specifier or req.specifier.contains(version, prereleases=True))
        checks.append(PipCheck(line, version, ok))
        if not ok:
            missing.append(f"{line} (installed: {version})" if version else line)
    if missing:
        raise PipNotSatisfiedError(
            f"%pip install: {', '.join(missing)} not satisfied; the local runner does not install packages: "
            f"install {' '.join(missing_names(missing))} into the environment first."
        )
    return checks


def missing_names(missing: list[str]) -> list[str]:
    """The requirement strings of ``missing`` without the installed note, quoted for a shell."""
    return [f"'{m.split(' (installed:')[0]}'" for m in missing]
