"""A prod deployment needs a go checklist (seed 002's --approval-required)."""

from __future__ import annotations

import pytest

from dbx_ops.checklists import Actor, ChecklistRun, MemoryEventStore, TemplateLibrary
from dbx_ops.checklists.ci import needs_checklist, require_go, require_go_from_env
from dbx_ops.errors import InvalidInputError, NoGoError

TEMPLATE = """
name: ci-mini
version: "1"
title: CI mini
roles:
  Approver: {}
signoff: [Approver]
phases:
  - name: One
    items:
      - {id: a, text: A}
"""


def test_only_prod_is_gated():
    assert needs_checklist("prod") and needs_checklist("Production")
    assert not needs_checklist("dev") and not needs_checklist("staging")
    assert require_go_from_env(None, "dev") is None  # starts no Spark, asks for nothing


def test_prod_without_a_run_or_with_a_no_go_run_is_refused(tmp_path):
    (tmp_path / "ci-mini.yml").write_text(TEMPLATE)
    lib = TemplateLibrary([tmp_path])
    tpl = lib.get("ci-mini")
    store = MemoryEventStore()
    with pytest.raises(InvalidInputError, match="needs a go checklist"):
        require_go(None, "prod", store, lib)
    run = ChecklistRun.start(tpl, store, Actor("a"), {"target": "prod"}, run_id="ci-1")
    with pytest.raises(NoGoError, match="no-go"):
        require_go("ci-1", "prod", store, lib)
    run.set_item("a", "pass")
    ChecklistRun(tpl, "ci-1", store, Actor("b")).sign("Approver", "go")
    gate = require_go("ci-1", "prod", store, lib)
    assert gate is not None and gate.ok
