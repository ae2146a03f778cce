"""Turn the resolver's explanation into conflicts a person can act on.

uv explains a failed resolution as a PubGrub derivation::

    Because referencing==0.35.1 depends on attrs>=22.2.0 and attrs==22.1.0, we can
    conclude that referencing==0.35.1 cannot be used.

This module reads that text (pure: no subprocess, no network), knowing which
packages are the team's additions and which versions the runtime baseline
pins, and returns :class:`Conflict` records:

- ``direct``: an addition asks for a version of a package the runtime pins to
  another version (``numpy==1.21.0`` against the runtime's ``numpy==1.23.5``).
- ``transitive``: an addition (possibly through other packages, ``path``) needs
  a version of a runtime package the runtime does not have.

The raw text is always kept so nothing the resolver said is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from packaging.requirements import InvalidRequirement, Requirement

from dbx_ops.deps.requirements import canonical

_SPEC = r"(?:===|==|!=|<=|>=|~=|<|>)[^\s,]+"
_REQ = rf"[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?(?:{_SPEC}(?:,{_SPEC})*)?"
_REQ_RE = re.compile(_REQ)
_DIRECT = re.compile(rf"you require (?P<a>{_REQ}) and (?:you require )?(?P<b>{_REQ})")
_EDGE = re.compile(
    rf"(?:(?P<subj>{_REQ})|all of: (?P<many>(?:{_REQ} )+))\s*depends? on (?P<dep>{_REQ})"
    # A lookahead: the requirement after "and" may start the next edge ("A depends on B and C depends on D").
    rf"(?=(?: and (?P<other>{_REQ}))?)"
)
_NOT_FOUND = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*) was not found in the package registry")
_NO_VERSION = re.compile(rf"there is no version of (?P<req>{_REQ})")


class ConflictKind(StrEnum):
    """How an addition clashes with the runtime baseline."""

    DIRECT = "direct"
    TRANSITIVE = "transitive"


class FailureKind(StrEnum):
    """Why a requirement cannot be met at all."""

    NOT_FOUND = "not-found"
    NO_VERSION = "no-version"


@dataclass(frozen=True)
class Conflict:
    """One addition the runtime baseline blocks.

    Attributes:
        kind: ``direct`` or ``transitive``.
        package: the addition (canonical name).
        requested: what the team asked for (``numpy==1.21.0``).
        blocker: the runtime package that blocks it (canonical name).
        blocker_version: the version the runtime ships.
        needs: for transitive conflicts, what the addition's dependency chain needs of the blocker.
        path: for transitive conflicts, the chain from the addition to the blocker's requirement.
        newest_fit: the newest version of the addition that resolves against the runtime, when known.
        fit_searched: True once the newest fit was looked for (then a None ``newest_fit`` means none fits).
    """

    kind: ConflictKind
    package: str
    requested: str
    blocker: str
    blocker_version: str
    needs: str = ""
    path: tuple[str, ...] = field(default=())
    newest_fit: str | None = None
    fit_searched: bool = False

    def with_newest_fit(self, version: str | None) -> Conflict:
        """A copy with :attr:`newest_fit` set (None: no version fits)."""
        return replace(self, newest_fit=version, fit_searched=True)

    def summary(self) -> str:
        """One sentence naming both sides, the blocker and the way out."""
        if self.kind == ConflictKind.DIRECT:
            text = (
                f"{self.requested} conflicts with the runtime's {self.blocker}=={self.blocker_version} "
                f"(direct: the runtime already ships {self.blocker})"
            )
        else:
            via = " -> ".join(self.path) if self.path else self.requested
            text = (
                f"{self.requested} needs {self.needs} (transitive, via {via}) "
                f"but the runtime pins {self.blocker}=={self.blocker_version}"
            )
        if self.newest_fit:
            text += f"; newest {self.package} that fits the runtime: {self.newest_fit}"
        elif self.fit_searched:
            text += f"; no version of {self.package} fits the runtime"
        return text + "."

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "kind": str(self.kind),
            "package": self.package,
            "requested": self.requested,
            "blocker": self.blocker,
            "blocker_version": self.blocker_version,
            "needs": self.needs,
            "path": list(self.path),
            "newest_fit": self.newest_fit,
        }


@dataclass(frozen=True)
class ResolverFailure:
    """A failure that is not a baseline conflict: a missing package or version.

    Attributes:
        kind: ``not-found`` (no such project) or ``no-version`` (no such version).
        requirement: the requirement that cannot be met.
    """

    kind: FailureKind
    requirement: str

    def summary(self) -> str:
        """One sentence."""
        if self.kind == FailureKind.NOT_FOUND:
            return f"{self.requirement} is not on the package index; check the name."
        return f"no released version matches {self.requirement}; check the version."


def _parse(req: str) -> Requirement | None:
    try:
        return Requirement(req)
    except InvalidRequirement:
        return None


def _spec(req: Requirement) -> str:
    return ",".join(sorted(str(s) for s in req.specifier))


def _pin_of(req: Requirement) -> str | None:
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "==="):
        return specs[0].version
    return None


#: Longer whitespace-free runs are no requirement uv could print; they are shortened before parsing,
#: so reading uv's text stays linear whatever the input (a 100,000-character name).
_MAX_TOKEN = 300
_LONG_TOKEN = re.compile(rf"\S{{{_MAX_TOKEN},}}")


def _normal_text(text: str) -> str:
    text = _LONG_TOKEN.sub(lambda m: m.group(0)[:40] + "…", text)
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [re.sub(r"^(error|cause|hint|help):\s*", "", ln) for ln in lines]
    return re.sub(r"\s+", " ", " ".join(lines))


def parse_conflicts(
    text: str,
    additions: Mapping[str, str],
    baseline: Mapping[str, str],
) -> list[Conflict]:
    """Read uv's explanation of a failed resolution.

    Args:
        text: uv's stderr.
        additions: canonical name -> requirement text of each addition (``numpy==1.21.0``).
        baseline: canonical name -> version the runtime ships.

    Returns:
        One :class:`Conflict` per (addition, blocker) pair the text shows, in order
        of appearance; empty when the text shows no conflict with the baseline.
    """
    flat = _normal_text(text)
    found: dict[tuple[str, str], Conflict] = {}

    def blocker(req: Requirement) -> str | None:
        name = canonical(req.name)
        pin = _pin_of(req)
        return name if name in baseline and pin == baseline[name] else None

    for match in _DIRECT.finditer(flat):
        a, b = _parse(match.group("a")), _parse(match.group("b"))
        if a is None or b is None or canonical(a.name) != canonical(b.name):
            continue
        name = canonical(a.name)
        if name not in additions:
            continue
        side = b if blocker(b) else a if blocker(a) else None
        if side is None:
            continue
        found.setdefault(
            (name, name),
            Conflict(ConflictKind.DIRECT, name, additions[name], name, baseline[name]),
        )

    # Dependency edges: subject (a package, maybe a version range) -> requirement it needs.
    edges: list[tuple[str, str, Requirement, str]] = []  # (subject name, subject text, dep, dep text)
    blocked_needs: list[tuple[str, str, Requirement, str]] = []  # edges whose 'and' names a baseline pin
    for match in _EDGE.finditer(flat):
        dep = _parse(match.group("dep"))
        if dep is None:
            continue
        subjects = [match.group("subj")] if match.group("subj") else match.group("many").split()
        other = _parse(match.group("other")) if match.group("other") else None
        for raw in subjects:
            subject = _parse(raw)
            if subject is None:
                continue
            edge = (canonical(subject.name), raw, dep, match.group("dep"))
            edges.append(edge)
            if other is not None and canonical(other.name) == canonical(dep.name) and blocker(other):
                blocked_needs.append(edge)

    def chain_to_addition(name: str, seen: frozenset[str]) -> tuple[str, list[str]] | None:
        """The addition that pulls ``name`` in, and the requirements on the way down to it."""
        if name in additions:
            return name, []
        for subj, raw, dep, dep_text in edges:
            if canonical(dep.name) == name and subj not in seen:
                above = chain_to_addition(subj, seen | {subj})
                if above is not None:
                    return above[0], [*(above[1] or [raw]), dep_text]
        return None

    # uv sometimes states the clash indirectly ("X depends on jupyter-server==1.23.4", the runtime's
    # pin, and elsewhere "Y depends on jupyter-server>=2.4.0"): any edge needing a version of a
    # mentioned baseline pin that the runtime's version does not satisfy is a candidate; the last
    # one in the text is uv's most general conclusion.
    pinned_here = {
        canonical(r.name) for r in (_parse(m.group(0)) for m in _REQ_RE.finditer(flat)) if r and blocker(r)
    }
    indirect = [
        e
        for e in edges
        if canonical(e[2].name) in pinned_here
        and e[2].specifier
        and not e[2].specifier.contains(baseline[canonical(e[2].name)], prereleases=True)
    ]
    for subj, raw, dep, dep_text in [*blocked_needs, *reversed(indirect)]:
        blocked = canonical(dep.name)
        chain = chain_to_addition(subj, frozenset({subj}))
        if chain is None:
            continue
        addition, above = chain
        path = (*(above or [raw]), dep_text)
        key = (addition, blocked)
        if key in found:
            continue
        if blocked in additions and addition == blocked:
            continue
        found[key] = Conflict(
            ConflictKind.TRANSITIVE,
            addition,
            additions.get(addition, addition),
            blocked,
            baseline[blocked],
            needs=f"{dep.name}{_spec(dep)}" if dep.specifier else dep.name,
            path=path,
        )
    return list(found.values())


def parse_failures(text: str) -> list[ResolverFailure]:
    """Failures that are not conflicts: unknown packages and versions that do not exist."""
    flat = _normal_text(text)
    out = [ResolverFailure(FailureKind.NOT_FOUND, m.group("name")) for m in _NOT_FOUND.finditer(flat)]
    out += [ResolverFailure(FailureKind.NO_VERSION, m.group("req")) for m in _NO_VERSION.finditer(flat)]
    return out


def first_cause(text: str) -> str:
    """uv's explanation in one line (for an error message)."""
    flat = _normal_text(text)
    return flat[:400] + ("..." if len(flat) > 400 else "")
