"""Benchmark: the database's bytes per reservist after a year of reminders.

N reservists get their 2027 plans (the default roadmap) on 1 January, then the reminder scan
runs once a day through 2027 at a moved clock (each at another hour, every notice "sent" to a
notifier that only counts) with the daily retention purge, as the bot's jobs would. With
``--done F`` a reservist marks each item done on its due date with probability F (default 0:
nobody does anything, so every item runs up its overdue repeats: the most notices);
``--retention D`` keeps notices D days instead of ``NOTICE_RETENTION`` (400: the code before,
the reference). Prints the
notices per reservist and the bytes per reservist by table and index (SQLite's ``dbstat``)
against the target (≤ 8 KB a reservist-year).

Usage: .venv/bin/python -m bench.storage_year [N] [--done F] [--retention D]
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

import scheduler.jobs
from bench.population import add_reservists
from bot.app import prepare_database, reminder_service
from bot.config import load_settings
from scheduler.jobs import ensure_plans, purge_notices
from storage.db import Database
from storage.models import IndividualPlan, ItemStatus, Notice, PlanItem


class CountingNotifier:
    """Accepts every reminder message."""

    async def send_notices(
        self,
        chat_id: int,  # noqa: ARG002
        text: str,  # noqa: ARG002
        items: Sequence[tuple[int, str]],  # noqa: ARG002
    ) -> None:
        return None


jobs: Any = scheduler.jobs  # its NOTICE_RETENTION is the one purge_notices reads


def _option(name: str, default: float) -> float:
    return float(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def sizes(path: str) -> list[tuple[str, int]]:
    """Bytes of each table and index of the SQLite file (``dbstat``), largest first."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
    return [(str(name), int(size)) for name, size in rows]


async def _complete(db: Database, day: date, share: float, rng: random.Random) -> None:
    """Mark done, with probability ``share``, the planned items due on ``day``."""
    async with db.session() as repo:
        ids = (
            await repo.session.scalars(
                select(PlanItem.id).where(
                    PlanItem.due_on == day, PlanItem.status == ItemStatus.PLANNED
                )
            )
        ).all()
        chosen = [i for i in ids if rng.random() < share]
        if chosen:
            await repo.session.execute(
                update(PlanItem)
                .where(PlanItem.id.in_(chosen))
                .values(status=ItemStatus.DONE, done_on=day, own_title=PlanItem.title)
            )


async def main(count: int) -> None:
    share = _option("--done", 0.0)
    if "--retention" in sys.argv:
        jobs.NOTICE_RETENTION = timedelta(days=_option("--retention", 0))
    folder = Path(tempfile.mkdtemp(prefix="bench-year-"))
    path = f"{folder}/b.db"
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}")
    db = Database(settings.database_url)
    await prepare_database(settings, db)
    joined = datetime(2027, 1, 1, 6, 0, tzinfo=UTC)
    await add_reservists(db, count, joined)
    await ensure_plans(db, settings, joined)
    empty = dict(sizes(path))
    service = reminder_service(settings, db, CountingNotifier())
    rng = random.Random(1)
    started = time.perf_counter()
    at = joined
    while at.year == 2027:
        await service.scan(at)
        await purge_notices(db, at)
        if share:
            await _complete(db, at.date(), share, rng)
        at += timedelta(days=1, minutes=37)  # another hour each day
    elapsed = time.perf_counter() - started
    async with db.session() as repo:
        notices = await repo.session.scalar(select(Notice.id).order_by(Notice.id.desc()))
        kept = len((await repo.session.scalars(select(Notice.id))).all())
        plans = len((await repo.session.scalars(select(IndividualPlan.id))).all())
    await db.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("VACUUM")
    table = sizes(path)
    total = sum(size for _, size in table)
    print(
        f"{count} reservists ({plans} plans), a daily scan through 2027, items done on time: "
        f"{share:.0%}, notices kept {jobs.NOTICE_RETENTION.days} days; "
        f"scans took {elapsed:.1f} s"
    )
    print(
        f"notices recorded: {(notices or 0) / count:.1f} a reservist; kept at the end: "
        f"{kept / count:.1f} a reservist"
    )
    print(f"database after VACUUM: {total / count / 1024:.2f} KiB a reservist (target ≤ 8 KB)")
    for name, size in table:
        if size / count >= 64:
            grown = size - empty.get(name, 0)
            print(f"  {name:40s} {size / count:8.0f} B  (a year's scans: {grown / count:+.0f} B)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1000))
