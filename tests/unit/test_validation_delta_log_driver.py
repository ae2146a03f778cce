"""The driver's replay of a Delta log: pure replay and summing rules, and the fallback when it cannot read."""

from __future__ import annotations

import json

from dbx_ops.validation.delta_log import (
    DeltaLogReader,
    LogFiles,
    choose_log_files,
    local_log_folder,
    read_log_actions,
    replay,
    stats_from_actions,
)

SCHEMA = {
    "type": "struct",
    "fields": [
        {"name": "id", "type": "long", "nullable": True, "metadata": {}},
        {
            "name": "amount_eur",  # renamed under column mapping: stats keyed by the physical name
            "type": "decimal(10,2)",
            "nullable": True,
            "metadata": {"delta.columnMapping.physicalName": "col-9a1"},
        },
        {"name": "day", "type": "date", "nullable": True, "metadata": {}},
        {"name": "name", "type": "string", "nullable": True, "metadata": {}},
        {"name": "ts", "type": "timestamp", "nullable": True, "metadata": {}},
        {"name": "region", "type": "integer", "nullable": True, "metadata": {}},
    ],
}
META = {"metaData": {"schemaString": json.dumps(SCHEMA), "partitionColumns": ["region"], "configuration": {}}}


def _add(path, n, nulls, lo, hi, region="1", dv=None, stats=True):
    add = {"path": path, "partitionValues": {"region": region}, "dataChange": True}
    if stats:
        add["stats"] = json.dumps(
            {"numRecords": n, "nullCount": nulls, "minValues": lo, "maxValues": hi, "tightBounds": dv is None}
        )
    if dv is not None:
        add["deletionVector"] = {
            "storageType": "u",
            "pathOrInlineDv": dv[0],
            "offset": 1,
            "cardinality": dv[1],
        }
    return {"add": add}


def _file(path, n, region="1", dv=None, name_lo="a", name_hi="k", stats=True):
    return _add(
        path,
        n,
        {"id": 0, "col-9a1": 1, "day": 0, "name": 2, "ts": 0},
        {"id": 10, "col-9a1": 1.25, "day": "2026-01-02", "name": name_lo, "ts": "2026-01-01T00:00:00.123Z"},
        {"id": 99, "col-9a1": 12.5, "day": "2026-02-01", "name": name_hi, "ts": "2026-01-02T00:00:00.999Z"},
        region,
        dv,
        stats,
    )


def _stats(actions):
    meta, live = replay(actions)
    return stats_from_actions("t", "/t", 9, meta, live)


def test_replay_keeps_the_newest_action_per_file_and_deletion_vector():
    actions = [
        (0, META),
        (0, _file("a.parquet", 10)),
        (0, _file("b.parquet", 5)),
        (1, {"remove": {"path": "b.parquet", "dataChange": True}}),
        # a DELETE with deletion vectors: remove (a, no DV), add (a, DV of 3 rows)
        (2, {"remove": {"path": "a.parquet", "dataChange": True}}),
        (2, _file("a.parquet", 10, dv=("dv1", 3))),
        (3, _file("c.parquet", 4, region="2")),
    ]
    meta, live = replay(actions)
    assert meta is not None and sorted(a["path"] for a in live) == ["a.parquet", "c.parquet"]
    stats = stats_from_actions("t", "/t", 3, meta, live)
    assert stats.reader == "driver" and stats.files == 2
    assert stats.row_count == 10 - 3 + 4  # numRecords minus the deletion vector's cardinality
    # a file with a deletion vector: its counts predate the delete, bounds are not tight
    assert stats.column("id").null_count is None and "deletion vectors" in stats.column("id").nulls_note
    region = stats.column("region")  # partition values stay exact
    assert (region.null_count, region.min, region.max) == (0, 1.0, 2.0)


