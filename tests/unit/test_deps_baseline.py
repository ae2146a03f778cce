from datetime import UTC, datetime
from pathlib import Path

import pytest

from dbx_ops.deps.baseline import capture_baseline, import_baseline, parse_baseline, runtime_for
from dbx_ops.deps.layout import known_runtimes
from dbx_ops.errors import InvalidInputError

REPO = Path(__file__).resolve().parents[2]

PUBLISHED = """\
# constraints.txt file for Databricks Runtime 15.4 LTS ML (includes Apache Spark 3.5.0, Scala 2.12)

# Packages incompatible with databricks-connect (masked to allow dev dependency installation):
#   - databricks-sdk==0.20.0

absl-py~=1.0.0
horovod @ git+https://github.com/wenfeiy-db/horovod.git@d510b1d385628f8ac5770199c0824fd5b7e01394
Numpy~=1.23.5
torch==2.3.1+cpu
"""


@pytest.mark.parametrize(
    ("key", "dbr", "python", "flavour"),
    [
        ("15.4.x-scala2.12", "15.4", "3.11", "standard"),
        ("15.4.x-cpu-ml-scala2.12", "15.4", "3.11", "ml"),
        ("16.4.x-scala2.12", "16.4", "3.12", "standard"),
        ("17.3.x-gpu-ml-scala2.13", "17.3", "3.12", "gpu"),
        ("14.3.x-scala2.12", "14.3", "3.10", "standard"),
        ("serverless-v4", "client.4", "3.12", "serverless"),
    ],
)
def test_runtime_keys(key, dbr, python, flavour):
    rt = runtime_for(key)
    assert (rt.dbr, rt.python, rt.flavour) == (dbr, python, flavour)
    assert rt.supports_init_scripts is (flavour != "serverless")


def test_unknown_or_malformed_runtime_keys():
    with pytest.raises(InvalidInputError, match="not a runtime key"):
        runtime_for("15.4; rm -rf /")
    with pytest.raises(InvalidInputError, match="pass it"):
        runtime_for("9.1.x-scala2.12")
    assert runtime_for("9.1.x-scala2.12", "3.8").python == "3.8"


def test_import_converts_published_constraints_to_exact_pins():
    b = import_baseline(PUBLISHED, "15.4.x-cpu-ml-scala2.12", "2026-11-22", "published")
    assert [p.text() for p in b.pins] == ["absl-py==1.0.0", "numpy==1.23.5", "torch==2.3.1+cpu"]
    assert b.unpinned == ("horovod",)
    assert b.names() == {"absl-py", "numpy", "torch", "horovod"}
    assert (b.runtime, b.python) == ("15.4.x-cpu-ml-scala2.12", "3.11")
    text = b.render()
    assert "# python: 3.11" in text and "# captured: 2026-11-22" in text
    assert "databricks-sdk==0.20.0" in text  # the masked package is named in the header
    assert parse_baseline(text) == b
    assert b.render() == parse_baseline(text).render()  # deterministic


def test_capture_uses_exact_versions_and_refuses_the_wrong_cluster(tmp_path):
    dists = {"Six": "1.16.0", "numpy": "1.26.4", "dbx-ops": "0.1.0", "weird": "not a version"}
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    target = tmp_path / "requirements" / "15.4.x-scala2.12" / "runtime-baseline.in"
    b = capture_baseline(
        "15.4.x-scala2.12",
        target,
        env={"DATABRICKS_RUNTIME_VERSION": "15.4"},
        distributions=dists,
        now=lambda: now,
    )
    assert [p.text() for p in b.pins] == ["numpy==1.26.4", "six==1.16.0"]
    assert b.captured == "2026-11-22T10:00:00Z" and "DBR 15.4" in b.source
    assert parse_baseline(target.read_text()).pins == b.pins
    with pytest.raises(InvalidInputError, match=r"runs Databricks Runtime 16.4, not 15.4"):
        capture_baseline("15.4.x-scala2.12", env={"DATABRICKS_RUNTIME_VERSION": "16.4"}, distributions=dists)
    with pytest.raises(InvalidInputError, match="Cannot tell which runtime"):
        capture_baseline(None, env={}, distributions=dists)


def test_capture_reads_the_running_interpreter_with_importlib_metadata():
    b = capture_baseline("15.4.x-scala2.12", env={})
    names = {p.name for p in b.pins}
    assert {"packaging", "pytest"} <= names and "dbx-ops" not in names


def test_bad_baseline_lines_and_headers():
    with pytest.raises(InvalidInputError, match=r"runtime-baseline.in:3"):
        parse_baseline("# runtime: 15.4.x-scala2.12\n# python: 3.11\nsix>=1\n")
    with pytest.raises(InvalidInputError, match=r"no '# python: ...' header"):
        parse_baseline("# runtime: 15.4.x-scala2.12\nsix==1.16.0\n")


def test_the_project_ships_standard_ml_and_gpu_baselines():
    shipped = known_runtimes(REPO)
    assert {"15.4.x-scala2.12", "15.4.x-cpu-ml-scala2.12", "17.3.x-gpu-ml-scala2.13"} <= set(shipped)
    for key in shipped:
        path = REPO / "requirements" / key / "runtime-baseline.in"
        b = parse_baseline(path.read_text(), str(path))
        assert b.runtime == key and b.python == runtime_for(key).python
        assert len(b.pins) > 100 and b.source and b.captured
        assert "numpy" in b.versions()
