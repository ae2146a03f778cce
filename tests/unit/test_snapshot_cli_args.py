"""The snapshot command line parses and explains itself without Spark."""

from dbx_ops.cli import main


def test_help_for_every_subcommand(capsys):
    for sub in ("create", "list", "show", "verify", "restore", "drop", "expire"):
        assert main(["snapshot", sub, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--mode {pin,shallow,deep}" in out and "--keep" in out and "--dry-run" in out and "--yes" in out
    assert "--parallel N" in out


def test_missing_label_and_bad_mode_are_usage_errors(capsys):
    assert main(["snapshot", "create", "s.t"]) == 2
    assert main(["snapshot", "create", "s.t", "--label", "x", "--mode", "copy"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bare_snapshot_prints_help(capsys):
    assert main(["snapshot"]) == 2
    assert "restore" in capsys.readouterr().out
