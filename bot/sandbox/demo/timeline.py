"""The demo's calendar (``_Timeline``): the local dates of the demo year in the district's zone
(read from the :class:`~bot.services.time_policy.TimePolicy` the settings give) turned into aware
UTC moments before the demo's ``now``, and the moments the loader
(:mod:`bot.sandbox.demo.load`) stamps rows with afterwards.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.services.time_policy import TimePolicy


@dataclass
class _Timeline:
    """The demo's calendar: local dates in the district's zone (of ``policy``) turned into aware
    UTC moments before ``now``, and the moments the loader stamps rows with afterwards."""

    now: datetime
    policy: TimePolicy
    rng: random.Random
    zone: ZoneInfo = field(init=False)
    today: date = field(init=False)
    events: dict[tuple[int, str], datetime] = field(default_factory=dict)
    consultations: list[tuple[int, datetime]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.zone = self.policy.zone()
        self.today = self.policy.today(self.now)

    def moment(self, day: date, *, after: datetime | None = None) -> datetime:
        """A working-hours moment of local ``day`` (9:00-19:00), not before ``after`` and
        before ``now`` (then a few minutes before it)."""
        local = datetime.combine(
            day, time(self.rng.randint(9, 18), self.rng.randint(0, 59)), tzinfo=self.zone
        )
        at = local.astimezone(UTC)
        if after is not None and at <= after:
            at = after + timedelta(minutes=self.rng.randint(3, 90))
        if at >= self.now:
            at = self.now - timedelta(minutes=self.rng.randint(5, 30))
            if after is not None and at <= after:
                at = after + (self.now - after) / 2
        return at

    def day_of(self, moment: datetime) -> date:
        """The local date of an aware moment."""
        return moment.astimezone(self.zone).date()

    def between(self, first: date, last: date) -> date:
        """A random date from ``first`` to ``last`` (``first`` when ``last`` is before it),
        a weekday when the span has one before it."""
        span = (last - first).days
        day = first + timedelta(days=self.rng.randint(0, span)) if span > 0 else first
        return self.weekday(day, first)

    @staticmethod
    def weekday(day: date, first: date) -> date:
        """``day``, or the Friday before it when it is a weekend and that is not before
        ``first``."""
        friday = day - timedelta(days=max(0, day.weekday() - 4))
        return friday if friday >= first else day
