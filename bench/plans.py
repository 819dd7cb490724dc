"""Benchmark: ``ensure_plans`` creating the plans of N new reservists, with a user writing
meanwhile. Prints the time, plans per second, and the longest wait of a concurrent user's write
(a small UPDATE every 20 ms in its own transaction), against the target (10,000 plans ≤ 5 s,
no write waits > 0.5 s). The batches are sized by ``ensure_plans`` (about 0.2 s each) unless
``--batch B`` fixes them. ``--reference`` also times the one-by-one path (``ensure_plan`` per
reservist in one transaction, the code before the batches) on the same data size.

Usage: .venv/bin/python -m bench.plans [N] [--reference] [--batch B]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import update

from bench.population import add_reservists
from bot.app import prepare_database
from bot.config import load_settings
from bot.services.plans import PlanService
from scheduler.jobs import ensure_plans
from storage.db import Database
from storage.models import User

AT = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


async def _setup(count: int) -> tuple[Database, object]:
    folder = Path(tempfile.mkdtemp(prefix="bench-plans-"))
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{folder}/b.db")
    db = Database(settings.database_url)
    await prepare_database(settings, db)
    await add_reservists(db, count, AT)
    return db, settings


async def _writer(db: Database, stop: asyncio.Event, waits: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        async with db.session() as repo:
            await repo.session.execute(
                update(User).where(User.telegram_id == 10_000).values(position="x")
            )
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)


async def _timed(db: Database, job: object) -> tuple[float, float]:
    stop = asyncio.Event()
    waits: list[float] = []
    writer = asyncio.create_task(_writer(db, stop, waits))
    started = time.perf_counter()
    await job  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    stop.set()
    await writer
    if "--waits" in sys.argv:
        print(
            "writes:",
            len(waits),
            "slowest ms:",
            [(i, round(w * 1000)) for i, w in sorted(enumerate(waits), key=lambda p: -p[1])[:6]],
        )
    return elapsed, max(waits, default=0.0)


async def _one_by_one(db: Database) -> None:
    async with db.session() as repo:
        plans = PlanService(repo)
        for user in await repo.users.reservists():
            await plans.ensure_plan(user, 2027, date(2027, 1, 10))


async def main(count: int) -> None:
    db, settings = await _setup(count)
    batch = int(sys.argv[sys.argv.index("--batch") + 1]) if "--batch" in sys.argv else None
    job = ensure_plans(db, settings, AT, batch=batch)  # type: ignore[arg-type]
    elapsed, wait = await _timed(db, job)
    await db.dispose()
    print(
        f"ensure_plans, {count} reservists, batches of {batch or 'about 0.2 s'}: {elapsed:.2f} s "
        f"({count / elapsed:.0f} plans/s), "
        f"longest concurrent write {wait * 1000:.0f} ms "
        f"(target: {count} plans ≤ {5 * count / 10_000:.1f} s, no write waits > 500 ms)"
    )
    if "--reference" in sys.argv:
        db, _ = await _setup(count)
        elapsed, wait = await _timed(db, _one_by_one(db))
        await db.dispose()
        print(
            f"reference, one by one in one transaction: {elapsed:.2f} s "
            f"({count / elapsed:.0f} plans/s), longest concurrent write {wait * 1000:.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1000))
