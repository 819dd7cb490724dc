"""N+1 guards: the mentor's progress (/mentees), the officer's pairs (/pairs), the overdue
audience of a broadcast and the weekly digests issue the same number of queries for 3 people
as for 12 (a SQLAlchemy ``before_cursor_execute`` listener counts them)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from bot.app import digest_service, prepare_database
from bot.config import Settings
from bot.services.audience import Audience, AudienceKind, recipients
from bot.services.mentoring import MentoringService
from scheduler.jobs import ensure_plans
from storage.db import Database
from storage.models import Consultation, ConsultationStatus, MentorAssignment, Role, User
from tests.sql_counter import counting

JAN = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
#: a day in May: the plans have overdue items; 23:00 in Moscow (quiet hours: nothing is sent)
MAY = datetime(2027, 5, 20, 20, 0, tzinfo=UTC)


async def _officer_and_mentors(db: Database, settings: Settings) -> tuple[User, list[User]]:
    await prepare_database(settings, db)
    async with db.session() as repo:
        officer = await repo.users.add(
            User(telegram_id=900, role=Role.OFFICER, full_name="Офицер", registered_at=JAN)
        )
        mentors = []
        for n in range(2):
            mentor = User(
                telegram_id=800 + n,
                role=Role.MENTOR,
                full_name=f"Наставник {n}",
                registered_at=JAN,
            )
            mentors.append(await repo.users.add(mentor))
    return officer, mentors


async def _add_pairs(
    db: Database, settings: Settings, mentors: list[User], first: int, count: int
) -> None:
    """``count`` reservists (plans of 2027, a consultation each) split between the mentors."""
    async with db.session() as repo:
        for n in range(first, first + count):
            reservist = await repo.users.add(
                User(
                    telegram_id=50_000 + n,
                    role=Role.RESERVIST,
                    full_name=f"Резервист {n}",
                    registered_at=JAN,
                )
            )
            mentor = mentors[n % 2]
            await repo.mentoring.add_assignment(
                MentorAssignment(reservist_id=reservist.id, mentor_id=mentor.id, started_at=JAN)
            )
            await repo.mentoring.add_consultation(
                Consultation(
                    reservist_id=reservist.id,
                    mentor_id=mentor.id,
                    logged_by=mentor.id,
                    held_on=date(2027, 2, 1),
                    format="online",
                    topic="Тема",
                    minutes=30,
                    status=ConsultationStatus.CONFIRMED if n % 3 else ConsultationStatus.PENDING,
                )
            )
    await ensure_plans(db, settings, JAN)


async def _fixed(
    db: Database,
    settings: Settings,
    action: Callable[[User, list[User]], Awaitable[object]],
) -> tuple[int, int]:
    """Query counts of ``action`` over 3 pairs, then over 12."""
    officer, mentors = await _officer_and_mentors(db, settings)
    counts = []
    for first, count in ((0, 3), (3, 9)):
        await _add_pairs(db, settings, mentors, first, count)
        with counting(db) as statements:
            await action(officer, mentors)
        counts.append(len(statements))
    return counts[0], counts[1]


async def test_mentees_progress_is_a_fixed_number_of_queries(
    db: Database, settings: Settings
) -> None:
    async def mentees(_officer: User, mentors: list[User]) -> object:
        async with db.session() as repo:
            progress = await MentoringService(repo).mentees_progress(mentors[0], date(2027, 5, 20))
            assert progress and all(p.total > 0 and p.overdue > 0 for p in progress)
            return progress

    few, many = await _fixed(db, settings, mentees)
    assert few == many


async def test_pairs_are_a_fixed_number_of_queries(db: Database, settings: Settings) -> None:
    async def pairs(_officer: User, _mentors: list[User]) -> object:
        async with db.session() as repo:
            reports = await MentoringService(repo).pairs(date(2027, 5, 20))
            assert reports and sum(r.confirmed + r.pending for r in reports) == len(reports)
            return reports

    few, many = await _fixed(db, settings, pairs)
    assert few == many


async def test_the_overdue_audience_is_a_fixed_number_of_queries(
    db: Database, settings: Settings
) -> None:
    async def overdue(officer: User, _mentors: list[User]) -> object:
        async with db.session() as repo:
            found = await recipients(
                repo, officer, Audience(AudienceKind.OVERDUE), date(2027, 5, 20)
            )
            assert found and all(p.role == Role.RESERVIST for p in found)
            return found

    few, many = await _fixed(db, settings, overdue)
    assert few == many


class _Silent:
    async def send_confirmation_digest(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("nothing is sent in quiet hours")

    async def send_text(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("nothing is sent in quiet hours")


async def test_weekly_digests_are_a_fixed_number_of_queries(
    db: Database, settings: Settings
) -> None:
    async def digests(_officer: User, _mentors: list[User]) -> object:
        service = digest_service(settings, db, _Silent())
        report = await service.run(MAY)
        assert report.deferred >= 2  # both mentors have something to read, in quiet hours
        return report

    few, many = await _fixed(db, settings, digests)
    assert few == many
