import subprocess
import sys
from pathlib import Path

import pytest

from dbx_ops.cli import main
from dbx_ops.deps.baseline import Baseline
from dbx_ops.deps.lock import (
    UV_VERSION,
    Locker,
    LockOptions,
    normalise_exclude_newer,
    recorded_exclude_newer,
    render_combined,
)
from dbx_ops.deps.requirements import Pin, parse_additions
from dbx_ops.errors import EnvironmentSetupError, InvalidInputError

RT = "15.4.x-cpu-ml-scala2.12"


def project(tmp_path: Path, additions: str) -> Path:
    folder = tmp_path / "requirements" / RT
    folder.mkdir(parents=True)
    base = Baseline(RT, "3.11", "2026-11-22", "t", (Pin("numpy", "1.23.5"), Pin("attrs", "22.1.0")))
    (folder / "runtime-baseline.in").write_text(base.render())
    (folder / "additional-packages.in").write_text(additions)
    return tmp_path


def test_exclude_newer_dates():
    assert normalise_exclude_newer("2026-11-01") == "2026-11-01T00:00:00Z"
    assert normalise_exclude_newer("2026-11-01T12:00:00Z") == "2026-11-01T12:00:00Z"
    for bad in ("yesterday", "2026-13-01", "2026-11-01; rm"):
        with pytest.raises(InvalidInputError):
            normalise_exclude_newer(bad)
    assert (
        recorded_exclude_newer("# a\n# exclude-newer: 2026-11-01T00:00:00Z\nsix==1\n")
        == "2026-11-01T00:00:00Z"
    )
    assert recorded_exclude_newer("six==1\n") is None


def test_combined_input_is_sorted_and_deterministic():
    base = Baseline(RT, "3.11", "d", "s", (Pin("numpy", "1.23.5"),))
    one = render_combined(parse_additions("zeta==1\nAlpha>=2\n"), base, "ab" * 32)
    two = render_combined(parse_additions("alpha>=2\nzeta==1\n"), base, "ab" * 32)
    assert one == two
    body = [ln for ln in one.splitlines() if not ln.startswith("#")]
    assert body == ["alpha>=2", "zeta==1", "-c runtime-baseline.in"]


def test_the_pinned_uv_version_is_enforced(tmp_path):
    assert Locker(tmp_path).check_uv() == UV_VERSION
    fake = [sys.executable, "-c", "print('uv 0.1.0')"]
    with pytest.raises(EnvironmentSetupError, match=f"uv {UV_VERSION} is needed.*found: 0.1.0"):
        Locker(tmp_path, uv=fake).check_uv()


