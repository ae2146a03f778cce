"""The scheduled validation job: its parameters, parsed once, and the run.

The bundle's ``dbx_ops_validation`` job runs ``notebooks/validate_table.py``
with the parameters below; the notebook only reads its widgets, calls
:meth:`ValidationJob.from_params` and :meth:`ValidationJob.run`, renders, and
calls :meth:`ValidationJob.finish`. So what the job does is library code,
tested without a notebook.

==============  ===============================================================
``tables``      comma-separated table names (``table`` is accepted as an alias)
``baseline``    ``previous`` (default), ``snapshot:LABEL``, ``version:N``, ...
``where``       rows of this run, e.g. ``date = current_date()`` (optional)
``rules``       path of a rules YAML file (empty: the default rules)
``fail_job``    ``true`` (default): fail the task when a fail-severity rule broke
``state_schema`` the state schema (empty: ``DBX_OPS_SCHEMA`` or ``dbx_ops``)
``full``        ``true``: scan every row (default ``false``: the cheapest exact source per
                metric, the Delta log, a stored profile, an incremental merge of appends)
``sample``      distributions from a seeded sample: a fraction (``0.1``) or rows (``1000000``)
==============  ===============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from dbx_ops.errors import InvalidInputError
from dbx_ops.progress import Progress
from dbx_ops.state import StateStore, state_schema
from dbx_ops.validation.baselines import BaselineSpec
from dbx_ops.validation.metrics import MetricsStore
from dbx_ops.validation.profile import ProfileOptions, check_filter, parse_sample
from dbx_ops.validation.report import ValidationBatch
from dbx_ops.validation.rules import load_rules
from dbx_ops.validation.validator import Validator, parse_tables

_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")


def parse_flag(value: str | bool | None, name: str, default: bool) -> bool:
    """A yes/no job parameter: true/yes/1/on or false/no/0/off (any case); empty gives ``default``.

    Raises:
        InvalidInputError: for anything else.
    """
    if isinstance(value, bool):
        return value
    text = (value or "").strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInputError(f"Parameter {name}={value!r} must be true or false.")


@dataclass(frozen=True)
class ValidationJob:
    """The validation job's parameters, checked before any table is read.

    Attributes:
        tables: the tables to validate, in order.
        baseline: what each table is compared with.
        where: rows of this run, or None for all.
        rules: a rules file path, or None for the default rules.
        fail_job: raise when a fail-severity rule broke (:meth:`finish`).
        schema: the state schema.
        full: scan every row instead of the cheapest exact source per metric.
        sample: distributions from a sample (a fraction or a row count), None for every row.
    """

    #: The widget / job parameter names the notebook reads.
    PARAMETERS: ClassVar[tuple[str, ...]] = (
        "tables", "table", "baseline", "where", "rules", "fail_job", "state_schema", "full", "sample",
    )  # fmt: skip

    tables: tuple[str, ...]
    baseline: BaselineSpec
    where: str | None = None
    rules: str | None = None
    fail_job: bool = True
    schema: str = "dbx_ops"
    full: bool = False
    sample: float | int | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any], env: Mapping[str, str] | None = None) -> ValidationJob:
        """Parse the job's parameters (widget values: text, empty when not given).

        Args:
            params: parameter name -> value; ``tables`` wins over its alias ``table``.
            env: the environment for the state schema default (``DBX_OPS_SCHEMA``).

        Raises:
            InvalidInputError: for a missing table, a bad name, baseline, filter, rules file or flag.
        """

        def get(name: str) -> str:
            value = params.get(name)
            return "" if value is None else str(value).strip()

        named = get("tables") or get("table")
        if not named:
            raise InvalidInputError(
                "No table to validate: set the job parameter 'tables' (comma-separated names)."
            )
        rules = get("rules") or None
        if rules is not None:
            load_rules(rules)  # a bad rules file is refused before any table is read
        return cls(
            tables=tuple(parse_tables(named)),
            baseline=BaselineSpec.parse(get("baseline") or "previous"),
            where=check_filter(get("where")) if get("where") else None,
            rules=rules,
            fail_job=parse_flag(get("fail_job"), "fail_job", default=True),
            schema=get("state_schema") or state_schema(env),
            full=parse_flag(get("full"), "full", default=False),
            sample=parse_sample(get("sample")),
        )

    def run(self, spark: Any, progress: Progress | None = None) -> ValidationBatch:
        """Validate every table; profiles and verdicts are stored in the state schema."""
        options = ProfileOptions(sample=self.sample)
        validator = Validator(spark, store=StateStore(spark, schema=self.schema), options=options)
        return validator.validate_tables(
            list(self.tables), self.baseline, self.rules, where=self.where, progress=progress, full=self.full
        )

    def history(self, spark: Any, limit: int = 200) -> Any:
        """The row counts and null rates stored for these tables, newest first (a DataFrame)."""
        return MetricsStore(StateStore(spark, schema=self.schema)).history_of(self.tables, limit=limit)

    def finish(self, batch: ValidationBatch) -> None:
        """Fail the job (raise ``ValidationFailedError``) when ``fail_job`` and a table failed."""
        if self.fail_job:
            batch.raise_on_failure()
