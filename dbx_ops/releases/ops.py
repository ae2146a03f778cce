"""Record releases, verify them (last known good), roll back to the last known-good artifact.

:class:`Releases` is the whole workflow over the workspace API and a
:class:`~dbx_ops.releases.store.ReleaseLog`:

1. :meth:`Releases.record` after a deployment: reads the deployed jobs' settings
   (:class:`~dbx_ops.jobs.store.JobDefinitionStore`), exports the notebooks and
   files they use, copies the built wheel into the release folder with its sha256;
2. :meth:`Releases.promote`: runs the post-deploy checks (smoke runs of named jobs,
   validations, a checklist gate); all pass: the release is verified, the new
   last known good; one fails: the release is failed;
3. :meth:`Releases.rollback`: uploads the last known-good release's own wheel and
   files to the workspace paths the jobs use (no rebuild), restores its job
   definitions with the jobs package's direct deployment (the live ones are backed
   up first), triggers the smoke runs and records all of it as a release of its own.
   Each step is an event of that release, so a killed rollback run again continues
   where it stopped; ``dry_run`` returns the plan and changes nothing.
"""

from __future__ import annotations

import base64
import logging
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from dbx_ops import render
from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import InvalidInputError, NotFoundError, WorkspaceError
from dbx_ops.jobs.api import DEFAULT_RETRY, RetryPolicy, call, get_job, unique
from dbx_ops.jobs.deploy import DeployOptions, JobDeployer, notebook_paths
from dbx_ops.jobs.rollback import wait_for_run
from dbx_ops.jobs.store import JobDefinitionStore, masked_settings, refuse_masked, settings_sha
from dbx_ops.releases.model import (
    ArtifactFile,
    DeployedJob,
    Release,
    ReleaseStatus,
    event,
    last_known_good,
    next_seq,
    of_target,
    release_id_for,
    rollback_target,
    unfinished_rollback,
)
from dbx_ops.releases.store import ReleaseLog, sha256_of
from dbx_ops.verdict import Check, Verdict

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from dbx_ops.checklists.store import EventStore
    from dbx_ops.checklists.templates import TemplateLibrary
    from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)

#: The steps of a rollback, in order; ``smoke_started`` keeps the run ids so a re-run waits for them.
ROLLBACK_STEPS = ("upload_wheel", "upload_files", "restore_jobs", "smoke_started")


@dataclass(frozen=True)
class RollbackPlan(Verdict):
    """What a rollback would do (``--dry-run``): nothing has changed.

    Attributes:
        bundle: the bundle.
        target: the target.
        restores: the known-good release whose artifact goes back.
        resumes: the unfinished rollback release this would continue, if any.
        steps: each step with what it would do.
        job_changes: per job, the field changes from live to the recorded definition.
    """

    bundle: str
    target: str
    restores: str
    resumes: str | None
    steps: list[dict[str, Any]]
    job_changes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A plan is always ok (refusals raise before one is made)."""
        return True

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "dry_run": True,
            "bundle": self.bundle,
            "target": self.target,
            "restores": self.restores,
            "resumes": self.resumes,
            "steps": self.steps,
            "job_changes": self.job_changes,
        }

    def to_text(self) -> str:
        """What the CLI prints."""
        return self.to_markdown()

    def to_markdown(self) -> str:
        """The plan in Markdown."""
        head = f"Dry run: roll {self.bundle}/{self.target} back to release {self.restores}"
        if self.resumes:
            head += f" (continuing the unfinished rollback {self.resumes})"
        lines = [f"### {head}", "", "Nothing was changed. The rollback would:", ""]
        lines += [f"{n}. {s['step']}: {s['detail']}" for n, s in enumerate(self.steps, start=1)]
        for job, changes in sorted(self.job_changes.items()):
            if changes:
                lines += ["", f"Job {job}: {len(changes)} change(s) back to the recorded definition", ""]
                lines.append(
                    render.md_table(
                        [[c["path"], c["live"], c["release"]] for c in changes], ["field", "live", "release"]
                    )
                )
        return "\n".join(lines)

    def to_html(self) -> str:
        """HTML for ``displayHTML``."""
        return render.container(
            render.verdict_card(
                f"Rollback plan: {self.bundle}/{self.target} to {self.restores}", None, "dry run"
            ),
            render.html_list(f"{s['step']}: {s['detail']}" for s in self.steps),
        )


def _wheel_references(jobs: Iterable[DeployedJob]) -> list[str]:
    """Every ``whl`` library and environment dependency path the jobs' tasks use."""
    out: list[str] = []
    for job in jobs:
        for task in job.settings.get("tasks") or []:
            for lib in task.get("libraries") or []:
                if isinstance(lib, Mapping) and lib.get("whl"):
                    out.append(str(lib["whl"]))
        for env in job.settings.get("environments") or []:
            for dep in (env.get("spec") or {}).get("dependencies") or []:
                if str(dep).endswith(".whl") and str(dep).startswith("/"):
                    out.append(str(dep))
    return unique(out)


