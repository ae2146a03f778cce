"""Rules: loading with clear errors, and verdicts on hand-made profiles (no Spark)."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from dbx_ops.errors import ValidationRuleError
from dbx_ops.validation import rules as R
from dbx_ops.validation.model import Categories, ColumnProfile, Histogram, TableProfile

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EDGES = (10.0, 20.0, 30.0)


def profile(
    rows=1000,
    *,
    amount_nulls=0,
    bins=(250, 250, 250, 250),
    cats=(("a", 500), ("b", 300), ("c", 200)),
    distinct_cat=3,
    schema=None,
    newest=NOW - timedelta(hours=1),
    other=0,
):
    cols = {
        "amount": ColumnProfile(
            "amount", "double", amount_nulls, 900, 0.0, 40.0, None, 20.0, 5.0, Histogram(EDGES, tuple(bins))
        ),
        "cat": ColumnProfile("cat", "string", 0, distinct_cat, categories=Categories(tuple(cats), other)),
        "ts": ColumnProfile(
            "ts", "timestamp", 0, 800, "2026-11-01T00:00:00", newest.isoformat(), newest.timestamp()
        ),
    }
    sch = schema or (("amount", "double"), ("cat", "string"), ("ts", "timestamp"))
    cols = {k: v for k, v in cols.items() if k in dict(sch)}
    return TableProfile("run", "s.t", 3, None, NOW, rows, tuple(sch), cols)


BASE = profile()


def verdicts(rules, current, baseline=BASE):
    return {r.rule: r for r in R.load_rules(rules).evaluate(current, baseline, NOW)}


def test_unchanged_data_passes_the_default_rules():
    results = R.default_rules().evaluate(profile(), BASE, NOW)
    assert results and all(r.ok for r in results), [r.message for r in results if not r.ok]


def test_row_loss_is_flagged_by_row_count_change():
    out = verdicts(
        None, profile(rows=800, bins=(200, 200, 200, 200), cats=(("a", 400), ("b", 240), ("c", 160)))
    )
    assert not out["row_count_change"].ok
    assert out["row_count_change"].failed_hard
    assert "-20.0 %" in out["row_count_change"].observed
    assert [r for r, v in out.items() if not v.ok] == ["row_count_change"]


def test_direction_only_row_count_rule_ignores_growth():
    rules = [{"type": "row_count_change", "max_pct": 5, "direction": "drop"}]
    assert verdicts(rules, profile(rows=2000))["row_count_change"].ok
    assert not verdicts(rules, profile(rows=940))["row_count_change"].ok


def test_row_count_bounds_need_no_baseline():
    rules = R.load_rules([{"type": "row_count_bounds", "min": 10, "max": 500}])
    (res,) = rules.evaluate(profile(), None, NOW)
    assert not res.ok and res.expected == "between 10 and 500"


def test_null_burst_is_flagged_by_null_rate_delta():
    out = verdicts(None, profile(amount_nulls=300, bins=(175, 175, 175, 175)))
    assert not out["null_rate_delta:amount"].ok
    assert out["null_rate_delta:amount"].observed == "30.00%"
    assert out["null_rate_delta:cat"].ok


def test_distribution_shift_is_flagged_with_chart_data():
    out = verdicts(None, profile(bins=(50, 50, 100, 800)))
    res = out["distribution_psi:amount"]
    assert not res.ok and res.chart is not None
    assert res.chart["baseline"] == [250, 250, 250, 250] and res.chart["current"] == [50, 50, 100, 800]
    assert res.chart["labels"] == ["< 10", "[10, 20)", "[20, 30)", ">= 30"]


@pytest.mark.parametrize("metric,limit", [("js", 0.1), ("ks", 0.1)])
def test_other_distances(metric, limit):
    rules = [{"type": "distribution", "metric": metric, "max": limit, "columns": ["amount"]}]
    assert not verdicts(rules, profile(bins=(50, 50, 100, 800)))[f"distribution_{metric}:amount"].ok
    assert verdicts(rules, profile())[f"distribution_{metric}:amount"].ok


def test_category_collapse_is_flagged_by_distinct_ratio_and_distribution():
    out = verdicts(None, profile(cats=(("a", 1000),), distinct_cat=1))
    assert not out["distinct_ratio_delta:cat"].ok
    assert out["distinct_ratio_delta:cat"].severity == "warn"
    assert not out["distribution_psi:cat"].ok


def test_a_new_category_lands_in_other_and_shows_as_drift():
    out = verdicts(None, profile(cats=(("a", 200), ("b", 100), ("c", 100)), other=600, distinct_cat=4))
    assert not out["distribution_psi:cat"].ok
    assert out["distribution_psi:cat"].chart["labels"] == ["a", "b", "c", "(other)"]


def test_schema_change_is_flagged_removed_fails_added_warns():
    current = profile(schema=(("amount", "bigint"), ("cat", "string"), ("extra", "int")))
    out = verdicts([{"type": "schema_contract"}], current)
    assert not out["schema_contract:removed"].ok and out["schema_contract:removed"].severity == "fail"
    assert out["schema_contract:removed"].observed == "ts"
    assert not out["schema_contract:retyped"].ok
    assert out["schema_contract:retyped"].observed == "amount double -> bigint"
    assert not out["schema_contract:added"].ok and out["schema_contract:added"].severity == "warn"


def test_explicit_schema_contract_needs_no_baseline():
    rules = R.load_rules(
        [{"type": "schema_contract", "columns": {"amount": "double", "cat": "string"}, "added": "ignore"}]
    )
    assert not rules.needs_baseline
    results = {r.rule: r for r in rules.evaluate(profile(), None, NOW)}
    assert set(results) == {"schema_contract:removed", "schema_contract:retyped"}
    assert all(r.ok for r in results.values())


def test_stale_watermark_is_flagged_by_freshness():
    rules = [{"type": "freshness", "column": "ts", "max_age_hours": 6}]
    assert verdicts(rules, profile())["freshness:ts"].ok
    stale = verdicts(rules, profile(newest=NOW - timedelta(hours=30)))["freshness:ts"]
    assert not stale.ok and "30.0 h old" in stale.observed


def test_not_null_with_mostly():
    rules = [{"type": "not_null", "columns": ["amount"], "mostly": 0.95}]
    assert verdicts(rules, profile(amount_nulls=50))["not_null:amount"].ok
    assert not verdicts(rules, profile(amount_nulls=51))["not_null:amount"].ok


def test_value_range_and_distinct_bounds():
    rules = [
        {"type": "value_range", "column": "amount", "min": 0, "max": 39},
        {"type": "distinct_count_bounds", "column": "cat", "min": 2},
    ]
    out = verdicts(rules, profile())
    assert not out["value_range:amount"].ok and out["value_range:amount"].observed == "min 0, max 40"
    assert out["distinct_count_bounds:cat"].ok


def test_a_column_named_by_a_rule_but_missing_fails():
    out = verdicts([{"type": "not_null", "column": "nope"}], profile())
    assert not out["not_null:nope"].ok and "not in the data" in out["not_null:nope"].message


def test_rules_from_dataclasses_and_round_trip_to_dict():
    rule = R.NotNull(columns=("amount",), mostly=0.9, severity="warn")
    ruleset = R.load_rules([rule, R.RowCountChange(max_pct=5)])
    again = R.load_rules(ruleset.to_dict())
    assert again == ruleset
    assert ruleset.columns_needed() == ["amount"]
    assert R.load_rules([{"type": "row_count_change"}]).columns_needed() == []
    assert R.default_rules().columns_needed() is None


def test_rules_needing_a_baseline_say_so():
    with pytest.raises(ValidationRuleError, match="compares with a baseline"):
        R.load_rules([{"type": "row_count_change"}]).evaluate(profile(), None, NOW)


@pytest.mark.parametrize(
    "spec,message",
    [
        ({"type": "row_count_chnge"}, "rule 1: unknown rule type 'row_count_chnge'; use one of"),
        ({"type": "not_null", "columns": ["a"], "mostyl": 0.9}, "rule 1 (not_null): unknown key 'mostyl'"),
        ({"type": "not_null"}, "rule 1 (not_null): 'columns' is required"),
        ({"type": "not_null", "columns": ["a"], "mostly": 1.5}, "mostly must be between 0 and 1"),
        ({"type": "row_count_change", "max_pct": "ten"}, "'max_pct' must be a number, got 'ten'"),
        ({"type": "row_count_change", "direction": "down"}, "direction 'down' is not one of both, drop"),
        ({"type": "row_count_change", "severity": "error"}, "severity 'error' is not one of fail, warn"),
        ({"type": "row_count_bounds", "min": 10, "max": 5}, "min 10 is greater than max 5"),
        ({"type": "row_count_bounds", "min": 1.5}, "'min' must be a whole number"),
        ({"type": "distribution", "metric": "kl"}, "metric 'kl' is not one of psi, js, ks"),
        ({"type": "freshness", "max_age_hours": 3}, "'column' is required"),
        ({"type": "not_null", "columns": [1]}, "'columns' must be a list of column names"),
        (
            {"type": "schema_contract", "removed": "explode"},
            "removed 'explode' is not one of fail, warn, ignore",
        ),
        (["type", "not_null"], "rule 1 must be a mapping with a 'type' key"),
    ],
)
def test_malformed_rules_give_clear_errors(spec, message):
    with pytest.raises(ValidationRuleError) as info:
        R.load_rules([spec])
    assert message in str(info.value)


def test_rules_files(tmp_path):
    good = tmp_path / "rules.yml"
    good.write_text("rules:\n  - type: not_null\n    column: id\n    mostly: 0.99\n    severity: warn\n")
    (rule,) = R.load_rules(good).rules
    assert rule == R.NotNull(columns=("id",), mostly=0.99, severity="warn")

    bad_yaml = tmp_path / "bad.yml"
    bad_yaml.write_text("rules:\n  - type: not_null\n   columns: [id]\n")
    with pytest.raises(ValidationRuleError, match=r"bad.yml is not valid YAML at line 3"):
        R.load_rules(bad_yaml)

    wrong = tmp_path / "wrong.yml"
    wrong.write_text("rules:\n  - type: freshness\n    column: ts\n    max_age_hours: -1\n")
    with pytest.raises(
        ValidationRuleError, match=r"wrong.yml: rule 1 \(freshness\): max_age_hours must not be"
    ):
        R.load_rules(wrong)

    empty = tmp_path / "empty.yml"
    empty.write_text("")
    with pytest.raises(ValidationRuleError, match="is empty"):
        R.load_rules(empty)

    extra = tmp_path / "extra.yml"
    extra.write_text("rules: []\nthresholds: {}\n")
    with pytest.raises(ValidationRuleError, match="unknown top-level keys"):
        R.load_rules(extra)

    with pytest.raises(ValidationRuleError, match="does not exist"):
        R.load_rules(tmp_path / "missing.yml")


def test_rules_are_frozen():
    rule = R.RowCountChange()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.max_pct = 1  # type: ignore[misc]


def test_only_the_distinct_counts_rules_read_are_computed():
    assert R.load_rules([{"type": "not_null", "columns": ["a"]}]).distinct_needed() == []
    rules = [
        {"type": "distinct_count_bounds", "column": "cat", "min": 1},
        {"type": "distinct_ratio_delta", "columns": ["cat", "region"]},
    ]
    assert R.load_rules(rules).distinct_needed() == ["cat", "region"]
    assert R.default_rules().distinct_needed() is None  # distribution rules: every column


def test_only_the_distributions_rules_compare_are_counted():
    assert R.load_rules([{"type": "not_null", "columns": ["a"]}]).distributions_needed() == []
    rules = [
        {"type": "distribution", "columns": ["amount"]},
        {"type": "distribution", "metric": "ks", "columns": ["amount", "qty"]},
    ]
    assert R.load_rules(rules).distributions_needed() == ["amount", "qty"]
    assert R.default_rules().distributions_needed() is None  # a distribution rule on every column


def test_chi_square_rule_fails_on_a_small_p_value_and_names_it():
    rules = [{"type": "distribution", "metric": "chi2", "min_p": 0.05, "columns": ["amount", "cat"]}]
    shifted = verdicts(rules, profile(bins=(200, 250, 250, 300), cats=(("a", 400), ("b", 350), ("c", 250))))
    assert not shifted["distribution_chi2:amount"].ok and not shifted["distribution_chi2:cat"].ok
    assert shifted["distribution_chi2:amount"].expected == "p >= 0.05"
    assert "p-value" in shifted["distribution_chi2:amount"].message
    same = verdicts(rules, profile())
    assert same["distribution_chi2:amount"].ok and same["distribution_chi2:amount"].observed == "chi2=p=1"


def test_total_variation_and_wasserstein_rules():
    shifted = profile(bins=(50, 50, 100, 800))
    tvd = [{"type": "distribution", "metric": "tvd", "max": 0.2}]
    out = verdicts(tvd, shifted)
    assert not out["distribution_tvd:amount"].ok and out["distribution_tvd:amount"].observed == "tvd=0.5500"
    assert out["distribution_tvd:cat"].ok  # categories did not move
    # Wasserstein: numeric columns only, in the column's units (mass moved times distance)
    ws = [{"type": "distribution", "metric": "wasserstein", "max": 5.0}]
    out = verdicts(ws, shifted)
    assert list(out) == ["distribution_wasserstein:amount"]  # the categorical column is not measured
    assert not out["distribution_wasserstein:amount"].ok
    assert verdicts(ws, profile())["distribution_wasserstein:amount"].ok
    named = verdicts([{**ws[0], "columns": ["cat"]}], profile())["distribution_wasserstein:cat"]
    assert not named.ok and "needs a numeric column" in named.message
