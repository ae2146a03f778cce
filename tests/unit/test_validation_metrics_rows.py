"""The metrics-table layout: a profile survives the round trip through its rows (no Spark)."""

import json
from datetime import UTC, datetime

import pytest

from dbx_ops.errors import NotFoundError
from dbx_ops.validation.metrics import (
    METRICS_DDL,
    profile_from_json,
    profile_from_rows,
    profile_to_json,
    profile_to_rows,
)
from dbx_ops.validation.model import Categories, ColumnProfile, Histogram, TableProfile

PROFILE = TableProfile(
    run_id="abc",
    table_name="sales.orders",
    delta_version=7,
    filter="date = current_date()",
    profiled_at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
    row_count=1000,
    schema=(("amount", "decimal(10,2)"), ("cat", "string"), ("ts", "timestamp"), ("tags", "array<string>")),
    columns={
        "amount": ColumnProfile(
            "amount",
            "decimal(10,2)",
            10,
            950,
            0.5,
            99.5,
            None,
            50.0,
            10.0,
            Histogram((10.0, 20.0), (100, 200, 690)),
        ),
        "cat": ColumnProfile(
            "cat", "string", 0, 3, categories=Categories((("b", 600), ("a", 300), ("", 50)), 50)
        ),
        "ts": ColumnProfile(
            "ts", "timestamp", 1, 900, "2026-11-01T00:00:00", "2026-11-22T09:00:00", 1795338000.0
        ),
        "tags": ColumnProfile("tags", "array<string>", 4),
    },
)


def test_round_trip():
    back = profile_from_rows(profile_to_rows(PROFILE))
    assert back == PROFILE


def test_rows_follow_the_contract_columns():
    rows = profile_to_rows(PROFILE)
    names = [c.split()[0] for c in METRICS_DDL.split(", ")]
    for needed in (
        "run_id",
        "table_name",
        "delta_version",
        "filter",
        "profiled_at",
        "column_name",
        "metric",
        "value",
    ):
        assert needed in names
    assert all(set(r) == set(names) for r in rows)
    by = {(r["column_name"], r["metric"], r["bucket"]): r for r in rows}
    assert by[(None, "row_count", None)]["value"] == 1000.0
    assert by[("amount", "null_rate", None)]["value"] == pytest.approx(0.01)
    assert by[("amount", "bin_count", "002")]["value"] == 690.0
    assert by[("cat", "top_count", "b")]["value"] == 600.0
    assert by[("ts", "max", None)]["text"] == "2026-11-22T09:00:00"
    assert by[("tags", "dtype", None)]["text"] == "array<string>"


def test_no_rows_is_not_found():
    with pytest.raises(NotFoundError):
        profile_from_rows([])


def test_the_profile_row_carries_the_whole_profile_as_json():
    rows = [r for r in profile_to_rows(PROFILE) if r["metric"] == "profile"]
    assert len(rows) == 1 and rows[0]["column_name"] is None
    assert json.loads(rows[0]["bucket"]) == ["amount", "cat", "tags", "ts"]  # what was measured
    assert rows[0]["value"] == 4.0
    back = profile_from_json(rows[0]["text"])
    assert back == PROFILE
    assert back.profiled_at.tzinfo is not None
    # the per-metric rows alone still rebuild the same profile (the profile row is skipped)
    assert profile_from_rows([r for r in profile_to_rows(PROFILE) if r["metric"] != "profile"]) == PROFILE


def test_profile_json_keeps_nan_and_empty_profiles():
    empty = TableProfile("r0", None, None, None, PROFILE.profiled_at, 0)
    assert profile_from_json(profile_to_json(empty)) == empty
    odd = TableProfile(
        "r1",
        "t",
        1,
        None,
        PROFILE.profiled_at,
        1,
        (("x", "double"),),
        {"x": ColumnProfile("x", "double", stddev=float("nan"))},
    )
    back = profile_from_json(profile_to_json(odd))
    assert back.columns["x"].stddev != back.columns["x"].stddev  # NaN survives
