"""Which runtimes dbx_ops supports, stated once and checked before any query runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from dbx_ops import runtime
from dbx_ops.errors import EnvironmentSetupError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("version", "ok"),
    [("3.5.0", True), ("3.5.2", True), ("4.0.1", True), ("3.4.1", False), ("4.1.0", False), ("", False)],
)
def test_spark_support_by_line(version: str, ok: bool) -> None:
    supported, why = runtime.spark_support(version)
    assert supported is ok
    assert why.endswith(".") and "\n" not in why
    if not ok:
        assert "3.5 and 4.0" in why


@pytest.mark.parametrize(
    ("dbr", "py", "ok", "word"),
    [
        ("15.4", (3, 11), True, "15.4 LTS"),
        ("16.4", (3, 12), True, "16.4 LTS"),
        ("17.3", (3, 12), True, "17.3 LTS"),
        ("client.4.9", (3, 12), True, "serverless v4"),
        ("14.3", (3, 10), False, "3.10"),
        ("13.3", (3, 11), False, "13.3"),
    ],
)
def test_runtime_support_on_a_cluster(dbr: str, py: tuple[int, int], ok: bool, word: str) -> None:
    supported, why = runtime.runtime_support({"DATABRICKS_RUNTIME_VERSION": dbr}, python_version=py)
    assert supported is ok
    assert word in why


def test_14_3_keeps_its_lock_but_not_the_library() -> None:
    info = runtime.runtime_info("14.3")
    assert info is not None and info.locks and not info.library
    supported, why = runtime.runtime_support({"DATABRICKS_RUNTIME_VERSION": "14.3"}, python_version=(3, 11))
    assert not supported and "lock and init script still work" in why


class _Session:
    def __init__(self, version: str) -> None:
        self.version = version


def test_unsupported_spark_is_refused_with_one_sentence() -> None:
    runtime.require_supported_spark(_Session("3.5.0"))
    with pytest.raises(EnvironmentSetupError, match=r"^Spark 3\.3\.2 is not supported: .*\.$"):
        runtime.require_supported_spark(_Session("3.3.2"))


def test_every_runtime_in_the_table_has_its_lock() -> None:
    folders = {p.name for p in (REPO / "requirements").iterdir() if p.is_dir()}
    for info in runtime.RUNTIMES:
        assert info.locks
        assert any(f.startswith(info.dbr) for f in folders), f"no requirements/ folder for {info.name}"


def test_pyproject_matches_the_table() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=" + ".".join(map(str, runtime.MIN_PYTHON))
    spark_pin = next(d for d in meta["optional-dependencies"]["spark"] if d.startswith("pyspark"))
    low, high = re.search(r">=([\d.]+),<([\d.]+)", spark_pin).groups()  # type: ignore[union-attr]
    assert tuple(int(x) for x in low.split(".")[:2]) == runtime.SUPPORTED_SPARK[0]
    assert tuple(int(x) for x in high.split(".")[:2]) == (4, 1)


def test_readme_table_matches_the_runtimes() -> None:
    readme = (REPO / "README.md").read_text()
    for info in runtime.RUNTIMES:
        row = next((line for line in readme.splitlines() if line.startswith(f"| {info.name} |")), None)
        assert row is not None, f"README has no row for {info.name}"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == info.spark and cells[2] == info.python
        assert cells[3].startswith("yes" if info.library else "no")


def test_doctor_on_a_cluster_says_whether_the_runtime_is_supported() -> None:
    from dbx_ops.doctor import diagnose
    from dbx_ops.errors import DoctorError

    class _Fake:
        version = "3.5.0"

        def sql(self, *_: object) -> None:
            raise RuntimeError("no Delta here")

    old = diagnose({"DATABRICKS_RUNTIME_VERSION": "14.3"}, spark_factory=_Fake)
    check = old.check("runtime")
    assert check is not None and not check.ok and "3.10" in check.message
    good = diagnose({"DATABRICKS_RUNTIME_VERSION": "15.4"}, spark_factory=_Fake)
    assert good.check("runtime").ok and good.check("spark").ok  # type: ignore[union-attr]
    assert not good.ok and "delta" in good.summary()
    with pytest.raises(DoctorError):
        good.raise_on_failure()
    assert "Checks" in good.to_html() and "| fact | value |" in good.to_markdown()
