"""One clock: ``now: Callable[[], datetime]`` returning UTC-aware times.

Classes that stamp records take ``now`` in their constructor (default
:func:`utc_now`), so a test can hand in a fixed or stepping clock and nothing
reads the wall clock behind the caller's back. Renderers never read a clock:
times are passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

#: The clock type every constructor takes.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, UTC-aware."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as a UTC-aware time (naive times are taken to be UTC already)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class FixedClock:
    """A clock for tests: returns ``start``, advanced by ``step`` on every call."""

    def __init__(self, start: datetime, step: timedelta = timedelta(0)) -> None:
        self._now = as_utc(start)
        self._step = step

    def __call__(self) -> datetime:
        current = self._now
        self._now = current + self._step
        return current

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._now += delta
