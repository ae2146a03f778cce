"""Deploy a job definition with a direct, blue-green or canary strategy (seed 002).

* **direct**: back up the live job, stop its active runs, ``jobs.reset`` it (or
  create it when no job has the name).
* **blue-green**: create ``<name>-green`` (schedule paused), run it as a smoke
  test; on success rename the live job to ``<name>-blue-backup`` (paused, kept
  for rollback) and green to ``<name>`` with the intended schedule; on failure
  delete green: production is untouched.
* **canary**: create ``<name>-canary`` (paused) with the new definition plus
  the canary job parameters (a subset, e.g. ``dbx_ops_canary_percentage=10``),
  run it once; on success cut over (a direct deployment of the new definition)
  and delete the canary; on failure delete it: production is untouched.

Before any change the definition is validated (notebook paths exist, secret
scopes exist, cluster specs are sane, task references resolve) and the live
one is backed up; every deployment writes a manifest (previous and new
config, ids, steps) that doubles as the JSON report, kept where it outlives
the cluster: a folder the caller gives (``manifest_dir``, e.g. a Unity Catalog
volume) or the state schema's table ``job_journals``. ``dry_run`` validates
and plans without changing anything.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dbx_ops.clock import Clock, utc_now
from dbx_ops.errors import DbxOpsError, DeployFailedError, InvalidInputError, NotFoundError, WorkspaceError
from dbx_ops.jobs.api import DEFAULT_RETRY, RetryPolicy, active_runs, call, find_jobs_by_name
from dbx_ops.jobs.journal import Journal, journal_for
from dbx_ops.jobs.rollback import wait_for_run
from dbx_ops.jobs.store import JobDefinitionStore, diff_settings, masked_settings, pause_status, paused
from dbx_ops.verdict import Check, Verdict

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from dbx_ops.state import StateStore

logger = logging.getLogger(__name__)

STRATEGIES = ("direct", "blue-green", "canary")
COMPUTE_KEYS = ("job_cluster_key", "existing_cluster_id", "new_cluster", "environment_key")
TASK_TYPES = (
    "notebook_task",
    "spark_python_task",
    "python_wheel_task",
    "spark_jar_task",
    "spark_submit_task",
    "sql_task",
    "dbt_task",
    "pipeline_task",
    "run_job_task",
    "condition_task",
    "for_each_task",
    "clean_rooms_notebook_task",
    "dashboard_task",
    "power_bi_task",
    "gen_ai_compute_task",
)


# -- loading and pure validation ------------------------------------------------------------


#: How deeply a job definition may nest (real ones stay under 15); deeper is refused, not parsed on.
MAX_DEPTH = 64


def _depth_problem(data: Any) -> bool:
    """True when ``data`` nests deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, Mapping):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list | tuple):
            stack.extend((v, depth + 1) for v in value)
    return False


