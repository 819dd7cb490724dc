"""The mentees' progress and the officers' pairs as counted in SQL (``MentoringRepo.item_counts``,
``MentoringRepo.active_pairs``): the item rules of /mentees and /pairs — done, confirmed,
overdue on the day, archived items and other years left out — and the scope of a municipal
officer's /pairs, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.app import prepare_database
from bot.config import Settings
from bot.services.errors import AccessDeniedError
from bot.services.mentoring import MentoringService
from storage.db import Database
from storage.models import (
    IndividualPlan,
    ItemStatus,
    MentorAssignment,
    PlanItem,
    Role,
    User,
)

AT = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
TODAY = date(2027, 5, 20)


def _person(n: int, role: Role, name: str, municipality: str | None = None) -> User:
    return User(
        telegram_id=70_000 + n,
        role=role,
        full_name=name,
        municipality=municipality,
        registered_at=AT,
    )


def _item(plan: IndividualPlan, n: int, due: date | None, **columns: object) -> PlanItem:
    return PlanItem(plan_id=plan.id, occurrence=n, own_title=f"Пункт {n}", kind="other",
                    due_on=due, **columns)  # fmt: skip


async def test_progress_counts_the_items_by_the_rules(db: Database, settings: Settings) -> None:
    await prepare_database(settings, db)
    async with db.session() as repo:
        mentor = await repo.users.add(_person(1, Role.MENTOR, "Наставник"))
        busy = await repo.users.add(_person(2, Role.RESERVIST, "Анна"))
        idle = await repo.users.add(_person(3, Role.RESERVIST, "Борис"))  # no plan at all
        for reservist in (busy, idle):
            await repo.mentoring.add_assignment(
                MentorAssignment(reservist_id=reservist.id, mentor_id=mentor.id, started_at=AT)
            )
        plan = IndividualPlan(user_id=busy.id, year=2027)
        last_year = IndividualPlan(user_id=busy.id, year=2026)
        repo.session.add_all([plan, last_year])
        await repo.flush()
        done = ItemStatus.DONE
        repo.session.add_all(
            [
                _item(plan, 1, date(2027, 3, 1), status=done, confirmed_at=AT),
                _item(plan, 2, date(2027, 9, 1), status=done),  # done early
                _item(plan, 3, date(2027, 5, 19)),  # overdue
                _item(plan, 4, TODAY),  # due today: not overdue yet
                _item(plan, 5, None),  # no due date: never overdue
                _item(plan, 6, date(2027, 2, 1), archived=True),  # left out
                _item(last_year, 1, date(2026, 5, 1)),  # another year: left out
            ]
        )

    async with db.session() as repo:
        progress = await MentoringService(repo).mentees_progress(mentor, TODAY)
        pairs = await MentoringService(repo).pairs(TODAY)
    counts = {p.user.full_name: (p.total, p.done, p.confirmed, p.overdue) for p in progress}
    assert counts == {"Анна": (5, 2, 1, 1), "Борис": (0, 0, 0, 0)}
    assert [(r.reservist.full_name, r.progress.overdue) for r in pairs] == [
        ("Анна", 1),
        ("Борис", 0),
    ]


async def test_a_municipal_officer_sees_the_pairs_of_their_municipality(
    db: Database, settings: Settings
) -> None:
    await prepare_database(settings, db)
    async with db.session() as repo:
        officer = await repo.users.add(
            _person(1, Role.OFFICER, "Офицер района", "Северный  РАЙОН")
        )
        mentor = await repo.users.add(_person(2, Role.MENTOR, "Наставник", "Южный район"))
        for n, area in enumerate(["Северный район", "Южный район", None, "северный район"]):
            reservist = await repo.users.add(_person(10 + n, Role.RESERVIST, f"Р{n}", area))
            await repo.mentoring.add_assignment(
                MentorAssignment(reservist_id=reservist.id, mentor_id=mentor.id, started_at=AT)
            )

    async with db.session() as repo:
        service = MentoringService(repo)
        mine = await service.pairs(TODAY, officer)
        everyone = await service.pairs(TODAY)
        with pytest.raises(AccessDeniedError):
            await service.pairs(TODAY, mentor)
    assert [r.reservist.full_name for r in mine] == ["Р0", "Р3"]
    assert {r.mentor.full_name for r in mine} == {"Наставник"}
    assert len(everyone) == 4
