from datetime import UTC, datetime

import pytest

from dbx_ops.errors import InvalidInputError
from dbx_ops.snapshots.fingerprint import Fingerprint, fingerprint_query
from dbx_ops.snapshots.registry import (
    SNAPSHOTS_DDL,
    EventKind,
    SnapshotEvent,
    SnapshotRecord,
    same_table,
    validate_label,
)

REC = SnapshotRecord(
    label="pre-deploy-1",
    table_name="sales.orders",
    table_id="abc-123",
    version=7,
    commit_timestamp=datetime(2024, 6, 1, 12, 0),
    mode="shallow",
    clone_target="dbx_ops_snapshots.orders__pre_deploy_1",
    properties={"delta.enableChangeDataFeed": "true"},
    partition_columns=("region",),
    table_features=("changeDataFeed", "appendOnly"),
    row_count=10,
    created_at=datetime(2024, 6, 1, 12, 5),
)


def test_record_round_trips_through_a_registry_row():
    row = REC.to_row()
    assert set(row) == {c.split()[0] for c in SNAPSHOTS_DDL.split(", ")}
    assert row["partition_columns"] == '["region"]'
    back = SnapshotRecord.from_row(row)
    # Rows written before times were UTC-aware are naive: they are read as UTC.
    assert back == SnapshotRecord(
        **{
            **REC.__dict__,
            "table_features": ("appendOnly", "changeDataFeed"),
            "commit_timestamp": datetime(2024, 6, 1, 12, 0, tzinfo=UTC),
            "created_at": datetime(2024, 6, 1, 12, 5, tzinfo=UTC),
        }
    )
    assert back.table.sql == "`sales`.`orders`"
    assert row["created_at"].tzinfo is UTC and SnapshotRecord.from_row(back.to_row()) == back


def test_events_are_written_utc_aware_and_old_naive_events_read_as_utc():
    event = SnapshotEvent("l", "s.t", EventKind.RESTORED, datetime(2024, 6, 1, 12, 0), "ana", 3, "{}")
    row = event.to_row()
    assert row["at"] == datetime(2024, 6, 1, 12, 0, tzinfo=UTC) and row["event"] == "restored"
    assert type(row["event"]) is str
    assert SnapshotEvent.from_row({**row, "at": datetime(2024, 6, 1, 12, 0)}).at.tzinfo is UTC


def test_contract_columns_exist():
    cols = dict(c.split(" ", 1) for c in SNAPSHOTS_DDL.split(", "))
    for name, tp in [
        ("label", "STRING"),
        ("table_name", "STRING"),
        ("table_id", "STRING"),
        ("version", "BIGINT"),
        ("commit_timestamp", "TIMESTAMP"),
        ("created_at", "TIMESTAMP"),
        ("mode", "STRING"),
        ("clone_target", "STRING"),
    ]:
        assert cols[name] == tp


def test_to_dict_is_json_friendly():
    d = REC.to_dict()
    assert d["commit_timestamp"] == "2024-06-01T12:00:00"
    assert d["partition_columns"] == ["region"]


@pytest.mark.parametrize("label", ["pre-deploy", "dbr-15.4_upgrade", "a", "rel@2024-06-01+1"])
def test_good_labels(label):
    assert validate_label(label) == label


@pytest.mark.parametrize("label", ["", "-x", "has space", "x'; DROP TABLE t; --", "a" * 129, "lab`el"])
def test_bad_labels(label):
    with pytest.raises(InvalidInputError, match="label"):
        validate_label(label)


def test_same_table_is_case_insensitive_for_catalog_tables_only():
    assert same_table("Sales.Orders", "sales.orders")
    assert not same_table("sales.orders", "sales.order")
    assert same_table("delta.`/data/t/`", "delta.`/data/t`")
    assert not same_table("delta.`/data/T`", "delta.`/data/t`")


def test_fingerprint_query_quotes_columns_and_handles_maps():
    q = fingerprint_query(
        "`s`.`t` VERSION AS OF 3", [("id", "bigint"), ("we`ird", "string"), ("m", "map<string,int>")]
    )
    assert "xxhash64(`id`, `we``ird`, to_json(named_struct('v', `m`)))" in q
    assert "DECIMAL(38,0)" in q and "bit_xor" in q and q.endswith("FROM `s`.`t` VERSION AS OF 3)")
    fp = Fingerprint(3, -12, 99)
    assert Fingerprint.parse(str(fp)) == fp
