"""Fuzzing the deps and checklist command lines: malformed requirement files, lock files, baselines,
runtime keys, template files and run ids give exit 2 and one line, never a traceback.

Only inputs the library rejects are generated (each strategy is filtered through the parser that
must refuse it), and neither uv nor Spark may start: each example runs in milliseconds,
in-process (``dbx_ops.cli.main``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbx_ops.checklists.runs import validate_run_id
from dbx_ops.checklists.templates import TemplateLibrary
from dbx_ops.cli import main
from dbx_ops.deps.baseline import import_baseline, parse_baseline, runtime_for
from dbx_ops.deps.requirements import parse_additions, parse_lock
from dbx_ops.errors import DbxOpsError

REPO = Path(__file__).resolve().parents[2]
RT = "15.4.x-scala2.12"

BOUNDED = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

_ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(
    list("=<>!~;@#[],.-_/\\\n\r\t\x00 '\"\ufeff\u2028\x85")
)
_PIECES = st.text(_ALPHABET, max_size=16) | st.sampled_from(
    [
        "pyspark==3.5.1",
        "py4j",
        "-e ",
        "-r other.txt",
        "--index-url https://x",
        "git+https://github.com/a/b.git#egg=b",
        "./local",
        "numpy==",
        "six==1.16.0",
        "\\\n",
        "--hash=sha256:abc",
        "pandas>=2;",
        "x" * 300,
        "\ufeff",
        "name==1.0 --hash=md5:00",
        "# comment\n",
    ]
)
_TEXT = st.lists(_PIECES, min_size=1, max_size=4).map("".join)
_BYTES = st.binary(min_size=1, max_size=40).filter(lambda b: _undecodable(b))


def _undecodable(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _rejected(check, value) -> bool:
    try:
        check(value)
    except DbxOpsError:
        return True
    return False


BAD_ADDITIONS = _TEXT.filter(lambda s: _rejected(parse_additions, s))
BAD_LOCKS = _TEXT.filter(lambda s: _rejected(parse_lock, s))
BAD_BASELINES = _TEXT.filter(lambda s: _rejected(parse_baseline, s))
BAD_CONSTRAINTS = _TEXT.filter(lambda s: _rejected(lambda t: import_baseline(t, RT, "2026-01-01", "x"), s))
BAD_RUNTIMES = _TEXT.filter(lambda s: _rejected(runtime_for, s))
BAD_TEMPLATES = _TEXT.filter(lambda s: _rejected(lambda t: TemplateLibrary().load_text(t, "t.yml"), s))
BAD_RUN_IDS = _TEXT.filter(lambda s: _rejected(validate_run_id, s))


@pytest.fixture
def project(tmp_path_factory, monkeypatch):
    """A project folder with the 15.4 baseline, lock and additions; uv and Spark refuse to start."""
    import dbx_ops.deps.lock
    import dbx_ops.runtime

    def refuse(*_a, **_k):
        raise AssertionError("uv or Spark was started for input that should have been rejected first")

    monkeypatch.setattr(dbx_ops.runtime, "get_spark", refuse)
    monkeypatch.setattr(dbx_ops.deps.lock.Locker, "check_uv", lambda self: None)  # uv is there
    monkeypatch.setattr(dbx_ops.deps.lock.Locker, "_run", refuse)
    monkeypatch.delenv("DBX_OPS_SCHEMA", raising=False)
    monkeypatch.delenv("DBX_OPS_CHECKLISTS", raising=False)
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "requirements" / RT, root / "requirements" / RT)
    return root


def _run(capsys, argv: list[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _exit_2_one_line(capsys, argv: list[str]) -> str:
    code, err = _run(capsys, argv)
    lines = err.strip("\n").splitlines()
    assert code == 2, (argv, err)
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@BOUNDED
@given(bad=BAD_ADDITIONS | _BYTES)
def test_malformed_requirement_files(project, capsys, bad):
    _write(project / "requirements" / RT / "additional-packages.in", bad)
    _exit_2_one_line(capsys, ["deps", "lock", "--runtime", RT, "--root", project, "--offline"])


@BOUNDED
@given(bad=BAD_LOCKS | _BYTES)
def test_malformed_lock_files(project, capsys, bad):
    lock = _write(project / "requirements" / RT / "requirements.txt", bad)
    _exit_2_one_line(capsys, ["env", "check", "--lock", lock])
    _exit_2_one_line(capsys, ["deps", "audit", "--lock", lock, "--no-cves", "--no-licences"])
    _exit_2_one_line(capsys, ["deps", "init-script", "--runtime", RT, "--root", project, "--check"])


@BOUNDED
@given(bad=BAD_BASELINES | _BYTES)
def test_malformed_baselines(project, capsys, bad):
    folder = project / "requirements" / RT
    _write(folder / "runtime-baseline.in", bad)
    _exit_2_one_line(capsys, ["deps", "lock", "--runtime", RT, "--root", project, "--offline"])
    _exit_2_one_line(capsys, ["deps", "init-script", "--runtime", RT, "--root", project])
    _exit_2_one_line(capsys, ["env", "check", "--lock", folder / "requirements.txt"])


@BOUNDED
@given(bad=BAD_CONSTRAINTS | _BYTES)
def test_malformed_constraints_to_capture(project, capsys, bad):
    before = (project / "requirements" / RT / "runtime-baseline.in").read_bytes()
    source = _write(project / "constraints.txt", bad)
    _exit_2_one_line(
        capsys, ["deps", "capture", "--runtime", RT, "--root", project, "--from-constraints", source]
    )
    assert (project / "requirements" / RT / "runtime-baseline.in").read_bytes() == before  # nothing lost


@BOUNDED
@given(bad=BAD_RUNTIMES)
def test_malformed_runtime_keys(project, capsys, bad):
    for argv in (
        ["deps", "lock", f"--runtime={bad}", "--root", project, "--offline"],
        ["deps", "init-script", f"--runtime={bad}", "--root", project],
        ["deps", "audit", f"--runtime={bad}", "--root", project, "--no-cves"],
        ["deps", "capture", f"--runtime={bad}", "--root", project, "--from-constraints", __file__],
    ):
        _exit_2_one_line(capsys, argv)


@BOUNDED
@given(bad=BAD_TEMPLATES | _BYTES)
def test_malformed_checklist_template_files(project, capsys, bad):
    template = _write(project / "mine.yml", bad)
    _exit_2_one_line(capsys, ["checklist", "show", template])
    _exit_2_one_line(capsys, ["checklist", "start", template, "--run", "r-1"])
    _exit_2_one_line(capsys, ["checklist", "list", "--templates", project])


@BOUNDED
@given(bad=BAD_RUN_IDS)
def test_malformed_run_ids(project, capsys, bad):
    for argv in (
        ["checklist", "start", "prod-deploy", f"--run={bad}"],
        ["checklist", "gate", "--", bad],
        ["checklist", "status", "--", bad],
        ["checklist", "set", "--", bad, "item", "pass"],
        ["checklist", "sign", "--role", "lead", "--decision", "go", "--", bad],
        ["checklist", "verify", "--no-workspace", "--", bad],
        ["checklist", "report", "--", bad],
    ):
        _exit_2_one_line(capsys, argv)


def test_other_checklist_inputs_checked_before_spark(project, capsys):
    assert "--context" in _exit_2_one_line(
        capsys, ["checklist", "start", "prod-deploy", "--context", "no-equals-sign"]
    )
    assert "does not exist" in _exit_2_one_line(capsys, ["checklist", "show", project / "missing.yml"])
    folder = project / "folder.yml"
    folder.mkdir()
    _exit_2_one_line(capsys, ["checklist", "show", folder])
    _exit_2_one_line(capsys, ["checklist", "set", "r-1", "item", "maybe"])
    # A user's value with a line break, quoted raw in a message, still gives one line.
    assert "does not exist" in _exit_2_one_line(capsys, ["checklist", "show", project / "a\nb.yml"])
    assert "does not exist" in _exit_2_one_line(capsys, ["env", "check", "--lock", project / "x\ny.txt"])


def test_a_bad_run_id_is_refused_by_the_library_before_anything_is_recorded():
    from dbx_ops.checklists import Actor, ChecklistRun, MemoryEventStore
    from dbx_ops.errors import InvalidInputError

    events = MemoryEventStore()
    template = TemplateLibrary().get("prod-deploy")
    for bad in ("a\nb", " r1", "", "x" * 129, "r\u20281"):
        with pytest.raises(InvalidInputError):
            ChecklistRun.start(template, events, Actor("dana"), run_id=bad)
        with pytest.raises(InvalidInputError):
            ChecklistRun.open_or_start(template, bad, events, Actor("dana"))
    assert events.events("a\nb") == [] and events.events("r1") == []
    assert ChecklistRun.start(template, events, Actor("dana"), run_id="deploy-42 (friday)").run_id
