"""Round-trip matrix on real Delta: six table shapes x the mutations that hurt them.

Each case snapshots a table (pin mode), mutates it, restores the label and
proves the data (chispa, ignoring row order), the schema and the properties
equal what they were at snapshot time. One table per shape is shared by the
cases of that shape (module-scoped) to keep the run short.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from chispa import assert_df_equality

from dbx_ops.snapshots import Snapshots
from dbx_ops.state import StateStore

SHAPES = ("plain", "partitioned", "deletion_vectors", "column_mapping", "cdf", "generated_constraints")


def write_generated_table(path: Path) -> None:
    """A Delta table with a generated column, written as its first commit.

    Spark 4.0 SQL refuses ``GENERATED ALWAYS AS`` on this Delta build and the
    DeltaTable builder needs the classic JVM, so the table's first commit is
    written the way Delta itself writes it; everything after goes through Delta.
    """
    schema = {
        "type": "struct",
        "fields": [
            {"name": "id", "type": "long", "nullable": False, "metadata": {}},
            {"name": "amount", "type": "double", "nullable": True, "metadata": {}},
            {
                "name": "amount_x2",
                "type": "double",
                "nullable": True,
                "metadata": {"delta.generationExpression": "amount * 2"},
            },
        ],
    }
    log = path / "_delta_log"
    log.mkdir(parents=True)
    actions = [
        {"protocol": {"minReaderVersion": 1, "minWriterVersion": 4}},
        {
            "metaData": {
                "id": str(uuid.uuid4()),
                "format": {"provider": "parquet", "options": {}},
                "schemaString": json.dumps(schema),
                "partitionColumns": [],
                "configuration": {"owner.team": "finance"},
                "createdTime": int(time.time() * 1000),
            }
        },
        {"commitInfo": {"timestamp": int(time.time() * 1000), "operation": "CREATE TABLE"}},
    ]
    (log / "00000000000000000000.json").write_text("\n".join(json.dumps(a) for a in actions) + "\n")


def create_shape(spark, schema: str, shape: str, tmp: Path) -> str:
    """Create a small table of the given shape and return its name."""
    t = f"{schema}.{shape}"
    if shape == "plain":
        spark.sql(f"CREATE TABLE {t} (id BIGINT, name STRING, amount DOUBLE) USING DELTA")
        spark.sql(f"INSERT INTO {t} SELECT id, concat('n', id), id * 1.5 FROM range(20)")
    elif shape == "partitioned":
        spark.sql(
            f"CREATE TABLE {t} (id BIGINT, region STRING, amount DOUBLE) USING DELTA PARTITIONED BY (region)"
        )
        spark.sql(
            f"INSERT INTO {t} SELECT id, CASE WHEN id % 2 = 0 THEN 'eu' ELSE 'us' END, id * 2.0 "
            "FROM range(20)"
        )
    elif shape == "deletion_vectors":
        spark.sql(
            f"CREATE TABLE {t} (id BIGINT, status STRING) USING DELTA "
            "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')"
        )
        spark.sql(f"INSERT INTO {t} SELECT id, 'new' FROM range(30)")
    elif shape == "column_mapping":
        spark.sql(
            f"CREATE TABLE {t} (id BIGINT, first_name STRING, city STRING) USING DELTA "
            "TBLPROPERTIES ('delta.columnMapping.mode' = 'name', 'delta.minReaderVersion' = '2', "
            "'delta.minWriterVersion' = '5')"
        )
        spark.sql(f"INSERT INTO {t} SELECT id, concat('f', id), 'Oslo' FROM range(15)")
    elif shape == "cdf":
        spark.sql(
            f"CREATE TABLE {t} (id BIGINT, qty INT) USING DELTA "
            "TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')"
        )
        spark.sql(f"INSERT INTO {t} SELECT id, CAST(id AS INT) FROM range(15)")
    elif shape == "generated_constraints":
        path = tmp / "generated"
        write_generated_table(path)
        t = f"delta.`{path}`"
        spark.sql(f"ALTER TABLE {t} ADD CONSTRAINT amount_positive CHECK (amount > 0)")
        spark.sql(f"INSERT INTO {t} (id, amount) SELECT id, id + 1.0 FROM range(15)")
    return t


def _merge(spark, t: str, key: str, set_col: str, value: str) -> None:
    spark.sql(
        f"MERGE INTO {t} AS tgt USING (SELECT id FROM range(5, 40)) AS src ON tgt.{key} = src.id "
        f"WHEN MATCHED THEN UPDATE SET tgt.{set_col} = {value}"
    )


# (shape, mutations, SQL statements with {t} for the table). Every mutation the
# issue names appears at least once; several cases stack mixed commits.
CASES: list[tuple[str, str, list[str]]] = [
    (
        "plain",
        "append delete update merge",
        [
            "INSERT INTO {t} VALUES (100, 'x', 1.0)",
            "DELETE FROM {t} WHERE id < 5",
            "UPDATE {t} SET amount = -1 WHERE id % 3 = 0",
            "MERGE:id:name:'merged'",
            "ALTER TABLE {t} SET TBLPROPERTIES ('quality' = 'gold')",
        ],
    ),
    ("plain", "overwrite and add column", ["INSERT OVERWRITE {t} VALUES (1, 'only', 0.0)", "ADD_COLUMN"]),
    (
        "partitioned",
        "partition overwrite and append",
        [
            "INSERT OVERWRITE {t} PARTITION (region = 'us') VALUES (7, 70.0)",
            "INSERT INTO {t} VALUES (5, 'apac', 5.0)",
        ],
    ),
    ("partitioned", "schema-changing overwrite", ["OVERWRITE_SCHEMA"]),
    (
        "deletion_vectors",
        "delete update merge",
        [
            "DELETE FROM {t} WHERE id % 4 = 0",
            "UPDATE {t} SET status = 'old' WHERE id > 20",
            "MERGE:id:status:'m'",
        ],
    ),
    (
        "column_mapping",
        "rename drop add column",
        [
            "ALTER TABLE {t} RENAME COLUMN first_name TO given_name",
            "ALTER TABLE {t} DROP COLUMN city",
            "ALTER TABLE {t} ADD COLUMNS (zip STRING)",
            "UPDATE {t} SET zip = '0150'",
        ],
    ),
    (
        "cdf",
        "update merge delete",
        ["UPDATE {t} SET qty = qty + 100", "MERGE:id:qty:0", "DELETE FROM {t} WHERE id > 10"],
    ),
    (
        "generated_constraints",
        "append drop constraint update add column",
        [
            "INSERT INTO {t} (id, amount) VALUES (99, 9.5)",
            "ALTER TABLE {t} DROP CONSTRAINT amount_positive",
            "UPDATE {t} SET amount = -5 WHERE id < 3",
            "ALTER TABLE {t} ADD COLUMNS (note STRING)",
            "ALTER TABLE {t} SET TBLPROPERTIES ('owner.team' = 'ops')",
        ],
    ),
]


@pytest.fixture(scope="module")
def world(spark, tmp_path_factory):
    schema = f"rt_{uuid.uuid4().hex[:8]}"
    spark.sql(f"CREATE SCHEMA {schema}")
    tmp = tmp_path_factory.mktemp("snapshot_roundtrip")
    tables = {shape: create_shape(spark, schema, shape, tmp) for shape in SHAPES}
    snaps = Snapshots(spark, StateStore(spark, schema=f"{schema}_state"))
    return {"schema": schema, "tables": tables, "snaps": snaps}


def _props(spark, t):
    """Table properties; Delta never lowers the column-mapping id counter (ids are not reused)."""
    props = dict(spark.sql(f"DESCRIBE DETAIL {t}").first()["properties"])
    props.pop("delta.columnMapping.maxColumnId", None)
    return props


def _mutate(spark, t: str, statements: list[str]) -> None:
    for stmt in statements:
        if stmt.startswith("MERGE:"):
            _, key, col, value = stmt.split(":", 3)
            _merge(spark, t, key, col, value)
        elif stmt == "ADD_COLUMN":
            spark.sql(f"ALTER TABLE {t} ADD COLUMNS (extra STRING)")
        elif stmt == "OVERWRITE_SCHEMA":
            writer = (
                spark.sql("SELECT id, CAST(id AS STRING) AS other FROM range(3)")
                .write.format("delta")
                .mode("overwrite")
                .option("overwriteSchema", "true")
            )
            writer.saveAsTable(t)
        else:
            spark.sql(stmt.format(t=t))


@pytest.mark.parametrize(("shape", "mutation", "statements"), CASES, ids=[f"{s}-{m}" for s, m, _ in CASES])
def test_restore_brings_back_data_schema_and_properties(world, spark, shape, mutation, statements):
    t = world["tables"][shape]
    snaps = world["snaps"]
    label = f"{shape}-{mutation}".replace(" ", "-")
    before_rows = spark.table(t).collect()
    before_schema = spark.table(t).schema
    before_props = _props(spark, t)

    [record] = snaps.snapshot(t, label)
    _mutate(spark, t, statements)
    assert spark.sql(f"DESCRIBE HISTORY {t} LIMIT 1").first()["version"] > record.version

    report = snaps.restore(label)

    assert report.ok, report.to_text()
    [result] = report.tables
    assert result.status == "restored"
    assert len(result.commits_undone) >= len(statements)
    assert {c.name for c in result.checks} >= {"history", "row count", "schema", "properties", "fingerprint"}
    expected = spark.createDataFrame(before_rows, before_schema)
    assert_df_equality(spark.table(t), expected, ignore_row_order=True, ignore_nullable=True)
    assert spark.table(t).schema.json() == before_schema.json()
    assert _props(spark, t) == before_props
    head = spark.sql(f"DESCRIBE HISTORY {t} LIMIT 1").first()
    assert head["operation"] == "RESTORE"
    assert head["operationParameters"]["version"] == str(record.version)
