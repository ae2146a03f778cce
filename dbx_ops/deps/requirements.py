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


#: Packages the Databricks runtime itself provides, with the reason they are never locked or installed.
INJECTED: dict[str, str] = {
    "pyspark": "it is the cluster's own Spark (injected at launch); a pip-installed pyspark would replace it",
    "py4j": "it is the bridge to the cluster's JVM, at the version its Spark was built with",
    "databricks-connect": "it replaces pyspark and would break the cluster's own Spark session",
}
#: The longest requirement line accepted (real ones are far shorter; longer is pasted by mistake).
MAX_LINE = 1000
_VCS_OR_URL = re.compile(r"^(?:(?:git|hg|svn|bzr)\+)?[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_EGG = re.compile(r"#(?:.*&)?egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_HASH_OPTION = re.compile(r"\s--hash[=\s](\S+)")


def injected_reason(name: str) -> str | None:
    """Why the runtime provides ``name`` itself (None when it is an ordinary package)."""
    return INJECTED.get(canonical(name))


def _strip_comment(raw: str) -> str:
    # pip's rule: a comment starts at '#' at the line start or after whitespace.
    return re.split(r"(^|\s)#", raw, maxsplit=1)[0].strip()


def _show(text: str, limit: int = 60) -> str:
    """A user's line quoted for a message, shortened."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """The lines pip reads: a UTF-8 byte-order mark dropped, ``\\`` continuations joined.

    Returns:
        ``(number of the first physical line, joined text)`` pairs.
    """
    out: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        if not buffer:
            start = number
        if raw.rstrip().endswith("\\"):
            buffer += raw.rstrip()[:-1] + " "
            continue
        out.append((start, buffer + raw))
        buffer = ""
    if buffer:
        out.append((start, buffer))
    return out


class _LineErrors:
    """Collects every bad line of one file, then raises them together in one sentence."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def add(self, number: int, message: str) -> None:
        self.errors.append(f"{self.source}:{number}: {message}")

    def raise_any(self) -> None:
        if not self.errors:
            return
        if len(self.errors) == 1:
            raise InvalidInputError(self.errors[0])
        shown = self.errors[:20]
        more = f" ... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        raise InvalidInputError(
            f"{len(self.errors)} lines of {self.source} cannot be used: " + " ".join(shown) + more
        )


def _url_message(line: str, req: Requirement | None) -> str:
    egg = _EGG.search(line)
    name = req.name if req is not None else (egg.group(1) if egg else "this package")
    return (
        f"{name} comes from a URL ({_show(line.split()[0], 40)}); only packages from the package index can "
        "be locked (the init script installs them with --no-deps): publish it to an index, or attach it "
        "as a cluster library."
    )


def _parse_line(line: str) -> tuple[Requirement | None, str]:
    """One requirement line -> (requirement, '') or (None, why it cannot be used)."""
    if len(line) > MAX_LINE:
        return None, f"the line is {len(line)} characters long; a requirement line has at most {MAX_LINE}."
    line = _strip_comment(line)
    if not line:
        return None, ""
    if line.startswith("-"):
        option = line.split()[0]
        if option in ("-e", "--editable") and _VCS_OR_URL.match(line.split()[-1]):
            return None, f"options like {option!r} are not supported; " + _url_message(line.split()[-1], None)
        return None, f"options like {option!r} are not supported; list one package per line."
    if _VCS_OR_URL.match(line):
        return None, _url_message(line, None)
    first = line.split()[0]
    if first.startswith((".", "/", "~")) or ("@" not in line and ("/" in first or "\\" in first)):
        return None, f"{_show(line)} is a local path; only packages from the package index can be locked."
    for value in _HASH_OPTION.findall(" " + line):
        if not _HASH.match(value):
            return None, f"{_show(value)} is not a sha256 hash (--hash=sha256:<64 hex digits>)."
    line = _HASH_OPTION.sub("", " " + line).strip()
    flag = re.search(r"(?:^|\s)(--[A-Za-z][^\s]*)", line)
    if flag:
        return None, f"the option {flag.group(1)!r} is not supported on a requirement line."
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None, (
            f"{_show(line)} is not a valid requirement; write a name with an optional version, "
            "such as six, six==1.16.0 or six>=1.16,<2 (PEP 508)."
        )
    if req.url:
        return None, _url_message(line, req)
    if not _NAME.match(req.name):
        return None, f"{_show(req.name)} is not a valid package name (PEP 508)."
    reason = injected_reason(req.name)
    if reason:
        return None, (
            f"{canonical(req.name)} is never locked or installed because the Databricks runtime provides "
            f"it: {reason}; remove this line."
        )
    return req, ""


def parse_additions(text: str, source: str = "additional-packages.in") -> list[Addition]:
    """Parse a requirements file of additions: one PEP 508 requirement per line.

    Comments, blank lines and a UTF-8 byte-order mark are ignored, ``\\``
    continuations are joined and ``--hash=`` options are accepted (the lock
    computes its own hashes with ``--hashes``). Options (``-r``, ``-e``,
    ``--index-url``), URLs (``git+https://…#egg=name``), local paths and the
    packages the runtime provides itself (:data:`INJECTED`) are refused: the
    lock is built from the package index only, so the init script can
    install it with ``--no-deps`` and hashes.

    Args:
        text: the file's content.
        source: the file name used in error messages.

    Returns:
        The additions, in file order.

    Raises:
        InvalidInputError: naming every bad line (with its number) and every package listed twice.
    """
    out: list[Addition] = []
    seen: dict[str, int] = {}
    errors = _LineErrors(source)
    for number, raw in logical_lines(text):
        req, problem = _parse_line(raw)
        if problem:
            errors.add(number, problem)
        if req is None:
            continue
        name = canonical(req.name)
        if name in seen:
            errors.add(number, f"{name} is already listed on line {seen[name]}; list it once.")
            continue
        seen[name] = number
        out.append(Addition(req, number))
    errors.raise_any()
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
    logical = logical_lines(text)
    for number, line in logical:
        line = _strip_comment(line)
        if not line:
            continue
        where = f"{source}:{number}"
        tokens = line.split()
        match = _PIN.match(tokens[0])
        if not match:
            raise InvalidInputError(f"{where}: {_show(tokens[0])} is not an exact pin (name==version).")
        hashes = []
        for token in tokens[1:]:
            if not token.startswith("--hash="):
                raise InvalidInputError(
                    f"{where}: {_show(token)} is not allowed in a lock (only --hash=...)."
                )
            hashes.append(token.removeprefix("--hash="))
        pin = make_pin(match.group(1), match.group(2), tuple(hashes), where)
        if pin.name in pins:
            raise InvalidInputError(f"{where}: {pin.name} is pinned twice.")
        pins[pin.name] = pin
    return [pins[k] for k in sorted(pins)]
