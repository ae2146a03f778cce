"""The pure release model: records, events, the current state as a fold, last known good.

A release is one deployment of a bundle to a target: the git commit and version,
the built wheel (kept with the release, with its sha256), the notebooks and files
the jobs use, the jobs with their settings, who deployed it and when. Its life is
a list of append-only events:

* ``recorded``: the release itself (the whole record);
* ``step``: a rollback step done (rollbacks are releases of their own, resumable);
* ``checked``: the post-deploy checks ran; ``verified`` when every one passed,
  else ``failed``.

:func:`fold` turns the events into the current releases; :func:`last_known_good`
and :func:`rollback_target` pick the release a rollback goes back to. Nothing
here touches Spark, a file or the workspace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from dbx_ops import render
from dbx_ops.clock import as_utc
from dbx_ops.errors import CheckFailedError, InvalidInputError, NotFoundError
from dbx_ops.verdict import Check, Verdict, checks_html, checks_markdown

EVENTS = ("recorded", "step", "checked")
KINDS = ("deploy", "rollback")


class ReleaseStatus(StrEnum):
    """Where a release stands."""

    RECORDED = "recorded"
    VERIFIED = "verified"
    FAILED = "failed"


@dataclass(frozen=True)
class ArtifactFile:
    """One deployed file kept with a release.

    Attributes:
        workspace_path: where it lives in the workspace (the path the jobs use).
        sha256: hash of its bytes.
        stored: where the copy is, relative to the releases folder.
        kind: ``wheel``, ``notebook`` or ``file``.
        language: the notebook language (``PYTHON``, ``SQL``...), None for other files.
    """

    workspace_path: str
    sha256: str
    stored: str
    kind: str = "file"
    language: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "workspace_path": self.workspace_path,
            "sha256": self.sha256,
            "stored": self.stored,
            "kind": self.kind,
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArtifactFile:
        """Read the form :meth:`to_dict` writes."""
        return cls(
            workspace_path=str(data["workspace_path"]),
            sha256=str(data["sha256"]),
            stored=str(data["stored"]),
            kind=str(data.get("kind") or "file"),
            language=data.get("language"),
        )


@dataclass(frozen=True)
class DeployedJob:
    """A job as the release deployed it.

    Attributes:
        job_id: the job's id when recorded.
        job_name: its name.
        sha256: hash of the rendered settings (:func:`dbx_ops.jobs.store.settings_sha`).
        settings: the normalised settings (hard-coded credentials masked).
    """

    job_id: int
    job_name: str
    sha256: str
    settings: dict[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "job_id": self.job_id,
            "job_name": self.job_name,
            "sha256": self.sha256,
            "settings": self.settings,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeployedJob:
        """Read the form :meth:`to_dict` writes."""
        return cls(
            job_id=int(data["job_id"]),
            job_name=str(data["job_name"]),
            sha256=str(data["sha256"]),
            settings=dict(data.get("settings") or {}),
        )


def _check_from_dict(data: Mapping[str, Any]) -> Check:
    return Check(
        name=str(data["name"]),
        ok=bool(data["ok"]),
        expected=str(data.get("expected", "")),
        actual=str(data.get("actual", "")),
        message=str(data.get("message", "")),
    )


@dataclass(frozen=True)
class Release(Verdict):
    """One deployment of a bundle to a target, and what its post-deploy checks said.

    Attributes:
        release_id: ``rel-<UTC time>-<version>``; sorts in recording order.
        bundle: the bundle name.
        target: the bundle target (dev, staging, prod).
        git_commit: the commit deployed.
        version: the artifact version.
        actor: who deployed it.
        recorded_at: when (UTC).
        wheel: the built wheel kept with the release (None when the bundle ships none).
        files: the notebooks and files the jobs use, kept with the release.
        jobs: the deployed jobs with their settings.
        smoke_jobs: jobs whose run must succeed for the release to be good.
        validations: tables (``table`` or ``table@baseline``) whose validation must pass.
        checklist_run: a checklist run whose gate must be go.
        kind: ``deploy``, or ``rollback`` for a rollback to an earlier release.
        rollback_of: the release a rollback redeployed.
        status: recorded, verified or failed.
        checks: the post-deploy checks that ran, newest round.
        checked_at: when they ran.
        steps: rollback steps done, in order, with what each did.
    """

    release_id: str
    bundle: str
    target: str
    git_commit: str
    version: str
    actor: str
    recorded_at: datetime
    wheel: ArtifactFile | None = None
    files: tuple[ArtifactFile, ...] = ()
    jobs: tuple[DeployedJob, ...] = ()
    smoke_jobs: tuple[str, ...] = ()
    validations: tuple[str, ...] = ()
    checklist_run: str | None = None
    kind: str = "deploy"
    rollback_of: str | None = None
    status: ReleaseStatus = ReleaseStatus.RECORDED
    checks: tuple[Check, ...] = ()
    checked_at: datetime | None = None
    steps: tuple[dict[str, Any], ...] = ()

    error_class = CheckFailedError

    @property
    def ok(self) -> bool:
        """False only when the post-deploy checks failed."""
        return self.status != ReleaseStatus.FAILED

    @property
    def known_good(self) -> bool:
        """True when the post-deploy checks passed."""
        return self.status == ReleaseStatus.VERIFIED

    def failure_message(self) -> str:
        """One sentence naming the failed checks."""
        failed = "; ".join(c.message or c.name for c in self.checks if not c.ok) or "no check passed"
        return (
            f"Release {self.release_id} of {self.bundle}/{self.target} failed its post-deploy checks: "
            f"{failed}."
        )

    def artifacts(self) -> list[ArtifactFile]:
        """The wheel (first) and the files."""
        return ([self.wheel] if self.wheel else []) + list(self.files)

    def record_doc(self) -> dict[str, Any]:
        """The ``recorded`` event's document: everything known when the release was recorded."""
        return {
            "release_id": self.release_id,
            "bundle": self.bundle,
            "target": self.target,
            "git_commit": self.git_commit,
            "version": self.version,
            "actor": self.actor,
            "recorded_at": self.recorded_at.isoformat(),
            "wheel": self.wheel.to_dict() if self.wheel else None,
            "files": [f.to_dict() for f in self.files],
            "jobs": [j.to_dict() for j in self.jobs],
            "smoke_jobs": list(self.smoke_jobs),
            "validations": list(self.validations),
            "checklist_run": self.checklist_run,
            "kind": self.kind,
            "rollback_of": self.rollback_of,
        }

    @classmethod
    def from_record(cls, doc: Mapping[str, Any]) -> Release:
        """A release from its ``recorded`` document."""
        kind = str(doc.get("kind") or "deploy")
        if kind not in KINDS:
            raise InvalidInputError(f"Release {doc.get('release_id')!r} has an unknown kind {kind!r}.")
        wheel = doc.get("wheel")
        return cls(
            release_id=str(doc["release_id"]),
            bundle=str(doc["bundle"]),
            target=str(doc["target"]),
            git_commit=str(doc.get("git_commit") or ""),
            version=str(doc.get("version") or ""),
            actor=str(doc.get("actor") or ""),
            recorded_at=as_utc(datetime.fromisoformat(str(doc["recorded_at"]))),
            wheel=ArtifactFile.from_dict(wheel) if wheel else None,
            files=tuple(ArtifactFile.from_dict(f) for f in doc.get("files") or []),
            jobs=tuple(DeployedJob.from_dict(j) for j in doc.get("jobs") or []),
            smoke_jobs=tuple(str(s) for s in doc.get("smoke_jobs") or []),
            validations=tuple(str(v) for v in doc.get("validations") or []),
            checklist_run=doc.get("checklist_run"),
            kind=kind,
            rollback_of=doc.get("rollback_of"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form: the record, its status, checks and steps."""
        return {
            **self.record_doc(),
            "status": str(self.status),
            "ok": self.ok,
            "known_good": self.known_good,
            "checks": [c.to_dict() for c in self.checks],
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "steps": [dict(s) for s in self.steps],
        }

    def summary_row(self) -> dict[str, Any]:
        """The columns ``release list`` shows."""
        return {
            "release_id": self.release_id,
            "bundle": self.bundle,
            "target": self.target,
            "version": self.version,
            "commit": self.git_commit[:12],
            "kind": self.kind if not self.rollback_of else f"rollback of {self.rollback_of}",
            "status": str(self.status),
            "actor": self.actor,
            "recorded_at": self.recorded_at.isoformat(timespec="seconds"),
        }

    def to_text(self) -> str:
        """What the CLI prints."""
        return self.to_markdown()

    def _facts(self) -> list[list[Any]]:
        facts: list[list[Any]] = [
            ["bundle / target", f"{self.bundle} / {self.target}"],
            ["version", self.version],
            ["commit", self.git_commit],
            ["kind", self.kind + (f" (redeploys {self.rollback_of})" if self.rollback_of else "")],
            ["recorded", f"{self.recorded_at.isoformat(timespec='seconds')} by {self.actor}"],
            ["status", str(self.status)],
        ]
        if self.wheel:
            facts.append(["wheel", f"{self.wheel.workspace_path} (sha256 {self.wheel.sha256[:16]}…)"])
        facts.append(["files", ", ".join(f.workspace_path for f in self.files) or "none"])
        facts.append(["jobs", ", ".join(f"{j.job_name} ({j.job_id})" for j in self.jobs) or "none"])
        facts.append(["smoke jobs", ", ".join(self.smoke_jobs) or "none"])
        if self.validations:
            facts.append(["validations", ", ".join(self.validations)])
        if self.checklist_run:
            facts.append(["checklist gate", self.checklist_run])
        return facts

    def to_markdown(self) -> str:
        """A Markdown account of the release."""
        mark = render.md_mark(self.ok if self.status != ReleaseStatus.RECORDED else None)
        parts = [
            f"### {mark} Release {self.release_id}",
            "",
            render.md_table(self._facts(), ["", ""]),
        ]
        if self.checks:
            parts += ["", "Post-deploy checks:", "", checks_markdown(self.checks)]
        if self.steps:
            parts += ["", "Rollback steps:", ""]
            parts += [f"- {s.get('step')}: {s.get('detail', '')}" for s in self.steps]
        return "\n".join(parts)

    def to_html(self) -> str:
        """HTML for ``displayHTML``."""
        known = None if self.status == ReleaseStatus.RECORDED else self.ok
        body = [
            render.verdict_card(
                f"Release {self.release_id}", known, f"{self.bundle}/{self.target}: {self.status}"
            ),
            render.html_table(self._facts(), ["", ""]),
        ]
        if self.checks:
            body.append(render.section("Post-deploy checks", checks_html(self.checks)))
        if self.steps:
            body.append(
                render.section(
                    "Rollback steps",
                    render.html_list(f"{s.get('step')}: {s.get('detail', '')}" for s in self.steps),
                )
            )
        return render.container(*body)


# -- events and the fold -----------------------------------------------------------------------


def event(
    release_id: str, kind: str, at: datetime, actor: str, doc: Mapping[str, Any], seq: int
) -> dict[str, Any]:
    """One append-only event; ``event_id`` makes a repeated write harmless (reads de-duplicate)."""
    if kind not in EVENTS:
        raise ValueError(f"unknown release event {kind!r}")
    return {
        "event_id": f"{release_id}:{seq:04d}:{kind}",
        "release_id": release_id,
        "event": kind,
        "at": as_utc(at).isoformat(),
        "actor": actor,
        "doc": dict(doc),
    }


def _order(e: Mapping[str, Any]) -> tuple[str, str]:
    return (str(e["release_id"]), str(e["event_id"]))


def fold(events: Iterable[Mapping[str, Any]]) -> dict[str, Release]:
    """The current releases from their events (duplicates by ``event_id`` count once).

    Events of a release apply in their sequence order; a ``step`` or ``checked`` event
    of a release that was never recorded is ignored.
    """
    unique: dict[str, Mapping[str, Any]] = {}
    for e in events:
        unique.setdefault(str(e["event_id"]), e)
    out: dict[str, Release] = {}
    for e in sorted(unique.values(), key=_order):
        rid = str(e["release_id"])
        doc = e.get("doc") or {}
        kind = e["event"]
        if kind == "recorded":
            out[rid] = Release.from_record(doc)
            continue
        current = out.get(rid)
        if current is None:
            continue
        if kind == "step":
            out[rid] = replace(current, steps=(*current.steps, dict(doc)))
        elif kind == "checked":
            checks = tuple(_check_from_dict(c) for c in doc.get("checks") or [])
            ok = bool(checks) and all(c.ok for c in checks)
            out[rid] = replace(
                current,
                checks=checks,
                checked_at=as_utc(datetime.fromisoformat(str(e["at"]))),
                status=ReleaseStatus.VERIFIED if ok else ReleaseStatus.FAILED,
            )
    return out


def next_seq(events: Iterable[Mapping[str, Any]], release_id: str) -> int:
    """The sequence number the release's next event gets."""
    seqs = [int(str(e["event_id"]).split(":")[1]) for e in events if e["release_id"] == release_id]
    return max(seqs, default=-1) + 1


# -- picking releases --------------------------------------------------------------------------


def _newest_first(releases: Iterable[Release]) -> list[Release]:
    return sorted(releases, key=lambda r: (r.recorded_at, r.release_id), reverse=True)


def of_target(releases: Iterable[Release], bundle: str, target: str) -> list[Release]:
    """The releases of ``bundle`` to ``target``, newest first."""
    return _newest_first(r for r in releases if r.bundle == bundle and r.target == target)


def last_known_good(
    releases: Iterable[Release], bundle: str, target: str, exclude: Sequence[str] = ()
) -> Release | None:
    """The newest verified release of ``bundle`` to ``target`` (skipping ``exclude``), or None."""
    for r in of_target(releases, bundle, target):
        if r.known_good and r.release_id not in exclude:
            return r
    return None


def unfinished_rollback(releases: Iterable[Release], bundle: str, target: str) -> Release | None:
    """A rollback that was started and not finished (its checks never ran), newest first."""
    for r in of_target(releases, bundle, target):
        if r.kind == "rollback" and r.status == ReleaseStatus.RECORDED:
            return r
    return None


def rollback_target(releases: Iterable[Release], bundle: str, target: str, to: str | None = None) -> Release:
    """The release a rollback of ``bundle``/``target`` redeploys.

    By default the last known good release that is not the newest release (rolling back
    from a release that itself passed its checks goes to the good one before it).

    Args:
        releases: every known release.
        bundle: the bundle.
        target: the target.
        to: a release id the caller chose instead (it must be known good).

    Raises:
        NotFoundError: no such release, or no known-good release to go back to.
        InvalidInputError: the chosen release did not pass its checks, or is of another bundle/target.
    """
    mine = of_target(releases, bundle, target)
    if to is not None:
        chosen = next((r for r in releases if r.release_id == to), None)
        if chosen is None:
            raise NotFoundError(f"There is no release {to!r}: list them with 'dbx-ops release list'.")
        if (chosen.bundle, chosen.target) != (bundle, target):
            raise InvalidInputError(
                f"Release {to} is of {chosen.bundle}/{chosen.target}, not {bundle}/{target}: "
                "roll back to a release of the same bundle and target."
            )
        if not chosen.known_good:
            raise InvalidInputError(
                f"Release {to} is {chosen.status}, not known good: "
                "promote it first or pick a verified release."
            )
        return chosen
    if not mine:
        raise NotFoundError(
            f"No release of {bundle}/{target} is recorded: record one with 'dbx-ops release record'."
        )
    good = last_known_good(mine, bundle, target, exclude=[mine[0].release_id])
    if good is None:
        raise NotFoundError(
            f"No known-good release of {bundle}/{target} precedes {mine[0].release_id}: "
            "there is nothing verified to roll back to."
        )
    return good


_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def release_id_for(at: datetime, version: str, taken: Iterable[str] = ()) -> str:
    """``rel-<YYYYmmdd-HHMMSS>-<version>``, with ``-2``, ``-3``... when that id is taken."""
    base = f"rel-{as_utc(at).strftime('%Y%m%d-%H%M%S')}-{_SLUG.sub('-', version).strip('-.')[:40] or 'v'}"
    used = set(taken)
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}-{n}"
    return candidate
