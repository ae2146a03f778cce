"""Real uv resolution (PyPI) against the shipped 15.4 ML baseline: numpy 1.23.5, attrs 22.1.0."""

import json
import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from dbx_ops.cli import main

REPO = Path(__file__).resolve().parents[2]
RT = "15.4.x-cpu-ml-scala2.12"
DATE = "2026-11-01"


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "requirements" / RT
    folder.mkdir(parents=True)
    shutil.copy(REPO / "requirements" / RT / "runtime-baseline.in", folder)

    def with_additions(text: str) -> Path:
        (folder / "additional-packages.in").write_text(text)
        return folder

    return tmp_path, with_additions


def lock(root, *extra):
    return main(["deps", "lock", "--runtime", RT, "--root", str(root), "--json", *extra])


def test_compatible_addition_locks_reproducibly(project, capsys):
    root, additions = project
    folder = additions("chispa==0.11.1\n")
    assert lock(root, "--exclude-newer", DATE) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["exclude_newer"] == "2026-11-01T00:00:00Z"
    text = (folder / "requirements.txt").read_text()
    assert "\nchispa==0.11.1\n" in text
    assert "\nwcwidth==0.2.5\n" in text  # chispa's dependency, held at the runtime's version
    assert "# exclude-newer: 2026-11-01T00:00:00Z" in text and "# python: 3.11" in text
    combined = (folder / "requirements-combined.in").read_text()
    assert [ln for ln in combined.splitlines() if not ln.startswith("#")] == [
        "chispa==0.11.1",
        "-c runtime-baseline.in",
    ]

    (folder / "requirements.txt").unlink()
    (folder / "requirements-combined.in").unlink()
    assert lock(root, "--exclude-newer", DATE) == 0
    capsys.readouterr()
    assert (folder / "requirements.txt").read_text() == text  # byte-identical
    assert (folder / "requirements-combined.in").read_text() == combined
    assert lock(root) == 0  # no date given: the recorded one is reused
    assert json.loads(capsys.readouterr().out)["changed"] is False


def test_direct_and_transitive_conflicts_are_explained(project, capsys):
    root, additions = project
    folder = additions("numpy==1.21.0\nreferencing==0.35.1\nchispa==0.11.1\n")
    assert lock(root, "--exclude-newer", DATE) == 1
    result = json.loads(capsys.readouterr().out)
    by_package = {c["package"]: c for c in result["conflicts"]}
    assert set(by_package) == {"numpy", "referencing"}
    numpy = by_package["numpy"]
    assert (numpy["kind"], numpy["requested"], numpy["blocker"], numpy["blocker_version"]) == (
        "direct",
        "numpy==1.21.0",
        "numpy",
        "1.23.5",
    )
    assert numpy["newest_fit"] == "1.23.5"
    ref = by_package["referencing"]
    assert (ref["kind"], ref["blocker"], ref["blocker_version"], ref["needs"]) == (
        "transitive",
        "attrs",
        "22.1.0",
        "attrs>=22.2.0",
    )
    assert ref["newest_fit"] and Version(ref["newest_fit"]) < Version("0.35.1")
    assert "numpy==1.21.0 and numpy==1.23.5" in result["resolver_output"]  # raw text kept
    assert not (folder / "requirements.txt").exists()

    assert main(["deps", "lock", "--runtime", RT, "--root", str(root), "--exclude-newer", DATE]) == 1
    human = capsys.readouterr().out
    assert "conflicts with the runtime's numpy==1.23.5" in human
    assert "needs attrs>=22.2.0 (transitive" in human and "resolver output:" in human


def test_a_version_that_does_not_exist_is_bad_input(project, capsys):
    root, additions = project
    additions("chispa==99.0\n")
    assert lock(root, "--exclude-newer", DATE) == 2
    assert "no released version matches chispa==99.0" in capsys.readouterr().err


def test_a_lock_that_downgrades_a_masked_runtime_package_warns(tmp_path, capsys):
    rt = "15.4.x-scala2.12"  # its published baseline masks databricks-sdk==0.20.0
    folder = tmp_path / "requirements" / rt
    folder.mkdir(parents=True)
    shutil.copy(REPO / "requirements" / rt / "runtime-baseline.in", folder)
    (folder / "additional-packages.in").write_text("databricks-sdk<0.20\n")
    args = ["deps", "lock", "--runtime", rt, "--root", str(tmp_path), "--exclude-newer", DATE, "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["warnings"]) == 1 and "downgrades databricks-sdk from 0.20.0" in result["warnings"][0]


def test_pyspark_is_refused_before_uv_runs(project, capsys):
    root, additions = project
    additions("pyspark==3.5.1\n")
    assert lock(root, "--exclude-newer", DATE, "--offline") == 2
    err = capsys.readouterr().err
    assert "pyspark is never locked or installed because the Databricks runtime provides it" in err
