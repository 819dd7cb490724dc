"""Plan items' titles (migration 0010): a roadmap item stores no title while planned and reads
its activity's; done items keep the wording they were done under when the activity is renamed;
a reopened item follows its activity again; the database refuses a done or personal item with
no title of its own; the migration clears the copies and writes them back going down."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.app import prepare_database
from bot.config import Settings
from bot.services.plans import PlanService
from bot.services.roadmap import parse_schedule
from bot.services.roadmap_admin import RoadmapAdmin
from storage import migrate
from storage.db import Database
from storage.models import Activity, ItemStatus, PlanItem, Role, User

TODAY = date(2026, 11, 22)
TRAINING = "Тренинг «Управленческие компетенции»"


@pytest.fixture
async def people(db: Database, settings: Settings) -> tuple[User, User]:
    """The database prepared as the bot does it, an officer and a reservist, and the
    activity ``t-1`` (a training in November and December): (officer, reservist)."""
    await prepare_database(settings, db)
    async with db.session() as repo:
        officer = await repo.users.add(
            User(telegram_id=70_001, role=Role.OFFICER, full_name="Офицер Отдела")
        )
        reservist = await repo.users.add(
            User(telegram_id=70_002, role=Role.RESERVIST, full_name="Резервист Первый")
        )
        await repo.activities.add(
            Activity(
                key="t-1",
                title=TRAINING,
                kind="training",
                schedule=parse_schedule("ноябрь, декабрь")[0].to_storage(),
                needs_confirmation=False,
                for_reservists=True,
            )
        )
    return officer, reservist


async def _items(db: Database, user: User) -> list[PlanItem]:
    """The user's items of the activity ``t-1``, by date."""
    async with db.session() as repo:
        plan = await repo.plans.plan(user.id, TODAY.year)
        activity = await repo.activities.by_key("t-1")
        assert plan is not None and activity is not None
        return sorted(
            (i for i in await repo.plans.items(plan.id) if i.activity_id == activity.id),
            key=lambda i: i.due_on or TODAY,
        )


async def _stored(db: Database) -> dict[int, str | None]:
    """The ``title`` column itself, by item id."""
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT id, title FROM plan_items"))
        return {int(i): t for i, t in rows.all()}


async def test_renaming_moves_planned_items_and_leaves_done_ones(
    db: Database, people: tuple[User, User]
) -> None:
    officer, reservist = people
    async with db.session() as repo:
        await PlanService(repo).ensure_plan(reservist, TODAY.year, TODAY)
    november, december = await _items(db, reservist)
    assert (november.title, december.title) == (TRAINING, TRAINING)
    stored = await _stored(db)
    assert (stored[november.id], stored[december.id]) == (None, None)  # no copy kept

    async with db.session() as repo:
        done = await PlanService(repo).mark_done(
            reservist, november.id, done_on=TODAY, comment=None, evidence=None, today=TODAY
        )
        assert done.title == TRAINING
    assert (await _stored(db))[november.id] == TRAINING  # the wording it was done under

    async with db.session() as repo:
        activity = await repo.activities.by_key("t-1")
        assert activity is not None
        await RoadmapAdmin(repo, officer).rename(activity.id, "Тренинг лидерства", TODAY)
    november, december = await _items(db, reservist)
    assert november.title == TRAINING  # done: kept
    assert december.title == "Тренинг лидерства"  # planned: follows, still nothing stored
    assert (await _stored(db))[december.id] is None

    async with db.session() as repo:
        await PlanService(repo).reopen(reservist, november.id)
    async with db.session() as repo:
        await PlanService(repo).sync_year(TODAY.year, TODAY)
    november, _ = await _items(db, reservist)
    assert november.status == ItemStatus.PLANNED
    assert november.title == "Тренинг лидерства"  # reopened: follows its activity again
    assert (await _stored(db))[november.id] is None


async def test_a_personal_item_keeps_its_title_and_reads_it_after_the_insert(
    db: Database, people: tuple[User, User]
) -> None:
    _, reservist = people
    async with db.session() as repo:
        item = await PlanService(repo).add_personal(reservist, "Прочитать книгу", 12, 2026, TODAY)
        assert item.title == "Прочитать книгу"  # no lazy load in the async session
    assert "Прочитать книгу" in (await _stored(db)).values()


@pytest.mark.parametrize(
    ("activity", "status"), [(False, ItemStatus.PLANNED), (True, ItemStatus.DONE)]
)
async def test_the_database_refuses_an_item_with_no_title_to_show(
    db: Database, people: tuple[User, User], activity: bool, status: str
) -> None:
    _, reservist = people
    async with db.session() as repo:
        plan = await repo.plans.create_plan(reservist.id, TODAY.year)
        found = await repo.activities.by_key("t-1")
        assert found is not None
        plan_id, activity_id = plan.id, found.id
    untitled = PlanItem(
        plan_id=plan_id,
        activity_id=activity_id if activity else None,
        occurrence=0,
        kind="other",
        status=status,
    )
    async with db.raw_session() as session:
        session.add(untitled)
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_migration_0010_clears_the_copies_and_writes_them_back(empty_db: Database) -> None:
    await migrate.upgrade(empty_db.engine, "0009")
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC).replace(tzinfo=None)
    async with empty_db.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO users (id, role, full_name, active, muted, timezone, created_at)"
                " VALUES (1, 'reservist', 'Р', true, false, 'Europe/Moscow', :now)"
            ),
            {"now": now},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO activities (id, key, title, kind, schedule, responsible, result,"
                " section, source_line, position, for_reservists, needs_confirmation, archived,"
                " updated_at) VALUES (1, 'k', :title, 'training', '{}', '', '', '', 0, 0, true,"
                " false, false, :now)"
            ),
            {"title": TRAINING, "now": now},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO individual_plans (id, user_id, year, created_at)"
                " VALUES (1, 1, 2026, :now)"
            ),
            {"now": now},
        )
        rows = [
            (1, 1, 0, TRAINING, "planned", False),  # the copy: cleared
            (2, 1, 1, "Старое название", "planned", False),  # its own wording: kept
            (3, 1, 2, TRAINING, "done", False),  # done: kept
            (4, None, 0, "Личный пункт", "planned", True),  # personal: kept
        ]
        for item_id, activity_id, occurrence, title, status, personal in rows:
            await conn.execute(
                sa.text(
                    "INSERT INTO plan_items (id, plan_id, activity_id, occurrence, title, kind,"
                    " status, personal, archived, needs_confirmation, created_at, updated_at)"
                    " VALUES (:id, 1, :activity, :occurrence, :title, 'training', :status,"
                    " :personal, false, false, :now, :now)"
                ),
                {
                    "id": item_id,
                    "activity": activity_id,
                    "occurrence": occurrence,
                    "title": title,
                    "status": status,
                    "personal": personal,
                    "now": now,
                },
            )
    copies = {1: TRAINING, 2: "Старое название", 3: TRAINING, 4: "Личный пункт"}

    await migrate.upgrade(empty_db.engine, "0010")
    assert await _stored(empty_db) == {**copies, 1: None}
    async with empty_db.session() as repo:
        shown = await repo.session.execute(select(PlanItem.id, PlanItem.title))
        assert dict(shown.all()) == copies  # every item reads as before

    await migrate.downgrade(empty_db.engine, "0009")
    assert await _stored(empty_db) == copies
    async with empty_db.engine.begin() as conn:
        with pytest.raises(IntegrityError):  # NOT NULL again
            await conn.execute(sa.text("UPDATE plan_items SET title = NULL WHERE id = 1"))
