"""An order-independent content fingerprint of a table, in one Spark pass.

Each row is hashed with ``xxhash64`` over all its columns; the fingerprint is
the row count, the sum of the hashes (as a 38-digit decimal, so it cannot
overflow) and their XOR. Row order and file layout do not change it; any
changed, added, removed or duplicated row does (up to hash collisions).
Only three numbers come back to the driver.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dbx_ops.names import TableName, quote_identifier


@dataclass(frozen=True)
class Fingerprint:
    """The fingerprint of a table's content.

    Attributes:
        rows: number of rows.
        hash_sum: sum of the row hashes.
        hash_xor: XOR of the row hashes.
    """

    rows: int
    hash_sum: int
    hash_xor: int

    def __str__(self) -> str:
        return f"{self.rows}:{self.hash_sum}:{self.hash_xor}"

    @classmethod
    def parse(cls, text: str) -> Fingerprint:
        """Read the ``rows:sum:xor`` form :meth:`__str__` writes."""
        rows, hash_sum, hash_xor = text.split(":")
        return cls(int(rows), int(hash_sum), int(hash_xor))


def _column_expr(name: str, type_string: str) -> str:
    col = quote_identifier(name)
    # Spark refuses to hash maps; their JSON form is stable for the same stored data.
    if "map<" in type_string:
        return f"to_json(named_struct('v', {col}))"
    return col


def fingerprint_query(source: str, columns: list[tuple[str, str]]) -> str:
    """The aggregation SQL for ``source`` (an already quoted table reference, maybe with VERSION AS OF).

    Args:
        source: quoted table reference, e.g. ```s`.`t` VERSION AS OF 3``.
        columns: ``(name, simple type string)`` for every column, in table order.
    """
    if not columns:
        return f"SELECT count(*) AS n, 0 AS s, 0 AS x FROM {source}"  # noqa: S608 - source is quoted
    row_hash = "xxhash64(" + ", ".join(_column_expr(n, t) for n, t in columns) + ")"
    aggregate = "count(*) AS n, coalesce(sum(CAST(h AS DECIMAL(38,0))), 0) AS s, coalesce(bit_xor(h), 0) AS x"
    return f"SELECT {aggregate} FROM (SELECT {row_hash} AS h FROM {source})"  # noqa: S608 - all quoted


def table_fingerprint(
    spark: Any, table: TableName, version: int | None = None, schema_json: str | None = None
) -> Fingerprint:
    """Compute the fingerprint of ``table`` (at ``version`` when given) with one Spark aggregation.

    Args:
        spark: a Spark session.
        table: the table.
        version: a Delta version to time-travel to; the current one when None.
        schema_json: the schema of that version (Spark JSON) when the caller already holds it;
            read from the table when None.
    """
    source = table.sql if version is None else f"{table.sql} VERSION AS OF {int(version)}"
    if schema_json:
        from pyspark.sql.types import StructType

        schema = StructType.fromJson(json.loads(schema_json))
    else:
        schema = spark.sql(f"SELECT * FROM {source}").schema  # noqa: S608 - source is quoted
    columns = [(f.name, f.dataType.simpleString()) for f in schema.fields]
    row = spark.sql(fingerprint_query(source, columns)).first()
    return Fingerprint(rows=int(row["n"]), hash_sum=int(row["s"]), hash_xor=int(row["x"]))
