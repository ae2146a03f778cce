"""``dbx-ops checklist ...`` end to end on real Delta, in-process with the suite's Spark session.

One run goes through every subcommand (list, show, start, set, verify, sign, gate, status,
report) and the checklist-gate notebook (``notebooks/checklist_gate.py``, the bundle job
``dbx_ops_checklist_gate``) is run on it with the local notebook runner, no-go then go. The
CLI and the runner are driven through ``dbx_ops.cli.main`` so no call starts a Spark process
of its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dbx_ops.checklists.store import TABLE
from dbx_ops.cli import main

REPO = Path(__file__).resolve().parents[2]

TEMPLATE = """\
name: cli-mini
version: "1"
title: CLI mini
roles:
  Lead: {may_waive: true}
  QA: {}
signoff: [Lead, QA]
phases:
  - name: Build
    items:
      - {id: build.tests, text: Tests pass}
      - {id: build.docs, text: Docs updated}
      - {id: build.scan, text: No hard-coded credentials, verifier: secret_scan, params: {path: "{repo}"}}
"""


@pytest.fixture
def cli(spark, schema, tmp_path, monkeypatch, capsys):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "cli-mini.yml").write_text(TEMPLATE)
    monkeypatch.setenv("DBX_OPS_SCHEMA", schema)
    monkeypatch.setenv("DBX_OPS_CHECKLISTS", str(templates))
    monkeypatch.delenv("DBX_OPS_ACTOR", raising=False)
    for key in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(key, raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _count(spark, schema: str) -> int:
    return spark.table(f"{schema}.{TABLE}").count()


def _gate_notebook(cli, schema: str, tmp_path: Path, name: str) -> tuple[int, dict, str]:
    result = tmp_path / f"{name}.json"
    code, _, err = cli(
        "notebook",
        "run",
        str(REPO / "notebooks" / "checklist_gate.py"),
        "--param",
        "run=cli-1",
        "--param",
        f"state_schema={schema}",
        "--param",
        "job_run_id=9001",
        "--result-json",
        str(result),
    )
    return code, json.loads(result.read_text()), err


def test_a_run_through_every_subcommand_and_the_gate_notebook(cli, spark, schema, tmp_path):
    code, out, _ = cli("checklist", "list", "--json")
    names = {t["name"]: t for t in json.loads(out)}
    assert code == 0 and {"prod-deploy", "dbr-upgrade", "deploy-workflow", "rollback-runbook"} <= set(names)
    assert names["cli-mini"]["items"] == 3

    code, out, _ = cli("checklist", "show", "cli-mini")
    assert code == 0 and "build.scan" in out and "secret_scan" in out and "run sign-off: Lead, QA" in out

    code, out, _ = cli(
        "checklist", "start", "cli-mini", "--run", "cli-1", "--context", "target=prod", "--json"
    )
    assert code == 0 and json.loads(out)["run_id"] == "cli-1"

    code, out, _ = cli(
        "checklist", "set", "cli-1", "build.tests", "pass", "--evidence", "link:https://ci/1",
        "--as-user", "alice", "--json",
    )  # fmt: skip
    event = json.loads(out)
    assert code == 0 and event["state"] == "pass" and event["actor"] == "alice"
    assert event["evidence"] == [{"kind": "link", "value": "https://ci/1"}]

    code, out, _ = cli(
        "checklist", "set", "cli-1", "build.docs", "waive", "--reason", "docs freeze", "--as", "Lead",
        "--as-user", "alice",
    )  # fmt: skip
    assert code == 0 and "build.docs = waived" in out

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "job.py").write_text("rows = spark.table('sales.orders').count()\n")
    code, out, _ = cli("checklist", "verify", "cli-1", "--repo", str(repo), "--no-workspace", "--json")
    assert code == 0 and [(e["item"], e["state"]) for e in json.loads(out)] == [("build.scan", "pass")]

    # nobody signed: no-go, from the CLI and from the gate job's notebook
    code, out, _ = cli("checklist", "gate", "cli-1", "--json")
    gate = json.loads(out)
    assert code == 1 and gate["decision"] == "no-go"
    before = _count(spark, schema)
    code, result, err = _gate_notebook(cli, schema, tmp_path, "no-go")
    assert code == 1 and "no-go" in err
    assert result["ok"] is False and result["task_values"]["decision"] == "no-go"
    assert result["task_values"]["run_id"] == "cli-1"
    assert any("Lead" in r for r in result["task_values"]["reasons"])
    assert _count(spark, schema) == before  # the gate only reads

    code, out, _ = cli(
        "checklist", "sign", "cli-1", "--role", "Lead", "--decision", "go", "--as-user", "alice"
    )
    assert code == 0 and "alice signed go as Lead" in out
    # four eyes: alice may not sign a second role; the refusal records nothing
    before = _count(spark, schema)
    code, _, err = cli("checklist", "sign", "cli-1", "--role", "QA", "--decision", "go", "--as-user", "alice")
    assert code == 2 and "four eyes" in err and err.count("\n") == 1
    assert _count(spark, schema) == before
    code, _, _ = cli("checklist", "sign", "cli-1", "--role", "QA", "--decision", "go", "--as-user", "bob")
    assert code == 0

    code, out, _ = cli("checklist", "gate", "cli-1")
    assert code == 0 and "go" in out.lower() and "no-go" not in out.lower()
    code, result, _ = _gate_notebook(cli, schema, tmp_path, "go")
    assert code == 0 and result["ok"] is True and result["task_values"]["decision"] == "go"

    code, out, _ = cli("checklist", "status", "cli-1", "--json")
    status = json.loads(out)
    assert code == 0 and status["gate"]["decision"] == "go"
    assert {k: v["state"] for k, v in status["items"].items()} == {
        "build.tests": "pass",
        "build.docs": "waived",
        "build.scan": "pass",
    }
    assert sorted((s["role"], s["person"]) for s in status["signoffs"]) == [("Lead", "alice"), ("QA", "bob")]

    html, md = tmp_path / "audit.html", tmp_path / "audit.md"
    code, out, _ = cli("checklist", "report", "cli-1", "--html", str(html), "--md", str(md), "--json")
    report = json.loads(out)
    assert code == 0 and report["written"] == [str(html), str(md)]
    assert report["chain"]["ok"] is True
    assert "docs freeze" in html.read_text() and "<table" in html.read_text()
    assert "docs freeze" in md.read_text() and "bob" in md.read_text()


BAD_INPUT = [
    (["set", "cli-1", "build.tests", "maybe", "--as-user", "carol"], "maybe"),
    (["set", "cli-1", "no.such.item", "pass"], "no.such.item"),
    (["set", "cli-1", "build.docs", "waive", "--as", "Lead"], "needs a reason"),
    (["sign", "cli-1", "--role", "Lead", "--decision", "perhaps"], "perhaps"),
    (["sign", "cli-1", "--role", "Boss", "--decision", "go"], "Boss"),
    (["gate", "no-such-run"], "No checklist run 'no-such-run'"),
    (["start", "no-such-template"], "no-such-template"),
    (["start", "cli-mini", "--run", "cli-1"], "already exists"),
    (["start", "cli-mini", "--context", "target"], "KEY=VALUE"),
]


def test_bad_input_is_one_sentence_exit_2_and_records_nothing(cli, spark, schema):
    assert cli("checklist", "start", "cli-mini", "--run", "cli-1")[0] == 0
    before = _count(spark, schema)
    for argv, says in BAD_INPUT:
        code, out, err = cli("checklist", *argv)
        assert code == 2, (argv, out, err)
        assert says in err and err.startswith("error: ") and err.count("\n") == 1, (argv, err)
    assert _count(spark, schema) == before
