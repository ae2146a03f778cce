"""The planner's choice of source per metric, and choosing the log files to replay (pure, no Spark)."""

from __future__ import annotations

from datetime import UTC, datetime

from dbx_ops.validation.delta_log import ColumnLogStats, LogFiles, LogStats, choose_log_files
from dbx_ops.validation.model import Categories, ColumnProfile, Histogram, TableProfile
from dbx_ops.validation.planner import (
    DATA,
    LOG,
    STORED,
    MetricRequest,
    assemble,
    data_request,
    plan_metrics,
)

AT = datetime(2026, 12, 1, tzinfo=UTC)
TYPES = {"id": "bigint", "amount": "double", "ts": "timestamp", "cat": "string"}


def _log(**over):
    cols = {
        "id": ColumnLogStats("id", "bigint", 0, None, 1.0, 99.0),
        "amount": ColumnLogStats("amount", "double", 4, None, 0.5, 10.0),
        "ts": ColumnLogStats("ts", "timestamp", 0, None, None, None, "truncated to milliseconds"),
        "cat": ColumnLogStats("cat", "string", None, "not indexed", None, None, "not indexed"),
    }
    cols.update(over)
    return LogStats("t", True, location="/t", version=3, files=5, row_count=100, columns=cols)


def _profile(**cols):
    schema = tuple(TYPES.items())
    return TableProfile("r1", "t", 3, None, AT, 100, schema, cols)


def test_the_log_answers_counts_and_exact_bounds_the_rest_comes_from_data():
    request = MetricRequest(
        ("id", "amount", "ts", "cat"), TYPES, bounds=("amount", "ts"), moments=("amount",), distinct=("cat",)
    )
    sources = plan_metrics(request, _log())
    assert sources.source_of("row_count") == LOG
    assert sources.source_of("null_count", "id") == LOG
    assert sources.source_of("min_max", "amount") == LOG
    assert sources.source_of("min_max", "ts") == DATA  # inexact in the log: from the data, with why
    assert sources.source_of("mean_stddev", "amount") == DATA
    assert sources.source_of("null_count", "cat") == DATA and sources.source_of("distinct", "cat") == DATA
    why = {(c.metric, c.column): c.note for c in sources.choices}
    assert why[("min_max", "ts")] == "truncated to milliseconds"
    assert why[("row_count", None)] is None
    need = data_request(sources)
    assert need.columns == ["amount", "ts", "cat"] and need.stats == ["amount", "ts"]
    assert need.distinct == ["cat"] and need.distributions == [] and not need.row_count


def test_only_exact_log_metrics_are_used():
    inexact = _log(amount=ColumnLogStats("amount", "double", None, "deletion vectors", None, None, "dv"))
    request = MetricRequest(("amount",), TYPES, bounds=("amount",))
    sources = plan_metrics(request, inexact)
    assert sources.source_of("null_count", "amount") == DATA
    assert sources.source_of("min_max", "amount") == DATA
    no_rows = LogStats("t", True, files=2, row_count=None, row_count_note="1 of 2 files have no statistics")
    assert plan_metrics(MetricRequest((), TYPES), no_rows).source_of("row_count") == DATA


def test_no_log_means_data_and_the_reason_is_kept():
    request = MetricRequest(("id",), TYPES)
    refused = LogStats.unavailable("t", "its Delta log cannot be read here (PERMISSION_DENIED)")
    sources = plan_metrics(request, refused)
    assert {c.source for c in sources.choices} == {DATA}
    assert "PERMISSION_DENIED" in sources.log_note and "PERMISSION_DENIED" in sources.summary()
    filtered = plan_metrics(request, None, log_skipped="a filter")
    assert filtered.log_note == "a filter" and filtered.scanned


