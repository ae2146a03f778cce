import subprocess
from pathlib import Path

import pytest

from dbx_ops.cli import main
from dbx_ops.deps.baseline import Baseline
from dbx_ops.deps.initscript import build_spec, render_init_script
from dbx_ops.deps.lock import LockFile
from dbx_ops.deps.requirements import Pin
from dbx_ops.errors import InvalidInputError

REPO = Path(__file__).resolve().parents[2]
H = "sha256:" + "c" * 64


def lock(pins, runtime="15.4.x-scala2.12", dbr="15.4"):
    return LockFile(Path("requirements/x/requirements.txt"), runtime, dbr, "3.11", tuple(pins), "f" * 64)


def baseline(runtime="15.4.x-scala2.12"):
    return Baseline(runtime, "3.11", "2026-11-22", "test", (Pin("six", "1.16.0"),), unpinned=("horovod",))


def spec(pins=(Pin("attrs", "23.2.0"),), **kw):
    return build_spec(
        lock(pins, **kw), baseline(kw.get("runtime", "15.4.x-scala2.12")), "requirements/x/lock"
    )


def test_script_is_strict_and_keeps_names_in_data_blocks():
    text = render_init_script(spec((Pin("attrs", "23.2.0", (H,)), Pin("idna", "3.6", (H,)))))
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text
    assert "readonly EXPECTED_RUNTIME='15.4'" in text
    assert "readonly USE_HASHES=1" in text
    assert f"<<'DBX_OPS_LOCK'\nattrs==23.2.0 --hash={H}\nidna==3.6 --hash={H}\nDBX_OPS_LOCK" in text
    assert "<<'DBX_OPS_BASELINE'\nhorovod\nsix\nDBX_OPS_BASELINE" in text
    assert '"${DBX_OPS_PIP:-/databricks/python/bin/pip}"' in text
    assert "--no-deps" in text and "--require-hashes" in text
    for forbidden in ("xargs", "eval ", "pip freeze"):
        assert forbidden not in text.replace("pip freeze | xargs pip uninstall", "")
    assert "pip freeze | xargs pip uninstall" not in text


def test_script_is_valid_bash_and_deterministic():
    s = spec()
    text = render_init_script(s)
    assert render_init_script(s) == text
    check = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
    assert check.returncode == 0, check.stderr


def test_unsafe_values_never_reach_the_script():
    with pytest.raises(InvalidInputError, match="not a valid package name"):
        spec((Pin("six$(reboot)", "1.0"),))
    with pytest.raises(InvalidInputError, match="not a valid version"):
        spec((Pin("six", "1.0;reboot"),))
    with pytest.raises(InvalidInputError, match="not a plain absolute path"):
        render_init_script(spec(), pip="/bin/pip; reboot")


def test_partial_hashes_runtime_mismatch_and_serverless_are_refused():
    with pytest.raises(InvalidInputError, match="Only some pins"):
        spec((Pin("attrs", "23.2.0", (H,)), Pin("idna", "3.6")))
    with pytest.raises(InvalidInputError, match=r"lock is for 16.4.x-scala2.12 but the baseline is for"):
        build_spec(lock([], runtime="16.4.x-scala2.12", dbr="16.4"), baseline(), "x")
    with pytest.raises(InvalidInputError, match="runs no init scripts"):
        spec(runtime="serverless-v4", dbr="client.4")


def test_the_committed_init_scripts_match_the_committed_locks(capsys):
    assert main(["deps", "init-script", "--all", "--check", "--root", str(REPO)]) == 0
    out = capsys.readouterr().out
    keys = sorted(p.name for p in (REPO / "init").iterdir())
    assert "15.4.x-cpu-ml-scala2.12" in keys and "17.3.x-gpu-ml-scala2.13" in keys
    for key in keys:
        assert f"{key}: " in out
    assert out.count("up to date") == len(keys)
    assert "serverless-v4: skipped" in out


def test_check_reports_a_stale_script(tmp_path, capsys):
    import shutil

    for sub in ("requirements", "init"):
        src = REPO / sub / "15.4.x-scala2.12"
        shutil.copytree(src, tmp_path / sub / "15.4.x-scala2.12")
    script = tmp_path / "init" / "15.4.x-scala2.12" / "enforce-lock.sh"
    script.write_text(script.read_text().replace("set -euo pipefail", "set -e"))
    assert (
        main(["deps", "init-script", "--runtime", "15.4.x-scala2.12", "--check", "--root", str(tmp_path)])
        == 1
    )
    assert "OUT OF DATE" in capsys.readouterr().out
    assert main(["deps", "init-script", "--runtime", "15.4.x-scala2.12", "--root", str(tmp_path)]) == 0
    assert "set -euo pipefail" in script.read_text()


def test_script_bytes_do_not_depend_on_the_dbx_ops_version(monkeypatch):
    import dbx_ops
    import dbx_ops.deps.initscript as initscript

    rendered = []
    for version in ("0.1.0", "9.9.9rc1"):
        monkeypatch.setattr(dbx_ops, "__version__", version)
        monkeypatch.setattr(initscript, "__version__", version, raising=False)
        rendered.append(render_init_script(spec()))
    assert rendered[0] == rendered[1]
    assert "9.9.9rc1" not in rendered[1] and "0.1.0" not in rendered[0]


def test_check_of_a_lock_without_a_baseline_is_bad_input_not_a_traceback(tmp_path, capsys):
    import shutil

    from dbx_ops.deps.initscript import is_up_to_date
    from dbx_ops.errors import NotFoundError

    rt = "15.4.x-scala2.12"
    folder = tmp_path / "requirements" / rt
    folder.mkdir(parents=True)
    shutil.copy(REPO / "requirements" / rt / "requirements.txt", folder)
    with pytest.raises(NotFoundError, match=r"runtime-baseline.in does not exist; run `dbx-ops deps capture"):
        is_up_to_date(tmp_path, rt)
    assert main(["deps", "init-script", "--runtime", rt, "--check", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runtime-baseline.in does not exist" in err and "Traceback" not in err


def test_is_up_to_date_says_whether_the_committed_script_matches(tmp_path):
    import shutil

    from dbx_ops.deps.initscript import is_up_to_date, write_init_script

    rt = "15.4.x-scala2.12"
    shutil.copytree(REPO / "requirements" / rt, tmp_path / "requirements" / rt)
    assert not is_up_to_date(tmp_path, rt)  # no script yet
    write_init_script(tmp_path, rt)
    assert is_up_to_date(tmp_path, rt)
    assert not is_up_to_date(tmp_path, rt, pip="/other/pip")
