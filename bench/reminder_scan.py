"""Benchmark: one reminder scan over N reservists with the default roadmap's plans.

Builds a fresh SQLite (or DATABASE_URL) database with N reservists, then times two scans at a
moment when every plan owes notices: the first records and "sends" them (to a notifier that
only counts), the second finds nothing new; then the steady state: a scan five minutes later
(nothing new due), a ``--dry-run`` scan, and a scan in quiet hours with every notice of the
first one pending again (targets: steady state ≤ 1 s at 10,000 reservists). Prints wall time,
notices, and peak Python memory (tracemalloc).
Usage: .venv/bin/python -m bench.reminder_scan [N] [--memory] [--profile]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, update

from bot.app import prepare_database, reminder_service
from bot.config import load_settings
from scheduler.jobs import ensure_plans
from storage.db import Database
from storage.models import Notice, Role, User


class CountingNotifier:
    """Accepts every reminder message and counts the notices they carry."""

    def __init__(self) -> None:
        self.sent = 0

    async def send_notices(
        self,
        chat_id: int,  # noqa: ARG002
        text: str,  # noqa: ARG002
        items: Sequence[tuple[int, str]],
    ) -> None:
        self.sent += len(items)


async def main(count: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{folder}/b.db")
    db = Database(settings.database_url)
    await prepare_database(settings, db)
    started = time.perf_counter()
    joined = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    async with db.session() as repo:
        await repo.session.execute(
            insert(User),
            [
                {
                    "telegram_id": 10_000 + n,
                    "role": Role.RESERVIST,
                    "full_name": f"Резервист {n}",
                    "registered_at": joined,
                }
                for n in range(count)
            ],
        )
    await ensure_plans(db, settings, joined)
    if "--profile" in sys.argv:
        import cProfile  # noqa: PLC0415
        import pstats  # noqa: PLC0415

        service0 = reminder_service(settings, db, CountingNotifier())
        at0 = datetime(2027, 2, 22, 9, 0, tzinfo=UTC)
        await service0.scan(at0)
        prof = cProfile.Profile()
        prof.enable()
        await service0.scan(at0)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        return
    print(f"setup: {count} reservists with plans in {time.perf_counter() - started:.1f} s")

    notifier = CountingNotifier()
    service = reminder_service(settings, db, notifier)
    at = datetime(2027, 2, 22, 9, 0, tzinfo=UTC)  # 7 days before the March trainings
    if "--memory" in sys.argv:  # tracemalloc slows Python down: time and memory are separate runs
        tracemalloc.start()
    started = time.perf_counter()
    first = await service.scan(at)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    second = await service.scan(at)
    second_s = time.perf_counter() - started
    started = time.perf_counter()
    await service.scan(at + timedelta(minutes=5))
    steady_s = time.perf_counter() - started
    started = time.perf_counter()
    dry = await reminder_service(settings, db, CountingNotifier()).scan(at, dry_run=True)
    dry_s = time.perf_counter() - started
    async with db.session() as repo:  # every notice pending again, the scan in quiet hours
        await repo.session.execute(update(Notice).values(status="pending"))
    quiet = at.replace(hour=20)  # 23:00 in Moscow
    started = time.perf_counter()
    deferred = await service.scan(quiet)
    quiet_s = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
    tracemalloc.stop()
    await db.dispose()
    print(
        f"first scan: {first.recorded} recorded, {notifier.sent} sent in {first_s:.2f} s "
        f"({notifier.sent / first_s:.0f} notices/s without network)"
    )
    print(f"second scan: {second.recorded} recorded, {second.sent} sent in {second_s:.2f} s")
    print(f"steady state, 5 minutes later: {steady_s:.2f} s (target ≤ 1 s at 10,000)")
    print(f"dry run: {len(dry.planned)} would be sent, {dry_s:.2f} s")
    print(f"quiet hours, {deferred.deferred} pending: {quiet_s:.2f} s")
    if peak:
        print(f"peak traced memory during the scans: {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2000))
