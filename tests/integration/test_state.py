from dbx_ops.state import StateStore, state_schema

DDL = "label STRING, version BIGINT"


def test_state_tables_are_created_on_first_use_and_appended(spark, schema):
    store = StateStore(spark, schema=f"{schema}_state")
    assert not store.exists("things")
    assert store.append("things", [{"label": "a", "version": 1}], DDL) == 1
    assert store.append("things", [{"label": "b", "version": 2}], DDL) == 1
    assert store.append("things", [], DDL) == 0
    rows = sorted((r["label"], r["version"]) for r in store.read("things").collect())
    assert rows == [("a", 1), ("b", 2)]
    assert store.table("things").sql == f"`{schema}_state`.`things`"


def test_state_schema_from_env():
    assert state_schema({}) == "dbx_ops"
    assert state_schema({"DBX_OPS_SCHEMA": "main.ops"}) == "main.ops"
