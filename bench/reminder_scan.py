"""Benchmark: one reminder scan over N reservists with the default roadmap's plans.

Builds a fresh SQLite (or DATABASE_URL) database with N reservists, then times two scans at a
moment when every plan owes notices: the first records and "sends" them (to a notifier that
only counts), the second finds nothing new; then the steady state: a scan five minutes later
(nothing new due), a ``--dry-run`` scan, and a scan in quiet hours with every notice of the
first one pending again (targets: steady state ≤ 1 s at 10,000 reservists). Prints wall time,
notices, and peak Python memory (tracemalloc).

``--nothing-due`` times instead the scans of a quiet day (10 March 2027: no rule's date crossed,
the items due before it done) after a scan five minutes before, as the bot runs every 5 minutes
(target: ≤ 1 s over 100,000 reservists), then the same with the scan's indexes of migration 0009
dropped (the reference in the same run); ``--explain`` prints the database's plan of the scan's
query. With TEST_DATABASE_URL set (``scripts/test-postgres.sh``) it runs on that PostgreSQL
database.

Usage: .venv/bin/python -m bench.reminder_scan [N] [--memory] [--profile]
       .venv/bin/python -m bench.reminder_scan [N] --nothing-due [--explain]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, text, update

from bench.population import add_reservists
from bot.app import prepare_database, reminder_service
from bot.config import load_settings
from bot.services.clock import utcnow
from bot.services.reminders import ReminderService
from scheduler.jobs import ensure_plans
from storage.db import Database
from storage.models import ItemStatus, Notice, PlanItem


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


QUIET_DAY = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
SCAN_INDEXES = ("ix_plan_items_starts_on", "ix_plan_items_updated_at")


async def _quiet_scans(
    db: Database, service: ReminderService, at: datetime, explain: bool
) -> list[float]:
    """Three scans 5 minutes apart from ``at``, the previous one 5 minutes before ``at`` and
    after every item was made; their seconds. With ``explain``, print the query's plan."""
    captured: list[tuple[str, object]] = []

    def capture(*args: object) -> None:
        if "FROM plan_items JOIN individual_plans" in str(args[2]):
            captured.append((str(args[2]), args[3]))

    service._last_scan = (at - timedelta(minutes=5), utcnow())
    timings = []
    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        for n in range(3):
            started = time.perf_counter()
            report = await service.scan(at + timedelta(minutes=5 * n))
            timings.append(time.perf_counter() - started)
            assert report.recorded == 0, report
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    if explain and captured:
        sql, params = captured[-1]
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN ANALYZE "
        async with db.engine.connect() as conn:
            rows = await conn.exec_driver_sql(prefix + sql, params)  # type: ignore[arg-type]
            for row in rows:
                print("   ", row[-1])
    return timings


def _figures(timings: list[float]) -> str:
    return " / ".join(f"{t:.3f}" for t in (min(timings), statistics.median(timings), max(timings)))


async def nothing_due(count: int) -> None:
    """The ``--nothing-due`` benchmark (see the module doc)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        folder = Path(tempfile.mkdtemp(prefix="bench-scan-"))
        url = f"sqlite+aiosqlite:///{folder}/b.db"
    settings = load_settings(_env_file=None, database_url=url)
    db = Database(settings.database_url)
    await prepare_database(settings, db)
    started = time.perf_counter()
    joined = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    await add_reservists(db, count, joined)
    await ensure_plans(db, settings, joined)
    async with db.session() as repo:  # what fell due before the quiet day was done
        await repo.session.execute(
            update(PlanItem)
            .where(PlanItem.due_on < QUIET_DAY.date())
            .values(status=ItemStatus.DONE, done_on=PlanItem.due_on, own_title=PlanItem.title)
        )
    await asyncio.sleep(1.5)  # a scan rereads the items changed up to 1 s before it began
    if db.dialect != "sqlite":  # autovacuum's statistics; the bot never analyses SQLite
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    print(f"setup: {count} reservists with plans in {time.perf_counter() - started:.1f} s")
    explain = "--explain" in sys.argv
    service = reminder_service(settings, db, CountingNotifier())
    now = await _quiet_scans(db, service, QUIET_DAY, explain)
    async with db.engine.begin() as conn:
        for name in SCAN_INDEXES:
            await conn.execute(text(f"DROP INDEX {name}"))
    await db.engine.dispose()  # no connection keeps a statement prepared with them
    before = await _quiet_scans(db, service, QUIET_DAY, explain)
    await db.dispose()
    print(
        f"nothing due, {count} reservists, 3 scans 5 minutes apart: {_figures(now)} s "
        f"(target ≤ 1 s); without the indexes of migration 0009: {_figures(before)} s"
    )


async def main(count: int) -> None:
    if "--nothing-due" in sys.argv:
        await nothing_due(count)
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{folder}/b.db")
    db = Database(settings.database_url)
    await prepare_database(settings, db)
    started = time.perf_counter()
    joined = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    await add_reservists(db, count, joined)
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
