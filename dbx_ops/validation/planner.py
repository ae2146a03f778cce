"""The metric planner: each metric a validation needs, from the cheapest source that is exact.

Sources, cheapest first:

``log``
    the Delta log's file statistics (:mod:`dbx_ops.validation.delta_log`): the row count,
    null counts, min / max where the log keeps them exactly. No data is read.
``stored``
    a profile of the very same table version (and filter) already in the metrics store: a Delta
    version never changes, so whatever that profile measured is still true (distinct counts,
    histograms over the same bins, top values, mean / stddev).
``data``
    one aggregation query over the table (:class:`~dbx_ops.validation.profile.Profiler`),
    measuring only the metrics no cheaper source answered.

:func:`plan_metrics` decides and :func:`assemble` builds the profile from the pieces; both are
plain Python (unit-tested without Spark). :class:`SourcedProfiler` is the Spark edge: it reads
the log, looks up the stored profile only when something is still missing, runs the data query
only when something is still missing after that, and returns the profile with its
:class:`MetricSources` (what ``--explain`` prints). A validation whose rules the log answers
entirely therefore reads no data at all.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbx_ops import render
from dbx_ops.errors import InvalidInputError
from dbx_ops.validation.delta_log import DeltaLogReader, LogStats
from dbx_ops.validation.model import ColumnProfile, TableProfile, type_kind

logger = logging.getLogger(__name__)

LOG, STORED, INCREMENTAL, DATA = "log", "stored", "incremental", "data"
SOURCES = (LOG, STORED, INCREMENTAL, DATA)

#: The metrics a plan decides, per column except ``row_count``.
ROW_COUNT, NULLS, BOUNDS, MOMENTS, DISTINCT, DISTRIBUTION = (
    "row_count",
    "null_count",
    "min_max",
    "mean_stddev",
    "distinct",
    "distribution",
)


@dataclass(frozen=True)
class MetricChoice:
    """Where one metric comes from.

    Attributes:
        metric: ``row_count``, ``null_count``, ``min_max``, ``mean_stddev``, ``distinct`` or
            ``distribution``.
        column: the column, None for ``row_count``.
        source: ``log``, ``stored`` or ``data``.
        note: why a cheaper source could not answer it (None when the cheapest did).
    """

    metric: str
    column: str | None
    source: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"metric": self.metric, "column": self.column, "source": self.source, "note": self.note}


@dataclass(frozen=True)
class MetricRequest:
    """What a profile must measure (pure input of :func:`plan_metrics`).

    Attributes:
        columns: columns profiled (each gets its null count).
        types: column name to Spark type.
        bounds: columns that need min / max.
        moments: columns that need mean / stddev.
        distinct: columns that need a distinct count.
        distributions: columns that need a histogram or top values.
    """

    columns: tuple[str, ...]
    types: Mapping[str, str]
    bounds: tuple[str, ...] = ()
    moments: tuple[str, ...] = ()
    distinct: tuple[str, ...] = ()
    distributions: tuple[str, ...] = ()

    def wanted(self) -> list[tuple[str, str | None]]:
        """Every ``(metric, column)`` asked for, in report order."""
        out: list[tuple[str, str | None]] = [(ROW_COUNT, None)]
        for c in self.columns:
            kind = type_kind(self.types.get(c, ""))
            out.append((NULLS, c))
            if c in self.bounds and kind in ("numeric", "temporal"):
                out.append((BOUNDS, c))
            if c in self.moments and kind == "numeric":
                out.append((MOMENTS, c))
            if c in self.distinct and kind != "other":
                out.append((DISTINCT, c))
            if c in self.distributions and kind in ("numeric", "categorical"):
                out.append((DISTRIBUTION, c))
        return out


@dataclass(frozen=True)
class MetricSources:
    """Where every metric of one profile came from (what ``--explain`` shows).

    Attributes:
        choices: one per metric.
        log_note: why the Delta log was not used at all (None when it was, or was not tried).
        log_seconds: time spent reading the log.
        data_queries: data aggregation passes run (0: no data read).
        method_note: how the data part was profiled: ``incremental: ...`` (the stored state
            merged with the rows appended since, how many) or ``full scan: ...`` with the reason
            an incremental profile was not possible; None when no data was read or none was tried.
        log_reader: which reader answered from the log, ``delta log (driver)`` (no Spark job)
            or ``delta log (spark)``; None when the log was not read.
        log_reader_note: why the driver did not read the log itself (when Spark did).
    """

    choices: tuple[MetricChoice, ...]
    log_note: str | None = None
    log_seconds: float = 0.0
    data_queries: int = 0
    method_note: str | None = None
    log_reader: str | None = None
    log_reader_note: str | None = None

    def source_of(self, metric: str, column: str | None = None) -> str | None:
        """The source of one metric, None when it was not measured."""
        for c in self.choices:
            if c.metric == metric and c.column == column:
                return c.source
        return None

    def counts(self) -> dict[str, int]:
        """How many metrics came from each source."""
        return {s: sum(1 for c in self.choices if c.source == s) for s in SOURCES}

    @property
    def scanned(self) -> bool:
        """True when some metric was read from the data."""
        return any(c.source == DATA for c in self.choices)

    def summary(self) -> str:
        """One sentence: how many metrics came from where."""
        n = self.counts()
        text = (
            f"{n[LOG]} metric(s) from the Delta log, {n[STORED]} from a stored profile, "
            + (
                f"{n[INCREMENTAL]} merged from the stored state and the appended rows, "
                if n[INCREMENTAL]
                else ""
            )
            + f"{n[DATA]} from the data"
        )
        text += "; no data was read." if not self.scanned and not n[INCREMENTAL] else "."
        if self.method_note:
            text += f" {self.method_note[0].upper()}{self.method_note[1:].rstrip('.')}."
        if self.log_note:
            return f"{text} The log was not used: {self.log_note}."
        if self.log_reader is not None and n[LOG]:
            secs = self.log_seconds
            took = f"{secs:.2f} s" if secs >= 1 else f"{secs * 1000:.1f} ms"
            text += f" The log was read by {self.log_reader} in {took}"
            text += f" ({self.log_reader_note})." if self.log_reader_note else "."
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "summary": self.summary(),
            "counts": self.counts(),
            "log_note": self.log_note,
            "log_seconds": round(self.log_seconds, 3),
            "log_reader": self.log_reader,
            "log_reader_note": self.log_reader_note,
            "data_queries": self.data_queries,
            "method_note": self.method_note,
            "metrics": [c.to_dict() for c in self.choices],
        }

    def rows(self) -> list[list[str]]:
        """``[metric, column, source, note]`` rows for a table."""
        return [[c.metric, c.column or "(table)", c.source, c.note or ""] for c in self.choices]

    def to_text(self) -> str:
        """Plain text: the summary and one line per metric."""
        lines = [self.summary()]
        for c in self.choices:
            why = f" ({c.note})" if c.note else ""
            lines.append(f"  {c.metric:<12} {c.column or '(table)':<24} {c.source}{why}")
        return "\n".join(lines)

    def to_html(self) -> str:
        """An HTML table of the choices."""
        return render.paragraph(self.summary()) + render.html_table(
            self.rows(), ["metric", "column", "source", "why not cheaper"]
        )


def _stored_has(
    stored: TableProfile, metric: str, column: str | None, reference: TableProfile | None
) -> bool:
    if metric == ROW_COUNT:
        return True
    col = stored.column(str(column))
    if col is None:
        return False
    if metric == NULLS:
        return True
    if metric == BOUNDS:
        return col.min is not None or col.null_count == stored.row_count
    if metric == MOMENTS:
        return col.mean is not None or col.null_count == stored.row_count
    if metric == DISTINCT:
        return col.distinct is not None
    if metric == DISTRIBUTION:
        ref = reference.column(str(column)) if reference is not None else None
        if col.histogram is not None:
            return (
                ref is None
                or ref.histogram is None
                or tuple(ref.histogram.edges) == tuple(col.histogram.edges)
            )
        if col.categories is not None:
            return ref is None or ref.categories is None or ref.categories.keys == col.categories.keys
    return False


def _log_note(log: LogStats, metric: str, column: str | None) -> str | None:
    """None when the log answers the metric exactly, else why not."""
    if metric == ROW_COUNT:
        return log.row_count_note if log.row_count is None else None
    col = log.column(str(column))
    if col is None:
        return "the log's schema has no such column"
    if metric == NULLS:
        return col.nulls_note if col.null_count is None else None
    if metric == BOUNDS:
        return col.bounds_note
    return {
        MOMENTS: "the log keeps no sums",
        DISTINCT: "the log keeps no distinct counts",
        DISTRIBUTION: "the log keeps no histograms or value counts",
    }.get(metric, "not in the log")


def plan_metrics(
    request: MetricRequest,
    log: LogStats | None,
    stored: TableProfile | None = None,
    reference: TableProfile | None = None,
    log_skipped: str | None = None,
) -> MetricSources:
    """Choose, for every metric of ``request``, the cheapest exact source (pure).

    Args:
        request: what the profile must measure.
        log: the table version's log statistics (None: not read, e.g. a DataFrame or a filter).
        stored: a stored profile of the same table version and filter, if any.
        reference: the baseline whose bins the distributions are counted over.
        log_skipped: why the log was not read (shown when ``log`` is None).

    Returns:
        The :class:`MetricSources` (``data_queries`` not yet filled in).
    """
    usable = log if log is not None and log.available else None
    if log is not None and not log.available:
        log_skipped = log.reason
    choices = []
    for metric, column in request.wanted():
        note = _log_note(usable, metric, column) if usable is not None else (log_skipped or "no Delta log")
        if note is None:
            choices.append(MetricChoice(metric, column, LOG))
        elif stored is not None and _stored_has(stored, metric, column, reference):
            choices.append(MetricChoice(metric, column, STORED, note))
        else:
            extra = "" if stored is None else "; the stored profile of this version lacks it"
            choices.append(MetricChoice(metric, column, DATA, note + extra))
    return MetricSources(tuple(choices), log_note=log_skipped if usable is None else None)


@dataclass(frozen=True)
class DataRequest:
    """What the data query must still measure (from :func:`data_request`)."""

    columns: list[str]
    stats: list[str]
    distinct: list[str]
    distributions: list[str]
    row_count: bool

    @property
    def empty(self) -> bool:
        """True when no data query is needed."""
        return not self.columns and not self.row_count


def data_request(sources: MetricSources) -> DataRequest:
    """The columns and metrics the data query measures: only those whose source is ``data``."""
    from_data = [c for c in sources.choices if c.source == DATA]
    columns = list(dict.fromkeys(c.column for c in from_data if c.column is not None))
    return DataRequest(
        columns=columns,
        stats=list(dict.fromkeys(c.column for c in from_data if c.metric in (BOUNDS, MOMENTS) and c.column)),
        distinct=[c.column for c in from_data if c.metric == DISTINCT and c.column],
        distributions=[c.column for c in from_data if c.metric == DISTRIBUTION and c.column],
        row_count=any(c.metric == ROW_COUNT for c in from_data),
    )


_BOUND_FIELDS = ("min", "max", "max_epoch")
# with the mergeable state (sum, m2, the HLL sketch) that lets a later profile merge into it
_MOMENT_FIELDS = ("mean", "stddev", "sum", "m2")


def assemble(
    base: TableProfile,
    sources: MetricSources,
    log: LogStats | None,
    stored: TableProfile | None,
    data: TableProfile | None,
) -> TableProfile:
    """The profile whose every metric is taken from the source ``sources`` chose (pure).

    Args:
        base: the identity of the profile (run id, table, version, filter, time, schema, label).
        sources: the plan.
        log: the log statistics the plan read from.
        stored: the stored profile the plan read from.
        data: the data profile of the metrics planned from data (None when none were).
    """

    def pick(source: str) -> Any:
        return {LOG: log, STORED: stored, INCREMENTAL: data, DATA: data}[source]

    rows = base.row_count
    fields: dict[str, dict[str, Any]] = {}
    types = base.types
    for choice in sources.choices:
        src = pick(choice.source)
        if choice.metric == ROW_COUNT:
            rows = int(src.row_count)
            continue
        name = str(choice.column)
        entry = fields.setdefault(name, {"name": name, "dtype": types.get(name, "")})
        if choice.source == LOG:
            lc = log.column(name) if log is not None else None
            assert lc is not None
            if choice.metric == NULLS:
                entry["null_count"] = int(lc.null_count or 0)
            elif choice.metric == BOUNDS:
                entry.update(min=lc.min, max=lc.max, max_epoch=lc.max_epoch)
            continue
        col: ColumnProfile | None = src.column(name) if src is not None else None
        if col is None:
            continue
        if choice.metric == NULLS:
            entry["null_count"] = col.null_count
        elif choice.metric == BOUNDS:
            entry.update({f: getattr(col, f) for f in _BOUND_FIELDS})
        elif choice.metric == MOMENTS:
            entry.update({f: getattr(col, f) for f in _MOMENT_FIELDS})
        elif choice.metric == DISTINCT:
            entry.update(distinct=col.distinct, sketch=col.sketch)
        elif choice.metric == DISTRIBUTION:
            entry.update(histogram=col.histogram, categories=col.categories)
    columns = {n: ColumnProfile(**f) for n, f in fields.items()}
    return dataclasses.replace(base, row_count=rows, columns=columns)


class SourcedProfiler:
    """Profiles a resolved source taking each metric from the planner's choice.

    Args:
        profiler: the :class:`~dbx_ops.validation.profile.Profiler` that reads data.
        metrics: the metrics store (stored profiles of the same version), or None.
        log_reader: reads the Delta log (default: :class:`DeltaLogReader` on the profiler's
            session).
        use_log: False to skip the log (every metric from the data).
        incremental: merges a stored profile's state with the rows appended since
            (:class:`~dbx_ops.validation.incremental.IncrementalProfiler`); None: never.
    """

    def __init__(
        self,
        profiler: Any,
        metrics: Any = None,
        log_reader: DeltaLogReader | None = None,
        use_log: bool = True,
        incremental: Any = None,
    ) -> None:
        self.profiler = profiler
        self.incremental = incremental
        self.metrics = metrics
        self.log_reader = log_reader or DeltaLogReader(profiler.spark)
        self.use_log = use_log
        # profiles this process stored, by (table, version, filter): a Delta version never
        # changes, so they answer a later validation of that version without a metrics query
        self._stored_here: dict[tuple[str, int, str | None], TableProfile] = {}

    def remember(self, *profiles: TableProfile) -> None:
        """Keep profiles just saved to the metrics store, to answer later plans of their version."""
        for p in profiles:
            if p.table_name is not None and p.delta_version is not None and p.columns:
                key = (p.table_name, p.delta_version, p.filter)
                held = self._stored_here.get(key)
                if held is None or len(p.columns) >= len(held.columns):
                    self._stored_here[key] = p
        while len(self._stored_here) > 64:
            self._stored_here.pop(next(iter(self._stored_here)))

    def profile(
        self,
        src: Any,
        columns: Sequence[str] | None,
        reference: TableProfile | None,
        distributions: bool | Collection[str],
        distinct: Collection[str] | None,
        stats: Collection[str] | None,
        bounds: Collection[str] | None = (),
        stored: TableProfile | None = None,
        state: TableProfile | None = None,
        full: bool = False,
    ) -> tuple[TableProfile, MetricSources]:
        """The profile of ``src`` and where each of its metrics came from.

        Arguments as :meth:`Profiler.profile_source`, plus ``bounds`` (columns that need only
        min / max) and ``stored`` (a profile of the same version already at hand, e.g. the
        ``previous`` baseline; otherwise the metrics store is asked when needed), ``state`` (a
        stored profile of an earlier version to merge the appended rows into, see
        :mod:`~dbx_ops.validation.incremental`) and ``full`` (every metric from one scan of the
        data: no log, no stored profile, no incremental merge).
        """
        schema = tuple((f.name, f.dataType.simpleString()) for f in src.df.schema.fields)
        types = dict(schema)
        if columns is not None:
            missing = [c for c in columns if c not in types]
            if missing:
                raise InvalidInputError(
                    f"Column(s) {', '.join(repr(c) for c in missing)} are not in "
                    f"{src.table_name or 'the DataFrame'}; it has {', '.join(types)}."
                )
        chosen = [n for n, _ in schema] if columns is None else list(dict.fromkeys(columns))
        request = MetricRequest(
            columns=tuple(chosen),
            types=types,
            bounds=tuple(c for c in chosen if stats is None or c in stats or (bounds is None or c in bounds)),
            moments=tuple(c for c in chosen if stats is None or c in stats),
            distinct=tuple(c for c in chosen if distinct is None or c in distinct),
            distributions=tuple(
                c
                for c in chosen
                if (distributions if isinstance(distributions, bool) else c in distributions)
            ),
        )
        log, skipped = self._log(src, full)
        if full or (stored is not None and not _same_version(stored, src)):
            stored = None
        if not full and stored is None and state is not None and _same_version(state, src):
            stored = state  # the state to merge into already describes this version
        sources = plan_metrics(request, log, stored, reference, skipped)
        need = data_request(sources)
        here = (
            None
            if full or src.table_name is None or src.delta_version is None
            else (self._stored_here.get((src.table_name, src.delta_version, src.filter)))
        )
        if not need.empty and stored is None and here is not None:
            retry = plan_metrics(request, log, here, reference, skipped)
            if data_request(retry).empty:  # this process stored a profile answering all of it
                stored, sources, need = here, retry, data_request(retry)
        if (
            not full
            and not need.empty
            and stored is None
            and state is None  # a merge onto the state is exact too: no second metrics query
            and self.metrics is not None
            and src.table_name is not None
        ):
            stored = self.metrics.latest(src.table_name, src.filter, src.delta_version, need.columns or ())
            if stored is not None and _same_version(stored, src):
                sources = plan_metrics(request, log, stored, reference, skipped)
                need = data_request(sources)
            else:
                stored = None
        data = None
        queries = 0
        method_note = None
        if not need.empty:
            if not full and state is not None and self.incremental is not None:
                data = self.incremental.profile(
                    src, state, need.columns, need.distributions, need.distinct, need.stats
                )
                method_note = data.method_note
                if data.method == "incremental":
                    sources = _from_incremental(sources, method_note)
            else:
                data = self.profiler.profile_source(
                    src, need.columns, reference, need.distributions, need.distinct, need.stats
                )
                if full:
                    method_note = "full scan: asked for (full=True / --full)"
            queries = 1
        base = TableProfile(
            uuid.uuid4().hex if data is None else data.run_id,
            src.table_name,
            src.delta_version,
            src.filter,
            self.profiler.now() if data is None else data.profiled_at,
            0 if data is None else data.row_count,
            schema,
            {},
            src.label,
        )
        profile = assemble(base, sources, log, stored, data)
        sources = dataclasses.replace(
            sources,
            data_queries=queries,
            log_seconds=0.0 if log is None else log.seconds,
            method_note=method_note,
        )
        if data is not None:
            profile = dataclasses.replace(
                profile, method=data.method, method_note=data.method_note, sample=data.sample
            )
        if log is not None and log.available:  # which reader answered (driver or Spark), and why
            sources = dataclasses.replace(sources, log_reader=log.described_by, log_reader_note=log.reason)
        logger.info("%s: %s", src.table_name or "DataFrame", sources.summary())
        return profile, sources

    def _log(self, src: Any, full: bool = False) -> tuple[LogStats | None, str | None]:
        if full:
            return None, "a full scan was asked for"
        if not self.use_log:
            return None, "the validator was told not to use the log"
        if src.table_name is None:
            return None, "a DataFrame has no Delta log"
        if src.filter is not None:
            return None, "the log's statistics describe whole files, not the rows a filter selects"
        return self.log_reader.read(src.table_name, src.delta_version), None


def _same_version(stored: TableProfile, src: Any) -> bool:
    return (
        src.table_name is not None
        and stored.table_name == src.table_name
        and stored.delta_version is not None
        and stored.delta_version == src.delta_version
        and stored.filter == src.filter
    )


def _from_incremental(sources: MetricSources, note: str | None) -> MetricSources:
    """The plan with every metric it took from the data marked as merged incrementally."""
    choices = tuple(
        dataclasses.replace(
            c, source=INCREMENTAL, note=(c.note or "") + ("; " if c.note else "") + (note or "")
        )
        if c.source == DATA
        else c
        for c in sources.choices
    )
    return dataclasses.replace(sources, choices=choices)
