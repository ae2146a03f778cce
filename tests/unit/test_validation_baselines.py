"""Baseline specs and filter expressions are validated before Spark sees them."""

import pytest

from dbx_ops.errors import InvalidInputError
from dbx_ops.validation.baselines import BaselineSpec
from dbx_ops.validation.profile import ProfileOptions, check_filter


@pytest.mark.parametrize(
    "text,kind,value",
    [
        ("previous", "previous", None),
        ("snapshot:pre-deploy-2026-11-22", "snapshot", "pre-deploy-2026-11-22"),
        ("version:007", "version", "7"),
        ("run:0a1b2c", "run", "0a1b2c"),
        ("table:prod.`orders copy`", "table", "prod.`orders copy`"),
        ('partition:"date = current_date() - 1"', "partition", "date = current_date() - 1"),
        ("partition:date = current_date() - 1", "partition", "date = current_date() - 1"),
    ],
)
def test_parse(text, kind, value):
    spec = BaselineSpec.parse(text)
    assert (spec.kind, spec.value) == (kind, value)
    assert BaselineSpec.parse(str(spec)) == spec


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "empty"),
        ("yesterday", "is not understood; use snapshot:LABEL"),
        ("version:-1", "whole number"),
        ("version:", "needs a value"),
        ("table:a.b.c.d", "at most catalog.schema.table"),
        ("table:x; DROP TABLE y", "invalid character"),
        ("partition:1=1; DROP TABLE t", "without ';'"),
        ("partition:a = 1 -- comment", "'--'"),
        ("partition:id IN (SELECT id FROM secrets)", "'SELECT'"),
    ],
)
def test_bad_baselines_are_refused(text, message):
    with pytest.raises(InvalidInputError) as info:
        BaselineSpec.parse(text)
    assert message in str(info.value)


def test_check_filter():
    assert check_filter("  date = current_date() ") == "date = current_date()"
    for bad in ("", "a /* x */ = 1", "x = 1\x00"):
        with pytest.raises(InvalidInputError):
            check_filter(bad)
    # "selected" is a word, not the SELECT keyword.
    assert check_filter("selected = true") == "selected = true"


def test_profile_options_are_checked():
    with pytest.raises(InvalidInputError, match="rsd"):
        ProfileOptions(rsd=0.0)
    with pytest.raises(InvalidInputError, match="bins"):
        ProfileOptions(bins=1)
