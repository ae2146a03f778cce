"""``dbx-ops profile`` and ``dbx-ops validate``: thin over :mod:`dbx_ops.validation`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from dbx_ops.cli._common import add_json_flag, emit, table
from dbx_ops.errors import InvalidInputError

if TYPE_CHECKING:
    from dbx_ops.validation import Validator
    from dbx_ops.validation.profile import ProfileOptions

_BASELINE_HELP = (
    'what to compare with: snapshot:LABEL, version:N, previous, run:RUN_ID, table:NAME or partition:"EXPR" '
    '(e.g. partition:"date = current_date() - 1")'
)

_EXPLAIN_HELP = (
    "say per metric where it came from: the Delta log (no data read), a stored profile of the same "
    "table version, or the data, and why a cheaper source could not answer it"
)


_FULL_HELP = (
    "scan every row: no Delta log statistics, no stored profile, no incremental merge of the rows "
    "appended since the stored profile (the default is the cheapest exact source per metric)"
)

_SAMPLE_HELP = (
    "count the distributions (histograms, top values, bin edges) over a seeded random sample: a "
    "fraction such as 0.1, or a number of rows such as 1000000; row counts, nulls, min/max and "
    "distinct counts still read every row"
)


def _add_scan_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--full", action="store_true", help=_FULL_HELP)
    p.add_argument("--sample", metavar="FRACTION|ROWS", help=_SAMPLE_HELP)
    p.add_argument(
        "--sample-seed", type=int, default=None, metavar="N", help="the sample's seed (default 17)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "profile",
        help="profile a table in one Spark pass and store the metrics in Delta",
        description="Row count, null rates, approximate distinct counts, min/max, mean/stddev, "
        "histograms and top values of a table, in one Spark aggregation pass; appended to the "
        "dbx_ops metrics table so later runs can use it as their baseline.",
    )
    p.add_argument("table", help="table to profile: schema.table, catalog.schema.table or delta.`/path`")
    p.add_argument("--columns", help="comma-separated columns (default: all; '' for the row count only)")
    p.add_argument("--where", help='rows to profile, a boolean SQL expression: "date = current_date()"')
    p.add_argument("--no-save", action="store_true", help="do not append the profile to the metrics table")
    p.add_argument("--explain", action="store_true", help=_EXPLAIN_HELP)
    _add_scan_flags(p)
    add_json_flag(p)
    p.set_defaults(handler=run_profile)

    v = subparsers.add_parser(
        "validate",
        help="validate a table against a baseline (row counts, nulls, distinct counts, drift, schema)",
        description="Profile the table, compare it with the baseline under the rules (the default set "
        "without --rules), store profile and verdicts in Delta. Exit 1 when a fail-severity rule breaks.",
    )
    v.add_argument("table", help="table to validate")
    v.add_argument("--baseline", help=_BASELINE_HELP)
    v.add_argument("--rules", type=Path, help="YAML rules file (default: the built-in default rules)")
    v.add_argument("--where", help='rows of the current run: "date = current_date()"')
    v.add_argument("--html", type=Path, metavar="FILE", help="also write the report as HTML to FILE")
    v.add_argument("--markdown", type=Path, metavar="FILE", help="also write the report as Markdown to FILE")
    v.add_argument("--no-save", action="store_true", help="do not store the profile and verdicts")
    v.add_argument("--explain", action="store_true", help=_EXPLAIN_HELP)
    _add_scan_flags(v)
    add_json_flag(v)
    v.set_defaults(handler=run_validate)


def _columns(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    return [c.strip() for c in raw.split(",") if c.strip()]


def _options(args: argparse.Namespace) -> ProfileOptions:
    """Profile options from the flags, checked before Spark starts."""
    from dbx_ops.validation.profile import ProfileOptions, parse_sample

    seed = {} if args.sample_seed is None else {"seed": args.sample_seed}
    return ProfileOptions(sample=parse_sample(args.sample), **seed)


def _validator(options: ProfileOptions | None = None) -> Validator:
    from dbx_ops.runtime import get_spark
    from dbx_ops.state import StateStore
    from dbx_ops.validation import Validator

    spark = get_spark()
    return Validator(spark, store=StateStore.from_env(spark), options=options)


def run_profile(args: argparse.Namespace) -> int:
    from dbx_ops.validation.profile import check_delta_source, check_filter

    check_delta_source(args.table)
    if args.where is not None:
        check_filter(args.where)
    options = _options(args)
    prof, sources = _validator(options).profile_with_sources(
        args.table, columns=_columns(args.columns), where=args.where, save=not args.no_save, full=args.full
    )

    def human() -> str:
        head = f"{prof.describe()}: {prof.row_count:,} rows (run {prof.run_id})"
        rows = []
        for c in prof.columns.values():
            rows.append(
                {
                    "column": c.name,
                    "type": c.dtype,
                    "null rate": f"{(c.null_count / prof.row_count) if prof.row_count else 0:.2%}",
                    "distinct~": "" if c.distinct is None else f"{c.distinct:,}",
                    "min": _short(c.min),
                    "max": _short(c.max),
                    "mean": "" if c.mean is None else f"{c.mean:.6g}",
                    "top": ", ".join(k for k, _ in c.categories.counts[:3]) if c.categories else "",
                }
            )
        text = head + ("\n" + table(rows) if rows else "")
        return f"{text}\n{sources.to_text()}" if args.explain else text

    emit(args, {**prof.to_dict(), "sources": sources.to_dict()}, human)
    return 0


def _short(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _check_output(path: Path | None) -> None:
    """Refuse a report path that cannot be written, before any work is done."""
    if path is None:
        return
    if path.is_dir():
        raise InvalidInputError(f"Cannot write the report to {path}: it is a folder; give a file name.")
    if not path.parent.is_dir():
        raise InvalidInputError(f"Cannot write the report to {path}: folder {path.parent} does not exist.")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise InvalidInputError(f"Cannot write the report to {path}: {exc.strerror or exc}.") from exc
    if not existed:
        path.unlink(missing_ok=True)


def run_validate(args: argparse.Namespace) -> int:
    from dbx_ops.validation import BaselineSpec, load_rules
    from dbx_ops.validation.profile import check_delta_source, check_filter
    from dbx_ops.validation.rules import check_rules_path

    # Bad input is refused before a Spark session starts.
    if args.rules is not None:
        check_rules_path(args.rules)
    for path in (args.html, args.markdown):
        _check_output(path)
    check_delta_source(args.table)
    baseline = BaselineSpec.parse(args.baseline) if args.baseline else None
    rules = load_rules(args.rules)
    where = check_filter(args.where) if args.where is not None else None
    options = _options(args)
    report = _validator(options).validate(
        args.table, baseline=baseline, rules=rules, where=where, save=not args.no_save, full=args.full
    )
    for path, text in ((args.html, report.to_html), (args.markdown, report.to_markdown)):
        if path is not None:
            try:
                path.write_text(text(), encoding="utf-8")
            except OSError as exc:
                raise InvalidInputError(f"Cannot write the report to {path}: {exc.strerror}.") from exc

    def human() -> str:
        return f"{report.to_text()}\n{report.explain()}" if args.explain else report.to_text()

    emit(args, report.to_dict(), human)
    return 0 if report.ok else 1
