"""Reminder rules and scans against a real database, with a recording notifier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import texts
from bot.app import prepare_database, reminder_service
from bot.config import Settings
from bot.services.delivery import DeliveryError, RecipientBlockedError
from bot.services.people import PeopleService, Profile
from bot.services.reminders import ReminderRules, owed_notices, snooze
from bot.services.time_policy import TimePolicy
from storage.db import Database
from storage.models import PlanItem, Role, User
from tests.harness import FakeClock

MSK = "Europe/Moscow"


@dataclass
class RecordingNotifier:
    """Records (chat, message text, item) per notice, and each message's items."""

    sent: list[tuple[int, str, int]] = field(default_factory=list)
    messages: list[tuple[int, str, list[tuple[int, str]]]] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    failing: set[int] = field(default_factory=set)

    async def send_notices(
        self, chat_id: int, text: str, items: Sequence[tuple[int, str]]
    ) -> None:
        if chat_id in self.blocked:
            raise RecipientBlockedError("403")
        if chat_id in self.failing:
            raise DeliveryError("500")
        self.messages.append((chat_id, text, list(items)))
        self.sent.extend((chat_id, text, item_id) for item_id, _ in items)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def add_reservist(db: Database, tg_id: int, joined: datetime, tz: str | None = None) -> User:
    async with db.session() as repo:
        officer = await repo.users.by_telegram(1001)
        assert officer is not None
        people = PeopleService(repo)
        invite = await people.create_invite(
            officer, Role.RESERVIST, now=joined, ttl=__import__("datetime").timedelta(days=1)
        )
        user = await people.register(
            tg_id,
            invite.code,
            Profile("Петров Пётр Петрович", "СОШ № 2", "Учитель", "Петровский район"),
            consent_version=texts.CONSENT_VERSION,
            consent_at=joined,
            now=joined,
            today=joined.astimezone(UTC).date(),
        )
        if tz:
            await repo.users.update(user, timezone=tz)
        return user


@pytest.fixture
async def world(settings: Settings, db: Database) -> Database:
    await prepare_database(settings, db)
    return db


def item(starts: date | None, due: date | None, status: str = "planned") -> PlanItem:
    return PlanItem(
        id=1, title="Тренинг", kind="training", starts_on=starts, due_on=due, status=status
    )


USER = User(id=7, timezone=MSK, role="reservist")
RULES = ReminderRules(
    days_before=(7, 1), due_soon_days=3, time_policy=TimePolicy(MSK, quiet_start=21, quiet_end=9)
)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-02-20T12:00+03:00", []),
        ("2026-02-22T00:30+03:00", [("window", "2026-03-01/7d")]),
        ("2026-02-27T12:00+03:00", [("window", "2026-03-01/7d")]),
        ("2026-02-28T12:00+03:00", [("window", "2026-03-01/1d")]),
        # on the first day the latest window notice still applies (sent once if missed)
        ("2026-03-01T12:00+03:00", [("window", "2026-03-01/1d")]),
        ("2026-03-02T12:00+03:00", []),
        ("2026-03-28T12:00+03:00", [("due", "2026-03-31")]),
        ("2026-03-31T23:00+03:00", [("due", "2026-03-31")]),
        ("2026-04-01T10:00+03:00", [("overdue", "2026-03-31/w0")]),
        ("2026-04-07T10:00+03:00", [("overdue", "2026-03-31/w0")]),
        ("2026-04-08T10:00+03:00", [("overdue", "2026-03-31/w1")]),
        ("2027-01-10T10:00+03:00", []),  # the plan's year is over
    ],
)
def test_rules(now: str, expected: list[tuple[str, str]]) -> None:
    found = owed_notices(item(date(2026, 3, 1), date(2026, 3, 31)), USER, moment(now), RULES)
    assert [(c.kind, c.occasion) for c in found] == expected


def test_rules_follow_the_users_zone() -> None:
    it = item(date(2026, 3, 1), date(2026, 3, 31))
    # 22 Feb 20:00 UTC is already 23 Feb in Vladivostok (UTC+10) but still 22 Feb in Moscow
    now = moment("2026-02-21T15:00+00:00")
    vlad = User(id=7, timezone="Asia/Vladivostok", role="reservist")
    assert owed_notices(it, USER, now, RULES) == []
    assert [c.occasion for c in owed_notices(it, vlad, now, RULES)] == ["2026-03-01/7d"]


def test_no_window_notice_for_whole_year_or_undated_or_done() -> None:
    now = moment("2025-12-28T12:00+03:00")
    assert owed_notices(item(date(2026, 1, 1), date(2026, 12, 31)), USER, now, RULES) == []
    assert owed_notices(item(None, None), USER, now, RULES) == []
    done = item(date(2026, 1, 1), date(2026, 1, 31), status="done")
    assert owed_notices(done, USER, now, RULES) == []


