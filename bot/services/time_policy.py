"""The one time policy of the bot: the district's default zone, a user's zone and local date,
and the quiet hours in which nothing is sent unasked.

Built once from the settings (:meth:`TimePolicy.from_settings`) and shared: the update path
(``time_policy``, ``zone`` and ``today`` in a handler's data, :class:`bot.middlewares.
TimeMiddleware`), the reminder rules, the digests and the scheduler's jobs. Moments are aware
datetimes (UTC, from the bot's clock); dates are calendar dates in a zone; hours are the local
hours 0-23 of a user's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.services.clock import in_quiet_hours, local_today, zone_of


class Located(Protocol):
    """Whoever has a zone of their own: a user (``storage.models.User``) or a row about one.

    ``timezone`` is an IANA name, or None for the default zone.
    """

    @property
    def timezone(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class TimePolicy:
    """Zones, local dates and quiet hours (see the module doc).

    Attributes:
        default_timezone: the IANA name of the zone of users who chose none (DEFAULT_TIMEZONE),
            which also dates what belongs to the whole district (the plans' year).
        quiet_start: the local hour (0-23) the quiet hours begin (QUIET_HOURS_START).
        quiet_end: the local hour (0-23) they end, exclusive; they may wrap midnight
            (QUIET_HOURS_END); equal to ``quiet_start``: no quiet hours.
    """

    default_timezone: str
    quiet_start: int
    quiet_end: int

    @classmethod
    def from_settings(cls, settings: Settings) -> TimePolicy:
        """The policy configured by ``settings`` (DEFAULT_TIMEZONE, QUIET_HOURS_START/END)."""
        return cls(
            default_timezone=settings.default_timezone,
            quiet_start=settings.quiet_hours_start,
            quiet_end=settings.quiet_hours_end,
        )

    def zone(self, person: Located | None = None) -> ZoneInfo:
        """The zone of ``person``: theirs, or the default one when they chose none or theirs is
        unknown; the default one for None (the district)."""
        return zone_of(person.timezone if person is not None else None, self.default_timezone)

    def today(self, now: datetime, person: Located | None = None) -> date:
        """The calendar date at the aware moment ``now`` in the zone of ``person``
        (:meth:`zone`; None: the district's date).

        Raises:
            ValueError: ``now`` is naive.
        """
        return local_today(now, self.zone(person))

    def is_quiet(self, now: datetime, person: Located | None = None) -> bool:
        """Whether the aware moment ``now`` falls in the quiet hours of ``person``'s zone
        (:meth:`zone`): nothing unasked (a reminder, a digest) is sent to them then."""
        return in_quiet_hours(now, self.zone(person), self.quiet_start, self.quiet_end)
