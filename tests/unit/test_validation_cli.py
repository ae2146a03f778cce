"""dbx-ops profile / validate: bad input exits 2 with one sentence, before any Spark session starts."""

import pytest

from dbx_ops.cli import main


def test_help_lists_both_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "profile" in out and "validate" in out
    assert main(["validate", "--help"]) == 0
    assert "partition:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["validate", "s.t", "--baseline", "yesterday"], "is not understood"),
        (["validate", "s.t; drop", "--baseline", "previous"], "invalid character"),
        (["validate", "s.t", "--baseline", "partition:1=1;"], "without ';'"),
        (
            ["validate", "s.t", "--baseline", "previous", "--rules", "/nonexistent/rules.yml"],
            "does not exist",
        ),
        (
            ["validate", "s.t", "--baseline", "previous", "--html", "/nonexistent/dir/r.html"],
            "does not exist",
        ),
        (["profile", "s.t", "--where", "x = 1 -- y"], "'--'"),
        (["validate", "s.t", "--sample", "1.5"], "must be a fraction between 0 and 1"),
        (["validate", "s.t", "--sample", "0"], "must be a fraction between 0 and 1"),
        (["profile", "s.t", "--sample", "ten"], "must be a fraction between 0 and 1"),
    ],
)
def test_bad_input_exits_2(argv, message, capsys, monkeypatch):
    def no_spark(*a, **k):
        raise AssertionError("Spark must not start for bad input")

    monkeypatch.setattr("dbx_ops.runtime.get_spark", no_spark)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_malformed_rules_file_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("dbx_ops.runtime.get_spark", lambda *a, **k: pytest.fail("no Spark for bad rules"))
    rules = tmp_path / "rules.yml"
    rules.write_text("rules:\n  - type: not_null\n    colums: [id]\n")
    assert main(["validate", "s.t", "--baseline", "previous", "--rules", str(rules)]) == 2
    assert "unknown key 'colums'" in capsys.readouterr().err
