"""Compare a table with its snapshot: schema, properties, constraints. Pure logic, no Spark."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

#: Properties Delta manages itself; they may differ after a copy-back without the data differing.
IGNORED_PROPERTIES = ("delta.columnMapping.maxColumnId",)
CONSTRAINT_PREFIX = "delta.constraints."
#: Properties a copy-back must not set with ALTER TABLE (Delta manages them or needs DDL for them).
UNSETTABLE_PREFIXES = ("delta.constraints.", "delta.columnMapping.", "delta.feature.")

_METADATA_KEPT = ("comment", "delta.generationExpression", "delta.identity.")


def _clean_type(tp: Any) -> Any:
    if isinstance(tp, dict):
        out = {k: _clean_type(v) for k, v in tp.items() if k != "metadata"}
        if tp.get("type") == "struct" or "fields" in tp:
            out["fields"] = [_clean_field(f) for f in tp.get("fields", [])]
        if "metadata" in tp and isinstance(tp["metadata"], dict):
            kept = {k: v for k, v in tp["metadata"].items() if k.startswith(_METADATA_KEPT)}
            if kept:
                out["metadata"] = kept
        return out
    return tp


def _clean_field(field: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = _clean_type(field)
    return cleaned


def normalize_schema(schema_json: str) -> str:
    """A schema's logical form: names, types, nullability, comments, generation expressions.

    Column-mapping ids and physical names are dropped: they are storage details
    that a copy may renumber without the data or its names changing.
    """
    if not schema_json:
        return ""
    return json.dumps(_clean_type(json.loads(schema_json)), sort_keys=True)


def schema_summary(schema_json: str) -> str:
    """A short ``name type`` list for messages."""
    if not schema_json:
        return "(unknown)"
    fields = json.loads(schema_json).get("fields", [])
    parts = []
    for f in fields:
        tp = f["type"] if isinstance(f["type"], str) else f["type"].get("type", "complex")
        parts.append(f"{f['name']} {tp}{'' if f.get('nullable', True) else ' not null'}")
    return ", ".join(parts)


def schema_diff(expected_json: str, actual_json: str) -> str:
    """Say how two schemas differ (empty when they are logically equal)."""
    if normalize_schema(expected_json) == normalize_schema(actual_json):
        return ""
    exp = {f["name"]: f for f in json.loads(expected_json).get("fields", [])}
    act = {f["name"]: f for f in json.loads(actual_json).get("fields", [])}
    notes = []
    missing = [n for n in exp if n not in act]
    extra = [n for n in act if n not in exp]
    if missing:
        notes.append("missing " + ", ".join(missing))
    if extra:
        notes.append("extra " + ", ".join(extra))
    for name in exp:
        if name in act and normalize_schema(json.dumps({"fields": [exp[name]]})) != normalize_schema(
            json.dumps({"fields": [act[name]]})
        ):
            notes.append(f"{name} differs")
    if not notes and list(exp) != list(act):
        notes.append("column order differs")
    return "; ".join(notes) or "schemas differ"


def comparable_properties(props: Mapping[str, str]) -> dict[str, str]:
    """Properties without the ones Delta manages itself."""
    return {k: v for k, v in props.items() if k not in IGNORED_PROPERTIES}


def properties_diff(expected: Mapping[str, str], actual: Mapping[str, str]) -> str:
    """Say how two property maps differ (empty when equal, ignoring Delta-managed ones)."""
    exp, act = comparable_properties(expected), comparable_properties(actual)
    notes = []
    for k in sorted(set(exp) | set(act)):
        if k not in act:
            notes.append(f"{k} missing (was {exp[k]!r})")
        elif k not in exp:
            notes.append(f"{k}={act[k]!r} added")
        elif exp[k] != act[k]:
            notes.append(f"{k}={act[k]!r} (was {exp[k]!r})")
    return "; ".join(notes)


def constraints(props: Mapping[str, str]) -> dict[str, str]:
    """CHECK constraints from table properties: ``{name: expression}``."""
    return {k[len(CONSTRAINT_PREFIX) :]: v for k, v in props.items() if k.startswith(CONSTRAINT_PREFIX)}


def property_changes(
    expected: Mapping[str, str], actual: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """What to SET and UNSET so that ``actual`` plain properties equal ``expected``.

    Constraints, column mapping and feature properties are left out: they need DDL of their own.
    """

    def settable(key: str) -> bool:
        return not key.startswith(UNSETTABLE_PREFIXES) and key not in IGNORED_PROPERTIES

    to_set = {k: v for k, v in expected.items() if settable(k) and actual.get(k) != v}
    to_unset = sorted(k for k in actual if settable(k) and k not in expected)
    return to_set, to_unset


_CLONE_CHARS = re.compile(r"[^a-z0-9_]+")


def clone_table_name(table: str, label: str) -> str:
    """The clone's table name: ``<table>__<label>``, lower-case letters, digits and underscores."""
    base = _CLONE_CHARS.sub("_", f"{table}__{label}".lower()).strip("_")
    return (base or "snapshot")[:200]
