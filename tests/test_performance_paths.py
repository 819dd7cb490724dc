"""The bulk and batched paths made for a region's scale give what the one-by-one paths gave:
plan creation in batches (``ensure_plans``), the reminder scan's candidates computed in SQL,
the capped overdue repeats and the retention of old notices. (That an export's build holds no
write lock is checked in ``tests/test_exports.py``, where the build runs in its child process.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from bot.app import prepare_database, reminder_service
from bot.config import Settings
from bot.services.plans import PlanService
from bot.services.reminders import (
    NOTICE_RETENTION,
    Owner,
    ReminderService,
    _Owner,
    overdue_slot,
    owed_notices,
)
from scheduler.jobs import ensure_plans, purge_notices
from storage.db import Database
from storage.models import Notice, PlanItem, Role, User
from storage.repo import OpenItem

JAN = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


async def _reservists(db: Database, count: int, *, registered: bool = True) -> list[int]:
    async with db.session() as repo:
        ids = []
        for n in range(count):
            user = await repo.users.add(
                User(
                    telegram_id=50_000 + n + (0 if registered else 10_000),
                    role=Role.RESERVIST,
                    full_name=f"Резервист {n}",
                    registered_at=JAN if registered else None,
                )
            )
            ids.append(user.id)
    return ids


def _shape(items: Sequence[PlanItem]) -> list[tuple[object, ...]]:
    return sorted(
        (i.activity_id, i.occurrence, i.title, i.kind, i.starts_on, i.due_on, i.status)
        for i in items
    )


async def test_batched_plans_match_the_one_by_one_plan(db: Database, settings: Settings) -> None:
    await prepare_database(settings, db)
    ids = await _reservists(db, 7)
    skipped = await _reservists(db, 2, registered=False)

    created = await ensure_plans(db, settings, JAN, batch=3)  # three transactions
    assert created == 7
    assert await ensure_plans(db, settings, JAN, batch=3) == 0  # nothing twice

    async with db.session() as repo:
        reference_user = await repo.users.add(
            User(telegram_id=99_999, role=Role.RESERVIST, full_name="Эталон", registered_at=JAN)
        )
        reference = await PlanService(repo).ensure_plan(reference_user, 2027, date(2027, 1, 10))
        expected = _shape(await repo.plans.items(reference.id))
        assert expected
        for user_id in ids:
            plan = await repo.plans.plan(user_id, 2027)
            assert plan is not None
            items = await repo.plans.items(plan.id)
            assert _shape(items) == expected
            for item in items[:2]:
                events = await repo.plans.events(item.id)
                assert [(e.action, e.data) for e in events] == [("created", {"source": "roadmap"})]
        for user_id in skipped:
            assert await repo.plans.plan(user_id, 2027) is None


async def test_december_creates_next_years_plans_too(db: Database, settings: Settings) -> None:
    await prepare_database(settings, db)
    ids = await _reservists(db, 3)
    december = datetime(2027, 12, 5, 9, 0, tzinfo=UTC)
    assert await ensure_plans(db, settings, december, batch=2) == 6
    async with db.session() as repo:
        for user_id in ids:
            assert await repo.plans.plan(user_id, 2028) is not None


def test_overdue_repeats_are_capped() -> None:
    assert [overdue_slot(w) for w in range(12)] == [0, 1, 2, 2, 2, 2, 6, 6, 6, 6, 10, 10]


async def _owed_now(
    db: Database, service: ReminderService, at: datetime, *, sql: bool
) -> set[tuple[int, int, str, str]]:
    async with db.session() as repo:
        rows = await repo.plans.open_items_of_years(
            [at.year - 1, at.year, at.year + 1],
            service.owing(at, *service._last_scan) if sql else None,
        )
        owed = {
            (c.user_id, c.item_id, c.kind, c.occasion)
            for row in rows
            for c in owed_notices(row, row_owner(row), at, service.rules)
        }
        known = await repo.notices.recorded_keys(i for _, i, _, _ in owed)
    return owed - known


def row_owner(row: OpenItem) -> Owner:
    return _Owner(row.user_id, row.timezone)


async def test_the_sql_prefilter_finds_every_notice_the_rules_owe(
    db: Database, settings: Settings
) -> None:
    """A daily scan through 2027 (zones from UTC-10 to UTC+12, hours across the day): the
    items read with the SQL prefilter owe exactly the new notices that every open item owes."""
    await prepare_database(settings, db)
    ids = await _reservists(db, 3)
    async with db.session() as repo:
        for user_id, zone in zip(
            ids, ("Pacific/Honolulu", "Europe/Moscow", "Pacific/Auckland"), strict=True
        ):
            user = await repo.users.get(user_id)
            assert user is not None
            await repo.users.update(user, timezone=zone)
    await ensure_plans(db, settings, JAN)
    service = reminder_service(settings, db, None)
    at = JAN
    recorded = 0
    while at.year == 2027:
        every = await _owed_now(db, service, at, sql=False)
        assert await _owed_now(db, service, at, sql=True) == every, at
        report = await service.scan(at)
        assert report.recorded == len(every)
        recorded += report.recorded
        at += timedelta(days=1, hours=5)
    assert recorded > 0
    async with db.session() as repo:
        overdue = await repo.session.scalar(
            select(func.count()).select_from(Notice).where(Notice.kind == "overdue")
        )
    items = 14 * 3
    assert overdue is not None and overdue < items * 14  # capped: not weekly all year


async def test_old_notices_are_purged(db: Database, settings: Settings) -> None:
    await prepare_database(settings, db)
    await _reservists(db, 1)
    await ensure_plans(db, settings, JAN)
    service = reminder_service(settings, db, None)
    await service.scan(datetime(2027, 2, 22, 9, 0, tzinfo=UTC))
    async with db.session() as repo:
        before = await repo.session.scalar(select(func.count()).select_from(Notice))
    assert before
    recorded = datetime(2027, 2, 22, 9, 0, tzinfo=UTC)
    assert await purge_notices(db, recorded + NOTICE_RETENTION) == 0
    assert await purge_notices(db, recorded + NOTICE_RETENTION + timedelta(days=1)) == before


async def test_an_item_added_between_two_scans_is_read_by_the_next(
    db: Database, settings: Settings
) -> None:
    """The steady-state scan reads only crossings, and the items changed since the last scan:
    a personal item due in two days, added after a scan, gets its ``due`` notice."""
    await prepare_database(settings, db)
    [user_id] = await _reservists(db, 1)
    await ensure_plans(db, settings, JAN)
    service = reminder_service(settings, db, None)
    at = datetime(2027, 5, 12, 9, 0, tzinfo=UTC)
    await service.scan(at)
    async with db.session() as repo:
        plan = await repo.plans.plan(user_id, 2027)
        assert plan is not None
        item = await repo.plans.add_item(
            PlanItem(plan_id=plan.id, own_title="Личный пункт", kind="personal", personal=True,
                     due_on=date(2027, 5, 14))
        )  # fmt: skip
    report = await service.scan(at + timedelta(minutes=5))
    async with db.session() as repo:
        kinds = await repo.session.scalars(select(Notice.kind).where(Notice.item_id == item.id))
        assert list(kinds) == ["due"]
    assert report.recorded == 1
