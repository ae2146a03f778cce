"""Job definition store: stable, diff-friendly backups of job settings.

A backup is the job's settings as JSON with sorted keys, volatile fields
removed and lists ordered by their keys, so two backups of an unchanged job
are byte-identical and a changed one diffs cleanly in git. The newest backup
of each job is ``<folder>/<job-name>__<job_id>.json`` (the file to commit);
every version is also kept under ``<folder>/history/<job-name>__<job_id>/``
and, when a Spark session is given, recorded in the Delta state table
``job_backups``. :meth:`JobDefinitionStore.restore` applies a backup with
``jobs.reset``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import InvalidInputError, NotFoundError
from dbx_ops.jobs.api import DEFAULT_RETRY, RetryPolicy, call, get_job, job_ref, list_all_jobs

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)

BACKUPS_TABLE = "job_backups"
BACKUPS_DDL = (
    "job_id BIGINT, job_name STRING, backed_up_at TIMESTAMP, sha256 STRING, "
    "path STRING, settings_json STRING, backed_up_by STRING"
)

# Fields that change without the definition changing; never part of a backup.
VOLATILE_FIELDS = frozenset(
    {
        "created_time",
        "job_id",
        "creator_user_name",
        "run_as_user_name",
        "effective_budget_policy_id",
        "effective_usage_policy_id",
        "has_more",
        "next_page_token",
        "deployment_id",
    }
)

# Values the Jobs API fills in when a definition leaves them out: dropped so that a definition
# file and the same job read back from the workspace normalise to the same backup.
SERVER_DEFAULTS = {
    "run_if": "ALL_SUCCESS",
    "timeout_seconds": 0,
    "format": "MULTI_TASK",
    "source": "WORKSPACE",
    "max_concurrent_runs": 1,
    "enable_elastic_disk": False,
    "no_alert_for_skipped_runs": False,
}

# Cluster values the workspace fills in by itself when a definition leaves them out (they differ
# by cloud and workspace): a diff ignores them when only one side has them, and compares them
# when both do (a value the user sets is still a change when it changes).
SERVER_FILLED = frozenset(
    {
        "aws_attributes.availability",
        "aws_attributes.zone_id",
        "aws_attributes.first_on_demand",
        "aws_attributes.spot_bid_price_percent",
        "azure_attributes.availability",
        "azure_attributes.first_on_demand",
        "azure_attributes.spot_bid_max_price",
        "gcp_attributes.availability",
        "gcp_attributes.zone_id",
        "data_security_mode",
        "runtime_engine",
        "enable_elastic_disk",
        "enable_local_disk_encryption",
    }
)


def _server_filled(path: str) -> bool:
    return "new_cluster." in path and any(path.endswith("new_cluster." + f) for f in SERVER_FILLED)


# List fields and the key that identifies their entries (their order carries no meaning).
KEYED_LISTS = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "parameters": "name",
    "depends_on": "task_key",
    "environments": "environment_key",
}


def _prune(value: Any, key: str | None = None) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if k in VOLATILE_FIELDS or (
                k in SERVER_DEFAULTS and v == SERVER_DEFAULTS[k] and type(v) is type(SERVER_DEFAULTS[k])
            ):
                continue
            pv = _prune(v, k)
            if pv is None or pv == {} or pv == []:
                continue
            out[k] = pv
        return out
    if isinstance(value, list | tuple):
        items = [_prune(v) for v in value]
        sort_key = KEYED_LISTS.get(key or "")
        if sort_key and all(isinstance(i, Mapping) and sort_key in i for i in items):
            items.sort(key=lambda i: str(i[sort_key]))
        return items
    return value


def normalize_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Job settings in their stable form: volatile fields and empty values removed, keyed lists sorted.

    Args:
        settings: a job's settings as a dict (``Job.settings.as_dict()``) or a whole job
            (then its ``settings`` are used).

    Returns:
        The normalised settings.
    """
    if not isinstance(settings, Mapping):
        raise InvalidInputError("Job settings must be a JSON object.")
    body = settings.get("settings") if isinstance(settings.get("settings"), Mapping) else settings
    return _prune(body)


