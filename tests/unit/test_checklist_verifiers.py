"""Checklist verifiers: job spec lint, JUnit counts, secret scan, collect() scan, not-available paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from dbx_ops.checklists.model import Item, ItemState, RunContext
from dbx_ops.checklists.verifiers import VERIFIERS, VerifierContext, run_verifier
from dbx_ops.checklists.verifiers.jobspec import lint_document
from dbx_ops.checklists.verifiers.secrets import find_secrets, scan_text

REPO = Path(__file__).resolve().parents[2]

GOOD_JOB = {
    "name": "prod-etl",
    "tags": {"environment": "production"},
    "email_notifications": {"on_failure": ["oncall@company.com"]},
    "max_concurrent_runs": 1,
    "timeout_seconds": 14400,
    "tasks": [
        {
            "task_key": "bronze",
            "job_cluster_key": "etl",
            "max_retries": 2,
            "notebook_task": {"notebook_path": "/Repos/prod/bronze"},
        }
    ],
    "job_clusters": [
        {
            "job_cluster_key": "etl",
            "new_cluster": {
                "spark_version": "14.3.x-scala2.12",
                "instance_pool_id": "prod-pool",
                "num_workers": 2,
            },
        }
    ],
}


def item(verifier: str, **params: object) -> Item:
    return Item(id="x", text="x", verifier=verifier, params=params)


def test_every_registered_verifier_has_a_description():
    expected = {
        "job_spec_lint",
        "tests_pass",
        "secret_scan",
        "no_collect",
        "snapshot_exists",
        "tables_validate",
        "env_matches_lock",
        "jobs_healthy",
        "bundle_validates",
        "secret_scopes_exist",
        "tokens_expire",
        "ip_access_lists",
        "prod_run_as_service_principal",
        "job_clusters_use_policy",
    }
    assert expected <= set(VERIFIERS)
    assert all(v.description for v in VERIFIERS.values())


def test_good_job_spec_passes_every_lint_check():
    checks = lint_document(GOOD_JOB)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


def test_seed_000_job_fails_on_retries_only(tmp_path):
    seed_job = {
        "resources": {
            "jobs": {
                "etl_pipeline": {
                    **{k: v for k, v in GOOD_JOB.items() if k != "tasks"},
                    "tasks": [
                        {
                            "task_key": "bronze",
                            "job_cluster_key": "etl",
                            "notebook_task": {"notebook_path": "/x"},
                        }
                    ],
                }
            }
        }
    }
    path = tmp_path / "prod_job.yml"
    path.write_text(yaml.safe_dump(seed_job))
    result = run_verifier(item("job_spec_lint", spec=str(path)), RunContext(), VerifierContext())
    assert result.state == ItemState.FAIL
    assert "1 of 8" in result.reason
    assert any("retries" in e.value for e in result.evidence)


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        (lambda j: j.pop("timeout_seconds"), "timeout_seconds"),
        (lambda j: j.pop("max_concurrent_runs"), "max_concurrent_runs"),
        (lambda j: j.pop("email_notifications"), "failure notifications"),
        (lambda j: j.pop("tags"), "tags"),
        (lambda j: j["job_clusters"][0]["new_cluster"].pop("instance_pool_id"), "cluster policy or pool"),
        (
            lambda j: j["tasks"][0].update(
                notebook_task={"notebook_path": "/x", "base_parameters": {"password": "hunter2!!"}}
            ),
            "no hard-coded credentials",
        ),
    ],
)
def test_each_lint_rule_fails_on_its_own(change, failing):
    job = json.loads(json.dumps(GOOD_JOB))
    if failing == "cluster policy or pool":
        job["job_clusters"][0]["new_cluster"]["node_type_id"] = "i3.xlarge"
    change(job)
    bad = [c.name.split(": ", 1)[1] for c in lint_document(job) if not c.ok]
    assert bad == [failing]


def test_lint_reads_bundle_validate_json_shape():
    resolved = {
        "bundle": {"name": "b"},
        "resources": {"jobs": {"a": GOOD_JOB, "b": {**GOOD_JOB, "tags": {}}}},
    }
    failing = [c.name for c in lint_document(resolved) if not c.ok]
    assert failing == ["b: tags"]


def test_secret_detection_masks_values_and_respects_references():
    findings = find_secrets(
        {"spark_env_vars": {"DB_PASSWORD": "s3cr3t-value"}, "token": "{{secrets/prod/token}}"}
    )
    assert len(findings) == 1 and "s3cr3t-value" not in findings[0].text()
    token = "dapi" + "0123456789abcdef" * 2
    hits = scan_text(f"x = 1\nTOKEN = '{token}'\nok = '{token}'  # dbx-ops: allow-secret\n", "a.py")
    assert [h.where for h in hits] == ["a.py:2"] and token not in hits[0].preview


def test_secret_scan_of_a_folder(tmp_path):
    (tmp_path / "clean.py").write_text("password = dbutils.secrets.get('s', 'k')\n")
    ctx = VerifierContext(repo=tmp_path)
    assert run_verifier(item("secret_scan"), RunContext(), ctx).state == ItemState.PASS
    (tmp_path / "leak.py").write_text('password = "hunter2hunter2"\n')
    result = run_verifier(item("secret_scan"), RunContext(), ctx)
    assert result.state == ItemState.FAIL and any("leak.py:1" in e.value for e in result.evidence)


def test_the_checklist_scans_find_what_the_deploy_checks_find(tmp_path):
    # One set of patterns: a credential the library finds in a job spec, the repository scan
    # and the job-spec lint find too (the verifiers once had patterns of their own, without these).
    gcp = "AIza" + "SyA-1234567890abcdefghijklmnopqrstu"
    azure = "abc" + "8Q~" + "x" * 34
    (tmp_path / "conf.py").write_text(f'MAPS = "{gcp}"\nDB_PASSWORD = "hunter2hunter2"\nclient = "{azure}"\n')
    result = run_verifier(item("secret_scan"), RunContext(), VerifierContext(repo=tmp_path))
    found = sorted(e.value for e in result.evidence if "conf.py" in e.value)
    assert result.state == ItemState.FAIL and [f.split(":")[1] for f in found] == ["1", "2", "3"]
    assert not any(secret in e.value for e in result.evidence for secret in (gcp, azure, "hunter2"))
    job = {**GOOD_JOB, "tasks": [{**GOOD_JOB["tasks"][0], "spark_env_vars": {"MAPS": gcp}}]}
    (bad,) = [c for c in lint_document(job) if not c.ok]
    assert bad.name == "prod-etl: no hard-coded credentials" and gcp not in str(bad.actual)


def test_no_collect_scan_with_accept_marker(tmp_path):
    nb = tmp_path / "nb.py"
    nb.write_text(
        "# Databricks notebook source\nrows = df.collect()  # dbx-ops: accept collect\n# df.toPandas()\n"
    )
    ctx = VerifierContext(repo=tmp_path)
    assert run_verifier(item("no_collect"), RunContext(), ctx).state == ItemState.PASS
    nb.write_text(nb.read_text() + "pdf = spark.table('t').toPandas()\n")
    result = run_verifier(item("no_collect"), RunContext(), ctx)
    assert result.state == ItemState.FAIL and any("nb.py:4: toPandas()" in e.value for e in result.evidence)


def test_tests_pass_reads_junit_and_runs_pytest(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuites><testsuite tests="5" failures="1" errors="0" skipped="1"/></testsuites>')
    result = run_verifier(item("tests_pass", junit=str(junit)), RunContext(), VerifierContext())
    assert result.state == ItemState.FAIL and "5 tests, 1 failures" in result.reason
    (tmp_path / "test_ok.py").write_text("def test_a():\n    assert True\n")
    ran = run_verifier(
        item("tests_pass", pytest="test_ok.py -p no:cacheprovider"),
        RunContext(),
        VerifierContext(repo=tmp_path),
    )
    assert ran.state == ItemState.PASS and ran.reason.startswith("1 tests, 0 failures")


@pytest.mark.parametrize(
    ("verifier", "needs"),
    [
        ("snapshot_exists", "no Spark session"),
        ("tables_validate", "no Spark session"),
        ("jobs_healthy", "no workspace"),
        ("secret_scopes_exist", "no workspace"),
        ("tokens_expire", "no workspace"),
        ("ip_access_lists", "no workspace"),
        ("prod_run_as_service_principal", "no workspace"),
        ("job_clusters_use_policy", "no workspace"),
        ("env_matches_lock", "no lock file"),
        ("tests_pass", "no JUnit report"),
        ("job_spec_lint", "no job spec"),
    ],
)
def test_missing_prerequisite_is_not_available_never_a_pass(verifier, needs):
    result = run_verifier(item(verifier), RunContext(tables=("a.b",), jobs=("1",)), VerifierContext())
    assert result.state == ItemState.NOT_AVAILABLE
    assert needs in result.reason


def test_env_matches_lock_calls_envcheck(tmp_path):
    from importlib.metadata import version

    header = "# runtime: 15.4.x-scala2.12\n# databricks-runtime-version: 15.4\n# python: 3.11\n"
    lock = tmp_path / "requirements.txt"
    lock.write_text(header + f"pyyaml=={version('pyyaml')}\n")
    ok = run_verifier(item("env_matches_lock", lock=str(lock), strays=False), RunContext(), VerifierContext())
    assert ok.state == ItemState.PASS, ok
    lock.write_text(header + "pyyaml==0.0.1\n")
    drift = run_verifier(
        item("env_matches_lock", lock=str(lock), strays=False), RunContext(), VerifierContext()
    )
    assert drift.state == ItemState.FAIL and "drifted" in drift.reason
    assert any("wrong-version: pyyaml" in e.value for e in drift.evidence)


def test_bundle_validates_runs_the_real_cli_when_present(tmp_path):
    binary = REPO / ".cache" / "bin" / "databricks"
    if not binary.is_file():
        pytest.skip("databricks CLI not built (make setup builds .cache/bin/databricks)")
    result = run_verifier(
        item("bundle_validates", target="dev", path=str(tmp_path)),
        RunContext(),
        VerifierContext(databricks_bin=binary),
    )
    assert result.state == ItemState.FAIL and "databricks.yml" in result.reason
    no_target = run_verifier(item("bundle_validates"), RunContext(), VerifierContext(databricks_bin=binary))
    assert no_target.state == ItemState.NOT_AVAILABLE


def test_verifier_crash_is_a_fail_with_the_error(monkeypatch):
    from dbx_ops.checklists.verifiers import base

    def boom(params, run, ctx):
        raise RuntimeError("kaput")

    monkeypatch.setitem(base.VERIFIERS, "boom", base.Verifier("boom", "d", (), (), boom))
    result = run_verifier(item("boom"), RunContext(), VerifierContext())
    assert result.state == ItemState.FAIL and "kaput" in result.reason


def test_cli_lists_verifiers(capsys):
    from dbx_ops.cli import main

    assert main(["checklist", "verifiers", "--json"]) == 0
    names = {v["name"] for v in json.loads(capsys.readouterr().out)}
    assert "job_spec_lint" in names and "tokens_expire" in names
    assert main(["checklist", "verifiers"]) == 0
    assert "job_spec_lint" in capsys.readouterr().out


def test_cli_list_show_and_bad_input_without_spark(capsys, tmp_path):
    from dbx_ops.cli import main

    assert main(["checklist", "list", "--json"]) == 0
    names = {t["name"] for t in json.loads(capsys.readouterr().out)}
    assert {"prod-deploy", "dbr-upgrade", "deploy-workflow", "rollback-runbook"} <= names
    assert main(["checklist", "show", "dbr-upgrade"]) == 0
    out = capsys.readouterr().out
    assert "stage canary" in out and "go/no-go: Latency within SLA" in out
    assert main(["checklist", "show", "nope"]) == 2
    assert "No checklist template 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.yml"
    bad.write_text("name: bad\nversion: '1'\ntitle: B\nphases:\n  - name: x\n    items:\n      - {id: a}\n")
    assert main(["checklist", "show", str(bad)]) == 2
    assert f"{bad}:7: item 'a' needs a 'text'" in capsys.readouterr().err
    assert main(["checklist", "start", "prod-deploy", "--context", "oops"]) == 2
    assert "must be KEY=VALUE" in capsys.readouterr().err


def test_names_come_from_the_item_else_the_run_and_unfilled_placeholders_do_not_count(tmp_path):
    from dbx_ops.checklists.verifiers.base import NotAvailable, named

    run = RunContext.from_dict({"tables": "a.b,c.d"})
    assert named({"tables": "x.y, z.w"}, "tables", run.tables, "tables") == ["x.y", "z.w"]
    assert named({"tables": "{tables}"}, "tables", run.tables, "tables") == ["a.b", "c.d"]
    assert named({}, "scopes") == []
    with pytest.raises(NotAvailable, match="no jobs named"):
        named({"jobs": ["{jobs}"]}, "jobs", RunContext().jobs, "jobs")
    ctx = VerifierContext(repo=tmp_path)
    assert ctx.in_repo("rules.yml") == tmp_path / "rules.yml"
    assert ctx.in_repo("/abs/rules.yml") == Path("/abs/rules.yml")
    assert VerifierContext().in_repo("rules.yml") == Path("rules.yml")
