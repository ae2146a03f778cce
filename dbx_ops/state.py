"""The dbx_ops state schema: Delta tables that hold snapshots, metrics, backups.

All state lives in Delta tables under one configurable schema
(``DBX_OPS_SCHEMA``, default ``dbx_ops``; may be ``catalog.schema`` on Unity
Catalog). Tables are created on first use; audit tables are only appended to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dbx_ops.names import TableName, parse_table_name, quote_string

logger = logging.getLogger(__name__)

DEFAULT_SCHEMA = "dbx_ops"


def state_schema(env: Mapping[str, str] | None = None) -> str:
    """The state schema name: ``DBX_OPS_SCHEMA`` or ``dbx_ops``, validated."""
    import os

    raw = (os.environ if env is None else env).get("DBX_OPS_SCHEMA") or DEFAULT_SCHEMA
    parsed = parse_table_name(raw)
    if parsed.is_path or len(parsed.parts) > 2:
        from dbx_ops.errors import InvalidInputError

        raise InvalidInputError(f"DBX_OPS_SCHEMA={raw!r} must be 'schema' or 'catalog.schema'.")
    return raw


@dataclass(frozen=True)
class StateStore:
    """Creates and appends to the Delta tables of the state schema.

    Args:
        spark: a Spark session (classic or Connect).
        schema: ``schema`` or ``catalog.schema`` holding the state tables.
    """

    spark: Any
    schema: str = DEFAULT_SCHEMA

    @classmethod
    def from_env(cls, spark: Any, env: Mapping[str, str] | None = None) -> StateStore:
        """A store on the schema ``DBX_OPS_SCHEMA`` names."""
        return cls(spark=spark, schema=state_schema(env))

    def table(self, name: str) -> TableName:
        """The fully named state table ``<schema>.<name>``."""
        base = parse_table_name(self.schema)
        return TableName(parts=(*base.parts, name))

    def ensure_schema(self) -> None:
        """Create the state schema if it does not exist."""
        self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {parse_table_name(self.schema).sql}")

    def exists(self, name: str) -> bool:
        """True when the state table exists."""
        return bool(self.spark.catalog.tableExists(".".join(self.table(name).parts)))

    def ensure_table(
        self,
        name: str,
        columns_ddl: str,
        partitioned_by: Iterable[str] = (),
        comment: str | None = None,
    ) -> TableName:
        """Create ``<schema>.<name>`` with the given columns if it is missing.

        Args:
            name: table name inside the state schema.
            columns_ddl: column list, e.g. ``"label STRING, version BIGINT"``; a library constant,
                never user text.
            partitioned_by: partition columns.
            comment: table comment.

        Returns:
            The table's name.
        """
        target = self.table(name)
        if self.exists(name):
            return target
        self.ensure_schema()
        parts = list(partitioned_by)
        sql = f"CREATE TABLE IF NOT EXISTS {target.sql} ({columns_ddl}) USING DELTA"
        if parts:
            sql += " PARTITIONED BY (" + ", ".join(f"`{p}`" for p in parts) + ")"
        if comment:
            sql += f" COMMENT {quote_string(comment)}"
        logger.info("creating state table %s", target)
        self.spark.sql(sql)
        return target

    def append(self, name: str, rows: list[dict[str, Any]], columns_ddl: str) -> int:
        """Append rows to ``<schema>.<name>`` (created on first use).

        Returns:
            The number of rows appended.
        """
        target = self.ensure_table(name, columns_ddl)
        if not rows:
            return 0
        df = self.spark.createDataFrame(rows, schema=columns_ddl)
        df.write.format("delta").mode("append").saveAsTable(target.sql)
        return len(rows)

    def read(self, name: str) -> Any:
        """The state table as a DataFrame (it must exist)."""
        return self.spark.table(self.table(name).sql)
