"""The rollback drill end to end on the local lakehouse, at a small size."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest

from dbx_ops.cli import main
from dbx_ops.drill import TABLES, DrillOptions, run_drill
from dbx_ops.errors import InvalidInputError

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
STEPS = [
    "build the pipeline",
    "deploy and run the pipeline job",
    "start the prod-deploy checklist",
    "snapshot the gold tables",
    "apply the faulty deployment",
    "validate: catch the breach, gate says no-go",
    "roll back: restore from the snapshot",
    "roll back the pipeline job",
    "validate again after the restore",
    "redeploy forward a fixed version",
]
WORKSPACE_STEPS = {"deploy and run the pipeline job", "roll back the pipeline job"}


@pytest.fixture(scope="module")
def drill_run(spark, tmp_path_factory):
    """One small drill with --workspace (a stand-in workspace started by the drill), shared by the module."""
    out = tmp_path_factory.mktemp("drill")
    schema = f"drill_{uuid.uuid4().hex[:8]}"
    args = ["drill", "--rows", "3000", "--days", "5", "--schema", schema, "--out", str(out), "--json"]
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DATABRICKS_HOST", raising=False)  # the drill's own stand-in, never a real workspace
        code = main([*args, "--workspace"])
    return code, out, schema


def _tables(spark, schema: str) -> set[str]:
    return {t.name for t in spark.catalog.listTables(schema) if not t.isTemporary}


@pytest.mark.workspace
def test_the_drill_proves_recovery_and_reports_every_step(drill_run, spark) -> None:
    code, out, schema = drill_run
    data = json.loads((out / "drill.json").read_text())
    assert code == 0, data["summary"]
    assert data["ok"] is True and data["failed_step"] is None
    assert [s["name"] for s in data["steps"]] == STEPS
    assert all(s["details"]["spark_jobs"] >= 0 for s in data["steps"])  # classic: jobs counted per step
    detect = data["steps"][STEPS.index("validate: catch the breach, gate says no-go")]
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
    recheck = data["steps"][STEPS.index("validate again after the restore")]
    assert {"checklist chains verify"} <= {c["name"] for c in recheck["checks"] if c["ok"]}
    # recovery proven: the drill dropped its pipeline's tables, and its record stays
    assert _tables(spark, schema) & set(TABLES) == set()
    assert data["cleanup"].startswith(f"the pipeline's tables were dropped from {schema}")
    assert "tables were dropped" in md and "tables were dropped" in html
    assert spark.table(f"{schema}_state.snapshots").where(f"label = '{data['label']}'").count() == 2


@pytest.mark.workspace
def test_with_a_workspace_the_job_is_deployed_broken_and_rolled_back(drill_run) -> None:
    _, out, _ = drill_run
    data = json.loads((out / "drill.json").read_text())
    by_name = {s["name"]: s for s in data["steps"]}
    first = by_name["deploy and run the pipeline job"]
    assert {c["name"]: c["actual"] for c in first["checks"]}["job v1 run"] == "SUCCESS"
    good = first["details"]["release_v1"]
    faulty = by_name["apply the faulty deployment"]
    assert {c["name"]: c["ok"] for c in faulty["checks"]} == {"job v2 deployed": True, "release v2": True}
    bad = faulty["details"]["release_v2"]
    back = by_name["roll back the pipeline job"]
    assert all(c["ok"] for c in back["checks"]), back["checks"]
    checks = {c["name"]: c["actual"] for c in back["checks"]}
    assert {k: checks[k] for k in ("job rollback", "job definition", "verification run")} == {
        "job rollback": "completed",
        "job definition": "v1",
        "verification run": "SUCCESS",
    }
    assert checks["release smoke run"] == "SUCCESS"
    assert back["details"]["verification_run_id"]
    # the release went back to the verified v1, never to the faulty v2 deployed after it
    assert back["details"]["release"] == good != bad
    assert f"release rolled back to {good}" in back["summary"]
    releases = out / "workspace" / "releases"
    states = {p.name: json.loads((p / "release.json").read_text()) for p in releases.iterdir() if p.is_dir()}
    assert states[good]["status"] == "verified" and states[bad]["status"] == "recorded"
    rollback = states[back["details"]["release_rollback"]]
    assert rollback["kind"] == "rollback" and rollback["rollback_of"] == good
    assert rollback["status"] == "verified"
    journal = list((out / "workspace" / "journal").glob("*.json"))
    assert journal and json.loads(journal[0].read_text())["status"] == "completed"
    manifests = list((out / "workspace" / "manifests").glob("deploy-*.json"))
    assert len(manifests) == 2  # v1 and the faulty v2, both through the job-operations deployer


@pytest.mark.workspace
def test_the_drill_runs_twice_in_the_same_state_folder(drill_run, spark, tmp_path) -> None:
    _, _, schema = drill_run
    report = run_drill(
        spark, options=DrillOptions(rows=1000, days=3, schema=schema, forward=False, out=tmp_path, keep=True)
    )
    assert report.ok, report.summary()
    assert set(TABLES) <= _tables(spark, schema)  # --keep: there to look at
    assert report.cleanup.endswith("(--keep)")
    assert [s.name for s in report.steps] == [
        s for s in STEPS if s not in WORKSPACE_STEPS and s != "redeploy forward a fixed version"
    ]


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
    # a failed drill keeps its tables for the post-mortem
    assert set(TABLES) <= _tables(spark, schema)
    assert "post-mortem" in data["cleanup"]


@pytest.mark.parametrize(
    ("suffix", "says"),
    [("", "did not create"), ("_state", "_state, where the drill keeps its record")],
    ids=["its schema", "its state schema"],
)
def test_the_drill_refuses_a_schema_holding_tables_it_did_not_create(spark, capsys, suffix, says) -> None:
    schema = f"busy_{uuid.uuid4().hex[:8]}"
    busy = f"{schema}{suffix}"
    spark.sql(f"CREATE SCHEMA {busy}")
    spark.sql(f"CREATE TABLE {busy}.payroll (id INT) USING DELTA")
    code = main(["drill", "--rows", "1000", "--schema", schema])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and says in err and "payroll" in err
    assert spark.table(f"{busy}.payroll").count() == 0  # untouched
    # both schemas are checked before either is created
    assert not spark.catalog.databaseExists(schema if suffix else f"{schema}_state")


@pytest.mark.parametrize("args", [["--rows", "5"], ["--schema", "a.b.c"], ["--label", "bad label!"]])
def test_bad_drill_options_exit_2_before_spark(args, capsys) -> None:
    assert main(["drill", *args]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.browser
@pytest.mark.workspace
def test_the_drill_report_renders_in_headless_chromium(drill_run) -> None:
    """The drill run of this module, opened in Debian's chromium: card, every step, no console error."""
    sys.path.insert(0, str(REPO / "tools" / "browser"))
    from labserver import chromium_path, launch_chromium

    if chromium_path() is None:
        pytest.skip("Debian's chromium is not installed: run 'make browser' (or make setup).")
    from playwright.sync_api import expect, sync_playwright

    _, out, _ = drill_run
    data = json.loads((out / "drill.json").read_text())
    problems: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto((out / "drill.html").as_uri())
            card = page.locator("#drill-verdict")
            expect(card).to_be_visible()
            expect(card).to_contain_text("OK")
            expect(card).to_contain_text("recovery proven")
            assert card.bounding_box()["y"] < 100  # the verdict is the first thing on the page
            for step in data["steps"]:
                section = page.locator(f"#step-{step['number']}")
                section.scroll_into_view_if_needed()
                expect(section).to_be_visible()
                expect(section.locator("h3").first).to_have_text(f"{step['number']}. {step['name']}")
                assert section.get_attribute("data-outcome") == "ok"
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(ARTIFACTS / "drill-report-top.png"))
            page.screenshot(path=str(ARTIFACTS / "drill-report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert (ARTIFACTS / "drill-report.png").stat().st_size > 20_000  # a rendered page, not a blank one


def test_the_sessions_temporary_views_are_not_taken_for_strangers_in_the_schema(spark) -> None:
    from dbx_ops.drill import _Pipeline

    schema = f"drill_{uuid.uuid4().hex[:8]}"
    pipeline = _Pipeline(spark, schema, rows=10, days=1, seed=1)
    pipeline.prepare_schema()
    spark.range(3).createOrReplaceTempView("a_notebooks_view")
    try:
        pipeline.prepare_schema()  # the view is the session's, not the schema's: accepted
        spark.sql(f"CREATE TABLE {schema}.stranger (id BIGINT) USING DELTA")
        with pytest.raises(InvalidInputError, match=r"did not create \(stranger\)"):
            pipeline.prepare_schema()
    finally:
        spark.catalog.dropTempView("a_notebooks_view")
        spark.sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_the_state_schema_check_takes_the_drills_own_and_an_earlier_drills(spark) -> None:
    from dbx_ops.drill import STATE_SCHEMA_MARK, _Pipeline, _schema_comment
    from dbx_ops.names import parse_table_name

    schema = f"drill_{uuid.uuid4().hex[:8]}"
    state = f"{schema}_state"
    pipeline = _Pipeline(spark, schema, 1000, 3, 7)
    create = pipeline.check_state_schema(state)
    assert create is not None and create.startswith("CREATE SCHEMA")  # not there yet
    spark.sql(create)
    assert _schema_comment(spark, parse_table_name(state)) == STATE_SCHEMA_MARK
    spark.sql(f"CREATE TABLE {state}.payroll (id INT) USING DELTA")
    assert pipeline.check_state_schema(state) is None  # marked: the drill's own, whatever it holds
    earlier = f"{schema}_old"
    spark.sql(f"CREATE SCHEMA {earlier}")  # no mark: an earlier drill's, if it holds only state tables
    spark.sql(f"CREATE TABLE {earlier}.metrics (id INT) USING DELTA")
    assert pipeline.check_state_schema(earlier) is None
    spark.sql(f"CREATE TABLE {earlier}.payroll (id INT) USING DELTA")
    with pytest.raises(InvalidInputError, match="payroll"):
        pipeline.check_state_schema(earlier)
