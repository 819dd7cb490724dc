"""The handlers' clock type, and the caller's local date for the handlers that do not take
``today`` from the update's data yet (:class:`bot.middlewares.TimeMiddleware` puts ``today`` and
``zone`` there). The clock comes from the dispatcher's data so tests can move it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from bot.config import Settings
from bot.services.time_policy import TimePolicy
from storage.models import User

Clock = Callable[[], datetime]


def user_today(user: User, settings: Settings, clock: Clock) -> date:
    """The local date of ``user`` at ``clock`` now, by the time policy of ``settings``
    (:meth:`TimePolicy.today`)."""
    return TimePolicy.from_settings(settings).today(clock(), user)
