"""The checklist widget in a real browser: JupyterLab on 127.0.0.1, Playwright driving Debian's chromium.

A notebook shows the shipped ``prod-deploy`` checklist for a run whose events live in the
real append-only Delta table (the kernel owns the Spark session: the embedded metastore allows
one Spark process per state folder, so the test reads the store through a notebook cell that
queries the table). The test opens the notebook, runs all cells, clicks an item's "pass"
toggle, waits for the widget to show the stored tick, re-runs the query cell and checks the
event is in the table, and keeps a screenshot of the rendered checklist under
``test-artifacts/``. One JupyterLab and one chromium serve the whole module.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "browser"))

from labserver import JupyterLab, chromium_path, launch_chromium, notebook  # noqa: E402

ARTIFACTS = REPO / "test-artifacts"
RUN_ID = "browser-run-1"
ACTOR = "browser-tester"
SCHEMA = "browser_state"
CONNECT_VARS = ("SPARK_REMOTE", "SPARK_LOCAL_REMOTE", "SPARK_CONNECT_MODE_ENABLED")
# Spark start-up and the first Delta commits inside the kernel dominate: ~30 s on an idle machine,
# several minutes when the 2 cores are shared by many Spark runs.
KERNEL_TIMEOUT_MS = 600_000
STORE_TIMEOUT_MS = 300_000  # one tick: a store read, one Delta append, a re-read

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.timeout(1500),
    pytest.mark.skipif(
        chromium_path() is None,
        reason="Debian's chromium is not installed: run 'make browser' (or make setup).",
    ),
]

SHOW_CELL = f"""\
from dbx_ops.runtime import get_spark
from dbx_ops.checklists import checklist

spark = get_spark()
ui = checklist("prod-deploy", run={RUN_ID!r}, spark=spark, context={{"target": "prod", "change": "abc123"}})
ui.show()"""

QUERY_CELL = f"""\
import json
rows = spark.sql(
    "SELECT kind, item, state, actor, hash FROM {SCHEMA}.checklist_events "
    "WHERE run_id = '{RUN_ID}' ORDER BY at"
).collect()
print("EVENTS " + json.dumps([r.asDict() for r in rows]) + " CHAIN " + str(ui.run.chain().ok))"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    env = {
        "DBX_OPS_HOME": str(base / "state"),
        "DBX_OPS_SCHEMA": SCHEMA,
        "DBX_OPS_SPARK": "classic",
        "DBX_OPS_ACTOR": ACTOR,
    }
    # the kernel starts its own classic session, never a Connect client of this test process
    server = JupyterLab.start(root_dir=base / "root", env=env, unset=CONNECT_VARS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_chromium(p)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    try:
        yield pg
    finally:
        context.close()


def wait_for_idle_kernel(page: object) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=120_000)  # type: ignore[attr-defined]
    status = page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle"))  # type: ignore[attr-defined]
    expect(status).to_be_visible(timeout=120_000)


def run_all_cells(page: object) -> None:
    """Run > Run All Cells, through the menu as a person would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()  # type: ignore[attr-defined]
    page.locator('li[data-command="runmenu:run-all"]').click()  # type: ignore[attr-defined]


def events_printed(page: object, cell: object) -> tuple[list[dict[str, str]], bool]:
    text = cell.locator(".jp-OutputArea-output").last.inner_text()  # type: ignore[attr-defined]
    match = re.search(r"EVENTS (\[.*\]) CHAIN (True|False)", text, re.S)
    assert match, f"the query cell printed {text!r}"
    return json.loads(match.group(1)), match.group(2) == "True"


def test_a_click_in_jupyterlab_appends_the_event_to_the_delta_store(
    lab: JupyterLab, page: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import expect

    from dbx_ops.checklists import load_template
    from dbx_ops.checklists.widgets import ROOT_CLASS, css_id

    item = next(i for i in load_template("prod-deploy").items if i.verifier is None)
    (lab.root_dir / "checklist.ipynb").write_text(json.dumps(notebook([SHOW_CELL, QUERY_CELL])))
    started = time.monotonic()

    page.goto(lab.url("lab/tree/checklist.ipynb"))  # type: ignore[attr-defined]
    wait_for_idle_kernel(page)
    run_all_cells(page)

    root = page.locator(f".{ROOT_CLASS}")  # type: ignore[attr-defined]
    expect(root).to_be_visible(timeout=KERNEL_TIMEOUT_MS)
    expect(root).to_contain_text("Gate: no-go")
    cells = page.locator(".jp-Notebook .jp-Cell")  # type: ignore[attr-defined]
    query = cells.nth(1)
    expect(query.locator(".jp-OutputArea-output")).to_contain_text("EVENTS", timeout=KERNEL_TIMEOUT_MS)
    before, _ = events_printed(page, query)
    assert [e["kind"] for e in before] == ["start"]

    row = root.locator(f".dbx-item-{css_id(item.id)}")
    row.get_by_role("button", name="pass", exact=True).click()
    # the widget re-reads the store after the click: the tick is shown with who did it
    expect(row).to_contain_text(f"{ACTOR} at ", timeout=STORE_TIMEOUT_MS)
    expect(row.get_by_role("button", name="pass", exact=True)).to_have_class(re.compile("mod-active"))

    query.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")  # type: ignore[attr-defined]
    printed = query.locator(".jp-OutputArea-output")
    expect(printed).to_contain_text(f'"item": "{item.id}"', timeout=STORE_TIMEOUT_MS)
    after, chain_ok = events_printed(page, query)
    elapsed = time.monotonic() - started

    assert [(e["kind"], e["item"], e["state"], e["actor"]) for e in after] == [
        ("start", None, None, ACTOR),
        ("item", item.id, "pass", ACTOR),
    ]
    assert chain_ok

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "checklist-browser.png"
    # the notebook scrolls (and virtualises) inside the window: make the window as tall as the checklist
    height = root.evaluate("e => e.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": int(height) + 300})  # type: ignore[attr-defined]
    root.scroll_into_view_if_needed()
    root.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    with capsys.disabled():
        print(f"\nbrowser test: checklist screenshot at {shot} ({elapsed:.0f} s from opening the notebook)")
