"""``dbx-ops snapshot ...`` in-process on real Delta (the CLI is thin; the library is tested elsewhere)."""

from __future__ import annotations

import json

import pytest

from dbx_ops.cli import main


@pytest.fixture
def cli(spark, schema, monkeypatch, capsys):
    monkeypatch.setenv("DBX_OPS_SCHEMA", f"{schema}_state")

    def run(*argv):
        capsys.readouterr()
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _ids(spark, t):
    return sorted(r["id"] for r in spark.table(t).collect())


def test_create_list_show_verify_restore_drop(spark, schema, cli, tmp_path):
    a, b = f"{schema}.orders", f"{schema}.customers"
    spark.sql(f"CREATE TABLE {a} (id BIGINT, region STRING) USING DELTA PARTITIONED BY (region)")
    spark.sql(f"INSERT INTO {a} VALUES (1, 'eu'), (2, 'us'), (3, 'eu')")
    spark.sql(f"CREATE TABLE {b} (id BIGINT) USING DELTA")
    spark.sql(f"INSERT INTO {b} VALUES (10), (11)")

    code, out, _ = cli("snapshot", "create", a, b, "--label", "pre-deploy", "--note", "release 42", "--json")
    assert code == 0
    records = json.loads(out)
    assert [r["table_name"] for r in records] == [a, b]
    assert records[0]["partition_columns"] == ["region"] and records[0]["row_count"] == 3

    code, out, _ = cli("snapshot", "list", "--json")
    assert code == 0 and [s["label"] for s in json.loads(out)] == ["pre-deploy"]
    code, out, _ = cli("snapshot", "show", "pre-deploy")
    assert code == 0 and a in out and "note: release 42" in out
    code, out, _ = cli("snapshot", "verify", "pre-deploy")
    assert code == 0 and "restorable" in out

    spark.sql(f"DELETE FROM {a} WHERE region = 'eu'")
    spark.sql(f"INSERT INTO {b} VALUES (12)")

    code, out, _ = cli("snapshot", "restore", "pre-deploy", "--dry-run", "--json")
    plan = json.loads(out)
    assert code == 0 and plan["dry_run"] is True
    assert [c["operation"] for c in plan["tables"][0]["commits_undone"]] == ["DELETE"]
    assert _ids(spark, a) == [2]

    code, _, err = cli("snapshot", "restore", "pre-deploy")
    assert code == 2 and "--yes" in err and "will undo 1 commit(s)" in err
    assert _ids(spark, a) == [2]

    html, md = tmp_path / "r.html", tmp_path / "r.md"
    code, out, _ = cli(
        "snapshot", "restore", "pre-deploy", "--yes", "--json", "--html", str(html), "--markdown", str(md)
    )
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and report["restored"] == [a, b]
    assert _ids(spark, a) == [1, 2, 3] and _ids(spark, b) == [10, 11]
    assert "<table" in html.read_text() and "| check | ok |" in md.read_text()

    code, out, _ = cli("snapshot", "restore", "pre-deploy", "--table", b, "--yes")
    assert code == 0 and "already restored" in out

    code, out, _ = cli("snapshot", "drop", "pre-deploy", "--dry-run")
    assert code == 0 and "dropped" in out
    code, out, _ = cli("snapshot", "drop", "pre-deploy", "--yes")
    assert code == 0
    code, out, _ = cli("snapshot", "list", "--json")
    assert json.loads(out) == []
    code, out, _ = cli("snapshot", "list", "--all", "--json")
    assert json.loads(out)[0]["status"] == "dropped"
    code, _, err = cli("snapshot", "restore", "pre-deploy", "--yes")
    assert code == 2 and "dropped" in err


def test_bad_input_exits_2_with_one_sentence(spark, schema, cli):
    t = f"{schema}.t"
    spark.sql(f"CREATE TABLE {t} (id BIGINT) USING DELTA")
    code, _, err = cli("snapshot", "create", "x; DROP TABLE y", "--label", "l1")
    assert code == 2 and err.startswith("error: Table name") and len(err.strip().splitlines()) == 1
    code, _, err = cli("snapshot", "create", t, "--label", "bad label")
    assert code == 2 and "label" in err
    code, _, err = cli("snapshot", "create", t, "--label", "l2", "--keep", "forever")
    assert code == 2 and "--keep" in err
    code, _, err = cli("snapshot", "create", f"{schema}.missing", "--label", "l3")
    assert code == 2 and "does not exist" in err
    code, _, err = cli("snapshot", "show", "nope")
    assert code == 2 and "no snapshot labelled 'nope'" in err
    code, _, err = cli("snapshot", "restore", "nope", "--yes")
    assert code == 2 and "no snapshot labelled" in err
