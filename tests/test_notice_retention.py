"""The retention of notices (``NOTICE_RETENTION``) deletes only notices that can never be owed
again: a year of daily scans (a restart every tenth day) with the daily purge records each
notice once, however many of them the purge deleted meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from bot.app import prepare_database, reminder_service
from bot.config import Settings
from scheduler.jobs import ensure_plans, purge_notices
from storage.db import Database
from storage.models import Notice, PlanItem, Role, User
from storage.monitoring import MonitoringRepo
from tests.sql_counter import capturing

JAN = datetime(2027, 1, 1, 6, 0, tzinfo=UTC)
ZONES = ("Pacific/Honolulu", "Europe/Moscow", "Asia/Kamchatka")


async def test_no_purged_notice_is_owed_again(db: Database, settings: Settings) -> None:
    await prepare_database(settings, db)
    async with db.session() as repo:
        for n, zone in enumerate(ZONES):
            await repo.users.add(
                User(
                    telegram_id=70_000 + n,
                    role=Role.RESERVIST,
                    full_name=f"Резервист {n}",
                    timezone=zone,
                    registered_at=JAN,
                )
            )
    await ensure_plans(db, settings, JAN)
    seen: set[tuple[int, int, str, str]] = set()
    recorded = purged = 0
    at = JAN
    for day in range(400):
        if at.year > 2027:
            break
        if day % 10 == 0:  # a restart: the first scan reads every item that may owe
            service = reminder_service(settings, db, None)  # nothing sent: all stay pending
        recorded += (await service.scan(at)).recorded
        async with db.session() as repo:
            rows = await repo.session.execute(
                select(Notice.user_id, Notice.item_id, Notice.kind, Notice.occasion)
            )
            seen.update((u, i, k, o) for u, i, k, o in rows.all())
        purged += await purge_notices(db, at)
        at += timedelta(days=1, hours=1, minutes=13)  # every hour of the day in turn
    assert purged > recorded / 2  # the purge kept only the last weeks
    assert recorded == len(seen)  # none recorded twice


async def test_only_pending_notices_are_indexed_and_the_scan_reads_that_index(
    db: Database, settings: Settings
) -> None:
    """``ix_notices_pending`` (migration 0011) is partial: the sent notices kept for the
    retention period are not in it. The queries of pending notices say ``status = 'pending'``
    as a literal: PostgreSQL's generic plan of a prepared statement uses the index only then
    (with a bound parameter it reads the unique index; SQLite plans with the bound values)."""
    await prepare_database(settings, db)
    async with db.session() as repo:
        user = await repo.users.add(
            User(telegram_id=70_100, role=Role.RESERVIST, full_name="Р", registered_at=JAN)
        )
    await ensure_plans(db, settings, JAN)
    at = JAN + timedelta(days=3)
    async with db.session() as repo:
        items = await repo.session.scalars(select(PlanItem.id).order_by(PlanItem.id))
        rows = [
            {"user_id": user.id, "item_id": i, "kind": "due", "occasion": "d", "not_before": at}
            for i in items.all()[:4]
        ]
        assert await repo.notices.record(rows) == 4
        sent = await repo.session.scalars(select(Notice.id).order_by(Notice.id).limit(3))
        await repo.notices.set_status_many(list(sent.all()), "sent", at)
    with capturing(db, "FROM notices") as captured:
        async with db.session() as repo:
            users = await repo.notices.pending_users(at)
            pending = await repo.notices.pending_of(users, at)
            lengths = await MonitoringRepo(repo.session).queue_lengths(at)
    assert users == [user.id]
    assert [row.notice.item_id for row in pending] == [rows[3]["item_id"]]
    assert lengths.reminders == 1
    async with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            definition = await conn.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'ix_notices_pending'")
            )
            indexed = await conn.scalar(
                text("SELECT count(*) FROM notices INDEXED BY ix_notices_pending"
                     " WHERE status = 'pending'")
            )  # fmt: skip
            assert indexed == 1
        else:
            definition = await conn.scalar(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_notices_pending'")
            )
        assert "WHERE" in str(definition) and "'pending'" in str(definition), definition
        assert len(captured) == 3
        for n, (sql, params) in enumerate(captured):
            if db.dialect == "sqlite":
                plan = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            else:  # the generic plan of a prepared statement, as asyncpg's are reused
                await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
                await conn.exec_driver_sql("SET enable_seqscan = off")  # 4 rows: else a scan
                await conn.exec_driver_sql(f"PREPARE pending_{n} AS {sql}")
                values = ", ".join(_pg_literal(v) for v in params)
                plan = await conn.exec_driver_sql(f"EXPLAIN EXECUTE pending_{n}({values})")
            steps = "\n".join(str(row[-1]) for row in plan)
            assert "ix_notices_pending" in steps, (sql, steps)


def _pg_literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text.replace("'", "''") + "'"
