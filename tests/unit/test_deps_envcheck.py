from pathlib import Path

import pytest

from dbx_ops.deps.baseline import Baseline
from dbx_ops.deps.envcheck import Interpreter, compare, version_matches
from dbx_ops.deps.lock import LockFile
from dbx_ops.deps.requirements import Pin
from dbx_ops.errors import EnvironmentDriftError

LOCK = LockFile(
    Path("requirements/15.4.x-scala2.12/requirements.txt"),
    "15.4.x-scala2.12",
    "15.4",
    "3.11",
    (Pin("attrs", "23.2.0"), Pin("idna", "3.6"), Pin("torch", "2.3.1")),
    "0" * 64,
)
BASE = Baseline(
    "15.4.x-scala2.12",
    "3.11",
    "2026-11-22",
    "t",
    (Pin("six", "1.16.0"), Pin("numpy", "1.23.5")),
    unpinned=("horovod",),
)
MATCHING = {
    "attrs": "23.2.0",
    "idna": "3.6",
    "torch": "2.3.1+cpu",
    "six": "1.16.0",
    "numpy": "1.23.5",
    "horovod": "0.28.1",
    "pip": "24.0",
    "databricks-sdk": "0.20.0",
}


def test_matching_environment_is_ok():
    report = compare(LOCK, BASE, Interpreter("3.11.9", MATCHING))
    assert report.ok and report.checked == 3
    assert "ok, all 3 pinned packages in place" in report.to_text()
    assert "Environment ok" in report.to_html() and "Environment ok" in report.to_markdown()
    report.raise_on_failure()  # ok: nothing raised


def test_every_kind_of_drift_is_named():
    installed = dict(MATCHING, attrs="22.1.0", numpy="2.0.0", tomli="2.0.1")
    del installed["idna"], installed["six"]
    report = compare(LOCK, BASE, Interpreter("3.12.1", installed))
    kinds = {(d.kind, d.package, d.expected, d.installed) for d in report.drifts}
    assert kinds == {
        ("python", "python", "3.11", "3.12.1"),
        ("wrong-version", "attrs", "23.2.0", "22.1.0"),
        ("missing", "idna", "3.6", ""),
        ("baseline-changed", "numpy", "1.23.5", "2.0.0"),
        ("baseline-missing", "six", "1.16.0", ""),
        ("stray", "tomli", "", "2.0.1"),
    }
    assert not report.ok
    text = report.to_text()
    assert "DRIFT (6)" in text and "wrong-version" in text and "23.2.0" in text and "22.1.0" in text
    html = report.to_html()
    assert ">tomli</td>" in html and "stray: installed" in html and "Environment drift" in html
    assert report.to_dict()["ok"] is False
    assert {c.name for c in report.checks} == {"python", "attrs", "idna", "numpy", "six", "tomli"}
    with pytest.raises(EnvironmentDriftError, match=r"drifted from .* \(1 python, 1 wrong-version"):
        report.raise_on_failure()


def test_strays_can_be_switched_off_and_protected():
    installed = dict(MATCHING, tomli="2.0.1", mytool="1.0")
    assert compare(LOCK, BASE, Interpreter("3.11.0", installed), strays=False).ok
    report = compare(LOCK, BASE, Interpreter("3.11.0", installed), protected=("pip", "mytool"))
    assert [d.package for d in report.by_kind("stray")] == ["tomli"]


def test_pep440_equality():
    assert version_matches("2.3.1+cpu", "2.3.1")
    assert not version_matches("2.3.1", "2.3.1+cpu")
    assert version_matches("1.0", "1.0.0")
    assert not version_matches("1.0.1", "1.0")