class ScriptedUv:
    """Stands in for uv: answers each compile with the next scripted (returncode, stdout, stderr)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.inputs = []

    def __call__(self, args, cwd, **kwargs):
        if "--version" in args:
            return subprocess.CompletedProcess(args, 0, f"uv {UV_VERSION}\n", "")
        self.inputs.append(Path(cwd, args[args.index("compile") + 1]).read_text())
        code, out, err = self.answers.pop(0)
        return subprocess.CompletedProcess(args, code, out, err)


NUMPY = (
    "  cause: Because you require numpy==1.21.0 and numpy==1.23.5, we can conclude that your "
    "requirements are unsatisfiable.\n"
)
REFERENCING = (
    "  cause: Because referencing==0.35.1 depends on attrs>=22.2.0 and attrs==22.1.0, we can conclude that "
    "referencing==0.35.1 cannot be used.\n  And because you require referencing==0.35.1, we can "
    "conclude that your requirements are unsatisfiable.\n"
)


def test_every_conflict_is_found_one_resolver_round_at_a_time(tmp_path):
    root = project(tmp_path, "numpy==1.21.0\nreferencing==0.35.1\nsix\n")
    uv = ScriptedUv(
        [
            (1, "", NUMPY),  # the full input: uv names the first conflict
            (1, "", REFERENCING),  # without numpy: the next one
            (0, "six==1.16.0\n", ""),  # without both: resolves
            (0, "numpy==1.21.0\n", ""),  # numpy with its blocker relaxed: no other blocker
            (0, "referencing==0.35.1\n", ""),  # referencing with attrs relaxed: no other blocker
            (0, "numpy==1.23.5\n", ""),  # newest numpy that fits
            (1, "", "no versions of referencing fit\n"),  # no referencing fits
        ]
    )
    result = Locker(root, runner=uv).lock(RT, LockOptions(exclude_newer="2026-11-01"))
    assert not result.ok
    got = {(c.kind, c.package, c.blocker, c.newest_fit) for c in result.conflicts}
    assert got == {("direct", "numpy", "numpy", "1.23.5"), ("transitive", "referencing", "attrs", None)}
    assert "numpy==1.21.0" in uv.inputs[0] and "numpy" not in uv.inputs[1].split("-c")[0]
    assert NUMPY.strip() in result.raw and "resolver output:" in result.to_text()
    assert "no version of referencing fits the runtime" in result.to_text()
    assert not (root / "requirements" / RT / "requirements.txt").exists()  # nothing written on conflict
    assert "| direct | numpy==1.21.0 |" in result.to_markdown()


def test_cli_input_errors_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    assert main(["deps", "lock", "--root", str(tmp_path)]) == 2
    assert "--runtime KEY" in capsys.readouterr().err
    assert main(["deps", "lock", "--runtime", "15.4; reboot", "--root", str(tmp_path)]) == 2
    assert "not a runtime key" in capsys.readouterr().err
    assert main(["deps", "lock", "--runtime", RT, "--root", str(tmp_path)]) == 2
    assert "runtime-baseline.in does not exist" in capsys.readouterr().err
    assert main(["deps", "capture", "--runtime", RT, "--root", str(tmp_path)]) == 2
    assert "not a Databricks cluster" in capsys.readouterr().err
    assert main(["env", "check", "--lock", str(tmp_path / "nope.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_bad_requirement_line_is_one_clear_error(tmp_path, capsys):
    root = project(tmp_path, "six\nnumpy>>2\n")
    assert main(["deps", "lock", "--runtime", RT, "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "additional-packages.in:2" in err and "'numpy>>2' is not a valid requirement" in err


def test_cli_imports_a_published_baseline(tmp_path, capsys):
    published = tmp_path / "constraints.txt"
    published.write_text(
        "# constraints.txt file for Databricks Runtime 15.4 LTS\n\nsix~=1.16.0\nNumPy~=1.23.5\n"
    )
    args = ["--runtime", "15.4.x-scala2.12", "--root", str(tmp_path), "--from-constraints", str(published)]
    code = main(["deps", "capture", *args, "--json"])
    assert code == 0
    written = tmp_path / "requirements" / "15.4.x-scala2.12" / "runtime-baseline.in"
    assert "numpy==1.23.5\nsix==1.16.0\n" in written.read_text()
    assert '"packages": 2' in capsys.readouterr().out


def test_cli_captures_this_interpreter_only_when_allowed(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    args = ["deps", "capture", "--runtime", "15.4.x-scala2.12", "--root", str(tmp_path)]
    assert main(args) == 2
    capsys.readouterr()
    assert main([*args, "--allow-local"]) == 0
    written = (tmp_path / "requirements" / "15.4.x-scala2.12" / "runtime-baseline.in").read_text()
    assert "captured with importlib.metadata on a local interpreter" in written
    assert "\npackaging==" in written and "\ndbx-ops==" not in written


def test_locking_several_runtimes_shows_one_progress_step_each(tmp_path):
    import io

    from dbx_ops.errors import LockConflictError
    from dbx_ops.progress import LineProgress

    root = project(tmp_path, "numpy==1.21.0\n")
    other = "15.4.x-scala2.12"
    (root / "requirements" / other).mkdir()
    base = Baseline(other, "3.11", "2026-11-22", "t", (Pin("numpy", "1.23.5"),))
    (root / "requirements" / other / "runtime-baseline.in").write_text(base.render())
    (root / "requirements" / other / "additional-packages.in").write_text("six\n")
    uv = ScriptedUv([(1, "", NUMPY), (0, "numpy==1.21.0\n", ""), (0, "six==1.16.0\n", "")])
    stream = io.StringIO()
    results = Locker(root, runner=uv).lock_many(
        [RT, other], LockOptions(exclude_newer="2026-11-01", find_fits=False), LineProgress(stream)
    )
    assert [r.ok for r in results] == [False, True]
    lines = stream.getvalue().splitlines()
    assert lines[0] == "locking: 2 step(s)"
    assert lines[1].startswith(f"[1/2] locking {RT} ... FAILED: 1 conflict(s)")
    assert lines[2].startswith(f"[2/2] locking {other} ... ok")
    with pytest.raises(LockConflictError, match="cannot lock, 1 conflict"):
        results[0].raise_on_failure()
    results[1].raise_on_failure()
    assert "numpy==1.21.0" in results[0].to_html()
