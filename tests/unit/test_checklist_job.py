"""Job mode: dbutils-style string parameters in, decision published as task values, NoGoError on no-go."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dbx_ops.checklists import Actor, ItemState, MemoryEventStore, TemplateLibrary, run_checklist_job
from dbx_ops.checklists.verifiers import VerifierContext
from dbx_ops.clock import FixedClock
from dbx_ops.errors import ChecklistRefusedError, InvalidInputError, NoGoError, NotFoundError

TEMPLATE = """
name: job-mini
version: "1"
title: Job mini
roles:
  Release Bot: {}
  Lead: {}
signoff: [Release Bot]
phases:
  - name: One
    items:
      - {id: a, text: A}
      - {id: b, text: B}
      - {id: scan, text: No credentials, verifier: secret_scan, params: {path: "{repo}"}}
"""


class InputWidgetNotDefined(Exception):
    pass


class FakeWidgets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> str:
        if name not in self.values:
            raise InputWidgetNotDefined(name)
        return self.values[name]


class FakeTaskValues:
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def set(self, key: str, value: object) -> None:
        json.dumps(value)  # task values must be JSON-serialisable
        self.values[key] = value


class FakeJobs:
    def __init__(self) -> None:
        self.taskValues = FakeTaskValues()  # dbutils spells it this way


class FakeDbutils:
    def __init__(self, **widgets: str) -> None:
        self.widgets = FakeWidgets(widgets)
        self.jobs = FakeJobs()


@pytest.fixture
def library(tmp_path):
    (tmp_path / "job-mini.yml").write_text(TEMPLATE)
    return TemplateLibrary([tmp_path])


def run_job(dbutils, library, store, tmp_path, **kw):
    (tmp_path / "clean.py").write_text("x = 1\n")
    return run_checklist_job(
        dbutils,
        None,
        events=store,
        actor=Actor("svc-release"),
        library=library,
        verifier_context=VerifierContext(repo=tmp_path),
        now=FixedClock(datetime(2026, 12, 2, tzinfo=UTC), timedelta(seconds=1)),
        **kw,
    )


def test_go_is_published_and_returned(library, tmp_path):
    store = MemoryEventStore()
    dbutils = FakeDbutils(
        template="job-mini",
        run="rel-1",
        ticks=json.dumps(["a", {"item": "b", "state": "pass", "evidence": "run_id:77"}]),
        signoffs=json.dumps([{"role": "Release Bot", "decision": "go"}]),
        context=json.dumps({"target": "prod", "change": "abc123"}),
        job_run_id="991",
    )
    result = run_job(dbutils, library, store, tmp_path)
    assert result.ok
    assert dbutils.jobs.taskValues.values["decision"] == "go"
    assert dbutils.jobs.taskValues.values["run_id"] == "rel-1"
    events = store.events("rel-1")
    assert {e.job_run_id for e in events} == {"991"}
    assert [e.kind for e in events] == ["start", "item", "item", "signoff", "verify"]
    assert events[4].state == ItemState.PASS and events[2].evidence[0].value == "77"


def test_no_go_is_published_then_the_task_fails(library, tmp_path):
    store = MemoryEventStore()
    dbutils = FakeDbutils(template="job-mini", run="rel-2", ticks='["a"]')
    with pytest.raises(NoGoError, match="no-go"):
        run_job(dbutils, library, store, tmp_path)
    values = dbutils.jobs.taskValues.values
    assert values["decision"] == "no-go"
    assert any(r.startswith("run: b") for r in values["reasons"])  # type: ignore[union-attr]
    assert store.events("rel-2")  # the ticks were kept even though the task failed


def test_second_task_reopens_the_same_run(library, tmp_path):
    store = MemoryEventStore()
    with pytest.raises(NoGoError):
        run_job(FakeDbutils(template="job-mini", run="rel-3", ticks='["a"]'), library, store, tmp_path)
    second = FakeDbutils(
        template="job-mini",
        run="rel-3",
        ticks='["b"]',
        signoffs='[{"role": "Release Bot", "decision": "go"}]',
        verify="true",
    )
    assert run_job(second, library, store, tmp_path).ok
    assert sum(1 for e in store.events("rel-3") if e.kind == "start") == 1


def test_no_widgets_at_all_uses_the_arguments(library, tmp_path):
    store = MemoryEventStore()
    result = run_job(FakeDbutils(), library, store, tmp_path, template="job-mini", raise_on_no_go=False)
    assert not result.ok  # a fresh run with nothing ticked
    assert len(store.runs()) == 1


@pytest.mark.parametrize(
    ("widgets", "error", "match"),
    [
        ({"template": "job-mini", "ticks": "[a"}, InvalidInputError, "'ticks' is not valid JSON"),
        ({"template": "job-mini", "ticks": '{"a": 1}'}, InvalidInputError, "must be JSON lists"),
        ({"ticks": "[]"}, InvalidInputError, "set the job parameter 'template'"),
        (
            {"template": "job-mini", "ticks": '[{"item": "a", "state": "waive"}]'},
            ChecklistRefusedError,
            "needs a reason",
        ),
    ],
)
def test_bad_parameters_are_one_sentence(library, tmp_path, widgets, error, match):
    store = MemoryEventStore()
    with pytest.raises(error, match=match):
        run_job(FakeDbutils(**widgets), library, store, tmp_path)


def test_job_module_never_imports_the_databricks_runtime():
    import dbx_ops.checklists.job as job

    source = open(job.__file__, encoding="utf-8").read()
    assert "import databricks.sdk.runtime" not in source and "from databricks.sdk.runtime" not in source


def test_notebook_main_job_mode_and_html_fallback(library, tmp_path, monkeypatch):
    import sys

    from dbx_ops.checklists.job import notebook_main

    monkeypatch.setenv("DBX_OPS_CHECKLISTS", str(tmp_path))
    monkeypatch.setenv("DBX_OPS_ACTOR", "nb-user")
    (tmp_path / "job-mini.yml").write_text(TEMPLATE)
    store = MemoryEventStore()
    job = FakeDbutils(mode="job", run="nb-1", ticks='["a", "b"]', verify="false")
    with pytest.raises(NoGoError):
        notebook_main("job-mini", job, None, lambda html: None, events=store)
    assert job.jobs.taskValues.values["decision"] == "no-go"
    shown: list[str] = []
    monkeypatch.setitem(sys.modules, "dbx_ops.checklists.widgets", None)  # no widget: read-only HTML
    run = notebook_main("job-mini", FakeDbutils(run="nb-1"), None, shown.append, events=store)
    assert run.run_id == "nb-1" and len(shown) == 1 and "nb-user" in shown[0] and "Job mini" in shown[0]


# ---- the checklist-gate job (notebooks/checklist_gate.py, bundle job dbx_ops_checklist_gate) ----


def gate(dbutils, library, store, tmp_path, **kw):
    from dbx_ops.checklists.job import run_gate_job

    (tmp_path / "clean.py").write_text("x = 1\n")
    return run_gate_job(
        dbutils,
        None,
        events=store,
        actor=Actor("svc-gate"),
        library=library,
        verifier_context=VerifierContext(repo=tmp_path),
        now=FixedClock(datetime(2026, 12, 2, 1, tzinfo=UTC), timedelta(seconds=1)),
        **kw,
    )


@pytest.fixture
def ticked(library, tmp_path):
    """A run ``g-1`` of job-mini: a and b passed, the scan verified, nobody signed yet."""
    store = MemoryEventStore()
    run_job(
        FakeDbutils(template="job-mini", run="g-1", ticks='["a", "b"]'),
        library,
        store,
        tmp_path,
        raise_on_no_go=False,
    )
    return store


def test_gate_job_go_publishes_and_records_nothing(library, tmp_path, ticked):
    from dbx_ops.checklists import ChecklistRun

    ChecklistRun.open("g-1", ticked, Actor("svc-release"), library=library).sign("Release Bot", "go")
    before = len(ticked.events("g-1"))
    dbutils = FakeDbutils(run="g-1", job_run_id="555")
    result = gate(dbutils, library, ticked, tmp_path)
    assert result.ok and dbutils.jobs.taskValues.values["decision"] == "go"
    assert dbutils.jobs.taskValues.values["run_id"] == "g-1"
    assert len(ticked.events("g-1")) == before  # verify=false (the default): the gate only reads


def test_gate_job_no_go_publishes_the_reasons_then_fails(library, tmp_path, ticked):
    dbutils = FakeDbutils(run="g-1")
    with pytest.raises(NoGoError, match="no-go"):
        gate(dbutils, library, ticked, tmp_path)
    values = dbutils.jobs.taskValues.values
    assert values["decision"] == "no-go"
    assert any("Release Bot" in r for r in values["reasons"])  # type: ignore[union-attr]


def test_gate_job_verify_true_records_fresh_verifier_results_with_the_job_run_id(library, tmp_path, ticked):
    dbutils = FakeDbutils(run="g-1", verify="true", job_run_id="556")
    result = gate(dbutils, library, ticked, tmp_path, raise_on_no_go=False)
    assert result.decision == "no-go"  # still unsigned
    fresh = [e for e in ticked.events("g-1") if e.job_run_id == "556"]
    assert [(e.kind, e.item, e.actor) for e in fresh] == [("verify", "scan", "svc-gate")]


@pytest.mark.parametrize(
    ("widgets", "error", "match"),
    [
        ({}, InvalidInputError, "set the job parameter 'run'"),
        ({"run": "g-1", "verify": "maybe"}, InvalidInputError, "'verify' must be true or false"),
        ({"run": "nope"}, NotFoundError, "No checklist run 'nope'"),
    ],
)
def test_gate_job_bad_parameters_are_one_sentence(library, tmp_path, ticked, widgets, error, match):
    before = len(ticked.events("g-1"))
    dbutils = FakeDbutils(**widgets)
    with pytest.raises(error, match=match):
        gate(dbutils, library, ticked, tmp_path)
    assert dbutils.jobs.taskValues.values == {}  # nothing published for a gate that never ran
    assert len(ticked.events("g-1")) == before


def test_gate_notebook_main_shows_the_decision_before_failing(library, tmp_path, ticked, monkeypatch):
    from dbx_ops.checklists.job import gate_notebook_main

    monkeypatch.setenv("DBX_OPS_CHECKLISTS", str(tmp_path))
    shown: list[str] = []
    dbutils = FakeDbutils(run="g-1")
    with pytest.raises(NoGoError):
        gate_notebook_main(dbutils, None, shown.append, events=ticked)
    assert len(shown) == 1 and "no-go" in shown[0].lower()
    assert dbutils.jobs.taskValues.values["decision"] == "no-go"
