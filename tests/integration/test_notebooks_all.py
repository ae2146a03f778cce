"""Every notebook in ``notebooks/`` runs, in-process, on the suite's Spark session and real Delta tables.

Each case is (notebook, realistic parameters, expected outcome, text the run must show). A case
that should fail names the cell it must fail in (a snippet of that cell's source): validation
drift fails at ``job.finish``, a no-go gate at the checklist's gate cell, environment drift at
``report.raise_on_failure()`` — exactly where the job built on the notebook fails. The guard test
at the end fails when a notebook in ``notebooks/`` has no case, so a new notebook cannot go untested.

The notebooks run through :class:`~dbx_ops.notebooks.NotebookRunner` with the suite's ``spark``
(one Spark for all of them); the stand-in workspace serves the notebooks that call the Jobs API.
"""

from __future__ import annotations

import json
import platform
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from dbx_ops.notebooks import NotebookRunner, TaskValues
from dbx_ops.notebooks.runner import NotebookRun

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"


@dataclass
class Env:
    """What the cases run against: tables, files and the stand-in's jobs, made once per module."""

    spark: Any
    tmp: Path
    state_schema: str
    data_schema: str
    host: str = ""
    token: str = ""
    jobs: dict[str, int] = field(default_factory=dict)
    backup_dir: str = ""

    def table(self, name: str) -> str:
        return f"{self.data_schema}.{name}"


@dataclass(frozen=True)
class Case:
    """One run of one notebook.

    Attributes:
        notebook: file name in ``notebooks/``.
        id: the test id.
        params: widget values (built from the module's :class:`Env`).
        ok: True when the run must finish (or ``notebook.exit``), False when a cell must raise.
        text: text the run's report (outputs and error) must contain.
        fail_at: for ``ok=False``: a snippet of the source of the cell that must fail.
        needs_workspace: the notebook calls the Jobs API (DATABRICKS_HOST set to the stand-in).
        task_values: task values the run must have set (subset).
        slow: marked slow (the drill).
        before: what happens to the data before the run (the bad deploy).
        after: more checks of what the run left behind (tables, files).
    """

    notebook: str
    id: str
    params: Callable[[Env], dict[str, str]]
    ok: bool
    text: str
    fail_at: str = ""
    needs_workspace: bool = False
    task_values: dict[str, Any] = field(default_factory=dict)
    slow: bool = False
    before: Callable[[Env], None] | None = None
    after: Callable[[Env, NotebookRun], None] | None = None


def _checklist_no_go(template: str, notebook: str) -> Case:
    return Case(
        notebook,
        f"{template}-job-no-go",
        lambda env: {"mode": "job", "run": f"ci-{template}-{uuid.uuid4().hex[:6]}", "verify": "false"},
        ok=False,
        text="NoGoError",
        fail_at="notebook_main(",
        task_values={"decision": "no-go"},
    )


def _gate_run_id(env: Env) -> str:
    return f"gate-{env.state_schema}"


def _start_gate_run(env: Env) -> None:
    """A prod-deploy run started from the CLI, nothing ticked: the gate job must say no-go."""
    import os

    from dbx_ops.cli import main

    old = os.environ.get("DBX_OPS_SCHEMA")
    os.environ["DBX_OPS_SCHEMA"] = env.state_schema
    try:
        assert main(["checklist", "start", "prod-deploy", "--run", _gate_run_id(env), "--json"]) == 0
    finally:
        if old is None:
            os.environ.pop("DBX_OPS_SCHEMA", None)
        else:
            os.environ["DBX_OPS_SCHEMA"] = old


def _drift_verdict_stored(env: Env, run: NotebookRun) -> None:
    failed = env.spark.sql(
        f"SELECT rule FROM {env.state_schema}.validation_results "
        f"WHERE table_name LIKE '%orders_drift' AND severity = 'fail' AND NOT passed"
    ).collect()
    assert failed, "the failing validation run stored no failed fail-severity rule"


def _bad_deploy(env: Env) -> None:
    env.spark.sql(f"DELETE FROM {env.table('orders_snap')} WHERE id < 150")


