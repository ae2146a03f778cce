"""Fuzzing the snapshot command line: malformed names, labels and --keep values give exit 2, one line.

Only inputs the CLI must reject before Spark starts are generated, and
``get_spark`` is replaced by a function that fails the test, so each example
runs in milliseconds in-process (``dbx_ops.cli.main``).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbx_ops.cli import main
from dbx_ops.errors import InvalidInputError
from dbx_ops.names import parse_table_name
from dbx_ops.snapshots.registry import validate_label
from dbx_ops.snapshots.retention import parse_keep

BOUNDED = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Printable text plus the characters that break shells, SQL and terminals.
_ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(
    list("`'\";.-_/\\\n\r\t\x00 ")
)
_PIECES = st.text(_ALPHABET, max_size=20) | st.sampled_from(["--", "..", "delta.`", "a.b.c.d", "x; DROP"])
_TEXT = st.lists(_PIECES, max_size=3).map("".join)


def _rejected(check, value: str) -> bool:
    try:
        check(value)
    except InvalidInputError:
        return True
    return False


BAD_TABLES = _TEXT.filter(lambda s: _rejected(parse_table_name, s))
BAD_LABELS = _TEXT.filter(lambda s: _rejected(validate_label, s))
BAD_KEEPS = _TEXT.filter(lambda s: _rejected(parse_keep, s))


@pytest.fixture
def no_spark(monkeypatch):
    import dbx_ops.runtime

    def refuse(*_a, **_k):
        raise AssertionError("Spark was started for input that should have been rejected first")

    monkeypatch.setattr(dbx_ops.runtime, "get_spark", refuse)
    monkeypatch.delenv("DBX_OPS_SCHEMA", raising=False)


def _run(capsys, argv: list[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


def _one_clean_line(err: str) -> None:
    lines = err.strip("\n").splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err


@BOUNDED
@given(bad=BAD_TABLES)
def test_malformed_table_names(no_spark, capsys, bad):
    code, err = _run(capsys, ["snapshot", "create", "--label=ok-1", "--", "sales.orders", bad])
    assert code == 2
    _one_clean_line(err)
    code, err = _run(capsys, ["snapshot", "restore", "ok-1", f"--table={bad}", "--yes"])
    assert code == 2
    _one_clean_line(err)


@BOUNDED
@given(bad=BAD_LABELS)
def test_malformed_labels(no_spark, capsys, bad):
    for argv in (
        ["snapshot", "create", f"--label={bad}", "sales.orders"],
        ["snapshot", "verify", "--", bad],
        ["snapshot", "restore", "--dry-run", "--", bad],
        ["snapshot", "drop", "--yes", "--", bad],
    ):
        code, err = _run(capsys, argv)
        assert code == 2, argv
        _one_clean_line(err)


@BOUNDED
@given(bad=BAD_KEEPS)
def test_malformed_keep_values(no_spark, capsys, bad):
    code, err = _run(capsys, ["snapshot", "create", "--label=ok-1", f"--keep={bad}", "sales.orders"])
    assert code == 2
    _one_clean_line(err)
    assert "--keep" in err


def test_other_inputs_checked_before_spark(no_spark, capsys, tmp_path, monkeypatch):
    code, err = _run(capsys, ["snapshot", "restore", "ok-1", "--max-attempts", "0", "--yes"])
    assert code == 2 and "--max-attempts" in err
    _one_clean_line(err)
    code, err = _run(capsys, ["snapshot", "restore", "ok-1", "--yes", "--html", str(tmp_path)])
    assert code == 2 and "--html" in err
    code, err = _run(capsys, ["snapshot", "create", "s.t", "--label=ok-1", "--clone-schema", "a.b.c"])
    assert code == 2 and "--clone-schema" in err
    monkeypatch.setenv("DBX_OPS_SCHEMA", "a.b.c")
    code, err = _run(capsys, ["snapshot", "list"])
    assert code == 2 and "DBX_OPS_SCHEMA" in err
    _one_clean_line(err)


@pytest.mark.parametrize("bad", ["0", "-1", "x", "1.5", ""])
def test_parallel_must_be_a_whole_number_before_spark(no_spark, capsys, bad):
    for argv in (
        ["snapshot", "restore", "ok-1", "--parallel", bad, "--yes"],
        ["snapshot", "restore", "ok-1", f"--parallel={bad}", "--dry-run"],
    ):
        code, err = _run(capsys, argv)
        assert code == 2, argv
        _one_clean_line(err)
        assert f"--parallel {bad!r} must be a whole number of tables to restore at once, 1 or more." in err
