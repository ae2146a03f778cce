"""The shared-metastore settings of the local session (no Spark, no server)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dbx_ops import metastore
from dbx_ops.errors import EnvironmentSetupError, InvalidInputError
from dbx_ops.runtime import LocalSparkConfig


def test_embedded_by_default_and_the_client_url_when_shared(tmp_path: Path) -> None:
    jars = (tmp_path / "delta-spark_2.13-4.0.1.jar", tmp_path / "derbyclient-10.16.1.1.jar")
    embedded = LocalSparkConfig(home=tmp_path, jars=jars).conf()
    assert embedded["spark.hadoop.javax.jdo.option.ConnectionURL"].startswith("jdbc:derby:;databaseName=")
    assert "ConnectionDriverName" not in " ".join(embedded)
    assert "derby" not in embedded["spark.jars"]
    info = metastore.ServerInfo(port=41234, pid=1)
    cfg = LocalSparkConfig(home=tmp_path, jars=jars, metastore_url=info.url, metastore_client=jars[1])
    shared = cfg.conf()
    assert shared["spark.hadoop.javax.jdo.option.ConnectionURL"] == (
        "jdbc:derby://127.0.0.1:41234/metastore_db;create=true"
    )
    assert shared["spark.hadoop.javax.jdo.option.ConnectionDriverName"] == metastore.CLIENT_DRIVER
    assert shared["spark.driver.extraClassPath"] == str(jars[1])


def test_mode_and_registered_servers(tmp_path: Path) -> None:
    assert metastore.mode({}, tmp_path) == "embedded"
    assert metastore.mode({"DBX_OPS_METASTORE": " Server "}, tmp_path) == "server"
    with pytest.raises(InvalidInputError, match="not one of embedded, server"):
        metastore.mode({"DBX_OPS_METASTORE": "remote"}, tmp_path)
    # a registered server whose process is gone is not used
    (tmp_path / metastore.SERVER_FILE).write_text(json.dumps({"port": 1, "pid": 2**22 + 11}))
    assert metastore.running_server(tmp_path) is None
    assert metastore.mode({}, tmp_path) == "embedded"
    # a live pid that does not listen on the port is not used either
    (tmp_path / metastore.SERVER_FILE).write_text(json.dumps({"port": 1, "pid": os.getpid()}))
    assert metastore.running_server(tmp_path) is None
    (tmp_path / metastore.SERVER_FILE).write_text("not json")
    assert metastore.running_server(tmp_path) is None
    assert not metastore.stop_server(tmp_path)


def test_missing_jars_say_make_jars(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentSetupError, match=r"derbyclient .*make jars"):
        metastore.client_jar(tmp_path)
    with pytest.raises(EnvironmentSetupError, match="derbynet"):
        metastore.server_classpath(tmp_path)


def test_derby_version_matches_the_pom() -> None:
    pom = (Path(__file__).resolve().parents[2] / "tools" / "delta-jars" / "pom.xml").read_text()
    version = metastore.derby_version()
    assert version is not None
    assert f"<derby.version>{version}</derby.version>" in pom


def test_first_use_marks_ready_once(tmp_path: Path) -> None:
    with metastore.first_use(tmp_path) as first:
        assert first
    with metastore.first_use(tmp_path) as again:
        assert not again
