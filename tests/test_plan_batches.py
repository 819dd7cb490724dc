"""Plans made in bulk (``PlanService.create_missing_batch``: the items made by the database
from a roadmap's template) and the indexes of the reminder scan (migration 0009): a fixed
number of statements whatever the batch, each municipality's roadmap, undated items, the
batch sizing, the indexes up and down, and the scan's query using them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.app import prepare_database, reminder_service
from bot.config import Settings
from bot.services.plans import PlanService, new_plan_rows
from bot.services.scope import roadmap_for
from scheduler.jobs import (
    PLAN_BATCH_MAX,
    PLAN_BATCH_MIN,
    PLAN_BATCH_SECONDS,
    ensure_plans,
    next_batch,
)
from storage import migrate
from storage.db import Database
from storage.models import Activity, Role, User
from tests.sql_counter import capturing, counting

JAN = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
SCAN_INDEXES = {"ix_plan_items_starts_on", "ix_plan_items_due_on", "ix_plan_items_updated_at"}


async def _reservists(
    db: Database, count: int, *, first: int = 0, municipality: str | None = None
) -> list[int]:
    async with db.session() as repo:
        return [
            (
                await repo.users.add(
                    User(
                        telegram_id=60_000 + first + n,
                        role=Role.RESERVIST,
                        full_name=f"Резервист {first + n}",
                        municipality=municipality,
                        registered_at=JAN,
                    )
                )
            ).id
            for n in range(count)
        ]


async def _batch(db: Database, limit: int) -> tuple[int, list[str]]:
    async with db.session() as repo:
        activities = list(await repo.activities.active())
        with counting(db) as statements:
            made, _ = await PlanService(repo).create_missing_batch(
                2027, date(2027, 1, 10), activities, limit=limit
            )
    return made, statements


async def test_a_batch_is_a_fixed_number_of_statements(db: Database, settings: Settings) -> None:
    """3 plans or 12: the same statements (a page, the plans, the items, their history)."""
    await prepare_database(settings, db)
    await _reservists(db, 3)
    few, few_statements = await _batch(db, 100)
    await _reservists(db, 12, first=100)
    many, many_statements = await _batch(db, 100)
    assert (few, many) == (3, 12)
    assert len(few_statements) == len(many_statements) == 4


async def test_each_roadmap_gets_its_items_and_undated_ones_too(
    db: Database, settings: Settings
) -> None:
    """A batch with the region's reservists and a district's with a roadmap of its own (one
    activity on request: undated windows only) gives each the items of its roadmap, every item
    with its ``created`` entry."""
    await prepare_database(settings, db)
    async with db.session() as repo:
        repo.session.add(
            Activity(
                key="own-1",
                title="Собеседование по запросу",
                kind="interview",
                schedule={"recurrence": "on_demand"},
                municipality="Камышинский район",
            )
        )
    regional = await _reservists(db, 4)
    district = await _reservists(db, 3, first=10, municipality="Камышинский  район")
    assert await ensure_plans(db, settings, JAN) == 7
    async with db.session() as repo:
        activities = list(await repo.activities.active())
        titles = {a.id: a.title for a in activities}
        for ids, area in ((regional, None), (district, "Камышинский район")):
            expected = sorted(
                (r["activity_id"], r["occurrence"], titles[r["activity_id"]], r["starts_on"],
                 r["due_on"])
                for r in new_plan_rows(roadmap_for(activities, area), 2027, date(2027, 1, 10))
            )  # fmt: skip
            assert expected
            for user_id in ids:
                plan = await repo.plans.plan(user_id, 2027)
                assert plan is not None
                items = await repo.plans.items(plan.id)
                got = sorted(
                    (i.activity_id, i.occurrence, i.title, i.starts_on, i.due_on) for i in items
                )
                assert got == expected
                assert all(not i.personal and not i.archived for i in items)
                assert all(i.own_title is None for i in items)  # the title is the activity's
                for item in items:
                    events = await repo.plans.events(item.id)
                    assert [(e.action, e.data) for e in events] == [
                        ("created", {"source": "roadmap"})
                    ]
        assert [i.due_on for i in items] == [None]


def test_batches_are_sized_to_hold_the_lock_briefly() -> None:
    assert next_batch(500, PLAN_BATCH_SECONDS) == 500
    assert next_batch(500, 2 * PLAN_BATCH_SECONDS) == 250
    assert next_batch(500, PLAN_BATCH_SECONDS / 10) == 1000  # at most twice the last
    assert next_batch(PLAN_BATCH_MAX, 0.0) == PLAN_BATCH_MAX
    assert next_batch(100, 60.0) == PLAN_BATCH_MIN


def _indexes(conn: Connection) -> set[str]:
    return {str(i["name"]) for i in inspect(conn).get_indexes("plan_items")}


async def test_the_scan_indexes_come_and_go_with_migration_0009(empty_db: Database) -> None:
    await migrate.upgrade(empty_db.engine, "0009")
    async with empty_db.engine.connect() as conn:
        after = await conn.run_sync(_indexes)
    assert after >= SCAN_INDEXES
    assert "ix_plan_items_plan_id" not in after
    await migrate.downgrade(empty_db.engine, "0008")
    async with empty_db.engine.connect() as conn:
        before = await conn.run_sync(_indexes)
    assert not before & {"ix_plan_items_starts_on", "ix_plan_items_updated_at"}
    assert "ix_plan_items_plan_id" in before


async def test_the_steady_scan_reads_through_the_indexes(db: Database, settings: Settings) -> None:
    """SQLite's plan of the scan's query (a scan after another: every term of the prefilter)
    searches plan_items by the three indexes, and never scans the table."""
    if db.dialect != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    await prepare_database(settings, db)
    await _reservists(db, 2)
    await ensure_plans(db, settings, JAN)
    service = reminder_service(settings, db, None)
    at = datetime(2027, 4, 14, 9, 0, tzinfo=UTC)
    with capturing(db, "FROM plan_items JOIN individual_plans") as captured:
        async with db.session() as repo:
            owing = service.owing(at, at - timedelta(minutes=5), JAN)
            await repo.plans.open_items_of_years([2026, 2027, 2028], owing)
    [(sql, params)] = captured
    async with db.engine.connect() as conn:
        plan = [
            str(row[-1]) for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        ]
    text = "\n".join(plan)
    assert all(name in text for name in SCAN_INDEXES), text
    assert "SCAN plan_items" not in text, text
