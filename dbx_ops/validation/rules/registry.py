"""The rule registry: rule type name -> class, open to rule types written in a user's code.

::

    from dataclasses import dataclass
    from dbx_ops.validation.rules import Needs, Rule, register_rule

    @register_rule
    @dataclass(frozen=True)
    class MinRows(Rule):
        TYPE = "min_rows"
        min: int = 1

        def needs(self):
            return Needs()

        def evaluate(self, current, baseline, now):
            n = current.row_count
            return [self.result(n >= self.min, f"{n:,}", f">= {self.min:,}", f"{n:,} rows.")]

After that, ``type: min_rows`` is accepted in rules files like the built-in types.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TypeVar

from dbx_ops.errors import InvalidInputError
from dbx_ops.validation.rules.base import Rule

R = TypeVar("R", bound=type[Rule])

_TYPES: dict[str, type[Rule]] = {}
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def register_rule(cls: R) -> R:
    """Class decorator: make a :class:`Rule` subclass available to rules files under its ``TYPE``.

    Put it above ``@dataclass(frozen=True)``. Registering a different class under a name that is
    taken is refused; registering the same class again (a re-imported module) is a no-op.

    Raises:
        InvalidInputError: when the class is not a frozen dataclass subclassing :class:`Rule`,
            has no valid ``TYPE``, or the type name belongs to another class.
    """
    if not (isinstance(cls, type) and issubclass(cls, Rule)):
        raise InvalidInputError(f"@register_rule needs a subclass of Rule, got {cls!r}.")
    name = getattr(cls, "TYPE", "")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInputError(
            f"Rule class {cls.__name__} needs a TYPE of lower-case letters, digits and underscores, "
            f"got {name!r}."
        )
    params = cls.__dict__.get("__dataclass_params__")  # the class itself, not only its base
    if not dataclasses.is_dataclass(cls) or params is None or not params.frozen:
        raise InvalidInputError(
            f"Rule class {cls.__name__} must be a frozen dataclass: put @register_rule above "
            "@dataclass(frozen=True)."
        )
    known = _TYPES.get(name)
    if (
        known is not None
        and f"{known.__module__}.{known.__qualname__}" != f"{cls.__module__}.{cls.__qualname__}"
    ):
        raise InvalidInputError(
            f"Rule type {name!r} is already registered by {known.__module__}.{known.__qualname__}."
        )
    _TYPES[name] = cls
    return cls


def unregister_rule(name: str) -> None:
    """Remove a rule type (for tests and notebooks that redefine a rule); unknown names are ignored."""
    _TYPES.pop(name, None)


def rule_types() -> dict[str, type[Rule]]:
    """The registered rule types, by name (a copy)."""
    return dict(_TYPES)


def rule_type(name: str) -> type[Rule] | None:
    """The class registered under ``name``, or None."""
    return _TYPES.get(name)
