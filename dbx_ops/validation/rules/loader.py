"""Rules from YAML files, lists of mappings or Rule objects, validated when loaded.

Every rule has a ``type`` (a registered rule type) and an optional ``severity``
(``fail``, the default, or ``warn``). A missing or unknown type or key, a value
of the wrong type, out of range or not a finite number is refused with one
sentence naming the rule (by position) and the key.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dbx_ops.clock import utc_now
from dbx_ops.errors import ValidationRuleError
from dbx_ops.validation.model import TableProfile
from dbx_ops.validation.rules.base import MergedNeeds, Needs, Rule, RuleResult
from dbx_ops.validation.rules.registry import rule_type, rule_types

DEFAULT_RULES_FILE = Path(__file__).resolve().parent.parent / "default_rules.yml"


def _where(index: int | None, rtype: str | None) -> str:
    pos = f"rule {index}" if index is not None else "rule"
    return f"{pos} ({rtype})" if rtype else pos


def _known() -> str:
    return ", ".join(sorted(rule_types()))


def parse_rule(spec: Mapping[str, Any] | Rule, index: int | None = None) -> Rule:
    """Build one rule from a mapping (``{"type": ..., ...}``), validating every key.

    Args:
        spec: the rule as written in a rules file, or a Rule (returned as is after checks).
        index: its 1-based position, used in error messages.

    Raises:
        ValidationRuleError: for a missing or unknown type, an unknown or missing key, or a bad value.
    """
    if isinstance(spec, Rule):
        return _checked(spec, index)
    if not isinstance(spec, Mapping):
        raise ValidationRuleError(
            f"{_where(index, None)} must be a mapping with a 'type' key, got {type(spec).__name__}."
        )
    if "type" not in spec or spec.get("type") in (None, ""):
        raise ValidationRuleError(f"{_where(index, None)} has no 'type'; use one of {_known()}.")
    rtype = spec["type"]
    cls = rule_type(rtype) if isinstance(rtype, str) else None
    if cls is None:
        raise ValidationRuleError(
            f"{_where(index, None)}: unknown rule type {rtype!r}; use one of {_known()}."
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "type":
            continue
        if not isinstance(key, str):
            raise ValidationRuleError(f"{_where(index, rtype)}: keys must be text, got {key!r}.")
        if key == "column" and "columns" in fields and "column" not in fields:
            key, value = "columns", [value]
        if key not in fields:
            raise ValidationRuleError(
                f"{_where(index, rtype)}: unknown key {key!r}; allowed: {', '.join(sorted(fields))}."
            )
        kwargs[key] = _coerce(key, value, fields[key].type, index, rtype)
    try:
        rule = cls(**kwargs)
    except TypeError as exc:  # a user rule with a required field
        raise ValidationRuleError(f"{_where(index, rtype)}: {exc}.") from exc
    return _checked(rule, index)


def _coerce(key: str, value: Any, annotation: Any, index: int | None, rtype: str) -> Any:
    where = _where(index, rtype)
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    if "Mapping" in text or "dict" in text:
        if value is None and "None" in text:
            return None
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ValidationRuleError(f"{where}: {key!r} must map column names to type names.")
        return dict(value)
    if "tuple[str" in text:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
            raise ValidationRuleError(f"{where}: {key!r} must be a list of column names.")
        return tuple(value)
    if text.startswith("str"):
        if not isinstance(value, str):
            raise ValidationRuleError(f"{where}: {key!r} must be text, got {value!r}.")
        return value
    if "int" in text or "float" in text:
        if value is None and "None" in text:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationRuleError(f"{where}: {key!r} must be a number, got {value!r}.")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int too large for a float
            finite = False
        if not finite:
            shown = value if isinstance(value, float) else f"a {len(str(value))}-digit number"
            raise ValidationRuleError(f"{where}: {key!r} must be a finite number, got {shown}.")
        if "int" in text and "float" not in text:
            if not float(value).is_integer():
                raise ValidationRuleError(f"{where}: {key!r} must be a whole number, got {value!r}.")
            return int(value)
        return float(value)
    if text.startswith("bool"):
        if not isinstance(value, bool):
            raise ValidationRuleError(f"{where}: {key!r} must be true or false, got {value!r}.")
        return value
    return value


def _checked(rule: Rule, index: int | None) -> Rule:
    try:
        rule.check()
    except ValidationRuleError as exc:
        raise ValidationRuleError(f"{_where(index, rule.TYPE)}: {exc}") from exc
    return rule


@dataclass(frozen=True)
class RuleSet:
    """An ordered, validated set of rules, and the union of what they read."""

    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def needs(self) -> MergedNeeds:
        """What the rules read from a profile, merged (see :class:`~.base.Needs`)."""
        return Needs.merge(r.needs() for r in self.rules)

    @property
    def needs_baseline(self) -> bool:
        """True when some rule compares with a baseline."""
        return any(r.needs().baseline for r in self.rules)

    def baseline_free(self) -> RuleSet:
        """The rules that need no baseline (what a first run can check)."""
        return RuleSet(tuple(r for r in self.rules if not r.needs().baseline))

    def columns_needed(self) -> list[str] | None:
        """Columns the rules read: a list, or None for every column."""
        return self.needs().columns

    def distinct_needed(self) -> list[str] | None:
        """Columns whose approximate distinct count the rules read: a list, or None for every column."""
        return self.needs().distinct

    def stats_needed(self) -> list[str] | None:
        """Columns whose min / max the rules read (value ranges, freshness watermarks)."""
        return self.needs().measured_stats

    def distributions_needed(self) -> list[str] | None:
        """Columns whose histogram / top-k the rules compare: a list, or None for every column."""
        return self.needs().distributions

    def missing_columns(self, *schemas: Iterable[str]) -> list[tuple[Rule, str]]:
        """``(rule, column)`` for every column a rule names that none of ``schemas`` has."""
        present = {c for names in schemas for c in names}
        return [(r, c) for r in self.rules for c in r.named_columns() if c not in present]

    def evaluate(
        self, current: TableProfile, baseline: TableProfile | None, now: datetime | None = None
    ) -> list[RuleResult]:
        """Every rule's results, in rule order (``now``: the time freshness is measured against)."""
        moment = now or utc_now()
        results: list[RuleResult] = []
        for rule in self.rules:
            results += rule.evaluate(current, baseline, moment)
        return results

    def to_dict(self) -> dict[str, Any]:
        """The rules as a rules-file mapping."""
        return {"rules": [r.to_dict() for r in self.rules]}


