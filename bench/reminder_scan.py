"""Benchmark: one reminder scan over N reservists with the default roadmap's plans.

Builds a fresh SQLite (or DATABASE_URL) database with N reservists, then times two scans at a
moment when every plan owes notices: the first records and "sends" them (to a notifier that
only counts), the second finds nothing new. Prints wall time, notices, and peak Python memory
(tracemalloc). Usage: .venv/bin/python -m bench.reminder_scan [N] [--memory] [--profile]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from bot.app import prepare_database, reminder_service
from bot.config import load_settings
from bot.services.plans import PlanService
from storage.db import Database
from storage.models import Role, User


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
    async with db.session() as repo:
        plans = PlanService(repo)
        for n in range(count):
            user = await repo.users.add(
                User(telegram_id=10_000 + n, role=Role.RESERVIST, full_name=f"Резервист {n}")
            )
            await plans.ensure_plan(user, 2027, date(2027, 1, 1))
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
    peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
    tracemalloc.stop()
    await db.dispose()
    print(
        f"first scan: {first.recorded} recorded, {notifier.sent} sent in {first_s:.2f} s "
        f"({notifier.sent / first_s:.0f} notices/s without network)"
    )
    print(f"second scan: {second.recorded} recorded, {second.sent} sent in {second_s:.2f} s")
    if peak:
        print(f"peak traced memory during the scans: {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 2000))