def test_exact_figures_by_physical_name_and_the_notes_of_what_is_not_exact():
    stats = _stats([(0, META), (0, _file("a", 10)), (1, _file("b", 20, region="3", name_hi="zz"))])
    assert stats.row_count == 30
    amount = stats.column("amount_eur")
    assert (amount.null_count, amount.min, amount.max) == (2, 1.25, 12.5)
    day = stats.column("day")
    assert (day.min, day.max) == ("2026-01-02", "2026-02-01") and day.max_epoch is not None
    name = stats.column("name")
    assert name.null_count == 4 and (name.min, name.max) == ("a", "zz")
    assert "milliseconds" in stats.column("ts").bounds_note and stats.column("ts").null_count == 0


def test_long_strings_and_files_without_statistics_fall_back():
    long = "x" * 32
    stats = _stats([(0, META), (0, _file("a", 10, name_hi=long)), (1, _file("b", 3, stats=False))])
    assert stats.row_count is None and "1 of 2 files have no statistics" in stats.row_count_note
    assert stats.column("id").null_count is None and "no statistics" in stats.column("id").nulls_note
    only_long = _stats([(0, META), (0, _file("a", 10, name_hi=long))])
    assert "prefixes" in only_long.column("name").bounds_note
    assert only_long.column("name").null_count == 2  # the null count is still exact


def test_a_column_past_the_indexed_ones_has_no_figures():
    actions = [(0, META), (0, _add("a", 5, {"id": 0}, {"id": 1}, {"id": 5}))]
    stats = _stats(actions)
    ident = stats.column("id")
    assert ident.null_count == 0 and (ident.min, ident.max) == (1.0, 5.0)
    assert stats.column("name").null_count is None and "not indexed" in stats.column("name").nulls_note


def test_local_log_folder_maps_what_the_driver_can_open():
    assert local_log_folder("file:/tmp/t") == "/tmp/t/_delta_log"
    assert local_log_folder("file:///tmp/t/") == "/tmp/t/_delta_log"
    assert local_log_folder("/Volumes/main/s/v/t") == "/Volumes/main/s/v/t/_delta_log"
    assert local_log_folder("dbfs:/mnt/t", isdir=lambda p: p == "/dbfs") == "/dbfs/mnt/t/_delta_log"
    assert local_log_folder("dbfs:/mnt/t", isdir=lambda p: False) is None
    assert local_log_folder("s3://bucket/t") is None and local_log_folder("abfss://c@a.dfs/t") is None


def test_read_log_actions_reads_the_commits_after_no_checkpoint(tmp_path):
    log = tmp_path / "_delta_log"
    log.mkdir()
    (log / f"{0:020d}.json").write_text(
        "\n".join(json.dumps(a) for a in [{"protocol": {}}, META, _file("a", 10)]) + "\n"
    )
    (log / f"{1:020d}.json").write_text(json.dumps(_file("b", 7, region="2")) + "\n")
    chosen = choose_log_files([p.name for p in log.iterdir()], 1)
    assert isinstance(chosen, LogFiles)
    actions = read_log_actions(str(log), chosen)
    assert [v for v, _ in actions] == [0, 0, 1]
    assert _stats(actions).row_count == 17


def test_a_folder_the_driver_cannot_open_falls_back_and_says_why(tmp_path):
    # no Spark here (spark=None): the Spark replay fails too, so the record says why for both
    missing = tmp_path / "nowhere"
    stats = DeltaLogReader(None).read(f"delta.`{missing}`")
    assert not stats.available
    assert "on the driver" in stats.reason and "No such file or directory" in stats.reason
    assert "cannot be read here" in stats.reason

    # a table folder whose _delta_log is not a folder the driver can list (root reads through
    # permission bits, so the refusal is simulated by a file where the folder should be)
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "_delta_log").write_text("not a folder")
    refused = DeltaLogReader(None).read(f"delta.`{blocked}`")
    assert not refused.available and "Not a directory" in refused.reason
    assert DeltaLogReader(None).latest_version(f"delta.`{blocked}`") is None