def test_a_stored_profile_of_the_same_version_answers_what_the_log_cannot():
    stored = _profile(
        amount=ColumnProfile("amount", "double", 4, min=0.5, max=10.0, mean=3.0, stddev=1.0),
        cat=ColumnProfile("cat", "string", 2, distinct=7, categories=Categories((("a", 60), ("b", 38)))),
    )
    request = MetricRequest(
        ("amount", "cat"),
        TYPES,
        bounds=("amount",),
        moments=("amount",),
        distinct=("cat",),
        distributions=("amount", "cat"),
    )
    sources = plan_metrics(request, _log(), stored)
    assert sources.source_of("min_max", "amount") == LOG  # the log first
    assert sources.source_of("mean_stddev", "amount") == STORED
    assert sources.source_of("distinct", "cat") == STORED
    assert sources.source_of("null_count", "cat") == STORED
    assert sources.source_of("distribution", "cat") == STORED
    assert sources.source_of("distribution", "amount") == DATA  # the stored one has no histogram
    profile = assemble(_profile(), sources, _log(), stored, None)
    assert profile.row_count == 100
    assert profile.columns["amount"].mean == 3.0 and profile.columns["amount"].max == 10.0
    assert profile.columns["cat"].distinct == 7 and profile.columns["cat"].null_count == 2


def test_stored_distributions_count_only_over_the_references_bins():
    stored = _profile(amount=ColumnProfile("amount", "double", 0, histogram=Histogram((1.0, 2.0), (3, 4, 5))))
    same = _profile(amount=ColumnProfile("amount", "double", 0, histogram=Histogram((1.0, 2.0), (1, 1, 1))))
    other = _profile(amount=ColumnProfile("amount", "double", 0, histogram=Histogram((5.0,), (1, 1))))
    request = MetricRequest(("amount",), TYPES, distributions=("amount",))
    assert plan_metrics(request, _log(), stored, same).source_of("distribution", "amount") == STORED
    assert plan_metrics(request, _log(), stored, other).source_of("distribution", "amount") == DATA


def test_assemble_mixes_log_and_data_per_metric():
    request = MetricRequest(("id", "ts"), TYPES, bounds=("id", "ts"))
    sources = plan_metrics(request, _log())
    ts = ColumnProfile("ts", "timestamp", 0, min="2026-01-01T00:00:00", max="2026-01-02T00:00:00")
    data = _profile(ts=ts)
    profile = assemble(_profile(), sources, _log(), None, data)
    assert profile.columns["id"].min == 1.0 and profile.columns["id"].max == 99.0
    assert profile.columns["ts"].max == "2026-01-02T00:00:00"
    assert profile.row_count == 100


def test_choose_log_files_takes_the_newest_complete_checkpoint():
    names = [f"{v:020d}.json" for v in range(0, 13)] + [
        f"{10:020d}.checkpoint.parquet",
        f"{12:020d}.checkpoint.0000000001.0000000002.parquet",  # one part of two: incomplete
    ]
    chosen = choose_log_files(names, 12)
    assert isinstance(chosen, LogFiles)
    assert chosen.checkpoint == (f"{10:020d}.checkpoint.parquet",) and chosen.checkpoint_version == 10
    assert [v for v, _ in chosen.commits] == [11, 12]
    older = choose_log_files(names, 7)  # time travel before the checkpoint: commits 0..7
    assert isinstance(older, LogFiles) and older.checkpoint == () and len(older.commits) == 8
    cleaned = [n for n in names if n != f"{3:020d}.json"]
    assert "commit 3 is missing" in str(choose_log_files(cleaned, 7))


def test_metrics_taken_from_data_are_marked_incremental_when_the_state_was_merged():
    from dbx_ops.validation.planner import INCREMENTAL, MetricSources, _from_incremental

    request = MetricRequest(
        columns=("id", "cat"), types=TYPES, bounds=("id",), moments=(), distinct=("cat",), distributions=()
    )
    plan = plan_metrics(request, _log())
    merged = _from_incremental(plan, "incremental: merged with 12 row(s)")
    assert merged.source_of("distinct", "cat") == INCREMENTAL
    assert merged.source_of("row_count") == LOG and merged.source_of("min_max", "id") == LOG
    assert not merged.scanned  # only the appended rows were read, no full pass
    done = MetricSources(merged.choices, data_queries=1, method_note="incremental: merged with 12 row(s)")
    text = done.summary()
    assert "2 merged from the stored state and the appended rows" in text and "merged with 12 row(s)" in text
    assert done.counts()[INCREMENTAL] == 2 and done.counts()[DATA] == 0
    assert "no data was read" not in text