def _text_too_deep(text: str) -> bool:
    """A cheap pre-parse bound: more than MAX_DEPTH open brackets before any closes (JSON/flow YAML)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return True
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return False


def _bundle_job(data: Mapping[str, Any], where: str, job_key: str | None) -> Any:
    """The job a bundle resource file (``resources: jobs: <key>: ...``) names."""
    jobs = data["resources"]["jobs"]
    keys = sorted(str(k) for k in jobs)
    if job_key is None:
        if len(keys) != 1:
            raise InvalidInputError(
                f"{where} is a bundle resource file with jobs {', '.join(keys) or '(none)'}: "
                "pick one with --job-key KEY."
            )
        job_key = keys[0]
    if job_key not in jobs:
        raise InvalidInputError(f"{where} has no job {job_key!r} (jobs: {', '.join(keys)}).")
    job = jobs[job_key]
    if not isinstance(job, Mapping):
        raise InvalidInputError(f"{where}: resources.jobs.{job_key} must be a mapping of job settings.")
    # A bundle job's name defaults to its key; permissions are bundle resources, not job settings.
    out = {k: v for k, v in job.items() if k != "permissions"}
    out.setdefault("name", job_key)
    return out


def load_spec(source: str | Path | Mapping[str, Any], job_key: str | None = None) -> dict[str, Any]:
    """A job definition from a YAML/JSON file or a mapping, checked for shape.

    The file may hold the settings directly, under ``settings``/``new_settings``, or be a
    bundle resource file (``resources: jobs: <key>: ...``; ``job_key`` picks the job when it
    holds more than one).

    Raises:
        InvalidInputError: the file is missing, not YAML/JSON, nested absurdly deep, or not a
            job definition.
    """
    if isinstance(source, Mapping):
        data: Any = dict(source)
        where = "the job definition"
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise InvalidInputError(f"Job definition file {path} does not exist.")
        import yaml

        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{path} cannot be read as UTF-8 text ({type(exc).__name__}).") from exc
        if _text_too_deep(text):
            raise InvalidInputError(
                f"{path} is nested more than {MAX_DEPTH} levels deep: not a job definition."
            )
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InvalidInputError(f"{path} is not valid YAML/JSON: {first}.") from exc
        except (RecursionError, ValueError, TypeError) as exc:
            raise InvalidInputError(f"{path} is not valid YAML/JSON ({type(exc).__name__}).") from exc
    if _depth_problem(data):
        raise InvalidInputError(f"{where} is nested more than {MAX_DEPTH} levels deep: not a job definition.")
    if (
        isinstance(data, Mapping)
        and isinstance(data.get("resources"), Mapping)
        and isinstance(data["resources"].get("jobs"), Mapping)
    ):
        data = _bundle_job(data, where, job_key)
    elif job_key is not None:
        raise InvalidInputError(f"--job-key {job_key!r} was given but {where} is not a bundle resource file.")
    if isinstance(data, Mapping):
        for key in ("settings", "new_settings"):
            if isinstance(data.get(key), Mapping):
                data = data[key]
    if not isinstance(data, Mapping):
        raise InvalidInputError(f"{where} must be a mapping of job settings (name, tasks, ...).")
    try:
        problems = spec_problems(data)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # a shape no check foresaw
        logger.debug("spec check failed on %s", where, exc_info=True)
        raise InvalidInputError(
            f"{where} is not a valid job definition: a value has the wrong type ({type(exc).__name__})."
        ) from exc
    if problems:
        raise InvalidInputError(f"{where} is not a valid job definition: {'; '.join(problems)}.")
    return json.loads(json.dumps(dict(data), default=str))


#: Task types that need no cluster or environment of their own.
NO_COMPUTE_TASKS = frozenset(
    {
        "pipeline_task",
        "run_job_task",
        "condition_task",
        "sql_task",
        "for_each_task",
        "dashboard_task",
        "power_bi_task",
    }
)
_MONTHS = {m: i for i, m in enumerate(("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC").split(), 1)}
_DAYS = {d: i for i, d in enumerate(("SUN MON TUE WED THU FRI SAT").split(), 1)}
_CRON_FIELDS: tuple[tuple[str, int, int, Mapping[str, int]], ...] = (
    ("seconds", 0, 59, {}),
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2099, {}),
)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _kind(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _cron_value(text: str, lo: int, hi: int, names: Mapping[str, int]) -> int | None:
    if text.upper() in names:
        return names[text.upper()]
    if text.isdigit():
        n = int(text)
        return n if lo <= n <= hi else None
    return None


def _cron_field(text: str, name: str, lo: int, hi: int, names: Mapping[str, int]) -> str | None:
    """The problem of one Quartz cron field, or None."""
    if text == "?" and name in ("day-of-month", "day-of-week"):
        return None
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"{name} step {step!r} must be a positive number"
        if name == "day-of-month" and (
            base in ("L", "LW") or (base.endswith("W") and _cron_value(base[:-1], lo, hi, names))
        ):
            continue
        if name == "day-of-week" and (
            (base.endswith("L") and _cron_value(base[:-1] or "7", lo, hi, names))
            or (
                "#" in base
                and _cron_value(base.split("#")[0], lo, hi, names)
                and base.split("#")[1] in "12345"
            )
        ):
            continue
        if base == "*":
            continue
        ends = base.split("-")
        if len(ends) > 2 or not all(ends):
            return f"{name} {part!r} is not a value, range or list"
        values = [_cron_value(e, lo, hi, names) for e in ends]
        if any(v is None for v in values):
            bad = next(e for e, v in zip(ends, values, strict=True) if v is None)
            return f"{name} must be {lo}-{hi} (got {bad})"
    return None


def cron_problems(expression: Any) -> list[str]:
    """Problems of a Quartz cron expression (what Databricks schedules use), empty when valid (pure).

    Six or seven fields: seconds, minutes, hours, day-of-month, month, day-of-week and an optional
    year; exactly one of day-of-month and day-of-week is ``?``.
    """
    if not isinstance(expression, str) or not expression.strip():
        return ["must be a non-empty string of 6 or 7 fields"]
    fields = expression.split()
    if len(fields) not in (6, 7):
        return [
            f"has {len(fields)} fields; Quartz needs 6 or 7 "
            "(seconds minutes hours day-of-month month day-of-week [year])"
        ]
    out = [
        p
        for text, (name, lo, hi, names) in zip(fields, _CRON_FIELDS, strict=False)
        if (p := _cron_field(text, name, lo, hi, names))
    ]
    if not out and (fields[3] == "?") == (fields[5] == "?"):
        out.append("exactly one of day-of-month and day-of-week must be '?'")
    return out


def _timezone_ok(name: Any) -> bool:
    if not isinstance(name, str) or not name.strip():
        return False
    if name.upper() in ("UTC", "GMT"):
        return True
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return False
    return True


def _task_problems(key: str, task: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for kind in TASK_TYPES:
        body = task.get(kind)
        if body is not None and not isinstance(body, Mapping):
            out.append(f"task {key!r}: {kind} must be a mapping (got {_kind(body)})")
    nb = task.get("notebook_task")
    if isinstance(nb, Mapping) and "base_parameters" in nb and not isinstance(nb["base_parameters"], Mapping):
        out.append(
            f"task {key!r}: notebook_task.base_parameters must be a mapping of names to values "
            f"(got {_kind(nb['base_parameters'])})"
        )
    kinds = [t for t in TASK_TYPES if t in task]
    sql_notebook = isinstance(nb, Mapping) and bool(nb.get("warehouse_id"))
    if (
        kinds
        and not any(k in task for k in COMPUTE_KEYS)
        and not (set(kinds) & NO_COMPUTE_TASKS)
        and not sql_notebook
    ):
        out.append(
            f"task {key!r} has no compute: give job_cluster_key, existing_cluster_id, new_cluster "
            "or environment_key"
        )
    return out


def spec_problems(spec: Mapping[str, Any]) -> list[str]:
    """Structural problems of a job definition (pure): names, tasks, references, cycles, clusters."""
    problems: list[str] = []
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("'name' must be a non-empty string")
    tasks = spec.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        problems.append("'tasks' must be a non-empty list")
        return problems
    cluster_keys = set()
    job_clusters = spec.get("job_clusters") or []
    if not isinstance(job_clusters, list):
        problems.append(f"'job_clusters' must be a list (got {_kind(job_clusters)})")
        job_clusters = []
    for jc in job_clusters:
        if (
            not isinstance(jc, Mapping)
            or not isinstance(jc.get("job_cluster_key"), str)
            or not jc["job_cluster_key"]
        ):
            problems.append("every job_clusters entry needs a job_cluster_key (a string)")
            continue
        cluster_keys.add(jc["job_cluster_key"])
        problems += [
            f"job cluster {jc['job_cluster_key']!r}: {p}" for p in cluster_problems(jc.get("new_cluster"))
        ]
    keys: list[str] = []
    for i, task in enumerate(tasks):
        if not isinstance(task, Mapping):
            problems.append(f"tasks[{i}] must be a mapping")
            continue
        key = task.get("task_key")
        if not isinstance(key, str) or not key:
            problems.append(f"tasks[{i}] needs a task_key")
            continue
        if key in keys:
            problems.append(f"task_key {key!r} is used twice")
        keys.append(key)
        kinds = [t for t in TASK_TYPES if t in task]
        if len(kinds) != 1:
            problems.append(f"task {key!r} must have exactly one task type (has {kinds or 'none'})")
        problems += _task_problems(key, task)
        if isinstance(task.get("notebook_task"), Mapping) and not task["notebook_task"].get("notebook_path"):
            problems.append(f"task {key!r}: notebook_task.notebook_path is required")
        for ref in ("job_cluster_key", "existing_cluster_id", "environment_key"):
            if ref in task and not isinstance(task[ref], str):
                problems.append(f"task {key!r}: {ref} must be a string (got {_kind(task[ref])})")
        depends = task.get("depends_on")
        if depends is not None and (
            not isinstance(depends, list)
            or not all(isinstance(d, Mapping) and isinstance(d.get("task_key"), str) for d in depends)
        ):
            problems.append(f"task {key!r}: depends_on must be a list of {{task_key: <name>}}")
        nb_path = (
            task["notebook_task"].get("notebook_path")
            if isinstance(task.get("notebook_task"), Mapping)
            else None
        )
        if nb_path is not None and not isinstance(nb_path, str):
            problems.append(
                f"task {key!r}: notebook_task.notebook_path must be a string (got {_kind(nb_path)})"
            )
        jck = task.get("job_cluster_key")
        if isinstance(jck, str) and jck and jck not in cluster_keys:
            problems.append(f"task {key!r} uses job_cluster_key {jck!r}, which job_clusters does not define")
        if "new_cluster" in task:
            problems += [f"task {key!r}: {p}" for p in cluster_problems(task["new_cluster"])]
    deps = {
        t["task_key"]: [
            d.get("task_key")
            for d in _as_list(t.get("depends_on"))
            if isinstance(d, Mapping) and isinstance(d.get("task_key"), str)
        ]
        for t in tasks
        if isinstance(t, Mapping) and isinstance(t.get("task_key"), str)
    }
    for key, ds in deps.items():
        for d in ds:
            if d not in deps:
                problems.append(f"task {key!r} depends on {d!r}, which is not a task of this job")
    cycle = _find_cycle(deps)
    if cycle:
        problems.append("tasks depend on each other in a cycle: " + " -> ".join(cycle))
    schedule = spec.get("schedule")
    if schedule is not None and not isinstance(schedule, Mapping):
        problems.append(f"'schedule' must be a mapping (got {_kind(schedule)})")
    elif isinstance(schedule, Mapping):
        cron = schedule.get("quartz_cron_expression")
        problems += [f"schedule.quartz_cron_expression {cron!r}: {p}" for p in cron_problems(cron)]
        tz = schedule.get("timezone_id")
        if not _timezone_ok(tz):
            problems.append(
                f"schedule.timezone_id {tz!r} is not a time zone "
                "(use an IANA name such as Europe/Berlin or UTC)"
            )
    timeout = spec.get("timeout_seconds")
    if timeout is not None and (not isinstance(timeout, int) or timeout < 0):
        problems.append("'timeout_seconds' must be a non-negative integer")
    mcr = spec.get("max_concurrent_runs")
    if mcr is not None and (not isinstance(mcr, int) or mcr < 1):
        problems.append("'max_concurrent_runs' must be a positive integer")
    return problems


def _find_cycle(deps: Mapping[str, list[Any]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in deps.get(node, []):
            if nxt not in deps:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for n in sorted(deps):
        if state.get(n) is None:
            found = visit(n)
            if found:
                return found
    return []


def cluster_problems(cluster: Any) -> list[str]:
    """Sanity problems of a ``new_cluster`` spec (pure)."""
    if cluster is None:
        return ["new_cluster is missing"]
    if not isinstance(cluster, Mapping):
        return ["new_cluster must be a mapping"]
    out = []
    for key in ("spark_version", "node_type_id", "driver_node_type_id", "instance_pool_id", "policy_id"):
        if key in cluster and cluster[key] is not None and not isinstance(cluster[key], str):
            out.append(f"{key} must be a string (got {_kind(cluster[key])})")
    if out:
        return out
    if not cluster.get("spark_version"):
        out.append("spark_version is required")
    if not (cluster.get("node_type_id") or cluster.get("instance_pool_id") or cluster.get("policy_id")):
        out.append("node_type_id (or instance_pool_id / policy_id) is required")
    auto = cluster.get("autoscale")
    workers = cluster.get("num_workers")
    if isinstance(auto, Mapping):
        lo, hi = auto.get("min_workers"), auto.get("max_workers")
        if not isinstance(lo, int) or not isinstance(hi, int) or lo < 0 or hi < 1 or lo > hi:
            out.append(f"autoscale needs 0 <= min_workers <= max_workers, max_workers >= 1 (got {lo}..{hi})")
    elif workers is not None and (not isinstance(workers, int) or workers < 0):
        out.append(f"num_workers must be a non-negative integer (got {workers!r})")
    elif workers is None and not auto:
        conf = cluster.get("spark_conf") or {}
        if conf.get("spark.databricks.cluster.profile") != "singleNode":
            out.append("num_workers or autoscale is required (or a singleNode profile)")
    return out


def notebook_paths(spec: Mapping[str, Any]) -> list[str]:
    """Workspace notebook paths the job's tasks use (git-sourced ones excluded)."""
    paths = []
    for task in spec.get("tasks") or []:
        nb = (task or {}).get("notebook_task") or {}
        if nb.get("notebook_path") and nb.get("source", "WORKSPACE") != "GIT" and not spec.get("git_source"):
            paths.append(str(nb["notebook_path"]))
    return sorted(set(paths))


