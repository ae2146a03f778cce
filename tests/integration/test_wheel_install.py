"""The wheel a user installs: built, installed into a clean environment without the dev extras, used.

This is the install line the README gives (`%pip install <the wheel>`): the bundle builds the
same wheel with ``python -m uv build --wheel``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

_IMPORT_ALL = """
import importlib, pkgutil, sys, dbx_ops
names = [m.name for m in pkgutil.walk_packages(dbx_ops.__path__, "dbx_ops.") if m.name != "dbx_ops.__main__"]
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("pyspark", "delta", "great_expectations"))
print(len(names), ",".join(loaded))
"""


def _run(
    cmd: list[str], env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("wheel")
    out = _run([sys.executable, "-m", "uv", "build", "--wheel", "--out-dir", str(work / "dist"), str(REPO)])
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next((work / "dist").glob("dbx_ops-*-py3-none-any.whl"))
    venv = work / "venv"
    assert _run([sys.executable, "-m", "uv", "venv", "--python", sys.executable, str(venv)]).returncode == 0
    py = venv / "bin" / "python"
    out = _run([sys.executable, "-m", "uv", "pip", "install", "--python", str(py), str(wheel)])
    assert out.returncode == 0, out.stderr[-2000:]
    return py, wheel


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "SPARK_", "PYSPARK_"))}
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def test_the_wheel_carries_no_dev_dependencies(clean_venv: tuple[Path, Path]) -> None:
    py, _ = clean_venv
    listed = _run([str(py), "-m", "pip", "list", "--format", "json"]).stdout or "[]"
    names = {p["name"].lower() for p in json.loads(listed)} if listed.startswith("[") else set()
    if not names:  # uv venvs have no pip: ask importlib instead
        code = (
            "import importlib.metadata as m; print(' '.join(d.metadata['Name'] for d in m.distributions()))"
        )
        names = {n.lower() for n in _run([str(py), "-c", code]).stdout.split()}
    assert "dbx-ops" in names and "databricks-sdk" in names
    assert not names & {"pytest", "pyspark", "great-expectations", "chispa", "ruff"}


def test_every_public_module_imports_without_spark(clean_venv: tuple[Path, Path], tmp_path: Path) -> None:
    py, _ = clean_venv
    out = _run([str(py), "-c", _IMPORT_ALL], env=_env(), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    count, loaded = (
        out.stdout.strip().split(" ", 1) if " " in out.stdout.strip() else (out.stdout.strip(), "")
    )
    assert int(count) > 30
    assert loaded == "", f"importing dbx_ops loaded {loaded}"


def test_cli_help_and_doctor_from_the_wheel(clean_venv: tuple[Path, Path], tmp_path: Path) -> None:
    py, _ = clean_venv
    cli = str(py.parent / "dbx-ops")
    helped = _run([cli, "--help"], env=_env(), timeout=120)
    assert helped.returncode == 0 and "snapshot" in helped.stdout
    env = _env(DBX_OPS_HOME=str(tmp_path / "home"), DBX_OPS_JARS=str(REPO / ".cache" / "jars"))
    doctor = _run([cli, "doctor", "--json"], env=env, timeout=300)
    assert doctor.returncode == 2, doctor.stdout + doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["checks"]["pyspark"]["ok"] is False
    assert "spark extra" in report["checks"]["pyspark"]["message"]
    assert "Traceback" not in doctor.stderr
