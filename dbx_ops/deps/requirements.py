"""Requirement lines and lock entries, validated with ``packaging`` (PEP 508 / PEP 440).

Everything a user writes into ``additional-packages.in`` and everything that
ends up in a lock or an init script passes through here first: names must be
valid PEP 508 names, versions valid PEP 440 versions, hashes ``sha256`` hex.
Anything else is refused with the file, line number and a sentence saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from dbx_ops.errors import InvalidInputError

_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;,\\]+)$")
#: Shell-safe characters for a version that reaches a shell script (PEP 440 public + local).
_SAFE_VERSION = re.compile(r"^[A-Za-z0-9.+!_-]+$")


def canonical(name: str) -> str:
    """The PEP 503 normalised form of a project name (``Typing_Extensions`` -> ``typing-extensions``)."""
    return canonicalize_name(name)


def validate_name(name: str, where: str = "") -> str:
    """Check a project name is a valid PEP 508 name.

    Args:
        name: the project name.
        where: where it came from (``file:line``), for the error message.

    Returns:
        The name unchanged.

    Raises:
        InvalidInputError: when the name is not a valid project name.
    """
    if not _NAME.match(name or ""):
        raise InvalidInputError(
            f"{where + ': ' if where else ''}{name!r} is not a valid package name (PEP 508)."
        )
    return name


def validate_version(version: str, where: str = "") -> str:
    """Check a version is a valid PEP 440 version made only of shell-safe characters.

    Raises:
        InvalidInputError: when it is not.
    """
    prefix = f"{where}: " if where else ""
    try:
        Version(version)
    except InvalidVersion:
        raise InvalidInputError(f"{prefix}{version!r} is not a valid version (PEP 440).") from None
    if not _SAFE_VERSION.match(version):
        raise InvalidInputError(f"{prefix}version {version!r} has characters that are not allowed.")
    return version


@dataclass(frozen=True)
class Addition:
    """One requirement the team adds on top of the runtime.

    Attributes:
        requirement: the parsed PEP 508 requirement.
        line: the line number in its file.
    """

    requirement: Requirement
    line: int

    @property
    def name(self) -> str:
        """The canonical project name."""
        return canonical(self.requirement.name)

    def text(self) -> str:
        """The requirement written back in normal form (canonical name, sorted extras)."""
        req = self.requirement
        out = self.name
        if req.extras:
            out += "[" + ",".join(sorted(canonical(e) for e in req.extras)) + "]"
        if req.url:
            out += f" @ {req.url}"
        elif req.specifier:
            out += ",".join(sorted(str(s) for s in req.specifier))
        if req.marker:
            out += f" ; {req.marker}"
        return out


def _strip_comment(raw: str) -> str:
    # pip's rule: a comment starts at '#' at the line start or after whitespace.
    return re.split(r"(^|\s)#", raw, maxsplit=1)[0].strip()


def parse_additions(text: str, source: str = "additional-packages.in") -> list[Addition]:
    """Parse a requirements file of additions: one PEP 508 requirement per line.

    Comments and blank lines are ignored. Options (``-r``, ``-e``, ``--index-url``)
    and URLs are refused: the lock is built from the package index only, so the
    init script can install it with ``--no-deps`` and hashes.

    Args:
        text: the file's content.
        source: the file name used in error messages.

    Returns:
        The additions, in file order.

    Raises:
        InvalidInputError: on the first bad line (with its number) or a package listed twice.
    """
    out: list[Addition] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        where = f"{source}:{number}"
        if line.startswith("-"):
            raise InvalidInputError(
                f"{where}: options like {line.split()[0]!r} are not supported; list one package per line."
            )
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise InvalidInputError(f"{where}: {line!r} is not a valid requirement ({exc}).") from None
        if req.url:
            raise InvalidInputError(
                f"{where}: {req.name} comes from a URL; only index packages can be locked."
            )
        validate_name(req.name, where)
        name = canonical(req.name)
        if name in seen:
            raise InvalidInputError(f"{where}: {name} is already listed on line {seen[name]}; list it once.")
        seen[name] = number
        out.append(Addition(req, number))
    return out


@dataclass(frozen=True)
class Pin:
    """One exact pin: a lock entry or a baseline package.

    Attributes:
        name: the canonical project name.
        version: the exact version.
        hashes: ``sha256:<hex>`` hashes (lock entries generated with hashes).
    """

    name: str
    version: str
    hashes: tuple[str, ...] = field(default=())

    def text(self) -> str:
        """``name==version`` (without hashes)."""
        return f"{self.name}=={self.version}"

    def requirement_line(self) -> str:
        """The line pip installs: ``name==version`` followed by ``--hash`` options."""
        return " ".join([self.text(), *(f"--hash={h}" for h in self.hashes)])


def make_pin(name: str, version: str, hashes: tuple[str, ...] = (), where: str = "") -> Pin:
    """A validated :class:`Pin` (canonical name, PEP 440 version, sha256 hashes).

    Raises:
        InvalidInputError: when the name, the version or a hash is not valid.
    """
    validate_name(name, where)
    validate_version(version, where)
    for h in hashes:
        if not _HASH.match(h):
            raise InvalidInputError(f"{where + ': ' if where else ''}{h!r} is not a sha256 hash.")
    return Pin(canonical(name), version, tuple(hashes))


def parse_lock(text: str, source: str = "requirements.txt") -> list[Pin]:
    """Parse a lock file (``uv pip compile`` output): ``name==version`` lines with optional hashes.

    Args:
        text: the lock file's content.
        source: the file name for error messages.

    Returns:
        The pins sorted by name.

    Raises:
        InvalidInputError: when a line is not an exact pin, or a package appears twice.
    """
    pins: dict[str, Pin] = {}
    # Join backslash continuations first, remembering the line each entry starts on.
    logical: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append((start, buffer + stripped))
        buffer = ""
    if buffer:
        logical.append((start, buffer))
    for number, line in logical:
        line = _strip_comment(line)
        if not line:
            continue
        where = f"{source}:{number}"
        tokens = line.split()
        match = _PIN.match(tokens[0])
        if not match:
            raise InvalidInputError(f"{where}: {tokens[0]!r} is not an exact pin (name==version).")
        hashes = []
        for token in tokens[1:]:
            if not token.startswith("--hash="):
                raise InvalidInputError(f"{where}: {token!r} is not allowed in a lock (only --hash=...).")
            hashes.append(token.removeprefix("--hash="))
        pin = make_pin(match.group(1), match.group(2), tuple(hashes), where)
        if pin.name in pins:
            raise InvalidInputError(f"{where}: {pin.name} is pinned twice.")
        pins[pin.name] = pin
    return [pins[k] for k in sorted(pins)]