class Releases:
    """Records releases, keeps the last known good, rolls back to it.

    Args:
        ws: the workspace client.
        folder: the releases folder (a repository folder, or a Unity Catalog volume inside
            Databricks); it keeps each release's JSON and its artifact.
        store: the state store; the events also go to its ``releases`` table. None: folder only.
        definitions: the job definition store the live definitions are backed up to before a
            rollback restores them (default: ``<folder>/job_backups``).
        retry: retry policy of workspace calls.
        sleep: the sleep between polls of a smoke run.
        now: the clock (UTC-aware); also bounds the wait for smoke runs.
        smoke_timeout_s: how long to wait for one smoke run.
        poll_s: seconds between polls of a smoke run.
        checklist_events: where checklist runs live for the gate check (default: the state
            store's checklist event table).
        checklist_library: the checklist templates (default: the shipped ones and
            ``DBX_OPS_TEMPLATES``).
    """

    def __init__(
        self,
        ws: WorkspaceClient,
        folder: str | Path,
        store: StateStore | None = None,
        definitions: JobDefinitionStore | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        now: Clock = utc_now,
        smoke_timeout_s: float = 3600.0,
        poll_s: float = 10.0,
        checklist_events: EventStore | None = None,
        checklist_library: TemplateLibrary | None = None,
    ) -> None:
        self.ws = ws
        self.log = ReleaseLog(folder, store)
        self.store = store
        self.definitions = definitions or JobDefinitionStore(
            ws, folder=Path(folder) / "job_backups", retry=retry, now=now
        )
        self.retry = retry
        self.sleep = sleep
        self._now = now
        self.smoke_timeout_s = smoke_timeout_s
        self.poll_s = poll_s
        self.checklist_events = checklist_events
        self.checklist_library = checklist_library

    # -- reading -----------------------------------------------------------------------------

    def history(self, bundle: str | None = None, target: str | None = None) -> list[Release]:
        """Releases, newest first (optionally of one bundle and/or target)."""
        rows = list(self.log.releases(bundle, target).values())
        return sorted(rows, key=lambda r: (r.recorded_at, r.release_id), reverse=True)

    def get(self, release_id: str) -> Release:
        """One release.

        Raises:
            NotFoundError: no release has this id.
        """
        found = self.log.releases().get(release_id)
        if found is None:
            raise NotFoundError(
                f"There is no release {release_id!r} in {self.log.folder}: "
                "list them with 'dbx-ops release list'."
            )
        return found

    def last_known_good(self, bundle: str, target: str) -> Release | None:
        """The newest release of ``bundle``/``target`` whose post-deploy checks passed."""
        return last_known_good(self.log.releases(bundle, target).values(), bundle, target)

    # -- recording ---------------------------------------------------------------------------

    def _actor(self, actor: str | None) -> str:
        if actor:
            return actor
        try:
            return str(
                call("read the current user", self.ws.current_user.me, retry=self.retry).user_name
                or "unknown"
            )
        except WorkspaceError:
            return "unknown"

    def _append(self, release: Release, kind: str, doc: Mapping[str, Any], actor: str | None = None) -> None:
        seq = next_seq(self.log.events(), release.release_id)
        ev = event(release.release_id, kind, self._now(), actor or release.actor, doc, seq)
        self.log.append(ev, release.bundle, release.target)

    def record(
        self,
        bundle: str,
        target: str,
        *,
        version: str,
        git_commit: str = "",
        jobs: Sequence[int | str] = (),
        wheel: str | Path | None = None,
        wheel_path: str | None = None,
        files: Sequence[str] = (),
        smoke_jobs: Sequence[str] = (),
        validations: Sequence[str] = (),
        checklist_run: str | None = None,
        actor: str | None = None,
    ) -> Release:
        """Record what was just deployed as a release (status ``recorded``).

        Args:
            bundle: the bundle name.
            target: the bundle target.
            version: the artifact version.
            git_commit: the commit deployed.
            jobs: the deployed jobs (ids or exact names); their settings are kept.
            wheel: the built wheel (a local file); copied into the release folder.
            wheel_path: where the wheel lives in the workspace (default: the job library
                whose file name is the wheel's).
            files: more workspace files to keep, besides the notebooks the jobs use.
            smoke_jobs: jobs whose run must succeed for the release to be good.
            validations: tables (``table`` or ``table@baseline``) whose validation must pass.
            checklist_run: a checklist run whose gate must be go.
            actor: who deployed (default: the workspace's current user).

        Raises:
            InvalidInputError: empty bundle/target/version, a missing wheel, or a wheel whose
                workspace path cannot be found.
            NotFoundError: a job or file does not exist in the workspace.
        """
        for name, value in (("bundle", bundle), ("target", target), ("version", version)):
            if not str(value).strip():
                raise InvalidInputError(f"A release needs a {name}: give --{name}.")
        local_wheel = Path(wheel) if wheel is not None else None
        if local_wheel is not None and not local_wheel.is_file():
            raise InvalidInputError(
                f"The wheel {local_wheel} does not exist: build it first or fix the path."
            )
        now = self._now()
        release_id = release_id_for(now, version, self.log.taken_ids())
        deployed = []
        for ref in jobs:
            job_id, name, settings = self.definitions.live(ref)
            deployed.append(DeployedJob(job_id, name, settings_sha(settings), masked_settings(settings)))
        workspace_wheel = None
        if local_wheel is not None:
            workspace_wheel = wheel_path or self._find_wheel_path(local_wheel.name, deployed)
        paths = unique([*files, *(p for j in deployed for p in notebook_paths(j.settings))])
        paths = [p for p in paths if p != workspace_wheel]
        kept = [self._keep_file(release_id, p) for p in paths]
        kept_wheel = None
        if local_wheel is not None and workspace_wheel is not None:
            kept_wheel = self._keep_wheel(release_id, local_wheel, workspace_wheel)
        release = Release(
            release_id=release_id,
            bundle=bundle,
            target=target,
            git_commit=git_commit,
            version=version,
            actor=self._actor(actor),
            recorded_at=now,
            wheel=kept_wheel,
            files=tuple(kept),
            jobs=tuple(deployed),
            smoke_jobs=tuple(smoke_jobs),
            validations=tuple(validations),
            checklist_run=checklist_run,
        )
        self._append(release, "recorded", release.record_doc())
        logger.info("recorded release %s of %s/%s", release_id, bundle, target)
        return release

    def _find_wheel_path(self, name: str, jobs: Sequence[DeployedJob]) -> str:
        refs = [r for r in _wheel_references(jobs) if PurePosixPath(r).name == name]
        if len(refs) == 1:
            return refs[0]
        if not refs:
            raise InvalidInputError(
                f"No recorded job uses a wheel named {name}: give its workspace path with --wheel-path."
            )
        raise InvalidInputError(
            f"The jobs use {name} from {len(refs)} paths ({', '.join(refs)}): give --wheel-path."
        )

    def _keep_wheel(self, release_id: str, wheel: Path, workspace_path: str) -> ArtifactFile:
        dest = self.log.release_dir(release_id) / "wheel" / wheel.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wheel, dest)
        return ArtifactFile(
            workspace_path=workspace_path,
            sha256=sha256_of(dest),
            stored=str(dest.relative_to(self.log.folder)),
            kind="wheel",
        )

    def _keep_file(self, release_id: str, path: str) -> ArtifactFile:
        from databricks.sdk.service.workspace import ExportFormat

        info = call(f"look up {path}", self.ws.workspace.get_status, retry=self.retry, path=path)
        kind_value = getattr(getattr(info, "object_type", None), "value", None)
        language = getattr(getattr(info, "language", None), "value", None)
        if kind_value == "DIRECTORY":
            raise InvalidInputError(f"{path} is a folder: name the files in it instead.")
        exported = call(
            f"export {path}",
            self.ws.workspace.export,
            retry=self.retry,
            path=path,
            format=ExportFormat.SOURCE,
        )
        data = base64.b64decode(exported.content or "")
        dest = self.log.release_dir(release_id) / "files" / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        notebook = kind_value == "NOTEBOOK" or (kind_value is None and language is not None)
        return ArtifactFile(
            workspace_path=path,
            sha256=sha256_of(dest),
            stored=str(dest.relative_to(self.log.folder)),
            kind="notebook" if notebook else "file",
            language=(language or "PYTHON") if notebook else None,
        )

    # -- post-deploy checks ------------------------------------------------------------------

    def promote(self, release_id: str, actor: str | None = None) -> Release:
        """Run the release's post-deploy checks; verified (last known good) when all pass, else failed.

        Raises:
            InvalidInputError: the release names no check (a release is never good by default).
        """
        release = self.get(release_id)
        if not (release.smoke_jobs or release.validations or release.checklist_run):
            raise InvalidInputError(
                f"Release {release_id} names no post-deploy check: record it with --smoke JOB, "
                "--validate TABLE or --checklist RUN."
            )
        checks = self._checks(release, self._start_smoke(release))
        return self._finish(release, checks, actor)

    def _finish(self, release: Release, checks: Sequence[Check], actor: str | None = None) -> Release:
        self._append(release, "checked", {"checks": [c.to_dict() for c in checks]}, actor=actor)
        done = self.get(release.release_id)
        logger.info("release %s is %s", done.release_id, done.status)
        return done

    def _start_smoke(self, release: Release) -> dict[str, int]:
        runs: dict[str, int] = {}
        for ref in release.smoke_jobs:
            job = get_job(self.ws, ref, self.retry)
            waiter = call(
                f"start a smoke run of {ref}", self.ws.jobs.run_now, retry=self.retry, job_id=job.job_id
            )
            runs[ref] = int(getattr(waiter.response, "run_id", 0) or 0)
        return runs

    def _checks(self, release: Release, runs: Mapping[str, int]) -> list[Check]:
        checks = []
        for ref in release.smoke_jobs:
            run_id = runs[ref]
            result = wait_for_run(
                self.ws, run_id, self.smoke_timeout_s, self.poll_s, self.retry, self.sleep, self._now
            )
            checks.append(
                Check(
                    f"smoke {ref}",
                    result == "SUCCESS",
                    "SUCCESS",
                    result,
                    f"smoke run {run_id} of {ref} ended {result}",
                )
            )
        checks += [self._validation(v) for v in release.validations]
        if release.checklist_run:
            checks.append(self._gate(release.checklist_run))
        return checks

    def _validation(self, spec: str) -> Check:
        from dbx_ops.validation import validate

        if self.store is None:
            raise InvalidInputError(
                f"Validating {spec} after a deploy needs the state schema: run without --no-table."
            )
        table, _, baseline = spec.partition("@")
        report = validate(table, baseline=baseline or None, spark=self.store.spark, store=self.store)
        message = f"validation of {table} " + (
            "passed" if report.ok else f"failed: {report.failure_message()}"
        )
        return Check(f"validation {table}", report.ok, "no breach", "ok" if report.ok else "breach", message)

    def _gate(self, run_id: str) -> Check:
        import os

        from dbx_ops.checklists.identity import Actor
        from dbx_ops.checklists.runs import ChecklistRun
        from dbx_ops.checklists.templates import TemplateLibrary

        events = self.checklist_events
        if events is None:
            if self.store is None:
                raise InvalidInputError("The checklist gate needs the state schema: run without --no-table.")
            from dbx_ops.checklists.store import DeltaEventStore

            events = DeltaEventStore(self.store)
        library = self.checklist_library or TemplateLibrary(env=os.environ)
        gate = ChecklistRun.open(run_id, events, Actor("release-check"), library=library).gate()
        message = f"checklist {run_id} gate is " + ("go" if gate.ok else f"no-go: {gate.failure_message()}")
        return Check("checklist gate", gate.ok, "go", "go" if gate.ok else "no-go", message)

    # -- rollback ----------------------------------------------------------------------------

    def verify_artifact(self, release: Release) -> None:
        """Refuse, before any change, when a kept file is missing or its sha256 differs from the record.

        Raises:
            InvalidInputError: naming the file and both hashes.
        """
        for art in release.artifacts():
            path = self.log.resolve(art.stored)
            if not path.is_file():
                raise InvalidInputError(
                    f"Release {release.release_id} lost its {art.kind} {path}: restore the releases folder "
                    "from git or its volume; nothing was changed."
                )
            got = sha256_of(path)
            if got != art.sha256:
                raise InvalidInputError(
                    f"The stored {art.kind} {path} of release {release.release_id} has sha256 {got[:16]}…, "
                    f"the release recorded {art.sha256[:16]}…: it was changed after recording; "
                    "nothing was changed."
                )
        for job in release.jobs:
            refuse_masked(job.settings, f"job {job.job_name} of release {release.release_id}")

    def _choose(self, bundle: str, target: str, to: str | None) -> tuple[Release, Release | None]:
        releases = self.log.releases() if to is not None else self.log.releases(bundle, target)
        pending = unfinished_rollback(releases.values(), bundle, target)
        if pending is not None and pending.rollback_of in releases and to in (None, pending.rollback_of):
            return releases[str(pending.rollback_of)], pending
        return rollback_target(releases.values(), bundle, target, to), None

    def plan_rollback(self, bundle: str, target: str, to: str | None = None) -> RollbackPlan:
        """What :meth:`rollback` would do; changes nothing."""
        source, pending = self._choose(bundle, target, to)
        self.verify_artifact(source)
        done = {s.get("step") for s in pending.steps} if pending else set()
        deployer = JobDeployer(self.ws, self.definitions, retry=self.retry, sleep=self.sleep, now=self._now)
        changes: dict[str, list[dict[str, Any]]] = {}
        for job in source.jobs:
            result = deployer.deploy(
                job.settings, DeployOptions(validate=False, dry_run=True, environment=target)
            )
            changes[job.job_name] = [
                {"path": c["path"], "kind": c["kind"], "live": c["previous"], "release": c["new"]}
                for c in result.changes
            ]
        wheel = source.wheel
        details = {
            "upload_wheel": f"upload {wheel.stored} (sha256 {wheel.sha256[:12]}…) to {wheel.workspace_path}"
            if wheel
            else "no wheel in this release",
            "upload_files": f"upload {len(source.files)} file(s): "
            + ", ".join(f.workspace_path for f in source.files),
            "restore_jobs": "; ".join(
                f"{j.job_name}: back up live, apply the recorded definition "
                f"({len(changes[j.job_name])} change(s))"
                for j in source.jobs
            )
            or "no jobs recorded",
            "smoke_started": "run " + (", ".join(source.smoke_jobs) or "no smoke job") + " and wait",
        }
        steps = [{"step": s, "detail": ("already done" if s in done else details[s])} for s in ROLLBACK_STEPS]
        steps.append(
            {"step": "record", "detail": "record the rollback as a release: verified when the checks pass"}
        )
        return RollbackPlan(
            bundle, target, source.release_id, pending.release_id if pending else None, steps, changes
        )

    def rollback(self, bundle: str, target: str, to: str | None = None, actor: str | None = None) -> Release:
        """Redeploy the last known-good release's artifact and job definitions; record it as a release.

        Runs again after an interruption continue the unfinished rollback.

        Returns:
            The rollback release: ``verified`` when its smoke runs (and other checks) passed.

        Raises:
            NotFoundError: no known-good release to go back to.
            InvalidInputError: the kept artifact does not match its record (nothing changed).
            WorkspaceError: the workspace failed mid-way; run the rollback again to continue.
        """
        source, pending = self._choose(bundle, target, to)
        self.verify_artifact(source)
        if pending is None:
            now = self._now()
            pending = replace(
                source,
                release_id=release_id_for(now, f"rollback-{source.version}", self.log.taken_ids()),
                actor=self._actor(actor),
                recorded_at=now,
                checklist_run=None,
                kind="rollback",
                rollback_of=source.release_id,
                status=ReleaseStatus.RECORDED,
                checks=(),
                checked_at=None,
                steps=(),
            )
            self._append(pending, "recorded", pending.record_doc())
        else:
            logger.info("continuing the unfinished rollback %s", pending.release_id)
            self.log.sync_folder(pending.release_id)
        rb = pending
        done = {s.get("step"): s for s in rb.steps}
        try:
            for step in ROLLBACK_STEPS:
                if step in done:
                    continue
                doc = getattr(self, f"_step_{step}")(rb, source)
                self._append(rb, "step", {"step": step, **doc})
                done[step] = {"step": step, **doc}
            runs = {str(k): int(v) for k, v in (done["smoke_started"].get("runs") or {}).items()}
            checks = self._checks(rb, runs)
        except WorkspaceError as exc:
            reason = str(exc).rstrip(".")
            raise type(exc)(
                f"Rollback {rb.release_id} to {source.release_id} stopped ({reason}); its progress is "
                "recorded: run the rollback again to continue."
            ) from exc
        return self._finish(rb, checks)

    def _step_upload_wheel(self, rb: Release, source: Release) -> dict[str, Any]:
        if source.wheel is None:
            return {"detail": "no wheel in this release"}
        self._upload(source.wheel)
        return {"detail": f"uploaded {source.wheel.stored} to {source.wheel.workspace_path}"}

    def _step_upload_files(self, rb: Release, source: Release) -> dict[str, Any]:
        for art in source.files:
            self._upload(art)
        return {"detail": f"uploaded {len(source.files)} file(s)"}

    def _step_restore_jobs(self, rb: Release, source: Release) -> dict[str, Any]:
        deployer = JobDeployer(self.ws, self.definitions, retry=self.retry, sleep=self.sleep, now=self._now)
        options = DeployOptions(
            validate=False,
            environment=source.target,
            manifest_dir=self.log.release_dir(rb.release_id) / "manifests",
        )
        out = []
        for job in source.jobs:
            result = deployer.deploy(job.settings, options)
            out.append(
                f"{job.job_name}: job {result.job_id} ({len(result.changes)} change(s); "
                f"live backed up as {result.backup_version})"
            )
        return {"detail": "; ".join(out) or "no jobs recorded"}

    def _step_smoke_started(self, rb: Release, source: Release) -> dict[str, Any]:
        runs = self._start_smoke(rb)
        return {"detail": ", ".join(f"{k} run {v}" for k, v in runs.items()) or "no smoke job", "runs": runs}

    def _upload(self, art: ArtifactFile) -> None:
        from databricks.sdk.service.workspace import ImportFormat, Language

        data = self.log.resolve(art.stored).read_bytes()
        parent = str(PurePosixPath(art.workspace_path).parent)
        if art.workspace_path.startswith("/Volumes/"):
            import io

            call(
                f"upload {art.workspace_path}",
                self.ws.files.upload,
                retry=self.retry,
                file_path=art.workspace_path,
                contents=io.BytesIO(data),
                overwrite=True,
            )
            return
        call(f"create folder {parent}", self.ws.workspace.mkdirs, retry=self.retry, path=parent)
        content = base64.b64encode(data).decode()
        if art.kind == "notebook":
            call(
                f"upload notebook {art.workspace_path}",
                self.ws.workspace.import_,
                retry=self.retry,
                path=art.workspace_path,
                content=content,
                format=ImportFormat.SOURCE,
                language=Language(art.language or "PYTHON"),
                overwrite=True,
            )
        else:
            call(
                f"upload {art.workspace_path}",
                self.ws.workspace.import_,
                retry=self.retry,
                path=art.workspace_path,
                content=content,
                format=ImportFormat.AUTO,
                overwrite=True,
            )

    def releases_of(self, bundle: str, target: str) -> list[Release]:
        """The releases of one bundle and target, newest first."""
        return of_target(self.log.releases(bundle, target).values(), bundle, target)
