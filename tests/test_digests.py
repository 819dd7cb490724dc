"""Digests of the pairs: unanswered confirmations once a day, never at night; the mentors'
weekly digest of mentees with overdue items or no activity for 30 days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import texts
from bot.app import digest_service, prepare_database
from bot.config import Settings
from bot.services.delivery import DeliveryError
from bot.services.mentoring import MentoringService
from bot.services.people import PeopleService, Profile
from storage.db import Database
from storage.models import Role, User
from tests.harness import FakeClock


@dataclass
class Recorder:
    digests: list[tuple[int, str, list[tuple[int, str]]]] = field(default_factory=list)
    texts: list[tuple[int, str]] = field(default_factory=list)
    fail: bool = False

    async def send_confirmation_digest(
        self, chat_id: int, text: str, entries: Sequence[tuple[int, str]]
    ) -> None:
        if self.fail:
            raise DeliveryError("500")
        self.digests.append((chat_id, text, list(entries)))

    async def send_text(self, chat_id: int, text: str) -> None:
        if self.fail:
            raise DeliveryError("500")
        self.texts.append((chat_id, text))


async def person(db: Database, tg_id: int, role: Role, name: str, now: datetime) -> User:
    async with db.session() as repo:
        officer = await repo.users.by_telegram(1001)
        assert officer is not None
        people = PeopleService(repo)
        invite = await people.create_invite(officer, role, now=now, ttl=timedelta(days=1))
        return await people.register(
            tg_id, invite.code, Profile(name, "СОШ № 3", "Учитель", "Район"),
            consent_version=texts.CONSENT_VERSION, consent_at=now, now=now, today=now.date(),
        )  # fmt: skip


@pytest.fixture
async def pair(settings: Settings, db: Database) -> tuple[User, User]:
    await prepare_database(settings, db)
    start = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    reservist = await person(db, 2001, Role.RESERVIST, "Иванова Мария Петровна", start)
    mentor = await person(db, 3001, Role.MENTOR, "Кузнецова Анна Сергеевна", start)
    async with db.session() as repo:
        officer = await repo.users.by_telegram(1001)
        assert officer is not None
        await MentoringService(repo).assign(officer, reservist.id, mentor.id, start)
    return reservist, mentor


async def log(db: Database, reservist: User, at: datetime) -> int:
    async with db.session() as repo:
        user = await repo.users.get(reservist.id)
        assert user is not None
        consultation, _ = await MentoringService(repo).log_consultation(
            user, reservist_id=None, held_on=at.date(), fmt="phone", topic="Вопросы по плану",
            minutes=30, note=None, item_id=None, today=at.date(),
        )  # fmt: skip
        consultation.created_at = at
        return consultation.id


async def test_confirmation_digest_once_a_day_not_at_night(
    settings: Settings, db: Database, clock: FakeClock, pair: tuple[User, User]
) -> None:
    reservist, _mentor = pair
    logged = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    first = await log(db, reservist, logged)
    second = await log(db, reservist, logged + timedelta(hours=1))
    recorder = Recorder()
    service = digest_service(settings, db, recorder, clock)

    # the same day: the request itself was the message, no digest yet
    assert (await service.run(logged + timedelta(hours=5))).confirm == 0
    # the next night (Moscow 23:30): quiet hours
    night = datetime(2026, 3, 3, 20, 30, tzinfo=UTC)
    assert (await service.run(night)).deferred >= 1 and recorder.digests == []
    # the next morning: one digest with both consultations, to the mentor
    morning = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    report = await service.run(morning)
    assert report.confirm == 1
    chat, text, entries = recorder.digests[0]
    assert chat == 3001 and "2" in text
    assert [e[0] for e in entries] == [first, second]
    assert "Иванова Мария Петровна" in entries[0][1]
    # later the same day: nothing more; the next day: again
    assert (await service.run(morning + timedelta(hours=6))).confirm == 0
    assert (await service.run(morning + timedelta(days=1))).confirm == 1
    # once confirmed, no more digests
    async with db.session() as repo:
        mentor = await repo.users.by_telegram(3001)
        assert mentor is not None
        for cid in (first, second):
            await MentoringService(repo).decide(
                mentor, cid, confirm=True, reason=None, now=morning
            )
    assert (await service.run(morning + timedelta(days=2))).confirm == 0


async def test_failed_digest_is_retried(
    settings: Settings, db: Database, clock: FakeClock, pair: tuple[User, User]
) -> None:
    reservist, _ = pair
    await log(db, reservist, datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    recorder = Recorder(fail=True)
    service = digest_service(settings, db, recorder, clock)
    morning = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)
    assert (await service.run(morning)).failed >= 1
    recorder.fail = False
    assert (await service.run(morning + timedelta(minutes=5))).confirm == 1


async def test_weekly_digest_names_stalled_and_overdue_mentees(
    settings: Settings, db: Database, clock: FakeClock, pair: tuple[User, User]
) -> None:
    recorder = Recorder()
    service = digest_service(settings, db, recorder, clock)
    # April: the March trainings are overdue and nothing was logged for 30 days
    monday = datetime(2026, 4, 6, 7, 0, tzinfo=UTC)
    report = await service.run(monday)
    assert report.weekly == 1
    chat, text = recorder.texts[0]
    assert chat == 3001
    assert "Иванова Мария Петровна" in text and "просрочено" in text and "30 дней" in text
    # once per ISO week
    assert (await service.run(monday + timedelta(days=3))).weekly == 0
    assert (await service.run(monday + timedelta(days=7))).weekly == 1
    assert date(2026, 4, 6).isocalendar().week == 15