def _rows_back(env: Env, run: NotebookRun) -> None:
    assert env.spark.table(env.table("orders_snap")).count() == 200


def _rows_still_gone(env: Env, run: NotebookRun) -> None:
    assert env.spark.table(env.table("orders_snap")).count() == 50


def _baseline_written(env: Env, run: NotebookRun) -> None:
    written = (env.tmp / "baselines" / "15.4.x-scala2.12" / "runtime-baseline.in").read_text().lower()
    assert f"pyyaml=={metadata.version('pyyaml')}" in written


CASES: list[Case] = [
    Case(
        "validate_table.py",
        "clean-vs-version-0",
        lambda env: {
            "tables": env.table("orders_clean"),
            "baseline": "version:0",
            "state_schema": env.state_schema,
        },
        ok=True,
        text=" passed",
    ),
    Case(
        "validate_table.py",
        "drift-fails-the-job",
        lambda env: {
            "tables": env.table("orders_drift"),
            "baseline": "version:0",
            "state_schema": env.state_schema,
        },
        ok=False,
        text="ValidationFailedError",
        fail_at="job.finish(batch)",
        after=_drift_verdict_stored,
    ),
    Case(
        "validate_table.py",
        "drift-reported-fail-job-false",
        lambda env: {
            "tables": env.table("orders_drift"),
            "baseline": "version:0",
            "fail_job": "false",
            "state_schema": env.state_schema,
        },
        ok=True,
        text="row_count",
    ),
    Case(
        "snapshot_restore.py",
        "snapshot",
        lambda env: {
            "action": "snapshot",
            "tables": env.table("orders_snap"),
            "label": "pre-deploy",
        },
        ok=True,
        text="pre-deploy",
    ),
    Case(
        "snapshot_restore.py",
        "verify",
        lambda env: {"action": "verify", "label": "pre-deploy"},
        ok=True,
        text="restorable",
    ),
    Case(
        "snapshot_restore.py",
        "restore-plan-only",
        lambda env: {"action": "restore", "label": "pre-deploy", "confirm": "no"},
        ok=True,
        text="orders_snap",
        before=_bad_deploy,
        after=_rows_still_gone,
    ),
    Case(
        "snapshot_restore.py",
        "restore",
        lambda env: {"action": "restore", "label": "pre-deploy", "confirm": "yes"},
        ok=True,
        text="orders_snap",
        after=_rows_back,
    ),
    Case(
        "snapshot_restore.py",
        "verify-unknown-label",
        lambda env: {"action": "verify", "label": "never-taken"},
        ok=False,
        text="never-taken",
        fail_at="snaps = Snapshots(",
    ),
    Case(
        "env_check.py",
        "environment-matches-lock",
        lambda env: {"lock": str(env.tmp / "lock-ok" / "requirements.txt"), "strays": "false"},
        ok=True,
        text="Environment ok",
    ),
    Case(
        "env_check.py",
        "environment-drift",
        lambda env: {"lock": str(env.tmp / "lock-drift" / "requirements.txt"), "strays": "false"},
        ok=False,
        text="pyyaml",
        fail_at="report.raise_on_failure()",
    ),
    Case(
        "capture_baseline.py",
        "baseline-written",
        lambda env: {
            "runtime": "15.4.x-scala2.12",
            "output": str(env.tmp / "baselines" / "{runtime}" / "runtime-baseline.in"),
        },
        ok=True,
        text="15.4.x-scala2.12",
        after=_baseline_written,
    ),
    Case("doctor.py", "local-delta-roundtrip", lambda env: {}, ok=True, text="delta"),
    Case(
        "job_health.py",
        "healthy-job",
        lambda env: {"jobs": str(env.jobs["healthy"]), "window": "5"},
        ok=True,
        text="nb-healthy",
        needs_workspace=True,
    ),
    Case(
        "job_health.py",
        "failing-job-p1",
        lambda env: {"jobs": str(env.jobs["failing"]), "window": "5"},
        ok=False,
        text="nb-failing",
        fail_at="report.raise_on_failure()",
        needs_workspace=True,
    ),
    Case(
        "rollback_job.py",
        "plan-only",
        lambda env: {"job": str(env.jobs["rollback"]), "backup_dir": env.backup_dir, "confirm": "no"},
        ok=True,
        text="max_concurrent_runs",
        needs_workspace=True,
    ),
    _checklist_no_go("prod-deploy", "checklist_prod_deploy.py"),
    _checklist_no_go("dbr-upgrade", "checklist_dbr_upgrade.py"),
    _checklist_no_go("deploy-workflow", "checklist_deploy_workflow.py"),
    _checklist_no_go("rollback-runbook", "checklist_rollback_runbook.py"),
    Case(
        "checklist_gate.py",
        "gate-job-no-go",
        lambda env: {"run": _gate_run_id(env), "state_schema": env.state_schema},
        ok=False,
        text="NoGoError",
        fail_at="gate_notebook_main(",
        task_values={"decision": "no-go"},
        before=_start_gate_run,
    ),
    Case(
        "checklist_prod_deploy.py",
        "interactive-run-shown",
        lambda env: {"run": f"ui-{uuid.uuid4().hex[:6]}", "context": '{"target": "staging"}'},
        ok=True,
        text="",
    ),
    Case(
        "rollback_drill.py",
        "recovery-proven",
        lambda env: {"schema": f"nb_drill_{uuid.uuid4().hex[:6]}", "rows": "400"},
        ok=True,
        text="",
        slow=True,
    ),
]


