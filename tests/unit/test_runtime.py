from pathlib import Path

import pytest

from dbx_ops import runtime
from dbx_ops.errors import EnvironmentSetupError, InvalidInputError


def test_is_databricks_reads_the_injected_environment():
    assert runtime.is_databricks({"DATABRICKS_RUNTIME_VERSION": "15.4"})
    assert not runtime.is_databricks({})
    assert not runtime.is_databricks({"DATABRICKS_RUNTIME_VERSION": ""})
    assert runtime.runtime_version({"DATABRICKS_RUNTIME_VERSION": "15.4"}) == "15.4"


def test_state_home_default_and_override(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runtime.state_home({}) == tmp_path.resolve() / ".dbx_ops"
    assert runtime.state_home({"DBX_OPS_HOME": str(tmp_path / "x")}) == (tmp_path / "x").resolve()


def test_spark_mode():
    assert runtime.spark_mode({}) == "classic"
    assert runtime.spark_mode({"DBX_OPS_SPARK": "Connect"}) == "connect"
    with pytest.raises(InvalidInputError, match="DBX_OPS_SPARK"):
        runtime.spark_mode({"DBX_OPS_SPARK": "yarn"})


def test_missing_jars_name_the_command(tmp_path):
    with pytest.raises(EnvironmentSetupError, match="make jars"):
        runtime.delta_jars({"DBX_OPS_JARS": str(tmp_path)})


def test_jars_found(tmp_path):
    for name in ("delta-spark_2.13-4.0.1.jar", "delta-storage-4.0.1.jar"):
        (tmp_path / name).write_bytes(b"")
    jars = runtime.delta_jars({"DBX_OPS_JARS": str(tmp_path)})
    assert [j.name for j in jars] == ["delta-spark_2.13-4.0.1.jar", "delta-storage-4.0.1.jar"]


def test_local_conf_is_delta_enabled_and_small(tmp_path):
    cfg = runtime.LocalSparkConfig(home=tmp_path, jars=(Path("/j/a.jar"), Path("/j/b.jar")))
    conf = cfg.conf()
    assert conf["spark.jars"] == "/j/a.jar,/j/b.jar"
    assert conf["spark.sql.extensions"] == runtime.DELTA_EXTENSION
    assert conf["spark.sql.catalog.spark_catalog"] == runtime.DELTA_CATALOG
    assert conf["spark.sql.warehouse.dir"] == str(tmp_path / "warehouse")
    assert str(tmp_path / "metastore_db") in conf["spark.hadoop.javax.jdo.option.ConnectionURL"]
    assert conf["spark.ui.enabled"] == "false"
    assert int(conf["spark.sql.shuffle.partitions"]) <= 8


def test_local_jvm_compiles_quickly_unless_told_full(tmp_path):
    jars = (Path("/j/a.jar"),)
    quick = runtime.LocalSparkConfig(home=tmp_path, jars=jars).conf()["spark.driver.extraJavaOptions"]
    assert "-XX:TieredStopAtLevel=1" in quick and "-XX:+UseParallelGC" in quick
    assert f"-Dderby.system.home={tmp_path}" in quick
    full = runtime.LocalSparkConfig(home=tmp_path, jars=jars, jvm="full").conf()[
        "spark.driver.extraJavaOptions"
    ]
    assert "TieredStopAtLevel" not in full and "UseParallelGC" not in full
    assert f"-Dderby.system.home={tmp_path}" in full
    assert runtime.jvm_mode({}) == "quick"
    assert runtime.jvm_mode({"DBX_OPS_JVM": " Full "}) == "full"
    with pytest.raises(InvalidInputError, match="DBX_OPS_JVM='c2' is not one of quick, full"):
        runtime.jvm_mode({"DBX_OPS_JVM": "c2"})


def test_workspace_configured_never_returns_secrets():
    info = runtime.workspace_configured({"DATABRICKS_HOST": "https://x", "DATABRICKS_TOKEN": "dapiSECRET"})
    assert info == {"configured": True, "host": "https://x", "auth": "pat"}
    assert "dapiSECRET" not in repr(info)
    inside = runtime.workspace_configured({"DATABRICKS_RUNTIME_VERSION": "15.4"})
    assert inside["configured"] and inside["auth"] == "runtime"


def test_import_does_no_spark_work():
    import subprocess
    import sys

    code = "import dbx_ops, dbx_ops.runtime, dbx_ops.names, sys; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
