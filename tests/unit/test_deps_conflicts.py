# ruff: noqa: E501  (the fixtures are uv's stderr verbatim)
"""The resolver-explanation parser, on uv 0.13.9's real stderr (captured against the
shipped 15.4.x-cpu-ml-scala2.12 baseline, which pins numpy 1.23.5, attrs 22.1.0,
pydantic 1.10.6, jupyter-server 1.23.4, jsonschema 4.17.3)."""

from dbx_ops.deps.conflicts import Conflict, parse_conflicts, parse_failures

BASELINE = {
    "numpy": "1.23.5",
    "attrs": "22.1.0",
    "pydantic": "1.10.6",
    "jupyter-server": "1.23.4",
    "jsonschema": "4.17.3",
}

DIRECT = """\
error: No solution found when resolving dependencies
  cause: Because you require numpy==1.21.0 and numpy==1.23.5, we can conclude that your requirements are unsatisfiable.
"""

TRANSITIVE = """\
error: No solution found when resolving dependencies
  cause: Because referencing==0.35.1 depends on attrs>=22.2.0 and attrs==22.1.0, we can conclude that referencing==0.35.1 cannot be used.
         And because you require referencing==0.35.1, we can conclude that your requirements are unsatisfiable.
"""

RANGE_SET = """\
error: No solution found when resolving dependencies
  cause: Because all of:
             great-expectations>=1.0.0,<=1.0.2
             great-expectations>=1.0.4,<=1.4.6
             great-expectations>=1.5.0
         depend on pydantic>=1.10.7 and pydantic==1.10.6, we can conclude that all of:
             great-expectations>=1.0.0,<=1.0.2
             great-expectations>=1.0.4,<=1.4.6
             great-expectations>=1.5.0
          cannot be used.
         And because only the following versions of great-expectations are available:
             great-expectations<=1.0.2
             great-expectations==1.0.3
             great-expectations>=1.0.4
         we can conclude that all of:
             great-expectations>=1.0.0,<1.0.3
             great-expectations>1.0.3,<=1.4.6
             great-expectations>=1.5.0
          cannot be used.
         And because great-expectations==1.0.3 was yanked and only the following versions of great-expectations are available:
             great-expectations<=1.4.6
             great-expectations==1.4.7
             great-expectations>=1.5.0
         we can conclude that all of:
             great-expectations>=1.0.0,<1.4.7
             great-expectations>1.4.7
          cannot be used.
         And because great-expectations==1.4.7 was yanked (reason: The version accidently was set to 1.4.7 instead of 1.5.0) and you require great-expectations>=1.0, we can conclude that your requirements are unsatisfiable.
"""

RANGE_DEP = """\
error: No solution found when resolving dependencies
  cause: Because jupyterlab==4.2.0 depends on jupyter-server>=2.4.0,<3 and jupyter-server==1.23.4, we can conclude that jupyterlab==4.2.0 cannot be used.
         And because you require jupyterlab==4.2.0, we can conclude that your requirements are unsatisfiable.
"""

EXTRAS_DEP = """\
error: No solution found when resolving dependencies
  cause: Because jupyter-events==0.10.0 depends on jsonschema[format-nongpl]>=4.18.0 and jsonschema==4.17.3, we can conclude that jupyter-events==0.10.0 cannot be used.
         And because you require jupyter-events==0.10.0, we can conclude that your requirements are unsatisfiable.
"""

# Two hops: jupyter-ai -> jupyterlab>=4.0 -> jupyter-server>=2.4.0, runtime pins jupyter-server 1.23.4.
MULTI_HOP = """\
error: No solution found when resolving dependencies
  cause: Because jupyterlab>=4.6.0rc0 depends on jupyter-server>=2.19.0 and jupyterlab>=4.0.0,<=4.6.0b1 depends on jupyter-server>=2.4.0, we can conclude that jupyterlab>=4.0.0 depends on jupyter-server>=2.4.0.
         And because jupyter-ai==2.20.0 depends on jupyter-server==1.23.4, we can conclude that jupyter-ai==2.20.0 and jupyterlab>=4.0.0 are incompatible.
         And because jupyter-ai==2.20.0 depends on jupyterlab>=4.0 and you require jupyter-ai==2.20.0, we can conclude that your requirements are unsatisfiable.
"""

NO_VERSION = """\
error: No solution found when resolving dependencies
  cause: Because there is no version of chispa==99.0 and you require chispa==99.0, we can conclude that your requirements are unsatisfiable.
"""

