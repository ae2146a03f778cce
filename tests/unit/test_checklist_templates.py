"""Shipped templates carry their seed's items; user templates: schema errors with lines, extends."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dbx_ops.checklists import Actor, ChecklistRun, MemoryEventStore, TemplateLibrary, render_message
from dbx_ops.checklists.templates import shipped_names
from dbx_ops.clock import FixedClock
from dbx_ops.errors import TemplateError

REPO = Path(__file__).resolve().parents[2]
SEEDS = Path(os.environ.get("DBX_OPS_SEEDS") or REPO.parent.parent / "shared" / "seeds")
if not SEEDS.is_dir():
    SEEDS = REPO.parent / "shared" / "seeds"

SEED_OF = {
    "prod-deploy": "000_",
    "dbr-upgrade": "001_",
    "deploy-workflow": "002_",
    "rollback-runbook": "003_",
}


def seed_text(prefix: str) -> str:
    if not SEEDS.is_dir():
        pytest.skip(f"seed folder {SEEDS} is absent (set DBX_OPS_SEEDS to the shared/seeds folder)")
    (path,) = sorted(SEEDS.glob(f"{prefix}*"))
    return path.read_text(encoding="utf-8")


def norm(text: str) -> str:
    text = text.replace("**", "")
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def checkboxes(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^- \[ \] (.+)$", text, re.MULTILINE)]


def test_every_shipped_template_parses():
    assert set(SEED_OF) <= set(shipped_names())
    for name in shipped_names():
        tpl = TemplateLibrary().get(name)
        assert tpl.items and len(tpl.content_hash) == 64


@pytest.mark.parametrize("name", ["prod-deploy", "dbr-upgrade", "deploy-workflow"])
def test_every_seed_checkbox_is_an_item(name):
    boxes = checkboxes(seed_text(SEED_OF[name]))
    assert boxes, "the seed should have checkboxes"
    texts = [norm(i.text) for i in TemplateLibrary().get(name).items]
    missing = [b for b in boxes if norm(b) not in texts]
    assert not missing, f"{name} lacks items for: {missing}"
    # as many items as checkboxes with that text (duplicates in the seed's summary sections too)
    for box in set(boxes):
        assert texts.count(norm(box)) >= boxes.count(box)


def test_dbr_upgrade_has_the_five_stages_criteria_and_roles():
    text = seed_text("001_")
    tpl = TemplateLibrary().get("dbr-upgrade")
    assert [s.id for s in tpl.stages] == ["dev", "qa", "staging", "canary", "full"]
    criteria = re.findall(r"\*\*Go/No-Go Criteria:\*\*\n((?:- .+\n)+)", text)
    seed_criteria = [[c[2:].strip() for c in block.strip().splitlines()] for block in criteria]
    assert [list(s.criteria) for s in tpl.stages[:4]] == seed_criteria
    roles = re.findall(r"^\| (Developer|Tech Lead|QA|DevOps/Platform|Product Owner) \|", text, re.MULTILINE)
    assert list(tpl.signoff) == roles
    for stage in tpl.stages:
        assert stage.signoff and tpl.items_of(stage.id)


def test_deploy_workflow_requires_approval_for_prod():
    assert "--approval-required" in seed_text("002_")
    tpl = TemplateLibrary().get("deploy-workflow")
    assert tpl.approval_required["prod"] is True and tpl.signoff


def test_rollback_runbook_carries_sections_message_and_rca():
    text = seed_text("003_")
    tpl = TemplateLibrary().get("rollback-runbook")
    phases = " ".join(tpl.phases())
    for number in ("1)", "2)", "3)", "4)", "6)", "7)", "8)"):
        assert number in phases
    # §7: every "minimum message contents" bullet is a fact of the message
    section7 = text.split("## 7) Communication checklist", 1)[1].split("Example:", 1)[0]
    bullets = re.findall(r"^- (.+)$", section7, re.MULTILINE)
    assert len(bullets) == 6
    message = tpl.messages["communication"]
    for fact in ("{symptoms}", "{impact}", "{action}", "{status}", "{next_update}", "{owner}"):
        assert fact in message
    # §8: every required output is in the RCA outline
    section8 = text.split("### Required outputs", 1)[1].split("### Common corrective actions", 1)[0]
    for line in re.findall(r"^\s*- (.+)$", section8, re.MULTILINE):
        head = line.split("(")[0].split(":")[0].strip().lower()
        assert any(head in h.lower() for h in tpl.outlines["rca"]), head


def test_communication_message_is_rendered_from_the_run_facts():
    tpl = TemplateLibrary().get("rollback-runbook")
    store = MemoryEventStore()
    facts = {
        "target": "prod",
        "change": "abc123",
        "prior_change": "9f8e7d",
        "symptoms": "schema mismatch",
        "impact": "critical assets",
        "action": "Deploy halted and rolled back",
        "status": "Smoke tests passed; monitoring normalizing",
        "next_update": "30 minutes",
        "owner": "dana",
    }
    run = ChecklistRun.start(
        tpl, store, Actor("dana"), facts, run_id="inc-1", now=FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    )
    text = render_message(tpl, "communication", run.state())
    assert text == (
        "Production deploy for commit abc123 introduced schema mismatch on critical assets. "
        "Deploy halted and rolled back to 9f8e7d. Smoke tests passed; monitoring normalizing. "
        "Next update in 30 minutes. Owner: dana."
    )
    partial = ChecklistRun.start(tpl, store, Actor("x"), {"change": "abc"}, run_id="inc-2")
    assert "<symptoms>" in render_message(tpl, "communication", partial.state())


BAD = """name: broken
version: "1"
title: Broken
roles:
  Lead: {may_waive: yes-please}
