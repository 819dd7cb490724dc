"""Time helpers: every moment is an aware UTC datetime; dates are local to a user's zone."""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def utcnow() -> datetime:
    """The current moment, aware, in UTC."""
    return datetime.now(UTC)


def make_clock(start: datetime | None) -> Callable[[], datetime]:
    """The clock the bot runs on: the real one, or one that starts at ``start`` and runs on.

    Args:
        start: None for the real clock (:func:`utcnow`); else an aware moment (the setting
            ``CLOCK_START``) that the returned clock reads right now, ticking in real time.

    Returns:
        A callable returning the current moment of that clock, aware, in UTC.

    Raises:
        ValueError: ``start`` is naive.
    """
    if start is None:
        return utcnow
    if start.tzinfo is None or start.utcoffset() is None:
        msg = "naive datetime"
        raise ValueError(msg)
    origin = start.astimezone(UTC)
    ticks = _time.monotonic()

    def clock() -> datetime:
        return origin + timedelta(seconds=_time.monotonic() - ticks)

    return clock


def zone_of(name: str | None, default: str) -> ZoneInfo:
    """The user's zone ``name``, or ``default`` when unset or unknown."""
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """The calendar date in ``zone`` at the aware moment ``now``.

    Raises:
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None:
        msg = "naive datetime"
        raise ValueError(msg)
    return now.astimezone(zone).date()


def in_quiet_hours(now: datetime, zone: ZoneInfo, start: int, end: int) -> bool:
    """Whether the local hour at ``now`` falls in the quiet hours [start, end) (may wrap midnight).

    With start == end there are no quiet hours.
    """
    hour = now.astimezone(zone).hour
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def end_of_month(year: int, month: int) -> date:
    """The last day of ``month`` of ``year``."""
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    return first_next - timedelta(days=1)
