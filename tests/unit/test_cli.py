import json
import subprocess
import sys
from pathlib import Path

from dbx_ops import __version__
from dbx_ops.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: dbx-ops" in capsys.readouterr().out


def test_unknown_command_is_bad_input(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_doctor_without_jars_says_which_command_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DBX_OPS_JARS", str(tmp_path / "nojars"))
    monkeypatch.setenv("DBX_OPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    assert main(["doctor", "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["checks"]["delta_jars"]["ok"] is False
    assert "make jars" in report["checks"]["delta_jars"]["message"]
    assert "delta" not in report["checks"]  # no Spark was started


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "dbx-ops"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert out.returncode == 0
    assert "doctor" in out.stdout
    module = subprocess.run([sys.executable, "-m", "dbx_ops", "--version"], capture_output=True, text=True)
    assert module.returncode == 0 and __version__ in module.stdout
