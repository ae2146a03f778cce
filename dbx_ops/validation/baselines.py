"""Baselines: what the current data is compared with.

=====================  =====================================================================
``snapshot:LABEL``     the table at the Delta version a dbx_ops snapshot recorded (time travel)
``version:N``          the table at Delta version N (time travel)
``previous``           the last stored profile of the table with the same filter (no scan)
``run:RUN_ID``         a stored profile by its run id (no scan)
``table:NAME``         another table (same filter), e.g. a pre-deployment copy
``partition:EXPR``     the same table filtered by EXPR, e.g. ``date = current_date() - 1``
=====================  =====================================================================

A baseline that reads data (snapshot, version, table, partition) is profiled
in the same way as the current data and stored, so a snapshot or version
baseline that was already profiled with the same columns is read back from
the metrics store instead of being scanned again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from dbx_ops.errors import InvalidInputError, NotFoundError
from dbx_ops.names import TableName, parse_table_name
from dbx_ops.state import StateStore
from dbx_ops.validation.metrics import MetricsStore
from dbx_ops.validation.model import TableProfile
from dbx_ops.validation.profile import DataSource, Profiler, check_filter

logger = logging.getLogger(__name__)

KINDS = ("snapshot", "version", "previous", "run", "table", "partition")
_FORMS = 'snapshot:LABEL, version:N, previous, run:RUN_ID, table:NAME or partition:"EXPR"'


@dataclass(frozen=True)
class BaselineSpec:
    """A parsed baseline.

    Attributes:
        kind: one of :data:`KINDS`.
        value: the label, version, run id, table name or filter expression (None for ``previous``).
    """

    kind: str
    value: str | None = None

    @classmethod
    def parse(cls, text: str | BaselineSpec) -> BaselineSpec:
        """Parse a baseline: snapshot, version, previous, run, table or partition.

        Args:
            text: the baseline as the user wrote it.

        Raises:
            InvalidInputError: for anything else, naming the accepted forms.
        """
        if isinstance(text, BaselineSpec):
            return text
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError(f"The baseline is empty; use {_FORMS}.")
        raw = text.strip()
        if raw == "previous":
            return cls("previous")
        kind, sep, value = raw.partition(":")
        kind = kind.strip().lower()
        value = value.strip()
        if not sep or kind not in KINDS or kind == "previous":
            raise InvalidInputError(f"Baseline {raw!r} is not understood; use {_FORMS}.")
        if not value:
            raise InvalidInputError(f"Baseline {raw!r} needs a value after '{kind}:'.")
        if kind == "partition" and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].strip()
        if kind == "version":
            if not value.isdigit():
                raise InvalidInputError(f"Baseline {raw!r}: the version must be a whole number >= 0.")
            value = str(int(value))
        elif kind == "table":
            value = str(parse_table_name(value))
        elif kind == "partition":
            value = check_filter(value)
        elif kind in ("snapshot", "run") and any(ord(c) < 32 for c in value):
            raise InvalidInputError(f"Baseline {raw!r} has control characters.")
        return cls(kind, value)

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}:{self.value}"


def snapshot_version(spark: Any, label: str, table: TableName, state: StateStore | None = None) -> int:
    """The Delta version a snapshot label recorded for ``table``.

    Uses the snapshot registry (``dbx_ops.snapshots.lookup_snapshot``, imported when needed).

    Raises:
        NotFoundError: when there is no such snapshot of that table.
    """
    from dbx_ops.snapshots import lookup_snapshot

    record = lookup_snapshot(spark, label, str(table), store=state)
    return int(record.version)


class BaselineResolver:
    """Turns a :class:`BaselineSpec` into a :class:`TableProfile`.

    Args:
        spark: the Spark session.
        profiler: profiles data baselines.
        metrics: reads stored profiles (``previous``, ``run:``, already profiled versions).
    """

    def __init__(self, spark: Any, profiler: Profiler, metrics: MetricsStore) -> None:
        self.spark = spark
        self.profiler = profiler
        self.metrics = metrics

    def resolve(
        self,
        spec: BaselineSpec,
        table: TableName | None,
        where: str | None,
        columns: Sequence[str] | None,
        distributions: bool | Collection[str] = True,
        distinct: Collection[str] | None = None,
        stats: Collection[str] | None = None,
        first_run_ok: bool = False,
    ) -> tuple[TableProfile | None, bool]:
        """The baseline profile, and whether it was read from the store (True) or just profiled.

        Args:
            spec: the baseline.
            table: the table being validated (None when validating a bare DataFrame).
            where: the filter of the current run; applied to version/snapshot/table baselines too.
            columns: the columns to profile (None: all).
            distributions: histograms / top-k for the baseline: True (all columns), False, or
                the columns that need them.
            distinct: columns that get an approximate distinct count (None: all).
            stats: columns that get min / max / mean / stddev (None: all).
            first_run_ok: for ``previous`` with nothing stored yet, return ``(None, False)`` (a
                first run) instead of raising.

        Raises:
            NotFoundError: when the snapshot, version, run or stored profile does not exist.
            InvalidInputError: when the baseline needs a table name and only a DataFrame was given.
        """
        if spec.kind == "run":
            return self.metrics.get(str(spec.value)), True
        if spec.kind == "previous":
            if table is None:
                raise InvalidInputError(_NEEDS_TABLE.format(spec=spec))
            stored = self.metrics.latest(str(table), where, with_columns=columns)
            if stored is None and first_run_ok:
                logger.info("no stored profile of %s yet: a first run", table)
                return None, False
            if stored is None:
                filt = f" with filter {where!r}" if where else ""
                raise NotFoundError(
                    f"There is no stored profile of {table}{filt} yet; run `dbx-ops profile {table}` "
                    "first or choose another baseline."
                )
            return stored, True
        if spec.kind == "table":
            src = self.profiler.source(parse_table_name(str(spec.value)), where, label=str(spec))
        elif table is None:
            raise InvalidInputError(_NEEDS_TABLE.format(spec=spec))
        elif spec.kind == "partition":
            src = self.profiler.source(table, str(spec.value), label=str(spec))
        else:
            if spec.kind == "snapshot":
                version = snapshot_version(self.spark, str(spec.value), table, self.metrics.state)
            else:
                version = int(str(spec.value))
            src = self.profiler.source(table, where, version=version, label=str(spec))
        reference = None
        if table is not None:
            # one query: a stored profile of this very baseline, and the table's newest own profile,
            # whose bins and categories the baseline is counted over (one aggregation, not two)
            at = src.delta_version if spec.kind in ("version", "snapshot") else None
            stored, reference = self.metrics.lookup(str(table), where, at, columns, fallback=True)
            if (
                at is not None
                and where is None
                and stored is not None
                and _has_distributions(stored, distributions)
            ):
                logger.info("baseline %s: reusing stored profile %s", spec, stored.run_id)
                return stored, True
        return self.profiler.profile_source(
            src, _present(src, columns), reference, distributions, distinct, stats
        ), False


_NEEDS_TABLE = (
    "Baseline {spec} needs the table's name; validate a table, or pass a baseline DataFrame, "
    "table:NAME or run:RUN_ID."
)


def _present(src: DataSource, columns: Sequence[str] | None) -> list[str] | None:
    """The wanted columns the baseline has (a column added since is reported by the schema rule)."""
    if columns is None:
        return None
    names = {f.name for f in src.df.schema.fields}
    return [c for c in columns if c in names]


def _has_distributions(profile: TableProfile, wanted: bool | Collection[str]) -> bool:
    """Whether a stored profile has the histograms / top-k a validation compares."""
    if wanted is False:
        return True
    columns = [
        c
        for c in profile.columns.values()
        if wanted is True or (not isinstance(wanted, bool) and c.name in wanted)
    ]
    return any(c.histogram is not None or c.categories is not None for c in columns) or not any(
        c.kind in ("numeric", "categorical") for c in columns
    )
