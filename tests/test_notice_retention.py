"""The retention of notices (``NOTICE_RETENTION``) deletes only notices that can never be owed
again: a year of daily scans (a restart every tenth day) with the daily purge records each
notice once, however many of them the purge deleted meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import prepare_database, reminder_service
from bot.config import Settings
from scheduler.jobs import ensure_plans, purge_notices
from storage.db import Database
from storage.models import Notice, Role, User

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
