"""The rollback drill end to end on the local lakehouse, at a small size."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from dbx_ops.cli import main
from dbx_ops.drill import DrillOptions, run_drill

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
STEPS = [
    "build the pipeline",
    "start the prod-deploy checklist",
    "snapshot the gold tables",
    "apply the faulty deployment",
    "validate: catch the breach, gate says no-go",
    "roll back: restore from the snapshot",
    "validate again after the restore",
    "redeploy forward a fixed version",
]


@pytest.fixture(scope="module")
def drill_run(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("drill")
    schema = f"drill_{uuid.uuid4().hex[:8]}"
    code = main(["drill", "--rows", "3000", "--days", "5", "--schema", schema, "--out", str(out), "--json"])
    return code, out, schema


def test_the_drill_proves_recovery_and_reports_every_step(drill_run, capsys) -> None:
    code, out, _ = drill_run
    data = json.loads((out / "drill.json").read_text())
    assert code == 0, data["summary"]
    assert data["ok"] is True and data["failed_step"] is None
    assert [s["name"] for s in data["steps"]] == STEPS
    detect = data["steps"][4]
    assert detect["details"]["gate"] == "no-go"
    caught = {c["name"] for c in detect["checks"] if c["ok"]}
    assert {"gold_orders: row_count_change", "gold_orders: null_rate_delta:customer_id"} <= caught
    assert "gold_daily_revenue: schema_contract" in caught
    html = (out / "drill.html").read_text()
    md = (out / "drill.md").read_text()
    for name in STEPS:
        assert name in md
        assert name.replace("'", "&#x27;") in html
    assert html.index("recovery proven") < html.index("Timeline")  # the verdict card comes first
    assert "rollback-runbook" in md


def test_the_drill_runs_twice_in_the_same_state_folder(drill_run, spark, tmp_path) -> None:
    _, _, schema = drill_run
    report = run_drill(
        spark, options=DrillOptions(rows=1000, days=3, schema=schema, forward=False, out=tmp_path)
    )
    assert report.ok, report.summary()
    assert len(report.steps) == 7


def test_a_sabotaged_restore_fails_the_drill_and_names_the_proof(spark, tmp_path) -> None:
    schema = f"drill_{uuid.uuid4().hex[:8]}"
    code = main(
        [
            "drill",
            "--rows",
            "2000",
            "--days",
            "3",
            "--schema",
            schema,
            "--sabotage",
            "vacuum",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 1
    data = json.loads((tmp_path / "drill.json").read_text())
    assert data["ok"] is False
    assert data["failed_step"] == "roll back: restore from the snapshot"
    assert "roll back" in data["summary"]


def test_the_drill_refuses_a_schema_it_did_not_create(spark, capsys) -> None:
    schema = f"busy_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {schema}")
    spark.sql(f"CREATE TABLE {schema}.payroll (id INT) USING DELTA")
    code = main(["drill", "--rows", "1000", "--schema", schema])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "did not create" in err
    assert spark.table(f"{schema}.payroll").count() == 0  # untouched


@pytest.mark.parametrize("args", [["--rows", "5"], ["--schema", "a.b.c"], ["--label", "bad label!"]])
def test_bad_drill_options_exit_2_before_spark(args, capsys) -> None:
    assert main(["drill", *args]) == 2
    assert "Traceback" not in capsys.readouterr().err