def load_rules(source: RuleSet | Sequence[Any] | Mapping[str, Any] | str | Path | None) -> RuleSet:
    """Rules from a RuleSet, a list of dicts/Rules, a ``{"rules": [...]}`` mapping or a YAML file.

    Args:
        source: the rules; None gives the default set (:data:`DEFAULT_RULES_FILE`).

    Raises:
        ValidationRuleError: when the rules are malformed (one sentence saying which and why).
    """
    if source is None:
        source = DEFAULT_RULES_FILE
    if isinstance(source, RuleSet):
        return source
    if isinstance(source, str | Path):
        return _load_file(Path(source))
    if isinstance(source, Mapping):
        extra = set(source) - {"rules"}
        if extra:
            raise ValidationRuleError(
                f"The rules mapping has unknown top-level keys {sorted(map(str, extra))}; "
                "only 'rules' is allowed."
            )
        items = source.get("rules")
        if not isinstance(items, list):
            raise ValidationRuleError("The rules mapping needs a 'rules' list.")
        source = items
    if isinstance(source, Rule):
        source = [source]
    if not isinstance(source, Iterable):
        raise ValidationRuleError(f"Rules must be a list, a mapping or a file, got {type(source).__name__}.")
    return RuleSet(tuple(parse_rule(item, i) for i, item in enumerate(source, start=1)))


def check_rules_path(path: Path) -> Path:
    """``path`` when it is a readable file; else one sentence saying what it is."""
    if path.is_dir():
        raise ValidationRuleError(f"Rules file {path} is a folder, not a file.")
    if not path.is_file():
        raise ValidationRuleError(f"Rules file {path} does not exist.")
    return path


def _load_file(path: Path) -> RuleSet:
    import yaml

    check_rules_path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ValidationRuleError(f"Rules file {path} is not valid YAML{where}: {problem}.") from exc
    except UnicodeDecodeError as exc:
        raise ValidationRuleError(f"Rules file {path} is not UTF-8 text.") from exc
    except OSError as exc:
        raise ValidationRuleError(f"Rules file {path} cannot be read: {exc.strerror}.") from exc
    except RecursionError as exc:
        raise ValidationRuleError(f"Rules file {path} is nested too deeply.") from exc
    if data is None:
        raise ValidationRuleError(f"Rules file {path} is empty; it needs a 'rules:' list.")
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, Mapping):
        raise ValidationRuleError(f"Rules file {path} must hold a mapping with a 'rules:' list.")
    try:
        return load_rules(data)
    except ValidationRuleError as exc:
        raise ValidationRuleError(f"Rules file {path}: {exc}") from exc


def default_rules() -> RuleSet:
    """The default rule set (see ``default_rules.yml``)."""
    return _load_file(DEFAULT_RULES_FILE)
