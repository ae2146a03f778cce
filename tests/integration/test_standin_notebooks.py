"""The stand-in executes notebook tasks when started with a notebook runner.

A fake runner (tests/integration/data/fake_notebook_runner.py, honouring the
``dbx_ops notebook run`` contract) stands in for the real one, so these tests pin
the stand-in's side: order, states, outputs, parameters, task values, the
environment, workspace files and wheels, cancel, a killed runner, a restart.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.workspace import ImportFormat, Language
from standin import StandIn

FAKE_RUNNER = Path(__file__).parent / "data" / "fake_notebook_runner.py"
ROOT = "/Workspace/Users/tester@databricks.com/.bundle/nbtest/dev/files"
HEADER = "# Databricks notebook source\n"
CELL = "\n# COMMAND ----------\n"

TERMINAL = {"TERMINATED", "INTERNAL_ERROR", "SKIPPED"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    folder = tmp_path_factory.mktemp("nbws")
    python = folder / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_RUNNER}" "$@"\n')
    python.chmod(0o755)
    srv = StandIn.start(
        state_file=folder / "state.json",
        log=folder / "server.log",
        notebook_python=python,
        env={"FAKE_RUNNER_LOG": str(folder / "order.log"), "STANDIN_OWN": "from-the-server"},
    )
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def ws(server: StandIn) -> WorkspaceClient:
    client = WorkspaceClient(host=server.host, token=server.token)
    client.workspace.mkdirs(f"{ROOT}/notebooks")
    client.workspace.mkdirs(f"{ROOT}/notebooks/conf")
    client.workspace.mkdirs(f"{ROOT}/artifacts")
    upload_notebook(client, f"{ROOT}/notebooks/ok", "dbutils.notebook.exit('fine')")
    upload_notebook(client, f"{ROOT}/notebooks/slow", "import time\ntime.sleep(120)")
    return client


def upload_notebook(ws: WorkspaceClient, path: str, *cells: str, suffix_kept: bool = False) -> None:
    """Store a notebook the way bundle deploy does (AUTO strips .py) or keep the .py (SOURCE)."""
    source = HEADER + CELL.join(cells) + "\n"
    content = base64.b64encode(source.encode()).decode()
    if suffix_kept:
        ws.workspace.import_(
            f"{path}.py",
            content=content,
            format=ImportFormat.SOURCE,
            language=Language.PYTHON,
            overwrite=True,
        )
    else:
        ws.workspace.import_(f"{path}.py", content=content, format=ImportFormat.AUTO, overwrite=True)


def upload_file(ws: WorkspaceClient, path: str, data: bytes) -> None:
    ws.workspace.import_(
        path, content=base64.b64encode(data).decode(), format=ImportFormat.AUTO, overwrite=True
    )


def wait_run(ws: WorkspaceClient, run_id: int, timeout: float = 60) -> jobs.Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = ws.jobs.get_run(run_id)
        assert run.state is not None
        if run.state.life_cycle_state is not None and run.state.life_cycle_state.value in TERMINAL:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish in {timeout}s: {ws.jobs.get_run(run_id).state}")


def tasks_by_key(run: jobs.Run) -> dict[str, jobs.RunTask]:
    return {t.task_key: t for t in run.tasks or [] if t.task_key}


def output(ws: WorkspaceClient, task: jobs.RunTask) -> jobs.RunOutput:
    assert task.run_id is not None
    return ws.jobs.get_run_output(task.run_id)


def nb_task(key: str, name: str, *deps: str, **kw: Any) -> jobs.Task:
    return jobs.Task(
        task_key=key,
        notebook_task=jobs.NotebookTask(
            notebook_path=f"{ROOT}/notebooks/{name}", base_parameters=kw.pop("base", None)
        ),
        depends_on=[jobs.TaskDependency(task_key=d) for d in deps] or None,
        job_cluster_key="main",
        **kw,
    )


CLUSTER = [
    jobs.JobCluster(
        job_cluster_key="main",
        new_cluster=compute.ClusterSpec(
            spark_version="15.4.x-scala2.12",
            node_type_id="i3.xlarge",
            num_workers=1,
            spark_env_vars={"PIPELINE_ENV": "staging", "API_KEY": "{{secrets/nbtest/api-key}}"},
        ),
    )
]


def order_lines(server: StandIn) -> list[str]:
    log = Path(server.extra_env["FAKE_RUNNER_LOG"])
    return [line.rsplit(" ", 1)[0] for line in log.read_text().splitlines()] if log.exists() else []


def test_dependent_tasks_run_in_order_with_merged_parameters_task_values_and_environment(
    ws: WorkspaceClient, server: StandIn
) -> None:
    ws.secrets.create_scope("nbtest")
    ws.secrets.put_secret("nbtest", "api-key", string_value="k-123")
    upload_file(ws, f"{ROOT}/notebooks/conf/settings.json", b'{"threshold": 7}')
    upload_notebook(
        ws,
        f"{ROOT}/notebooks/helpers",
        "def double(x):\n    return 2 * x",
    )
    upload_notebook(
        ws,
        f"{ROOT}/notebooks/produce",
        "import json, os\nfrom pathlib import Path",
        "# MAGIC %run ./helpers",
        "conf = json.loads((Path(__file__).parent / 'conf' / 'settings.json').read_text())\n"
        "dbutils.jobs.taskValues.set('count', double(conf['threshold']))\n"
        "keys = ['env', 'shared', 'only_task', 'run']\n"
        "params = {k: dbutils.widgets.get(k) for k in keys}\n"
        "names = ['PIPELINE_ENV', 'API_KEY', 'STANDIN_OWN', 'DBX_OPS_HOME', 'DATABRICKS_TASK_KEY',\n"
        "         'DATABRICKS_JOB_RUN_ID', 'DATABRICKS_HOST']\n"
        "env = {k: os.environ.get(k) for k in names}\n"
        "dbutils.notebook.exit(json.dumps({'params': params, 'env': env, 'cwd': os.getcwd()}))",
    )
    upload_notebook(
        ws,
        f"{ROOT}/notebooks/consume",
        "n = dbutils.jobs.taskValues.get(taskKey='produce', key='count')\n"
        "dbutils.notebook.exit(f\"{n}|{dbutils.widgets.get('env')}\")",
        suffix_kept=True,
    )
    job = ws.jobs.create(
        name="nb-order",
        job_clusters=CLUSTER,
        parameters=[
            jobs.JobParameterDefinition(name="env", default="dev"),
            jobs.JobParameterDefinition(name="shared", default="from-job"),
        ],
        tasks=[
            # Listed downstream-first: the order comes from depends_on, not the list.
            nb_task("consume", "consume", "produce"),
            nb_task(
                "produce",
                "produce",
                base={"shared": "from-task", "only_task": "t", "run": "{{job.run_id}}", "env": "base"},
            ),
        ],
    )
    assert job.job_id is not None
    started = ws.jobs.run_now(job.job_id, job_parameters={"env": "prod"})
    first = ws.jobs.get_run(started.run_id)
    assert first.state is not None and first.state.life_cycle_state in {
        jobs.RunLifeCycleState.PENDING,
        jobs.RunLifeCycleState.RUNNING,
    }
    run = wait_run(ws, started.run_id)

    assert run.state is not None
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    by_key = tasks_by_key(run)
    assert {k: t.state.result_state for k, t in by_key.items() if t.state} == {
        "produce": jobs.RunResultState.SUCCESS,
        "consume": jobs.RunResultState.SUCCESS,
    }
    assert order_lines(server)[-4:] == ["start produce", "end produce", "start consume", "end consume"]
    produce, consume = by_key["produce"], by_key["consume"]
    assert produce.end_time is not None and consume.start_time is not None
    assert produce.end_time <= consume.start_time

    out = output(ws, produce)
    assert out.notebook_output is not None and out.notebook_output.result is not None
    got = json.loads(out.notebook_output.result)
    # base_parameters < job parameter defaults < run-now job_parameters; references resolved.
    assert got["params"] == {"env": "prod", "shared": "from-job", "only_task": "t", "run": str(run.run_id)}
    env = got["env"]
    assert env["PIPELINE_ENV"] == "staging" and env["API_KEY"] == "k-123"
    assert env["STANDIN_OWN"] == "from-the-server"
    assert env["DATABRICKS_TASK_KEY"] == "produce" and env["DATABRICKS_JOB_RUN_ID"] == str(run.run_id)
    assert env["DATABRICKS_HOST"] == server.host
    # the run's own state folder, unless the server's environment names one (the suite's
    # session fixture does, once any Spark test has run: then the notebook shares it)
    inherited = os.environ.get("DBX_OPS_HOME")
    assert env["DBX_OPS_HOME"] == (inherited or str(server.run_dir(started.run_id) / "home"))
    # The workspace files keep their layout under the run dir; the notebook runs in its folder.
    assert got["cwd"] == str(server.run_dir(started.run_id) / "workspace" / ROOT.lstrip("/") / "notebooks")

    consumed = output(ws, consume).notebook_output
    assert consumed is not None and consumed.result == "14|prod"
    metadata = output(ws, consume).metadata
    assert metadata is not None and metadata.state is not None
    assert metadata.state.result_state == jobs.RunResultState.SUCCESS


def test_notebook_params_override_base_parameters_without_job_parameters(ws: WorkspaceClient) -> None:
    upload_notebook(
        ws,
        f"{ROOT}/notebooks/echo",
        "import json\ndbutils.notebook.exit(json.dumps({k: dbutils.widgets.get(k) for k in ['x', 'y']}))",
    )
    job = ws.jobs.create(
        name="nb-legacy",
        job_clusters=CLUSTER,
        tasks=[nb_task("echo", "echo", base={"x": "1", "y": "2"})],
    )
    assert job.job_id is not None
    run = wait_run(ws, ws.jobs.run_now(job.job_id, notebook_params={"y": "9"}).run_id)
    result = output(ws, tasks_by_key(run)["echo"]).notebook_output
    assert result is not None and json.loads(result.result or "") == {"x": "1", "y": "9"}


ALERTS = jobs.JobEmailNotifications(
    on_start=["start@company.com"], on_success=["team@company.com"], on_failure=["oncall@company.com"]
)


def test_failing_task_fails_the_run_and_its_downstream_is_upstream_failed(
    ws: WorkspaceClient, server: StandIn
) -> None:
    upload_notebook(
        ws,
        f"{ROOT}/notebooks/broken",
        "x = 1",
        "rows = 0\nif rows == 0:\n    raise ValueError('no rows in sales.orders')",
    )
    job = ws.jobs.create(
        name="nb-fail",
        job_clusters=CLUSTER,
        email_notifications=ALERTS,
        tasks=[
            nb_task("load", "ok"),
            nb_task("check", "broken", "load"),
            nb_task("publish", "ok", "check"),
            nb_task("cleanup", "ok", "check", run_if=jobs.RunIf.ALL_DONE),
        ],
    )
    assert job.job_id is not None
    run = wait_run(ws, ws.jobs.run_now(job.job_id).run_id)
    assert run.state is not None
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED
    assert run.state.result_state == jobs.RunResultState.FAILED
    states = {k: (t.state.result_state if t.state else None) for k, t in tasks_by_key(run).items()}
    assert states == {
        "load": jobs.RunResultState.SUCCESS,
        "check": jobs.RunResultState.FAILED,
        "publish": jobs.RunResultState.UPSTREAM_FAILED,
        "cleanup": jobs.RunResultState.SUCCESS,
    }
    failed = output(ws, tasks_by_key(run)["check"])
    assert failed.error == "ValueError: no rows in sales.orders"
    assert failed.error_trace is not None
    assert "cell 2, line 3" in failed.error_trace and "Traceback" in failed.error_trace
    assert failed.metadata is not None and failed.metadata.state is not None
    assert failed.metadata.state.result_state == jobs.RunResultState.FAILED
    # The job's failure alert fired, to its on_failure recipients, naming the failed task.
    sent = server.notifications(run.run_id)
    assert [(n["event"], n["recipients"]) for n in sent] == [
        ("on_start", ["start@company.com"]),
        ("on_failure", ["oncall@company.com"]),
    ]
    assert sent[1]["result_state"] == "FAILED" and "check" in sent[1]["state_message"]
    assert sent[1]["job_id"] == job.job_id and sent[1]["job_name"] == "nb-fail"


def test_a_successful_run_notifies_on_success_only(ws: WorkspaceClient, server: StandIn) -> None:
    job = ws.jobs.create(
        name="nb-alerts-ok",
        job_clusters=CLUSTER,
        email_notifications=jobs.JobEmailNotifications(
            on_success=["team@company.com"], on_failure=["oncall@company.com"]
        ),
        tasks=[nb_task("load", "ok")],
    )
    assert job.job_id is not None
    run = wait_run(ws, ws.jobs.run_now(job.job_id).run_id)
    assert run.state is not None and run.state.result_state == jobs.RunResultState.SUCCESS
    sent = server.notifications(run.run_id)
    assert [(n["event"], n["recipients"], n["result_state"]) for n in sent] == [
        ("on_success", ["team@company.com"], "SUCCESS")
    ]


def make_wheel(version: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("nbpkg/__init__.py", f"VERSION = {version!r}\n")
        z.writestr(f"nbpkg-{version}.dist-info/METADATA", f"Name: nbpkg\nVersion: {version}\n")
    return buf.getvalue()


def test_whl_libraries_are_importable_and_runs_submit_executes(ws: WorkspaceClient, server: StandIn) -> None:
    wheel = f"{ROOT}/artifacts/nbpkg-1.2.3-py3-none-any.whl"
    upload_file(ws, wheel, make_wheel("1.2.3"))
    upload_notebook(ws, f"{ROOT}/notebooks/version", "import nbpkg\ndbutils.notebook.exit(nbpkg.VERSION)")
    submitted = ws.jobs.submit(
        run_name="one-off",
        tasks=[
            jobs.SubmitTask(
                task_key="version",
                notebook_task=jobs.NotebookTask(notebook_path=f"{ROOT}/notebooks/version"),
                libraries=[compute.Library(whl=wheel)],
                new_cluster=compute.ClusterSpec(spark_version="15.4.x-scala2.12", num_workers=0),
            )
        ],
    )
    run = wait_run(ws, submitted.run_id)
    assert run.run_type == jobs.RunType.SUBMIT_RUN and run.run_name == "one-off"
    assert run.state is not None and run.state.result_state == jobs.RunResultState.SUCCESS
    result = output(ws, tasks_by_key(run)["version"]).notebook_output
    assert result is not None and result.result == "1.2.3"
    assert (server.run_dir(submitted.run_id) / "site" / "nbpkg" / "__init__.py").is_file()

    missing = ws.jobs.submit(
        tasks=[
            jobs.SubmitTask(
                task_key="version",
                notebook_task=jobs.NotebookTask(notebook_path=f"{ROOT}/notebooks/version"),
                libraries=[compute.Library(whl=f"{ROOT}/artifacts/absent.whl")],
            )
        ],
    )
    failed = wait_run(ws, missing.run_id)
    assert failed.state is not None and failed.state.result_state == jobs.RunResultState.FAILED
    assert "absent.whl" in (output(ws, tasks_by_key(failed)["version"]).error or "")


def wait_pid(server: StandIn, run_id: int, task: str, timeout: float = 30) -> int:
    pid_file = server.run_dir(run_id) / "tasks" / task / "runner.pid"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pid_file.is_file() and pid_file.read_text():
            return int(pid_file.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{pid_file} never appeared")


def test_killed_runner_leaves_the_run_internal_error(ws: WorkspaceClient, server: StandIn) -> None:
    job = ws.jobs.create(
        name="nb-killed",
        job_clusters=CLUSTER,
        tasks=[nb_task("slow", "slow"), nb_task("after", "ok", "slow")],
    )
    assert job.job_id is not None
    run_id = ws.jobs.run_now(job.job_id).run_id
    pid = wait_pid(server, run_id, "slow")
    running = ws.jobs.get_run(run_id)
    assert running.state is not None and running.state.life_cycle_state == jobs.RunLifeCycleState.RUNNING
    assert tasks_by_key(running)["slow"].state.life_cycle_state == jobs.RunLifeCycleState.RUNNING  # type: ignore[union-attr]
    os.kill(pid, signal.SIGKILL)  # the runner process this test's stand-in started

    run = wait_run(ws, run_id)
    assert run.state is not None
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    assert run.state.result_state == jobs.RunResultState.FAILED
    slow = tasks_by_key(run)["slow"]
    assert slow.state is not None and slow.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    after = tasks_by_key(run)["after"]
    assert after.state is not None and after.state.result_state == jobs.RunResultState.UPSTREAM_FAILED
    assert "killed" in (output(ws, slow).error or "")


def test_cancel_stops_the_runner_and_a_restart_ends_abandoned_runs(
    ws: WorkspaceClient, server: StandIn
) -> None:
    job = ws.jobs.create(name="nb-cancel", job_clusters=CLUSTER, tasks=[nb_task("slow", "slow")])
    assert job.job_id is not None
    run_id = ws.jobs.run_now(job.job_id).run_id
    pid = wait_pid(server, run_id, "slow")
    ws.jobs.cancel_run(run_id)
    run = wait_run(ws, run_id)
    assert run.state is not None and run.state.result_state == jobs.RunResultState.CANCELED
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists(), "the cancelled runner process is still alive"

    run_id = ws.jobs.run_now(job.job_id).run_id
    pid = wait_pid(server, run_id, "slow")
    server.kill()  # the stand-in dies mid-run; its runner dies with the process group or is orphaned
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.launch()
    run = ws.jobs.get_run(run_id)
    assert run.state is not None
    assert run.state.life_cycle_state == jobs.RunLifeCycleState.INTERNAL_ERROR
    assert "stopped while this run was executing" in (run.state.state_message or "")


def test_condition_task_branches_on_a_task_value_and_timeouts(ws: WorkspaceClient) -> None:
    upload_notebook(ws, f"{ROOT}/notebooks/gate", "dbutils.jobs.taskValues.set('decision', 'go')")
    condition = jobs.ConditionTask(
        left="{{tasks.gate.values.decision}}", op=jobs.ConditionTaskOp.EQUAL_TO, right="go"
    )
    job = ws.jobs.create(
        name="nb-branch",
        job_clusters=CLUSTER,
        tasks=[
            nb_task("gate", "gate"),
            jobs.Task(
                task_key="is_go",
                condition_task=condition,
                depends_on=[jobs.TaskDependency(task_key="gate")],
            ),
            jobs.Task(
                task_key="deploy",
                notebook_task=jobs.NotebookTask(notebook_path=f"{ROOT}/notebooks/ok"),
                depends_on=[jobs.TaskDependency(task_key="is_go", outcome="true")],
                job_cluster_key="main",
            ),
            jobs.Task(
                task_key="alert",
                notebook_task=jobs.NotebookTask(notebook_path=f"{ROOT}/notebooks/ok"),
                depends_on=[jobs.TaskDependency(task_key="is_go", outcome="false")],
                job_cluster_key="main",
            ),
        ],
    )
    assert job.job_id is not None
    run = wait_run(ws, ws.jobs.run_now(job.job_id).run_id)
    by_key = tasks_by_key(run)
    assert by_key["is_go"].condition_task is not None and by_key["is_go"].condition_task.outcome == "true"
    assert {k: t.state.result_state for k, t in by_key.items() if t.state} == {
        "gate": jobs.RunResultState.SUCCESS,
        "is_go": jobs.RunResultState.SUCCESS,
        "deploy": jobs.RunResultState.SUCCESS,
        "alert": jobs.RunResultState.EXCLUDED,
    }
    assert run.state is not None and run.state.result_state == jobs.RunResultState.SUCCESS

    slow = ws.jobs.create(
        name="nb-timeout", job_clusters=CLUSTER, tasks=[nb_task("slow", "slow", timeout_seconds=1)]
    )
    assert slow.job_id is not None
    timed = wait_run(ws, ws.jobs.run_now(slow.job_id).run_id)
    task = tasks_by_key(timed)["slow"]
    assert task.state is not None and task.state.result_state == jobs.RunResultState.TIMEDOUT
    assert timed.state is not None and timed.state.result_state == jobs.RunResultState.FAILED


def test_notebooks_uploaded_with_import_file_survive_a_restart(ws: WorkspaceClient, server: StandIn) -> None:
    import urllib.request

    path = f"{ROOT}/notebooks/filer.py"
    source = HEADER + "dbutils.notebook.exit('from the filer')\n"
    req = urllib.request.Request(
        f"{server.host}/api/2.0/workspace-files/import-file/{path.lstrip('/')}?overwrite=true",
        data=source.encode(),
        method="POST",
    )
    req.add_header("Authorization", f"Bearer {server.token}")
    with urllib.request.urlopen(req, timeout=10):
        pass
    job = ws.jobs.create(name="nb-filer", job_clusters=CLUSTER, tasks=[nb_task("filer", "filer")])
    assert job.job_id is not None
    server.restart()
    run = wait_run(ws, ws.jobs.run_now(job.job_id).run_id)
    result = output(ws, tasks_by_key(run)["filer"]).notebook_output
    assert result is not None and result.result == "from the filer"
