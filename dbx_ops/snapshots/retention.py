"""How long a snapshot stays restorable: Delta retention properties, pure logic.

A pinned version is only as good as the table's retention settings: once a
later commit removes a data file, ``VACUUM`` may delete it after
``delta.deletedFileRetentionDuration`` (default 1 week), and log entries older
than ``delta.logRetentionDuration`` (default 30 days) are cleaned up at
checkpoints. The snapshot is safe until the earliest of the two, counted from
its commit time. Everything here is plain Python: no Spark.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dbx_ops.errors import InvalidInputError

LOG_RETENTION = "delta.logRetentionDuration"
FILE_RETENTION = "delta.deletedFileRetentionDuration"
DEFAULT_LOG_RETENTION = timedelta(days=30)
DEFAULT_FILE_RETENTION = timedelta(weeks=1)

_UNITS = {
    "microsecond": timedelta(microseconds=1),
    "millisecond": timedelta(milliseconds=1),
    "second": timedelta(seconds=1),
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
}
_SHORT = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}
_INTERVAL_PART = re.compile(r"(\d+)\s*([a-z]+)")
_SHORT_FORM = re.compile(r"(\d+)\s*([smhdw])")


def parse_interval(text: str) -> timedelta:
    """Parse Delta's retention syntax, e.g. ``interval 30 days`` or ``interval 1 week 2 hours``.

    Args:
        text: the property value; the leading ``interval`` is optional and units may be
            singular or plural (``microseconds`` to ``weeks``).

    Returns:
        The duration.

    Raises:
        InvalidInputError: when the text is not an interval Delta would accept.
    """
    raw = (text or "").strip().lower()
    body = raw[len("interval") :].strip() if raw.startswith("interval") else raw
    if not body:
        raise InvalidInputError(f"Retention value {text!r} is not an interval such as 'interval 30 days'.")
    total = timedelta(0)
    pos = 0
    for m in _INTERVAL_PART.finditer(body):
        if body[pos : m.start()].strip():
            break
        unit = m.group(2).rstrip("s") if m.group(2) not in ("s",) else "second"
        if unit not in _UNITS:
            raise InvalidInputError(f"Retention value {text!r} has an unknown unit {m.group(2)!r}.")
        total += int(m.group(1)) * _UNITS[unit]
        pos = m.end()
    if pos == 0 or body[pos:].strip():
        raise InvalidInputError(f"Retention value {text!r} is not an interval such as 'interval 30 days'.")
    return total


def parse_keep(text: str) -> timedelta:
    """Parse a ``--keep`` duration: ``30d``, ``12h``, ``2w``, ``90m`` or Delta's ``interval 30 days``.

    Raises:
        InvalidInputError: for anything else, or a zero duration.
    """
    raw = (text or "").strip().lower()
    m = _SHORT_FORM.fullmatch(raw)
    value = int(m.group(1)) * _UNITS[_SHORT[m.group(2)]] if m else None
    if value is None:
        try:
            value = parse_interval(raw)
        except InvalidInputError:
            raise InvalidInputError(
                f"--keep {text!r} is not a duration; use e.g. 30d, 12h, 2w or 'interval 30 days'."
            ) from None
    if value <= timedelta(0):
        raise InvalidInputError(f"--keep {text!r} must be longer than zero.")
    return value


def format_interval(value: timedelta) -> str:
    """Render a duration in Delta's property syntax, rounded up to whole hours (``interval 36 hours``)."""
    hours = -(-int(value.total_seconds()) // 3600)
    if hours % 24 == 0:
        return f"interval {hours // 24} days"
    return f"interval {hours} hours"


@dataclass(frozen=True)
class RetentionWindow:
    """The retention settings of one table.

    Attributes:
        log_retention: ``delta.logRetentionDuration`` (default 30 days).
        file_retention: ``delta.deletedFileRetentionDuration`` (default 1 week).
    """

    log_retention: timedelta = DEFAULT_LOG_RETENTION
    file_retention: timedelta = DEFAULT_FILE_RETENTION

    @classmethod
    def from_properties(cls, props: Mapping[str, str]) -> RetentionWindow:
        """The window a table's properties give (defaults where unset)."""
        log = props.get(LOG_RETENTION)
        files = props.get(FILE_RETENTION)
        return cls(
            log_retention=parse_interval(log) if log else DEFAULT_LOG_RETENTION,
            file_retention=parse_interval(files) if files else DEFAULT_FILE_RETENTION,
        )

    def window(self, mode: str) -> timedelta | None:
        """How long after its commit a snapshot of this mode stays restorable; None: until dropped.

        ``pin`` needs both the log and the files; ``shallow`` has its own log but
        reads the source's files; ``deep`` is an independent copy.
        """
        if mode == "pin":
            return min(self.log_retention, self.file_retention)
        if mode == "shallow":
            return self.file_retention
        return None

    def restorable_until(self, commit_time: datetime, mode: str) -> datetime | None:
        """The time until which a snapshot of ``commit_time`` is restorable (None: until dropped)."""
        window = self.window(mode)
        return None if window is None else commit_time + window

    def extended_to(self, keep: timedelta, mode: str) -> dict[str, str]:
        """The property values that make a snapshot of this mode last ``keep`` (only ever longer).

        Returns:
            Properties to set; empty when the current settings already suffice.
        """
        changes: dict[str, str] = {}
        if mode == "pin" and self.log_retention < keep:
            changes[LOG_RETENTION] = format_interval(keep)
        if mode in ("pin", "shallow") and self.file_retention < keep:
            changes[FILE_RETENTION] = format_interval(keep)
        return changes


def retention_plan(
    window: RetentionWindow,
    mode: str,
    commit_time: datetime,
    keep: timedelta | None,
    extend_retention: bool,
) -> tuple[datetime | None, dict[str, str]]:
    """Decide how long a snapshot will be restorable and which properties to raise for ``keep``.

    Args:
        window: the table's current retention settings.
        mode: ``pin``, ``shallow`` or ``deep``.
        commit_time: commit time of the pinned version.
        keep: how long the user wants it kept, measured from ``commit_time``; None for no wish.
        extend_retention: the user's explicit opt-in to raise the table's retention properties.

    Returns:
        ``(restorable_until, properties_to_set)``.

    Raises:
        SnapshotError: when ``keep`` is longer than the window and extending was not asked for.
    """
    from dbx_ops.errors import SnapshotError

    until = window.restorable_until(commit_time, mode)
    if keep is None or until is None or commit_time + keep <= until:
        return until, {}
    changes = window.extended_to(keep, mode)
    if not extend_retention:
        names = " and ".join(sorted(changes))
        raise SnapshotError(
            f"A {mode} snapshot stays restorable only until {until:%Y-%m-%d %H:%M} ({names} limit it), "
            f"shorter than the {_human(keep)} asked for: raise the table's retention with "
            "extend_retention=True (--extend-retention) or take a deep copy (--mode deep)."
        )
    extended = RetentionWindow(
        log_retention=max(window.log_retention, keep) if LOG_RETENTION in changes else window.log_retention,
        file_retention=max(window.file_retention, keep)
        if FILE_RETENTION in changes
        else window.file_retention,
    )
    return extended.restorable_until(commit_time, mode), changes


def _human(value: timedelta) -> str:
    hours = value.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"