def _param(case: Case) -> Any:
    marks = [pytest.mark.slow] if case.slow else []
    return pytest.param(case, id=f"{Path(case.notebook).stem}-{case.id}", marks=marks)


def _write_lock(folder: Path, pyyaml_version: str) -> None:
    """A lock as ``dbx-ops deps lock`` writes it (header and pins), for this interpreter."""
    folder.mkdir(parents=True)
    python = ".".join(platform.python_version_tuple()[:2])
    header = f"# runtime: 15.4.x-scala2.12\n# databricks-runtime-version: 15.4\n# python: {python}\n"
    (folder / "requirements.txt").write_text(f"{header}pyyaml=={pyyaml_version}\n")


@pytest.fixture(scope="module")
def env(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("notebooks_all")
    suffix = uuid.uuid4().hex[:8]
    e = Env(spark=spark, tmp=tmp, state_schema=f"nb_state_{suffix}", data_schema=f"nb_data_{suffix}")
    spark.sql(f"CREATE SCHEMA {e.data_schema}")
    orders = "SELECT id, CAST(id % 7 AS STRING) AS region, id * 1.5 AS amount FROM range(200)"
    for name in ("orders_clean", "orders_drift", "orders_snap"):
        spark.sql(f"CREATE TABLE {e.table(name)} USING delta AS {orders}")
    # The drift a bad deploy leaves: half the rows gone and the amounts of the rest nulled.
    spark.sql(f"DELETE FROM {e.table('orders_drift')} WHERE id >= 100")
    spark.sql(f"UPDATE {e.table('orders_drift')} SET amount = NULL WHERE id % 2 = 0")
    _write_lock(tmp / "lock-ok", metadata.version("pyyaml"))
    _write_lock(tmp / "lock-drift", "0.0.1")
    yield e
    spark.sql(f"DROP SCHEMA IF EXISTS {e.data_schema} CASCADE")


@pytest.fixture(scope="module")
def jobs_env(env: Env, workspace: Any) -> Env:
    """The stand-in's jobs: one healthy, one failing three times in a row, one changed since its backup."""
    from databricks.sdk.service import jobs
    from standin import of

    from dbx_ops.jobs.store import JobDefinitionStore

    server = of(workspace.config.host)
    env.host, env.token = workspace.config.host, workspace.config.token

    def create(name: str) -> int:
        task = jobs.Task(task_key="main", notebook_task=jobs.NotebookTask(notebook_path="/Shared/x"))
        return int(workspace.jobs.create(name=name, tasks=[task], max_concurrent_runs=1).job_id)

    for key, outcome in (("healthy", "SUCCESS"), ("failing", "FAILED")):
        job_id = create(f"nb-{key}")
        env.jobs[key] = job_id
        server.queue_outcomes(f"nb-{key}", *[{"result_state": outcome, "duration_ms": 60_000}] * 3)
        for _ in range(3):
            run = workspace.jobs.run_now(job_id).result()
            assert run.state is not None
    env.jobs["rollback"] = create("nb-rollback")
    env.backup_dir = str(env.tmp / "job_backups")
    JobDefinitionStore(workspace, env.backup_dir).backup([env.jobs["rollback"]])
    workspace.jobs.update(env.jobs["rollback"], new_settings=jobs.JobSettings(max_concurrent_runs=5))
    return env


def run_case(case: Case, env: Env, monkeypatch: pytest.MonkeyPatch) -> NotebookRun:
    monkeypatch.setenv("DBX_OPS_SCHEMA", env.state_schema)
    if case.needs_workspace:
        monkeypatch.setenv("DATABRICKS_HOST", env.host)
        monkeypatch.setenv("DATABRICKS_TOKEN", env.token)
    runner = NotebookRunner(env.spark, case.params(env), TaskValues(), dbfs_root=env.tmp / "dbfs")
    return runner.run(NOTEBOOKS / case.notebook)


def report_text(run: NotebookRun) -> str:
    parts = [run.summary()]
    for res in run.cells:
        parts += [o.content for o in res.outputs]
        if res.error is not None:
            parts.append(res.error.message)
    return "\n".join(parts)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_notebook(
    case: Case, env: Env, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.needs_workspace:
        request.getfixturevalue("jobs_env")
    if case.before is not None:
        case.before(env)
    run = run_case(case, env, monkeypatch)
    text = report_text(run)
    if case.ok:
        trace = run.error.traceback if run.error else ""
        assert run.ok, f"{case.notebook} should run to the end: {run.summary()}\n{trace}"
        assert all(c.status in ("ok", "exited") for c in run.cells), run.to_text()
    else:
        assert not run.ok, f"{case.notebook} should fail at the cell with {case.fail_at!r}: {run.summary()}"
        assert run.error is not None
        failed = run.cells[run.error.cell - 1]
        assert failed.status == "failed"
        assert case.fail_at in failed.cell.source, (
            f"{case.notebook} failed in cell {run.error.cell} (line {run.error.line}), "
            f"not in the cell with {case.fail_at!r}: {run.error.message}"
        )
        assert all(c.status == "not run" for c in run.cells[run.error.cell :])
    assert case.text in text, f"{case.text!r} not in the run report of {case.notebook}:\n{text[:3000]}"
    for key, value in case.task_values.items():
        assert run.task_values.get(key) == value, run.task_values
    if case.after is not None:
        case.after(env, run)


def test_every_notebook_has_a_case() -> None:
    """A notebook added to notebooks/ without a case here fails this test."""
    covered = {c.notebook for c in CASES}
    present = {p.name for p in NOTEBOOKS.glob("*.py")}
    missing = sorted(present - covered)
    assert not missing, f"notebooks without a case in {Path(__file__).name}: {missing}"
    assert not covered - present, f"cases for notebooks that do not exist: {sorted(covered - present)}"


def test_failing_cases_name_a_real_cell() -> None:
    """Each fail_at snippet is in exactly one cell of its notebook, so "fails where it should" is exact."""
    from dbx_ops.notebooks.source import read_notebook

    for case in CASES:
        if case.ok:
            continue
        cells = [c for c in read_notebook(NOTEBOOKS / case.notebook).cells if case.fail_at in c.source]
        assert len(cells) == 1, f"{case.notebook}: {case.fail_at!r} is in {len(cells)} cells"


def test_result_json_shape(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine result of a failing notebook names the failing cell and line (what the stand-in reads)."""
    case = next(c for c in CASES if c.id == "environment-drift")
    run = run_case(case, env, monkeypatch)
    result = json.loads(json.dumps(run.result()))
    assert result["ok"] is False and result["error"]["cell"] == run.error.cell  # type: ignore[union-attr]
    assert result["error"]["line"] > 0
