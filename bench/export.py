"""Benchmark: the department's export over N reservists with 20 plan items each.

Builds a fresh SQLite database in a temporary folder (migrated, default roadmap) and fills it
with bulk inserts through the storage models: N reservists in 10 municipalities and 400 schools,
each with a plan of the year of 20 items (the roadmap's windows, padded with personal items),
about 60 % done (a third of them confirmed, with evidence and a history entry), a mentor for
half of them, and consultations. Then it times the regional .xlsx, the regional .csv, one
municipality's .xlsx, and the indicators (/kpi without the chart), and prints the queries
issued, the file sizes, and memory: the process's peak RSS, and with ``--memory`` (a separate
run: tracemalloc slows Python down) the peak traced Python memory of the export alone.

Usage: .venv/bin/python -m bench.export [N] [--memory] [--db FILE]

``--db FILE`` reuses a database an earlier run built (its path is printed), so the peak RSS
printed is that of the exports alone, not of building 200,000 rows in Python.
"""

from __future__ import annotations

import asyncio
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event

from bot.app import prepare_database
from bot.config import load_settings
from bot.services.exports import ExportService
from bot.services.indicators import IndicatorService
from bot.services.plans import windows_in_year
from storage.db import Database
from storage.models import (
    Consultation,
    IndividualPlan,
    MentorAssignment,
    PlanItem,
    PlanItemEvent,
    User,
)

YEAR = 2026
TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Moscow")
ITEMS = 20
CHUNK = 5000
MUNICIPALITIES = [f"Муниципальный район № {n}" for n in range(1, 11)]
SURNAMES = ["Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева"]


def rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def insert_rows(db: Database, model: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk INSERT (Core executemany on the model's table) in chunks, a transaction each."""
    for start in range(0, len(rows), CHUNK):
        async with db.session() as repo:
            await repo.session.execute(model.__table__.insert(), rows[start : start + CHUNK])


async def fill(db: Database, count: int) -> None:
    """The reservists, mentors, plans, items, history, assignments and consultations."""
    rng = random.Random(7)
    async with db.session() as repo:
        activities = await repo.activities.active()
    windows = [
        (a, n, w)
        for a in activities
        if a.for_reservists
        for n, w in enumerate(windows_in_year(a.schedule, YEAR))
    ]
    mentors = [
        {"id": 100_000 + m, "role": "mentor", "full_name": f"Наставник {m} Ивановна",
         "organisation": f"СОШ № {m % 400 + 1}", "municipality": MUNICIPALITIES[m % 10],
         "registered_at": NOW, "active": True, "muted": False, "created_at": NOW}
        for m in range(max(count // 20, 1))
    ]  # fmt: skip
    users, plans, items, assignments, consultations = [], [], [], [], []
    statuses = ["included"] * 6 + ["training"] * 2 + ["appointed", "excluded"]
    item_id = 0
    done_items: list[tuple[int, int]] = []
    for n in range(count):
        uid = n + 1
        users.append(
            {"id": uid, "role": "reservist", "telegram_id": 10_000_000 + n,
             "full_name": f"{SURNAMES[n % len(SURNAMES)]} Резервист {n} Петрович",
             "organisation": f"МБОУ СОШ № {n % 400 + 1}", "position": "Заместитель директора",
             "municipality": MUNICIPALITIES[n % 10], "reserve_status": statuses[n % 10],
             "cohort_year": 2024 + n % 3, "registered_at": NOW - timedelta(days=300),
             "active": True, "muted": False, "created_at": NOW}
        )  # fmt: skip
        plans.append({"id": uid, "user_id": uid, "year": YEAR, "created_at": NOW})
        for k in range(ITEMS):
            item_id += 1
            if k < len(windows):
                activity, occurrence, window = windows[k]
                title, kind, activity_id = activity.title, activity.kind, activity.id
                starts, due = window.starts_on, window.due_on
            else:
                title, kind, activity_id, occurrence = f"Личный пункт {k}", "other", None, 0
                starts, due = date(YEAR, k % 12 + 1, 1), date(YEAR, k % 12 + 1, 28)
            # a fifth of the reservists have done everything (even December's items)
            done = n % 5 == 0 or (rng.random() < 0.6 and (due is None or due <= TODAY))
            confirmed = done and rng.random() < 0.33
            items.append(
                {"id": item_id, "plan_id": uid, "activity_id": activity_id,
                 "occurrence": occurrence, "title": title, "kind": kind, "starts_on": starts,
                 "due_on": due, "status": "done" if done else "planned",
                 "done_on": min(due or TODAY, TODAY) if done else None,
                 "comment": "Выполнено" if done else None,
                 "evidence_kind": "document" if confirmed else None,
                 "evidence_name": f"Сертификат_{uid}_{k}.pdf" if confirmed else None,
                 "evidence_file_id": f"F{uid}_{k}" if confirmed else None,
                 "personal": activity_id is None, "archived": False,
                 "needs_confirmation": False,
                 "confirmed_by": mentors[n % len(mentors)]["id"] if confirmed else None,
                 "confirmed_at": NOW if confirmed else None,
                 "created_at": NOW, "updated_at": NOW}
            )  # fmt: skip
            if done:
                done_items.append((item_id, uid))
        if n % 2 == 0:
            assignments.append(
                {"reservist_id": uid, "mentor_id": mentors[n % len(mentors)]["id"],
                 "started_at": NOW - timedelta(days=200)}
            )  # fmt: skip
        if n % 3 == 0:
            consultations.append(
                {"reservist_id": uid, "mentor_id": mentors[n % len(mentors)]["id"],
                 "logged_by": uid, "held_on": date(YEAR, 4, 10), "format": "online",
                 "topic": "Подготовка к собеседованию", "minutes": 45,
                 "status": "confirmed" if n % 2 else "pending", "created_at": NOW}
            )  # fmt: skip
    events = [
        {"item_id": i, "actor_id": uid, "action": "done", "data": {},
         "at": NOW - timedelta(minutes=i % 100_000)}
        for i, uid in done_items
    ]  # fmt: skip
    for model, rows in (
        (User, mentors), (User, users), (IndividualPlan, plans), (PlanItem, items),
        (PlanItemEvent, events), (MentorAssignment, assignments), (Consultation, consultations),
    ):  # fmt: skip
        await insert_rows(db, model, rows)
    print(
        f"data: {len(users)} reservists, {len(items)} plan items ({len(done_items)} done), "
        f"{len(events)} history entries, {len(assignments)} mentor pairs, "
        f"{len(consultations)} consultations"
    )


async def timed_export(db: Database, area: str | None, *, as_csv: bool) -> tuple[float, int]:
    """(seconds, bytes) of one export, committed like the bot does."""
    started = time.perf_counter()
    async with db.session() as repo:
        built = await ExportService(repo).export(
            None, area, YEAR, today=TODAY, zone=ZONE, now=NOW, csv_format=as_csv
        )
    return time.perf_counter() - started, len(built.content)


async def main(count: int, memory: bool, reuse: Path | None) -> None:
    path = reuse or Path(tempfile.mkdtemp(prefix="bench-export-")) / "b.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    if reuse is None:
        settings = load_settings(_env_file=None, database_url=db.url)
        await prepare_database(settings, db)
        started = time.perf_counter()
        await fill(db, count)
        print(f"setup in {time.perf_counter() - started:.1f} s (database {path})")
        print(f"peak RSS of the setup: {rss_mib():.0f} MiB; rerun with --db {path} to measure")

    queries = 0

    def count_query(*_: object) -> None:
        nonlocal queries
        queries += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count_query)
    rss_before = rss_mib()
    if memory:
        tracemalloc.start()
    seconds, size = await timed_export(db, None, as_csv=False)
    peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
    tracemalloc.stop()
    print(
        f"xlsx, whole region: {seconds:.2f} s, {size / 2**20:.1f} MiB, "
        f"{queries} SQL statements (incl. the audit insert)"
    )
    if memory:
        print(f"peak traced Python memory during the xlsx export: {peak / 2**20:.1f} MiB")
        await db.dispose()
        return
    seconds, size = await timed_export(db, None, as_csv=True)
    print(f"csv, whole region: {seconds:.2f} s, {size / 2**20:.1f} MiB")
    seconds, size = await timed_export(db, MUNICIPALITIES[0], as_csv=False)
    print(f"xlsx, one municipality: {seconds:.2f} s, {size / 2**20:.1f} MiB")
    started = time.perf_counter()
    async with db.session() as repo:
        report = await IndicatorService(repo).report(None, YEAR, TODAY, group_limit=12)
    print(
        f"indicators (/kpi without the chart): {time.perf_counter() - started:.2f} s; "
        + ", ".join(f"{i.code} {i.d}%" for i in report.indicators)
    )
    print(f"peak RSS: {rss_before:.0f} MiB before the exports, {rss_mib():.0f} MiB after them")
    await db.dispose()


if __name__ == "__main__":
    size = next((int(a) for a in sys.argv[1:] if a.isdigit()), 10_000)
    args = sys.argv[1:]
    existing = Path(args[args.index("--db") + 1]) if "--db" in args else None
    asyncio.run(main(size, "--memory" in args, existing))
