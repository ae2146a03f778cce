"""The dbx_ops state schema: Delta tables that hold snapshots, metrics, backups.

All state lives in Delta tables under one configurable schema
(``DBX_OPS_SCHEMA``, default ``dbx_ops``; may be ``catalog.schema`` on Unity
Catalog). Tables are created on first use; audit tables are only appended to.

First use is safe under concurrency: two notebooks or job tasks that create
the same state table at once both succeed (the loser of the create race finds
the winner's table), and appends that meet another writer's commit are tried
again a bounded number of times. A conflict that outlasts the retries is a
:class:`~dbx_ops.errors.StateConflictError`, never a raw Delta error.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from dbx_ops.errors import StateConflictError
from dbx_ops.names import TableName, parse_table_name, quote_string

logger = logging.getLogger(__name__)

DEFAULT_SCHEMA = "dbx_ops"

T = TypeVar("T")

#: What Spark, Delta and the metastore say when another writer created or committed first.
_RACE_MARKERS = (
    "DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION",
    "DELTA_PROTOCOL_CHANGED",
    "ProtocolChangedException",
    "DELTA_METADATA_CHANGED",
    "MetadataChangedException",
    "DELTA_CONCURRENT",
    "ConcurrentAppendException",
    "ConcurrentWriteException",
    "ConcurrentTransactionException",
    "ConcurrentDeleteReadException",
    "FileAlreadyExistsException",
    "TABLE_OR_VIEW_ALREADY_EXISTS",
    "TableAlreadyExistsException",
    "SCHEMA_ALREADY_EXISTS",
    "DatabaseAlreadyExistsException",
    "AlreadyExistsException",
    "already exists",
)


def is_state_race(exc: BaseException) -> bool:
    """True when ``exc`` says another writer created the table or committed first (worth a retry)."""
    text = f"{type(exc).__name__}: {exc}"
    return any(marker in text for marker in _RACE_MARKERS)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:300]


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
        max_attempts: tries of a create or append that meets another writer.
        backoff_seconds: first pause between tries (doubles, with jitter).
    """

    spark: Any
    schema: str = DEFAULT_SCHEMA
    max_attempts: int = 6
    backoff_seconds: float = 0.2

    @classmethod
    def from_env(cls, spark: Any, env: Mapping[str, str] | None = None) -> StateStore:
        """A store on the schema ``DBX_OPS_SCHEMA`` names."""
        return cls(spark=spark, schema=state_schema(env))

    def table(self, name: str) -> TableName:
        """The fully named state table ``<schema>.<name>``."""
        base = parse_table_name(self.schema)
        return TableName(parts=(*base.parts, name))

    def _pause(self, attempt: int) -> None:
        if self.backoff_seconds > 0:
            time.sleep(self.backoff_seconds * (2 ** (attempt - 1)) * (1 + random.random()))

    def _retry(
        self, doing: str, action: Callable[[], T], settled: Callable[[], bool] | None = None
    ) -> T | None:
        """Run ``action``; on a concurrent-writer error retry (or stop when ``settled()`` says it is done).

        Returns:
            What ``action`` returned, or None when ``settled`` found the other writer did the work.

        Raises:
            StateConflictError: the conflict outlasted ``max_attempts`` tries.
        """
        attempts = max(1, int(self.max_attempts))
        for attempt in range(1, attempts + 1):
            try:
                return action()
            except Exception as exc:
                if not is_state_race(exc):
                    raise
                if settled is not None and settled():
                    logger.info("%s: another writer did it first", doing)
                    return None
                if attempt == attempts:
                    raise StateConflictError(
                        f"{doing} kept conflicting with other writers ({_first_line(exc)}) after "
                        f"{attempts} attempts; nothing was lost, run the operation again."
                    ) from exc
                logger.info("%s met another writer (attempt %d): %s", doing, attempt, _first_line(exc))
                self._pause(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _schema_exists(self) -> bool:
        try:
            return bool(self.spark.catalog.databaseExists(self.schema))
        except Exception:
            logger.debug("databaseExists(%s) failed", self.schema, exc_info=True)
            return False

    def ensure_schema(self) -> None:
        """Create the state schema if it does not exist (another writer creating it too is fine)."""
        sql = f"CREATE SCHEMA IF NOT EXISTS {parse_table_name(self.schema).sql}"
        self._retry(
            f"Creating the state schema {self.schema}", lambda: self.spark.sql(sql), self._schema_exists
        )

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

        def create() -> None:
            if not self.exists(name):
                logger.info("creating state table %s", target)
                self.spark.sql(sql)

        # The loser of a create race may find the location taken before the winner has
        # registered the table: the retry sees the table once the winner is done.
        self._retry(f"Creating the state table {target}", create, lambda: self.exists(name))
        return target

    def append(self, name: str, rows: list[dict[str, Any]], columns_ddl: str) -> int:
        """Append rows to ``<schema>.<name>`` (created on first use), retrying concurrent-writer conflicts.

        Returns:
            The number of rows appended.

        Raises:
            StateConflictError: other writers kept conflicting past ``max_attempts``.
        """
        target = self.ensure_table(name, columns_ddl)
        if not rows:
            return 0
        df = self.spark.createDataFrame(rows, schema=columns_ddl)
        # A Delta commit is atomic: an append that met another writer wrote nothing, so trying
        # it again cannot duplicate rows.
        self._retry(
            f"Appending to the state table {target}",
            lambda: df.write.format("delta").mode("append").saveAsTable(target.sql),
        )
        return len(rows)

    def read(self, name: str) -> Any:
        """The state table as a DataFrame (it must exist)."""
        return self.spark.table(self.table(name).sql)


@dataclass(frozen=True)
class BufferedStateStore(StateStore):
    """A state store whose appends wait in memory and are written one commit per table.

    Each :meth:`StateStore.append` is one Delta commit, and on a small cluster a commit costs
    a second or so whatever it holds. A run that appends to the same state tables many times
    over one step (the rollback drill's validations: a profile and its results per table)
    hands the libraries this store and calls :meth:`flush` at the end of the step: every
    table's pending rows go in one commit. Reads see the pending rows: :meth:`read` and
    :meth:`exists` write a table's pending rows first. Threads may append at once.

    Rows that were never flushed are lost with the process: flush before any point whose
    record must survive (the drill flushes at the end of every step, failed ones included).
    """

    _pending: dict[str, tuple[str, list[dict[str, Any]]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _lock: Any = field(default_factory=threading.Lock, compare=False, repr=False)
    _flushing: Any = field(default_factory=threading.local, compare=False, repr=False)

    @classmethod
    def over(cls, store: StateStore) -> BufferedStateStore:
        """A buffered store on the same schema and retry settings as ``store``."""
        return cls(
            spark=store.spark,
            schema=store.schema,
            max_attempts=store.max_attempts,
            backoff_seconds=store.backoff_seconds,
        )

    def append(self, name: str, rows: list[dict[str, Any]], columns_ddl: str) -> int:
        """Keep ``rows`` for ``<schema>.<name>`` until the next :meth:`flush`; returns how many."""
        if not rows:
            return super().append(name, rows, columns_ddl)  # creates the table, as the store does
        with self._lock:
            ddl, pending = self._pending.setdefault(name, (columns_ddl, []))
            if ddl != columns_ddl:
                raise ValueError(f"State table {name} was given two column lists in one buffer.")
            pending.extend(rows)
        return len(rows)

    def pending(self) -> dict[str, int]:
        """How many rows wait for each state table."""
        with self._lock:
            return {name: len(rows) for name, (_, rows) in self._pending.items()}

    def flush(self, name: str | None = None) -> int:
        """Write the pending rows (of ``name``, or of every table), one commit per table.

        Returns:
            The number of rows written.

        Raises:
            StateConflictError: as :meth:`StateStore.append`; the rows of that table and of the
                tables after it stay pending, so a later flush writes them.
        """
        with self._lock:
            names = [n for n in self._pending if name is None or n == name]
        written = 0
        for table in names:
            with self._lock:
                ddl, rows = self._pending.pop(table, ("", []))
            if not rows:
                continue
            self._flushing.active = True  # the append's own exists() must not flush again
            try:
                written += super().append(table, rows, ddl)
            except BaseException:
                with self._lock:  # put them back in front of anything appended meanwhile
                    _, newer = self._pending.pop(table, (ddl, []))
                    self._pending[table] = (ddl, rows + newer)
                raise
            finally:
                self._flushing.active = False
        return written

    def exists(self, name: str) -> bool:
        """True when the state table exists (its pending rows are written first)."""
        if name in self._pending and not getattr(self._flushing, "active", False):
            self.flush(name)
        return super().exists(name)

    def read(self, name: str) -> Any:
        """The state table as a DataFrame, pending rows written first."""
        if name in self._pending:
            self.flush(name)
        return super().read(name)