def masked_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Normalised settings with every hard-coded credential masked (what files and outputs show)."""
    from dbx_ops.secrets import mask_secrets

    return dict(mask_secrets(normalize_settings(settings)))


def render_settings(settings: Mapping[str, Any]) -> str:
    """The backup file text: normalised, masked settings as sorted, indented JSON with a final newline.

    Hard-coded credentials (:func:`dbx_ops.secrets.find_secrets`) never reach a file: they are
    replaced by :data:`dbx_ops.secrets.MASK`.
    """
    return _dump(masked_settings(settings))


def _dump(masked: Mapping[str, Any]) -> str:
    return json.dumps(masked, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def settings_sha(settings: Mapping[str, Any]) -> str:
    """SHA-256 of the rendered (masked) settings: equal definitions have equal hashes."""
    return hashlib.sha256(render_settings(settings).encode()).hexdigest()


def slug(name: str) -> str:
    """A file-name-safe form of a job name."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return text[:80] or "job"


def backup_stem(name: str, job_id: int) -> str:
    """``<job-name>__<job_id>``, the stem of a job's backup file."""
    return f"{slug(name)}__{job_id}"


@dataclass(frozen=True)
class Change:
    """One difference between two definitions.

    Attributes:
        path: where, e.g. ``tasks[ingest].notebook_task.notebook_path``.
        before: the value in the first definition (None when added).
        after: the value in the second (None when removed).
    """

    path: str
    before: Any
    after: Any

    @property
    def kind(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


def _flatten(value: Any, prefix: str, out: dict[str, Any], key: str | None = None) -> None:
    if isinstance(value, Mapping):
        if not value:
            out[prefix] = {}
        for k in sorted(value):
            _flatten(value[k], f"{prefix}.{k}" if prefix else str(k), out, k)
        return
    if isinstance(value, list):
        sort_key = KEYED_LISTS.get(key or "")
        if sort_key and all(isinstance(i, Mapping) and sort_key in i for i in value):
            for item in value:
                _flatten(item, f"{prefix}[{item[sort_key]}]", out)
            return
        out[prefix] = value
        return
    out[prefix] = value


def diff_settings(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """Field-level differences between two job definitions (normalised first).

    Returns:
        The changes, ordered by path; empty when the definitions are equal.
    """
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(masked_settings(before), "", a)
    _flatten(masked_settings(after), "", b)
    return [
        Change(p, a.get(p), b.get(p))
        for p in sorted(set(a) | set(b))
        if a.get(p) != b.get(p) and not ((p not in a or p not in b) and _server_filled(p))
    ]


def unified_diff(
    before: Mapping[str, Any], after: Mapping[str, Any], before_name: str, after_name: str
) -> str:
    """A unified diff of the two rendered definitions (empty when equal)."""
    return "".join(
        difflib.unified_diff(
            render_settings(before).splitlines(keepends=True),
            render_settings(after).splitlines(keepends=True),
            fromfile=before_name,
            tofile=after_name,
        )
    )


@dataclass(frozen=True)
class JobBackup:
    """One stored version of a job's definition.

    Attributes:
        job_id: the job.
        job_name: its name when backed up.
        sha256: hash of the rendered settings.
        backed_up_at: when (UTC).
        path: the history file holding this version.
        settings: the normalised settings (hard-coded credentials masked).
        masked: where credentials were masked; such a backup cannot be applied as it is.
    """

    job_id: int
    job_name: str
    sha256: str
    backed_up_at: datetime
    path: Path
    settings: dict[str, Any] = field(repr=False)
    masked: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        """A short id: ``<UTC timestamp>-<sha8>``."""
        return f"{self.backed_up_at.strftime('%Y%m%dT%H%M%S%fZ')}-{self.sha256[:8]}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (without the settings)."""
        return {
            "job_id": self.job_id,
            "job_name": self.job_name,
            "sha256": self.sha256,
            "version": self.version,
            "backed_up_at": self.backed_up_at.isoformat(),
            "path": str(self.path),
            "masked": list(self.masked),
        }


@dataclass(frozen=True)
class JobDiff:
    """Live definition compared with a backup.

    Attributes:
        job_id: the job.
        backup: the backup compared against.
        changes: field-level changes from backup to live.
        text: unified diff, backup -> live.
    """

    job_id: int
    backup: JobBackup
    changes: list[Change]
    text: str

    @property
    def differs(self) -> bool:
        """True when live and backup differ."""
        return bool(self.changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "job_id": self.job_id,
            "backup": self.backup.to_dict(),
            "differs": self.differs,
            "changes": [
                {"path": c.path, "kind": c.kind, "backup": c.before, "live": c.after} for c in self.changes
            ],
        }


class JobDefinitionStore:
    """Backs up, diffs and restores job definitions.

    Args:
        ws: the workspace client.
        folder: the backup folder (can live in git, or a Unity Catalog volume).
        store: the state store: backups are also recorded in its Delta table ``job_backups``,
            and rollbacks and deployments that are given no folder keep their journals and
            manifests there. None for folder-only use (CI).
        retry: retry policy for workspace calls.
        now: the clock (UTC-aware; tests hand in a fixed one).
    """

    def __init__(
        self,
        ws: WorkspaceClient,
        folder: str | Path = "job_backups",
        store: StateStore | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        now: Clock = utc_now,
    ) -> None:
        self.ws = ws
        self.folder = Path(folder)
        self.store = store
        self.retry = retry
        self._clock = now

    # -- reading -----------------------------------------------------------------------------

    def live(self, job: int | str) -> tuple[int, str, dict[str, Any]]:
        """The job's id, name and current normalised settings."""
        found = get_job(self.ws, job, self.retry)
        settings = found.settings.as_dict() if found.settings else {}
        return int(found.job_id or 0), str(settings.get("name") or ""), normalize_settings(settings)

    def _history_dirs(self, job_id: int) -> list[Path]:
        base = self.folder / "history"
        if not base.is_dir():
            return []
        return sorted(p for p in base.iterdir() if p.is_dir() and p.name.endswith(f"__{job_id}"))

    def versions(self, job_id: int) -> list[JobBackup]:
        """Every stored version of the job, oldest first."""
        out = []
        for d in self._history_dirs(job_id):
            for path in sorted(d.glob("*.json")):
                out.append(self._read(path, job_id))
        out.sort(key=lambda b: b.backed_up_at)
        return out

    def _read(self, path: Path, job_id: int | None = None) -> JobBackup:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"Backup {path} cannot be read as JSON ({exc}).") from exc
        if not isinstance(data, dict):
            raise InvalidInputError(f"Backup {path} is not a JSON object of job settings.")
        stem = path.stem
        stamp = stem.split("-", 1)[0]
        try:
            when = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
        except ValueError:
            when = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if job_id is None:
            match = re.search(r"__(\d+)$", path.parent.name) or re.search(r"__(\d+)$", stem)
            job_id = int(match.group(1)) if match else 0
        from dbx_ops.secrets import masked_paths

        settings = masked_settings(data)
        return JobBackup(
            job_id=job_id,
            job_name=str(settings.get("name") or ""),
            sha256=_sha(_dump(settings)),
            backed_up_at=when,
            path=path,
            settings=settings,
            masked=tuple(masked_paths(settings)),
        )

    def resolve(
        self, job_id: int, backup: str | Path | None = None, live_sha: str | None = None
    ) -> JobBackup:
        """Find a backup of the job.

        Args:
            job_id: the job.
            backup: ``None``/``"latest"`` for the newest, ``"previous"`` for the newest that differs
                from the live definition, a version id (or its unique prefix, or a sha prefix), or a
                path to a backup file.
            live_sha: the live definition's hash (needed for ``"previous"``).

        Raises:
            NotFoundError: there is no such backup.
        """
        if backup is not None and str(backup) not in ("latest", "previous"):
            path = Path(backup)
            if path.suffix == ".json" and path.is_file():
                return self._read(path, job_id)
        versions = self.versions(job_id)
        if not versions:
            raise NotFoundError(
                f"Job {job_id} has no backup in {self.folder}: "
                f"run 'dbx-ops jobs backup --job {job_id}' first."
            )
        if backup is None or str(backup) == "latest":
            return versions[-1]
        if str(backup) == "previous":
            for v in reversed(versions):
                if v.sha256 != live_sha:
                    return v
            raise NotFoundError(
                f"Every backup of job {job_id} in {self.folder} equals the live definition: "
                "there is no previous definition to go back to."
            )
        ref = str(backup)
        hits = [v for v in versions if v.version.startswith(ref) or v.sha256.startswith(ref)]
        if len({v.sha256 for v in hits}) > 1:
            raise NotFoundError(f"Backup {ref!r} of job {job_id} is ambiguous: give more of the version id.")
        if not hits:
            known = ", ".join(v.version for v in versions[-5:])
            raise NotFoundError(f"Job {job_id} has no backup {ref!r} in {self.folder} (newest: {known}).")
        return hits[-1]

    # -- writing -----------------------------------------------------------------------------

    def backup(self, jobs: Iterable[int | str] | None = None, record: bool = True) -> list[JobBackup]:
        """Back up job definitions to the folder (and the Delta table when a state store is set).

        A job whose definition equals its newest backup gets no new history entry; the
        newest file is rewritten identically.

        Args:
            jobs: job ids or names; None backs up every job in the workspace.
            record: also append to the ``job_backups`` Delta table when a state store is set.

        Returns:
            One backup per job, in the order given.
        """
        refs: list[int | str]
        if jobs is None:
            refs = [int(j.job_id or 0) for j in list_all_jobs(self.ws, self.retry)]
        else:
            refs = [job_ref(j) for j in jobs]
        results = [self._backup_one(ref) for ref in refs]
        if record and self.store is not None and results:
            self._record(results)
        return results

    def save(self, job_id: int, settings: Mapping[str, Any]) -> JobBackup:
        """Store given settings as the newest backup of a job (used before deployments).

        Hard-coded credentials are masked in the files (and the Delta table): a warning names
        where, and such a backup cannot be applied until they live in a secret scope.
        """
        from dbx_ops.secrets import masked_paths, scan

        normalized, found = scan(normalize_settings(settings))
        if found:
            logger.warning(
                "job %s holds hard-coded credentials (masked in its backup): %s",
                job_id,
                ", ".join(f.path for f in found),
            )
        name = str(normalized.get("name") or "")
        stem = backup_stem(name, job_id)
        text = _dump(normalized)
        sha = _sha(text)
        versions = self.versions(job_id)
        now = self._clock()
        if versions and versions[-1].sha256 == sha:
            latest = versions[-1]
        else:
            hist = self.folder / "history" / stem
            hist.mkdir(parents=True, exist_ok=True)
            path = hist / f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{sha[:8]}.json"
            path.write_text(text)
            latest = JobBackup(job_id, name, sha, now, path, normalized, tuple(masked_paths(normalized)))
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob(f"*__{job_id}.json"):
            if old.name != f"{stem}.json":
                old.unlink()
        (self.folder / f"{stem}.json").write_text(text)
        logger.info("backed up job %s (%s) as %s", job_id, name, latest.version)
        return latest

    def _backup_one(self, ref: int | str) -> JobBackup:
        job_id, _, settings = self.live(ref)
        return self.save(job_id, settings)

    def _record(self, backups: list[JobBackup]) -> None:
        assert self.store is not None
        store = self.store
        user = ""
        try:
            me = call("read the current user", self.ws.current_user.me, retry=self.retry)
            user = str(me.user_name or "")
        except Exception as exc:  # the user name is informative only
            logger.info("current user unknown: %s", exc)
        rows = [
            {
                "job_id": b.job_id,
                "job_name": b.job_name,
                "backed_up_at": b.backed_up_at.replace(tzinfo=None),
                "sha256": b.sha256,
                "path": str(b.path),
                "settings_json": render_settings(b.settings),
                "backed_up_by": user,
            }
            for b in backups
        ]
        store.append(BACKUPS_TABLE, rows, BACKUPS_DDL)

    # -- diff and restore ----------------------------------------------------------------------

    def diff(self, job: int | str, backup: str | Path | None = None) -> JobDiff:
        """Compare the live definition with a backup (the newest by default)."""
        job_id, _, live = self.live(job)
        chosen = self.resolve(job_id, backup, live_sha=settings_sha(live))
        return JobDiff(
            job_id=job_id,
            backup=chosen,
            changes=diff_settings(chosen.settings, live),
            text=unified_diff(chosen.settings, live, f"backup/{chosen.version}", f"live/{job_id}"),
        )

    def restore(
        self, job: int | str, backup: str | Path | None = None, dry_run: bool = False, pause: bool = False
    ) -> JobDiff:
        """Apply a backup to the job with ``jobs.reset``.

        Args:
            job: the job id or name.
            backup: which backup (see :meth:`resolve`); the newest by default.
            dry_run: only compute what would change.
            pause: apply with the schedule/trigger paused (rollback resumes it afterwards).

        Returns:
            The diff between the backup and the live definition before the restore.
        """
        result = self.diff(job, backup)
        if dry_run:
            return result
        refuse_masked(result.backup.settings, f"job {result.job_id}")
        apply_settings(self.ws, result.job_id, result.backup.settings, pause=pause, retry=self.retry)
        logger.info("restored job %s to backup %s", result.job_id, result.backup.version)
        return result


def paused(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the settings with the schedule, trigger and continuous mode paused."""
    out = json.loads(json.dumps(dict(settings)))
    for key in ("schedule", "trigger", "continuous"):
        if isinstance(out.get(key), dict):
            out[key]["pause_status"] = "PAUSED"
    return out


def pause_status(settings: Mapping[str, Any]) -> dict[str, str]:
    """The pause status of each of schedule/trigger/continuous the settings have (default UNPAUSED)."""
    return {
        key: str(settings[key].get("pause_status") or "UNPAUSED")
        for key in ("schedule", "trigger", "continuous")
        if isinstance(settings.get(key), Mapping)
    }


def refuse_masked(settings: Mapping[str, Any], what: str) -> None:
    """Refuse to apply settings whose credentials were masked in a backup.

    Raises:
        InvalidInputError: naming where, and how to fix it.
    """
    from dbx_ops.secrets import masked_paths

    where = masked_paths(settings)
    if where:
        raise InvalidInputError(
            f"The definition for {what} has hard-coded credentials that were masked in its backup "
            f"({', '.join(where[:5])}): put them in a secret scope, reference them as "
            "{{secrets/<scope>/<key>}} and deploy that definition instead; nothing was changed."
        )


def apply_settings(
    ws: WorkspaceClient,
    job_id: int,
    settings: Mapping[str, Any],
    pause: bool = False,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> None:
    """Replace a job's whole definition (``jobs.reset``)."""
    from databricks.sdk.service.jobs import JobSettings

    refuse_masked(settings, f"job {job_id}")
    body = paused(settings) if pause else dict(settings)
    call(
        f"reset job {job_id}",
        ws.jobs.reset,
        retry=retry,
        job_id=job_id,
        new_settings=JobSettings.from_dict(body),
    )
