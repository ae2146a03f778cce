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


def test_buffered_store_writes_many_appends_in_one_delta_commit(spark, schema):
    import threading

    from dbx_ops.state import BufferedStateStore

    plain = StateStore(spark, schema=f"{schema}_buffered")
    plain.append("things", [{"label": "first", "version": 0}], DDL)
    buffered = BufferedStateStore.over(plain)

    def writer(k: int) -> None:
        for i in range(5):
            buffered.append("things", [{"label": f"t{k}", "version": i}], DDL)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert plain.read("things").count() == 1  # nothing written yet
    assert buffered.flush() == 10

    history = spark.sql(f"DESCRIBE HISTORY {plain.table('things').sql}").collect()
    assert [h["operation"] for h in history].count("WRITE") == 2  # the first append, then one for all ten
    rows = sorted((r["label"], r["version"]) for r in plain.read("things").collect())
    assert rows == [("first", 0)] + [(f"t{k}", i) for k in range(2) for i in range(5)]
    buffered.append("things", [{"label": "late", "version": 9}], DDL)
    assert buffered.read("things").count() == 12  # a read writes the pending rows first