async def test_scan_sends_once_and_survives_restart(
    world: Database, settings: Settings, clock: FakeClock
) -> None:
    await add_reservist(world, 2001, moment("2026-02-10T09:00+00:00"))
    notifier = RecordingNotifier()
    service = reminder_service(settings, world, notifier, clock)
    report = await service.scan(moment("2026-02-22T09:00+03:00"))
    titles = [text for _, text, _ in notifier.sent]
    assert report.sent == len(notifier.sent) >= 1
    assert any("Психологические тренинги" in t and "через 7 дн." in t for t in titles)
    # the same moment again, and a new service (a restart): nothing twice
    again = await reminder_service(settings, world, notifier, clock).scan(
        moment("2026-02-22T10:00+03:00")
    )
    assert again.sent == 0 and again.recorded == 0
    assert len(notifier.sent) == report.sent


async def test_missed_while_down_is_sent_once_after_start(
    world: Database, settings: Settings, clock: FakeClock
) -> None:
    await add_reservist(world, 2001, moment("2026-02-10T09:00+00:00"))
    notifier = RecordingNotifier()
    service = reminder_service(settings, world, notifier, clock)
    # down from 20 Feb to 27 Feb: on start, the 7-day notice (not both) goes out once
    await service.scan(moment("2026-02-27T12:00+03:00"))
    training = [t for _, t, _ in notifier.sent if "Психологические тренинги" in t]
    assert len(training) == 1 and "через 2 дн." in training[0]
    await service.scan(moment("2026-02-28T12:00+03:00"))
    training = [t for _, t, _ in notifier.sent if "Психологические тренинги" in t]
    assert len(training) == 2 and "завтра" in training[1]


async def test_quiet_hours_hold_notices_until_morning(
    world: Database, settings: Settings, clock: FakeClock
) -> None:
    await add_reservist(world, 2001, moment("2026-02-10T09:00+00:00"), tz="Asia/Vladivostok")
    notifier = RecordingNotifier()
    service = reminder_service(settings, world, notifier, clock)
    night = await service.scan(moment("2026-02-22T23:30+10:00"))
    assert night.recorded >= 1 and night.sent == 0 and night.deferred >= 1
    morning = await service.scan(moment("2026-02-23T09:05+10:00"))
    assert morning.sent == night.recorded and morning.recorded == 0


async def test_muted_and_blocked_users(
    world: Database, settings: Settings, clock: FakeClock
) -> None:
    muted = await add_reservist(world, 2001, moment("2026-02-10T09:00+00:00"))
    await add_reservist(world, 2002, moment("2026-02-10T09:00+00:00"))
    async with world.session() as repo:
        user = await repo.users.get(muted.id)
        assert user is not None
        await repo.users.update(user, muted=True)
    notifier = RecordingNotifier(blocked={2002})
    service = reminder_service(settings, world, notifier, clock)
    report = await service.scan(moment("2026-02-22T12:00+03:00"))
    assert notifier.sent == []
    assert report.blocked == 1
    async with world.session() as repo:
        blocked = await repo.users.by_telegram(2002)
        assert blocked is not None and not blocked.active
    # a blocked user is not tried again
    notifier.blocked.clear()
    await service.scan(moment("2026-02-28T12:00+03:00"))
    assert notifier.sent == []


async def test_failed_delivery_is_retried_next_scan(
    world: Database, settings: Settings, clock: FakeClock
) -> None:
    await add_reservist(world, 2001, moment("2026-02-10T09:00+00:00"))
    notifier = RecordingNotifier(failing={2001})
    service = reminder_service(settings, world, notifier, clock)
    first = await service.scan(moment("2026-02-22T12:00+03:00"))
    assert first.failed >= 1 and notifier.sent == []
    notifier.failing.clear()
    second = await service.scan(moment("2026-02-22T12:05+03:00"))
    assert second.sent == first.failed


async def test_done_item_gets_no_more_notices_and_snooze_returns_next_day(
    world: Database, settings: Settings, clock: FakeClock
) -> None:
    user = await add_reservist(world, 2001, moment("2026-02-10T09:00+00:00"))
    notifier = RecordingNotifier()
    service = reminder_service(settings, world, notifier, clock)
    await service.scan(moment("2026-04-01T12:00+03:00"))
    overdue = [(t, i) for _, t, i in notifier.sent if "просрочен" in t]
    assert overdue
    item_id = overdue[0][1]
    async with world.session() as repo:
        at = moment("2026-04-01T12:00+03:00")
        assert await snooze(repo, user, item_id, at, "message:7") is True
        # the same reminder's button pressed again, a minute later: nothing more is recorded
        assert await snooze(repo, user, item_id, at + timedelta(minutes=1), "message:7") is False
        assert await snooze(repo, user, 999999, at, "message:7") is None
    notifier.sent.clear()
    await service.scan(moment("2026-04-01T18:00+03:00"))
    assert notifier.sent == []
    await service.scan(moment("2026-04-02T12:01+03:00"))
    assert [i for _, _, i in notifier.sent] == [item_id]


async def test_dry_run_writes_nothing(
    world: Database, settings: Settings, clock: FakeClock
) -> None:
    await add_reservist(world, 2001, moment("2026-02-10T09:00+00:00"))
    notifier = RecordingNotifier()
    service = reminder_service(settings, world, notifier, clock)
    dry = await service.scan(moment("2026-02-22T12:00+03:00"), dry_run=True)
    assert dry.planned and notifier.sent == []
    real = await service.scan(moment("2026-02-22T12:00+03:00"))
    assert real.recorded == len(dry.planned)
