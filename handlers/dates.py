"""The caller's local date and zone, shared by every handler module (the clock comes from the
dispatcher's data so tests can move it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.services.clock import local_today, zone_of
from storage.models import User

Clock = Callable[[], datetime]


def user_zone(user: User, settings: Settings) -> ZoneInfo:
    """The user's zone, or DEFAULT_TIMEZONE."""
    return zone_of(user.timezone, settings.default_timezone)


def user_today(user: User, settings: Settings, clock: Clock) -> date:
    """The user's local date now."""
    return local_today(clock(), user_zone(user, settings))