phases:
  - name: One
    items:
      - {id: a, text: First}
      - {id: a, text: Duplicate}
      - id: c
        verifier: nope
        owner: Ghost
"""


def test_schema_errors_carry_file_and_line_numbers():
    with pytest.raises(TemplateError) as info:
        TemplateLibrary().load_text(BAD, "team.yml")
    message = str(info.value)
    assert "team.yml:5: 'may_waive' must be true or false" in message
    assert "team.yml:10: item id 'a' is used twice" in message
    assert "team.yml:11: item 'c' needs a 'text'" in message
    assert "team.yml:12: unknown verifier 'nope'" in message
    assert "team.yml:13: owner role 'Ghost' is not defined" in message


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("name: x\nversion: '1'\ntitle: [unclosed\nphases: []\n")
    with pytest.raises(TemplateError, match=r"bad\.yml:\d+: not valid YAML"):
        TemplateLibrary().load_file(path)


def test_extends_adds_items_to_a_shipped_template(tmp_path):
    (tmp_path / "team.yml").write_text(
        """name: team-prod
version: "1"
extends: prod-deploy
roles:
  Data Steward: {group: stewards}
signoff: [Tech Lead, DevOps/Platform, Data Steward]
phases:
  - name: Team checks
    items:
      - {id: team.lineage, text: Lineage documented in the catalog, owner: Data Steward}
"""
    )
    library = TemplateLibrary([tmp_path])
    assert "team-prod" in library.names()
    base = library.get("prod-deploy")
    team = library.get("team-prod")
    assert [i.id for i in team.items[: len(base.items)]] == [i.id for i in base.items]
    assert team.items[-1].id == "team.lineage" and team.items[-1].phase == "Team checks"
    assert team.title == base.title and "Data Steward" in team.roles and "Tech Lead" in team.roles
    assert team.content_hash != base.content_hash


def test_extends_unknown_or_duplicate_ids_are_errors():
    with pytest.raises(TemplateError, match=r"t\.yml:3: extends unknown template 'nope'"):
        TemplateLibrary().load_text("name: t\nversion: '1'\nextends: nope\nphases: []\n", "t.yml")
    dup = (
        "name: t\nversion: '1'\nextends: prod-deploy\nphases:\n"
        "  - name: x\n    items:\n      - {id: infra.autoscaling, text: again}\n"
    )
    with pytest.raises(TemplateError, match=r"t\.yml:7: item id 'infra.autoscaling' is used twice"):
        TemplateLibrary().load_text(dup, "t.yml")
