"""The generated init script, run for real by bash against a virtualenv standing in for
/databricks/python (built with --system-site-packages; pip reaches PyPI)."""

import json
import os
import subprocess
import sys

import pytest

from dbx_ops.cli import main

RT = "15.4.x-scala2.12"
BASELINE = """\
# runtime: 15.4.x-scala2.12
# python: 3.11
six==1.16.0
idna==3.6
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A 'cluster node': a venv with the baseline installed, and a project with a hashed lock."""
    base = tmp_path_factory.mktemp("node")
    venv = base / "python"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    pip = venv / "bin" / "pip"
    subprocess.run(
        [str(pip), "install", "-q", "--disable-pip-version-check", "six==1.16.0", "idna==3.6"], check=True
    )
    root = base / "project"
    folder = root / "requirements" / RT
    folder.mkdir(parents=True)
    (folder / "runtime-baseline.in").write_text(BASELINE)
    (folder / "additional-packages.in").write_text("attrs==23.2.0\niniconfig==2.0.0\n")
    args = ["--runtime", RT, "--root", str(root)]
    assert main(["deps", "lock", *args, "--hashes", "--exclude-newer", "2026-11-01"]) == 0
    assert main(["deps", "init-script", *args]) == 0
    script = root / "init" / RT / "enforce-lock.sh"
    assert script.is_file()
    return {"root": root, "venv": venv, "pip": pip, "script": script}


def run(node, script=None, runtime="15.4", **env):
    environ = {k: v for k, v in os.environ.items() if k != "DATABRICKS_RUNTIME_VERSION"}
    environ["DBX_OPS_PIP"] = str(node["pip"])
    if runtime is not None:
        environ["DATABRICKS_RUNTIME_VERSION"] = runtime
    environ.update(env)
    return subprocess.run(
        ["bash", str(script or node["script"])], env=environ, capture_output=True, text=True, timeout=300
    )


def local_packages(node):
    out = subprocess.run(
        [str(node["pip"]), "list", "--local", "--format=freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(out.stdout.split())


def test_1_installs_the_lock(node):
    out = run(node)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "installing 2 package(s): pip install --no-deps --require-hashes" in out.stdout
    assert "every pin is in place" in out.stdout
    assert {"attrs==23.2.0", "iniconfig==2.0.0", "six==1.16.0", "idna==3.6"} <= set(local_packages(node))


def test_2_second_run_changes_nothing(node):
    before = local_packages(node)
    out = run(node)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all 2 pinned packages already installed; nothing to install" in out.stdout
    assert "no stray packages" in out.stdout
    assert local_packages(node) == before


def test_3_a_stray_is_reported_and_removed_only_with_the_option(node):
    subprocess.run(
        [str(node["pip"]), "install", "-q", "--disable-pip-version-check", "tomli==2.0.1"], check=True
    )
    out = run(node)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "left installed" in out.stdout and "tomli" in out.stdout
    assert "tomli==2.0.1" in local_packages(node)
    out = run(node, DBX_OPS_REMOVE_STRAYS="1")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "uninstalling 1 stray package(s): tomli" in out.stdout
    remaining = local_packages(node)
    assert "tomli==2.0.1" not in remaining
    assert {"six==1.16.0", "idna==3.6", "attrs==23.2.0"} <= set(remaining)  # baseline and lock untouched


def test_4_another_runtime_is_refused(node):
    before = local_packages(node)
    for runtime in ("16.4", "15.40", None):
        out = run(node, runtime=runtime)
        assert out.returncode == 1
        assert "this lock is for Databricks Runtime 15.4" in out.stdout
    assert run(node, runtime="15.4.x-scala2.12").returncode == 0
    out = run(node, DBX_OPS_REMOVE_STRAYS="yes")
    assert out.returncode == 1 and "must be 0 or 1" in out.stdout
    assert local_packages(node) == before


def test_5_env_check_against_the_node(node, capsys):
    lock = node["root"] / "requirements" / RT / "requirements.txt"
    python = node["venv"] / "bin" / "python"
    # The stand-in's base interpreter brings its own packages, so strays are not checked here.
    args = ["env", "check", "--lock", str(lock), "--python", str(python), "--no-strays", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    subprocess.run(
        [str(node["pip"]), "install", "-q", "--disable-pip-version-check", "attrs==23.1.0"], check=True
    )
    assert main(args) == 1
    drifts = json.loads(capsys.readouterr().out)["drifts"]
    assert {
        "kind": "wrong-version",
        "package": "attrs",
        "expected": "23.2.0",
        "installed": "23.1.0",
    } in drifts
    out = run(node)  # the init script puts it back
    assert out.returncode == 0 and "will install attrs==23.2.0 (installed: 23.1.0)" in out.stdout
    assert main(args) == 0
    capsys.readouterr()


def test_6_a_failing_install_fails_the_script(node, tmp_path):
    lock = node["root"] / "requirements" / RT / "requirements.txt"
    broken = tmp_path / "requirements" / RT
    broken.mkdir(parents=True)
    (broken / "runtime-baseline.in").write_text(BASELINE)
    # A lock pinning a release that does not exist (as if it had been yanked and deleted).
    text = "\n".join(ln for ln in lock.read_text().splitlines() if "--hash" not in ln and "\\" not in ln)
    (broken / "requirements.txt").write_text(
        text.replace("# hashes: yes", "# hashes: no") + "\nsix-dbx-ops-missing==0.0.1\n"
    )
    assert main(["deps", "init-script", "--runtime", RT, "--root", str(tmp_path)]) == 0
    before = local_packages(node)
    out = run(node, script=tmp_path / "init" / RT / "enforce-lock.sh")
    assert out.returncode != 0
    assert "FAILED: pip install of the lock failed." in out.stdout
    assert "the environment was NOT brought to the lock" in out.stdout
    assert local_packages(node) == before
