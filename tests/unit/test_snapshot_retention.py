from datetime import datetime, timedelta

import pytest

from dbx_ops.errors import InvalidInputError, SnapshotError
from dbx_ops.snapshots.retention import (
    FILE_RETENTION,
    LOG_RETENTION,
    RetentionWindow,
    format_interval,
    parse_interval,
    parse_keep,
    retention_plan,
)

T0 = datetime(2024, 6, 1, 12, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("interval 30 days", timedelta(days=30)),
        ("interval 1 week", timedelta(weeks=1)),
        ("INTERVAL 2 weeks", timedelta(weeks=2)),
        ("interval 36 hours", timedelta(hours=36)),
        ("interval 1 day 12 hours", timedelta(days=1, hours=12)),
        ("7 days", timedelta(days=7)),
        ("interval 90 minutes", timedelta(minutes=90)),
    ],
)
def test_parse_interval_reads_delta_syntax(text, expected):
    assert parse_interval(text) == expected


@pytest.mark.parametrize(
    "text", ["", "interval", "interval 3 fortnights", "thirty days", "interval 3 days; x"]
)
def test_parse_interval_refuses_garbage(text):
    with pytest.raises(InvalidInputError):
        parse_interval(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        ("interval 3 days", timedelta(days=3)),
    ],
)
def test_parse_keep(text, expected):
    assert parse_keep(text) == expected


@pytest.mark.parametrize("text", ["0d", "-3d", "forever", "3y"])
def test_parse_keep_refuses(text):
    with pytest.raises(InvalidInputError, match="--keep"):
        parse_keep(text)


def test_format_interval_rounds_up_to_hours_and_days():
    assert format_interval(timedelta(days=30)) == "interval 30 days"
    assert format_interval(timedelta(hours=36)) == "interval 36 hours"
    assert format_interval(timedelta(hours=1, minutes=1)) == "interval 2 hours"
    assert parse_interval(format_interval(timedelta(days=45))) == timedelta(days=45)


def test_defaults_and_window_per_mode():
    w = RetentionWindow.from_properties({})
    assert w.window("pin") == timedelta(weeks=1)  # min(30 days, 1 week)
    assert w.window("shallow") == timedelta(weeks=1)
    assert w.window("deep") is None
    custom = RetentionWindow.from_properties(
        {LOG_RETENTION: "interval 3 days", FILE_RETENTION: "interval 10 days"}
    )
    assert custom.restorable_until(T0, "pin") == T0 + timedelta(days=3)
    assert custom.restorable_until(T0, "shallow") == T0 + timedelta(days=10)


def test_keep_within_window_changes_nothing():
    until, changes = retention_plan(RetentionWindow(), "pin", T0, timedelta(days=5), False)
    assert until == T0 + timedelta(weeks=1)
    assert changes == {}


def test_keep_beyond_window_is_refused_with_both_ways_out():
    with pytest.raises(SnapshotError) as err:
        retention_plan(RetentionWindow(), "pin", T0, timedelta(days=30), False)
    message = str(err.value)
    assert "--extend-retention" in message and "--mode deep" in message
    assert FILE_RETENTION in message and LOG_RETENTION not in message


def test_keep_beyond_window_with_opt_in_raises_only_what_is_short():
    until, changes = retention_plan(RetentionWindow(), "pin", T0, timedelta(days=30), True)
    assert changes == {FILE_RETENTION: "interval 30 days"}
    assert until == T0 + timedelta(days=30)
    until, changes = retention_plan(RetentionWindow(), "pin", T0, timedelta(days=60), True)
    assert changes == {FILE_RETENTION: "interval 60 days", LOG_RETENTION: "interval 60 days"}
    assert until == T0 + timedelta(days=60)


def test_deep_copies_need_no_retention():
    until, changes = retention_plan(RetentionWindow(), "deep", T0, timedelta(days=365), False)
    assert until is None and changes == {}