def secret_scopes(spec: Mapping[str, Any]) -> list[str]:
    """Secret scopes referenced as ``{{secrets/<scope>/<key>}}`` anywhere in the definition."""
    from dbx_ops.secrets import secret_references

    return sorted({scope for scope, _ in secret_references(spec)})


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeployOptions:
    """How a deployment runs.

    Attributes:
        strategy: ``direct``, ``blue-green`` or ``canary``.
        environment: a label for the manifest (dev, staging, prod).
        validate: run the pre-deployment checks (a failed one stops the deployment).
        allow_secrets: deploy a definition with hard-coded credentials anyway (they are still
            masked in the plan, the report, the manifest and the backups).
        dry_run: validate and plan only.
        canary_parameters: job parameters that make the canary run a subset.
        smoke_timeout_s: how long to wait for a smoke/canary run.
        poll_s: seconds between polls of that run.
        manifest_dir: a folder for manifests that outlives the cluster (a Unity Catalog volume);
            when None they go to the state schema's table ``job_journals``.
    """

    strategy: str = "direct"
    environment: str = "dev"
    validate: bool = True
    allow_secrets: bool = False
    dry_run: bool = False
    canary_parameters: Mapping[str, str] = field(default_factory=lambda: {"dbx_ops_canary_percentage": "10"})
    smoke_timeout_s: float = 3600.0
    poll_s: float = 10.0
    manifest_dir: str | Path | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InvalidInputError(
                f"Unknown strategy {self.strategy!r}: use one of {', '.join(STRATEGIES)}."
            )