NOT_FOUND = """\
error: No solution found when resolving dependencies
  cause: Because surely-not-a-real-package-dbxops was not found in the package registry and you require surely-not-a-real-package-dbxops==1.0, we can conclude that your requirements are unsatisfiable.
"""


def test_direct_conflict_names_both_sides():
    [c] = parse_conflicts(DIRECT, {"numpy": "numpy==1.21.0"}, BASELINE)
    assert c == Conflict("direct", "numpy", "numpy==1.21.0", "numpy", "1.23.5")
    text = c.summary()
    assert "numpy==1.21.0" in text and "numpy==1.23.5" in text and "direct" in text


def test_transitive_conflict_names_the_blocking_runtime_package():
    [c] = parse_conflicts(TRANSITIVE, {"referencing": "referencing==0.35.1"}, BASELINE)
    assert c.kind == "transitive"
    assert (c.package, c.requested) == ("referencing", "referencing==0.35.1")
    assert (c.blocker, c.blocker_version, c.needs) == ("attrs", "22.1.0", "attrs>=22.2.0")
    assert c.path == ("referencing==0.35.1", "attrs>=22.2.0")
    assert "transitive" in c.summary() and "attrs==22.1.0" in c.summary()


def test_range_set_explanation_is_one_transitive_conflict():
    conflicts = parse_conflicts(RANGE_SET, {"great-expectations": "great-expectations>=1.0"}, BASELINE)
    assert len(conflicts) == 1
    c = conflicts[0]
    assert (c.kind, c.package, c.blocker, c.blocker_version) == (
        "transitive",
        "great-expectations",
        "pydantic",
        "1.10.6",
    )
    assert c.needs == "pydantic>=1.10.7"
    assert c.requested == "great-expectations>=1.0"


def test_dependency_with_a_version_range_and_extras():
    [c] = parse_conflicts(RANGE_DEP, {"jupyterlab": "jupyterlab==4.2.0"}, BASELINE)
    assert (c.blocker, c.needs) == ("jupyter-server", "jupyter-server<3,>=2.4.0")
    [e] = parse_conflicts(EXTRAS_DEP, {"jupyter-events": "jupyter-events==0.10.0"}, BASELINE)
    assert (e.blocker, e.blocker_version, e.needs) == ("jsonschema", "4.17.3", "jsonschema>=4.18.0")


def test_newest_fit_goes_into_the_summary():
    [c] = parse_conflicts(DIRECT, {"numpy": "numpy==1.21.0"}, BASELINE)
    assert "newest numpy that fits the runtime: 1.23.5" in c.with_newest_fit("1.23.5").summary()
    assert "no version of numpy fits" in c.with_newest_fit(None).summary()
    assert c.with_newest_fit("1.23.5").to_dict()["newest_fit"] == "1.23.5"


def test_failures_that_are_not_conflicts():
    assert parse_conflicts(NO_VERSION, {"chispa": "chispa==99.0"}, BASELINE) == []
    [f] = parse_failures(NO_VERSION)
    assert (f.kind, f.requirement) == ("no-version", "chispa==99.0")
    [g] = parse_failures(NOT_FOUND)
    assert (g.kind, g.requirement) == ("not-found", "surely-not-a-real-package-dbxops")
    assert "not on the package index" in g.summary()


def test_a_package_the_baseline_does_not_pin_is_not_called_a_conflict():
    # The same text, but numpy is not in the baseline: not a baseline conflict.
    assert parse_conflicts(DIRECT, {"numpy": "numpy==1.21.0"}, {"attrs": "22.1.0"}) == []
    # attrs pinned at another version than the text names: not this baseline's pin.
    assert parse_conflicts(TRANSITIVE, {"referencing": "referencing==0.35.1"}, {"attrs": "21.0.0"}) == []


def test_multi_hop_transitive_conflict_shows_the_path():
    [c] = parse_conflicts(MULTI_HOP, {"jupyter-ai": "jupyter-ai==2.20.0"}, BASELINE)
    assert (c.kind, c.package, c.blocker, c.blocker_version) == (
        "transitive",
        "jupyter-ai",
        "jupyter-server",
        "1.23.4",
    )
    assert c.needs == "jupyter-server>=2.4.0"
    assert c.path == ("jupyter-ai==2.20.0", "jupyterlab>=4.0", "jupyter-server>=2.4.0")
    assert "via jupyter-ai==2.20.0 -> jupyterlab>=4.0 -> jupyter-server>=2.4.0" in c.summary()
