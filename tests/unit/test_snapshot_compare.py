import json

from dbx_ops.snapshots.compare import (
    clone_table_name,
    constraints,
    normalize_schema,
    properties_diff,
    property_changes,
    schema_diff,
)


def _schema(*fields):
    return json.dumps({"type": "struct", "fields": list(fields)})


def _f(name, tp="long", nullable=True, metadata=None):
    return {"name": name, "type": tp, "nullable": nullable, "metadata": metadata or {}}


def test_column_mapping_metadata_is_ignored_but_generation_kept():
    a = _schema(_f("id", metadata={"delta.columnMapping.id": 1, "delta.columnMapping.physicalName": "col-1"}))
    b = _schema(_f("id", metadata={"delta.columnMapping.id": 7, "delta.columnMapping.physicalName": "col-9"}))
    assert normalize_schema(a) == normalize_schema(b)
    g1 = _schema(_f("x", metadata={"delta.generationExpression": "id * 2"}))
    g2 = _schema(_f("x", metadata={"delta.generationExpression": "id * 3"}))
    assert schema_diff(g1, g2) == "x differs"


def test_schema_diff_names_missing_extra_and_changed_columns():
    before = _schema(_f("id"), _f("name", "string"), _f("city", "string"))
    after = _schema(_f("id", nullable=False), _f("given_name", "string"), _f("city", "string"))
    diff = schema_diff(before, after)
    assert "missing name" in diff and "extra given_name" in diff and "id differs" in diff
    assert schema_diff(before, before) == ""
    reordered = _schema(_f("name", "string"), _f("id"), _f("city", "string"))
    assert schema_diff(before, reordered) == "column order differs"


def test_nested_types_compare_deeply():
    inner = {"type": "struct", "fields": [_f("a"), _f("b", "string")]}
    inner2 = {"type": "struct", "fields": [_f("a"), _f("b", "int")]}
    assert schema_diff(_schema(_f("s", inner)), _schema(_f("s", inner2))) == "s differs"


def test_properties_diff_and_changes():
    snap = {"a": "1", "delta.constraints.pos": "id > 0", "delta.columnMapping.maxColumnId": "3"}
    now = {"a": "2", "b": "x", "delta.columnMapping.maxColumnId": "5"}
    diff = properties_diff(snap, now)
    assert "a='2' (was '1')" in diff and "b='x' added" in diff and "delta.constraints.pos missing" in diff
    assert "maxColumnId" not in diff
    to_set, to_unset = property_changes(snap, now)
    assert to_set == {"a": "1"} and to_unset == ["b"]
    assert constraints(snap) == {"pos": "id > 0"}
    assert properties_diff(snap, dict(snap)) == ""


def test_clone_table_name_is_safe():
    assert clone_table_name("Orders", "pre-deploy:2024.06") == "orders__pre_deploy_2024_06"
    assert clone_table_name("odd`name", "x") == "odd_name__x"