@dataclass(frozen=True)
class DeployResult:
    """A deployment's manifest and report; :attr:`ok` when the new definition is live.

    Attributes:
        deployment_id: ``deploy-<UTC timestamp>``.
        strategy: the strategy.
        environment: the environment label.
        job_name: the production job's name.
        ok: whether the new definition is live (False on a failed smoke/canary run).
        dry_run: True when nothing was changed.
        job_id: the production job after the deployment.
        previous_job_id: the production job before it (blue-green: the backup).
        previous_config: the production definition before.
        new_config: the definition deployed.
        backup_version: the backup of the previous definition.
        checks: the pre-deployment checks.
        steps: what was done.
        test_run_id: the smoke (blue-green) or canary run.
        test_run_result: its result.
        error: why it failed.
        manifest_path: where the manifest was written.
        changes: field-level changes from previous to new.
    """

    deployment_id: str
    strategy: str
    environment: str
    job_name: str
    ok: bool
    dry_run: bool
    job_id: int | None
    previous_job_id: int | None
    previous_config: dict[str, Any] | None
    new_config: dict[str, Any]
    backup_version: str | None
    checks: list[Check]
    steps: list[str]
    test_run_id: int | None = None
    test_run_result: str | None = None
    error: str | None = None
    manifest_path: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""

    # The Verdict shape; ``ok`` is a field here, so the mixin (whose ``ok`` is a property) is not a base.
    error_class: ClassVar[type[DbxOpsError]] = DeployFailedError
    raise_on_failure = Verdict.raise_on_failure
    write_html = Verdict.write_html

    @property
    def success(self) -> bool:
        """Deprecated: use :attr:`ok`."""
        warnings.warn("DeployResult.success is deprecated: use `ok`.", DeprecationWarning, stacklevel=2)
        return self.ok

    def failure_message(self) -> str:
        """One sentence: what did not go live and why."""
        return (
            f"Deployment {self.deployment_id} of {self.job_name!r} did not go live: {self.error or 'failed'}."
        )

    def to_text(self) -> str:
        """What the CLI prints."""
        return self.to_markdown()

    def to_markdown(self) -> str:
        """The Markdown report (or plan)."""
        from dbx_ops.jobs.report import deploy_markdown

        return deploy_markdown(self)

    def to_html(self) -> str:
        """HTML for ``displayHTML``."""
        from dbx_ops.jobs.report import deploy_html

        return deploy_html(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the manifest; ``success`` is kept for existing consumers)."""
        return {
            "deployment_id": self.deployment_id,
            "strategy": self.strategy,
            "environment": self.environment,
            "job_name": self.job_name,
            "ok": self.ok,
            "success": self.ok,
            "dry_run": self.dry_run,
            "job_id": self.job_id,
            "previous_job_id": self.previous_job_id,
            "previous_config": self.previous_config,
            "new_config": self.new_config,
            "backup_version": self.backup_version,
            "checks": [c.to_dict() for c in self.checks],
            "steps": self.steps,
            "test_run_id": self.test_run_id,
            "test_run_result": self.test_run_result,
            "error": self.error,
            "manifest_path": self.manifest_path,
            "changes": self.changes,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


# -- the deployer ----------------------------------------------------------------------------


class JobDeployer:
    """Validates and deploys job definitions.

    Args:
        ws: the workspace client.
        definitions: the definition store (the live definition is backed up there first).
        store: the state store for manifests when a deployment names no ``manifest_dir``
            (default: the definition store's).
        retry: retry policy for workspace calls.
        sleep: the sleep function used while waiting for runs.
        now: the clock (UTC-aware); also bounds the wait for smoke and canary runs.
        gate: called with the definition and the options after the pre-checks and before
            anything changes (dry runs included); raises (e.g. ``NoGoError``) to refuse. The
            hook for ``jobs deploy --environment prod --checklist RUN``: a checklist gate
            that must say go before a production deployment.
    """

    def __init__(
        self,
        ws: WorkspaceClient,
        definitions: JobDefinitionStore,
        store: StateStore | Callable[[], StateStore] | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        now: Clock = utc_now,
        gate: Callable[[Mapping[str, Any], DeployOptions], None] | None = None,
    ) -> None:
        self.gate = gate
        self.ws = ws
        self.definitions = definitions
        self.state = store or definitions.store
        self.retry = retry
        self.sleep = sleep
        self._clock = now

    def _manifests(self, options: DeployOptions) -> Journal:
        return journal_for(options.manifest_dir, self.state, self._clock, what="a deployment manifest")

    def validate(self, spec: Mapping[str, Any], allow_secrets: bool = False) -> list[Check]:
        """Pre-deployment checks: structure, no hard-coded credentials, notebook paths, secrets.

        Args:
            spec: the job definition.
            allow_secrets: a hard-coded credential passes (with a note) instead of failing.
        """
        from dbx_ops.secrets import find_secrets, secret_references

        checks = [Check("definition", False, "a valid job definition", p, p) for p in spec_problems(spec)]
        if not checks:
            n = len(spec.get("tasks") or [])
            checks.append(
                Check(
                    "definition",
                    True,
                    "a valid job definition",
                    f"{n} task(s)",
                    f"{n} task(s), references resolve",
                )
            )
        for found in find_secrets(spec):
            note = (
                "allowed by --allow-secrets; masked in every output"
                if allow_secrets
                else "or deploy with --allow-secrets"
            )
            checks.append(
                Check(
                    "hard_coded_secret",
                    allow_secrets,
                    "a secret reference",
                    found.kind,
                    f"{found.message} ({note})",
                )
            )
        for path in notebook_paths(spec):
            try:
                info = call(
                    f"look up notebook {path}", self.ws.workspace.get_status, retry=self.retry, path=path
                )
                kind = getattr(getattr(info, "object_type", None), "value", None)
                ok = kind in (None, "NOTEBOOK", "FILE")
                message = f"{path} exists" if ok else f"{path} is a {kind}, not a notebook"
                checks.append(
                    Check("notebook", ok, f"{path} is a notebook", str(kind or "NOTEBOOK"), message)
                )
            except NotFoundError:
                checks.append(
                    Check(
                        "notebook",
                        False,
                        f"{path} is a notebook",
                        "missing",
                        f"{path} does not exist in the workspace",
                    )
                )
        wanted = secret_scopes(spec)
        if wanted:
            have = {
                s.name
                for s in call(
                    "list secret scopes", lambda: list(self.ws.secrets.list_scopes()), retry=self.retry
                )
            }
            for scope in wanted:
                ok = scope in have
                message = f"scope {scope!r} " + ("exists" if ok else "does not exist")
                checks.append(
                    Check("secret_scope", ok, f"scope {scope!r}", "exists" if ok else "missing", message)
                )
            keys: dict[str, set[str]] = {}
            for scope, key in secret_references(spec):
                if scope not in have:
                    continue
                if scope not in keys:
                    keys[scope] = {
                        str(m.key)
                        for m in call(
                            f"list the secrets of scope {scope!r}",
                            lambda s=scope: list(self.ws.secrets.list_secrets(s)),
                            retry=self.retry,
                        )
                    }
                ok = key in keys[scope]
                message = f"secret '{scope}/{key}' " + (
                    "exists" if ok else f"does not exist (scope {scope!r} has no key {key!r})"
                )
                checks.append(
                    Check("secret", ok, f"secret '{scope}/{key}'", "exists" if ok else "missing", message)
                )
        return checks

    def deploy(
        self, source: str | Path | Mapping[str, Any], options: DeployOptions = DeployOptions()
    ) -> DeployResult:
        """Validate, back up and deploy a job definition with the chosen strategy.

        Returns:
            The manifest (also written to the manifest folder unless a dry run).

        Raises:
            InvalidInputError: the definition is malformed.
            DeployFailedError: a pre-deployment check failed (nothing was changed).
            WorkspaceError: the workspace refused or kept failing a request.
        """
        spec = load_spec(source)
        manifests = None if options.dry_run else self._manifests(options)  # refuse before any change
        started = self._clock()
        deployment_id = f"deploy-{started.strftime('%Y%m%d-%H%M%S-%f')}"
        name = str(spec["name"])
        checks = self.validate(spec, options.allow_secrets) if options.validate else []
        if not options.validate and not options.allow_secrets:
            from dbx_ops.secrets import find_secrets

            # --no-validate skips the workspace checks, never the credential check.
            checks = [
                Check(
                    "hard_coded_secret",
                    False,
                    "a secret reference",
                    f.kind,
                    f"{f.message} (or deploy with --allow-secrets)",
                )
                for f in find_secrets(spec)
            ]
        failed = [c for c in checks if not c.ok]
        existing = find_jobs_by_name(self.ws, name, self.retry)
        if len(existing) > 1:
            raise InvalidInputError(
                f"{len(existing)} jobs are named {name!r}: rename or delete the extra ones before deploying."
            )
        current_id = int(existing[0].job_id or 0) if existing else None
        previous = self.definitions.live(current_id)[2] if current_id else None
        # A new job has no previous definition: the plan says "create", not every field as a change.
        changes = (
            [
                {"path": c.path, "kind": c.kind, "previous": c.before, "new": c.after}
                for c in diff_settings(previous, spec)
            ]
            if previous is not None
            else []
        )
        base = dict(
            deployment_id=deployment_id,
            strategy=options.strategy,
            environment=options.environment,
            job_name=name,
            previous_job_id=current_id,
            previous_config=masked_settings(previous) if previous is not None else None,
            new_config=masked_settings(spec),
            checks=checks,
            changes=changes,
            started_at=started.isoformat(),
        )
        if failed:
            raise DeployFailedError(
                f"Pre-deployment validation of {name!r} failed ({'; '.join(c.message for c in failed)}); "
                "nothing was changed."
            )
        if self.gate is not None:
            self.gate(spec, options)
        if options.dry_run:
            return DeployResult(
                ok=True,
                dry_run=True,
                job_id=current_id,
                backup_version=None,
                steps=self._plan(options, current_id, name),
                finished_at=self._clock().isoformat(),
                **base,  # type: ignore[arg-type]
            )
        steps: list[str] = []
        backup_version = None
        if current_id:
            backup = self.definitions.save(current_id, previous or {})
            backup_version = backup.version
            steps.append(f"backed up job {current_id} as {backup.version}")
        strategy = {"direct": self._direct, "blue-green": self._blue_green, "canary": self._canary}[
            options.strategy
        ]
        outcome = strategy(spec, current_id, options, steps)
        result = DeployResult(
            dry_run=False,
            backup_version=backup_version,
            steps=steps,
            finished_at=self._clock().isoformat(),
            **outcome,
            **base,  # type: ignore[arg-type]
        )
        assert manifests is not None
        return self._write_manifest(result, manifests)

    # -- plans and strategies --------------------------------------------------------------------

    def _plan(self, options: DeployOptions, current_id: int | None, name: str) -> list[str]:
        backup = [f"back up job {current_id}"] if current_id else []
        if options.strategy == "direct":
            if current_id:
                return [*backup, f"cancel active runs of job {current_id}", f"jobs.reset job {current_id}"]
            return [f"create job {name!r}"]
        if options.strategy == "blue-green":
            return [
                *backup,
                f"create {name + '-green'!r} (schedule paused) and run it as a smoke test",
                f"on success: rename job {current_id} to {name + '-blue-backup'!r} (paused), "
                f"green to {name!r}"
                if current_id
                else f"on success: rename green to {name!r}",
                "on failure: delete green (production untouched)",
            ]
        params = ", ".join(f"{k}={v}" for k, v in options.canary_parameters.items())
        return [
            *backup,
            f"create {name + '-canary'!r} (paused) and run it once with {params}",
            "on success: cut over (direct deployment) and delete the canary",
            "on failure: delete the canary (production untouched)",
        ]

    def _create(self, settings: Mapping[str, Any]) -> int:
        from databricks.sdk.service.jobs import JobSettings

        typed = JobSettings.from_dict(dict(settings))
        kwargs = {k: v for k, v in vars(typed).items() if v is not None}
        name = str(settings.get("name"))
        try:
            created = call(
                f"create job {name!r}", self.ws.jobs.create, retry=RetryPolicy(attempts=1), **kwargs
            )
            return int(created.job_id or 0)
        except WorkspaceError:
            # A create that failed in flight may still have happened: never create twice.
            found = find_jobs_by_name(self.ws, name, self.retry)
            if found:
                return int(found[0].job_id or 0)
            created = call(f"create job {name!r}", self.ws.jobs.create, retry=self.retry, **kwargs)
            return int(created.job_id or 0)

    def _delete(self, job_id: int) -> None:
        try:
            call(f"delete job {job_id}", self.ws.jobs.delete, retry=self.retry, job_id=job_id)
        except NotFoundError:
            logger.info("job %s was already deleted", job_id)

    def _rename(self, job_id: int, name: str, settings: Mapping[str, Any] | None = None) -> None:
        from databricks.sdk.service.jobs import JobSettings

        update: dict[str, Any] = {"name": name}
        for key, value in (settings or {}).items():
            update[key] = value
        call(
            f"rename job {job_id}",
            self.ws.jobs.update,
            retry=self.retry,
            job_id=job_id,
            new_settings=JobSettings.from_dict(update),
        )

    def _run(self, job_id: int, params: Mapping[str, str] | None, options: DeployOptions) -> tuple[int, str]:
        waiter = call(
            f"run job {job_id}",
            self.ws.jobs.run_now,
            retry=self.retry,
            job_id=job_id,
            job_parameters=dict(params) if params else None,
        )
        run_id = int(getattr(waiter.response, "run_id", 0) or 0)
        return run_id, wait_for_run(
            self.ws, run_id, options.smoke_timeout_s, options.poll_s, self.retry, self.sleep
        )

    def _direct(
        self, spec: Mapping[str, Any], current_id: int | None, options: DeployOptions, steps: list[str]
    ) -> dict[str, Any]:
        from dbx_ops.jobs.store import apply_settings

        if current_id is None:
            job_id = self._create(spec)
            steps.append(f"created job {job_id}")
            return {"ok": True, "job_id": job_id}
        for run_id in active_runs(self.ws, current_id, self.retry):
            call(f"cancel run {run_id}", self.ws.jobs.cancel_run, retry=self.retry, run_id=run_id)
            steps.append(f"cancelled run {run_id}")
        apply_settings(self.ws, current_id, spec, retry=self.retry)
        steps.append(f"reset job {current_id} to the new definition")
        return {"ok": True, "job_id": current_id}

    def _blue_green(
        self, spec: Mapping[str, Any], current_id: int | None, options: DeployOptions, steps: list[str]
    ) -> dict[str, Any]:
        name = str(spec["name"])
        green_name = f"{name}-green"
        for stale in find_jobs_by_name(self.ws, green_name, self.retry):
            self._delete(int(stale.job_id or 0))
            steps.append(f"deleted a stale green job {stale.job_id}")
        green_id = self._create({**paused(spec), "name": green_name})
        steps.append(f"created green job {green_id} (schedule paused)")
        run_id, result = self._run(green_id, None, options)
        steps.append(f"smoke run {run_id} ended {result}")
        if result != "SUCCESS":
            self._delete(green_id)
            steps.append(f"deleted green job {green_id}; production untouched")
            return {
                "ok": False,
                "job_id": current_id,
                "test_run_id": run_id,
                "test_run_result": result,
                "error": f"smoke run {run_id} on {green_name!r} ended {result}",
            }
        live = self.definitions.live(current_id)[2] if current_id is not None else {}
        if current_id is not None:
            blue_pause = {k: {**live[k], "pause_status": "PAUSED"} for k in pause_status(live)}
            self._rename(current_id, f"{name}-blue-backup", blue_pause)
            steps.append(f"renamed job {current_id} to {name + '-blue-backup'!r} (schedule paused)")
        restore = {k: spec[k] for k in pause_status(spec)}
        self._rename(green_id, name, restore)
        steps.append(f"renamed green job {green_id} to {name!r} with the intended schedule")
        if current_id is not None:
            # Production now has a new job id: give it the previous definition as its backup, so
            # `dbx-ops jobs rollback --job <name>` can go back without the blue job.
            kept = self.definitions.save(green_id, live)
            steps.append(f"stored the previous definition as backup {kept.version} of job {green_id}")
        return {"ok": True, "job_id": green_id, "test_run_id": run_id, "test_run_result": result}

    def _canary(
        self, spec: Mapping[str, Any], current_id: int | None, options: DeployOptions, steps: list[str]
    ) -> dict[str, Any]:
        name = str(spec["name"])
        canary_name = f"{name}-canary"
        for stale in find_jobs_by_name(self.ws, canary_name, self.retry):
            self._delete(int(stale.job_id or 0))
            steps.append(f"deleted a stale canary job {stale.job_id}")
        params = [dict(p) for p in spec.get("parameters") or []]
        defined = {p.get("name") for p in params}
        for k in options.canary_parameters:
            if k not in defined:
                params.append({"name": k, "default": ""})
        canary_id = self._create({**paused(spec), "name": canary_name, "parameters": params})
        steps.append(f"created canary job {canary_id} (schedule paused)")
        run_id, result = self._run(canary_id, options.canary_parameters, options)
        steps.append(f"canary run {run_id} with {dict(options.canary_parameters)} ended {result}")
        self._delete(canary_id)
        steps.append(f"deleted canary job {canary_id}")
        if result != "SUCCESS":
            steps.append("production untouched")
            return {
                "ok": False,
                "job_id": current_id,
                "test_run_id": run_id,
                "test_run_result": result,
                "error": f"canary run {run_id} ended {result}",
            }
        out = self._direct(spec, current_id, options, steps)
        return {**out, "test_run_id": run_id, "test_run_result": result}

    def _write_manifest(self, result: DeployResult, manifests: Journal) -> DeployResult:
        from dataclasses import replace

        result = replace(result, manifest_path=manifests.location("deployment", result.deployment_id))
        manifests.save("deployment", result.deployment_id, result.to_dict())
        logger.info("deployment manifest written to %s", result.manifest_path)
        return result


def load_manifest(path: str | Path) -> dict[str, Any]:
    """A deployment manifest written by :class:`JobDeployer`."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"Deployment manifest {p} cannot be read ({exc}).") from exc
    if not isinstance(data, dict) or "deployment_id" not in data:
        raise InvalidInputError(f"{p} is not a dbx-ops deployment manifest.")
    return data
