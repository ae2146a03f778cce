"""Shared fixtures.

``spark`` is one real local Delta-enabled session for the whole run, in the
mode ``DBX_OPS_SPARK`` names (classic or connect), with its state folder in a
temporary directory so tests never touch a developer's ``.dbx_ops``.
Integration test modules that need it are marked ``spark`` automatically.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dbx_ops_home")
    os.environ["DBX_OPS_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def spark(state_home: Path) -> Iterator[object]:
    from dbx_ops.runtime import get_spark

    session = get_spark()
    yield session
    session.stop()


@pytest.fixture
def schema(spark: object) -> str:
    """A fresh schema name for one test (created)."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    spark.sql(f"CREATE SCHEMA {name}")  # type: ignore[attr-defined]
    return name


@pytest.fixture
def table_path(tmp_path: Path) -> str:
    """A fresh folder for a path table."""
    return str(tmp_path / "tbl")


#: The representative Spark tests run again on the other lines (Spark Connect on 4.0, and
#: classic pyspark 3.5): what a rollback depends on — Delta itself, the state tables,
#: snapshots and restore, drift validation against every baseline kind, the checklist store. The drill
#: runs on 4.0 classic only (it is slow); so does the rest of the full suite.
COMPAT_MODULES = frozenset(
    {
        "test_delta_platform",
        "test_state",
        "test_state_concurrency",
        "test_snapshot_roundtrip",
        "test_snapshot_refusals",
        "test_snapshot_resume",
        "test_validation_drift",
        "test_validation_baselines",
        "test_validation_query",
        "test_checklist_store",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.spark)
            if Path(str(item.fspath)).stem in COMPAT_MODULES:
                item.add_marker(pytest.mark.compat)
