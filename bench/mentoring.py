"""Benchmark: mentoring at a region's scale — /pairs, /mentees, the overdue audience of a
broadcast and the weekly digests over N mentor pairs (default 1,000).

Builds a fresh migrated database (SQLite in a temporary folder, or the empty database of
``--url``) with the default roadmap and, in bulk: N reservists in 10 municipalities with their
plans of the year (``scheduler.jobs.ensure_plans``), half of the items due by the measured day
done (each with a history entry), the rest of those overdue; N / 6 mentors, one of them with
N / 10 mentees, nine with N / 40, the others a few each; a pair ended before each of the first
N / 10 pairs; two consultations a pair (confirmed, pending or declined). Each measure is the
service the handler or the job calls, in a session of its own, on an injected day
(:data:`TODAY`, not the wall clock): ``MentoringService.pairs`` for a regional and a municipal
officer (/pairs), ``MentoringService.mentees_progress`` for the mentor with the most mentees
(/mentees), ``audience.recipients`` of the overdue audience for the regional officer, and
``DigestService.run`` at 23:00 in Moscow (quiet hours: every digest is built, none is sent).
It prints the SQL statements of a run, min / median / max of the runs in seconds against the
target, and the garbage collector's full collections during the runs (each pauses the run it
falls in: the max).

Usage: .venv/bin/python -m bench.mentoring [N] [--runs R] [--url DATABASE_URL]

``--url`` takes an empty database, e.g. a throwaway PostgreSQL:
``scripts/test-postgres.sh sh -c '.venv/bin/python -m bench.mentoring --url "$TEST_DATABASE_URL"'``

"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import event, select, update

from bot.app import digest_service, prepare_database
from bot.config import Settings, load_settings
from bot.services.audience import Audience, AudienceKind, recipients
from bot.services.mentoring import MentoringService
from scheduler.jobs import ensure_plans
from storage.db import Database
from storage.models import (
    Consultation,
    ConsultationStatus,
    IndividualPlan,
    ItemStatus,
    MentorAssignment,
    PlanItem,
    PlanItemEvent,
    Role,
    User,
)

TODAY = date(2027, 11, 20)
#: 23:00 in Moscow on :data:`TODAY`: the digests are built, and deferred (quiet hours)
NOW = datetime(2027, 11, 20, 20, 0, tzinfo=UTC)
JOINED = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
MUNICIPALITIES = [f"Муниципальный район № {n}" for n in range(1, 11)]
REGIONAL_ID, MUNICIPAL_ID = 1, 2
FIRST_MENTOR, FIRST_RESERVIST = 1_000, 10_000
CHUNK = 5_000
#: the issue's target for each measure at 1,000 pairs
TARGET_S = 0.3


async def _insert(db: Database, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk INSERT (Core executemany) in chunks of :data:`CHUNK`, a transaction each."""
    for start in range(0, len(rows), CHUNK):
        async with db.session() as repo:
            await repo.session.execute(model.__table__.insert(), rows[start : start + CHUNK])


def _mentor_of(n: int, count: int, mentors: int) -> int:
    """The mentor (0-based) of reservist ``n``: the first one has count // 10 mentees, the
    next nine count // 40 each, the others share the rest in turn."""
    big, busy = count // 10, count // 40
    if n < big:
        return 0
    if n < big + 9 * busy:
        return 1 + (n - big) // busy
    return 10 + (n - big - 9 * busy) % (mentors - 10)


async def fill(db: Database, settings: Settings, count: int) -> None:
    """The officers, mentors, reservists with plans, done items and history, pairs and
    consultations of the module doc."""
    mentors = max(count // 6, 11)
    officers = [
        {"id": REGIONAL_ID, "telegram_id": 1, "role": Role.OFFICER, "full_name": "Офицер",
         "municipality": None, "registered_at": JOINED},
        {"id": MUNICIPAL_ID, "telegram_id": 2, "role": Role.OFFICER,
         "full_name": "Офицер района", "municipality": MUNICIPALITIES[3].lower(),
         "registered_at": JOINED},
    ]  # fmt: skip
    people = [
        {"id": FIRST_MENTOR + m, "telegram_id": 100_000 + m, "role": Role.MENTOR,
         "full_name": f"Наставник {m:04d} Ивановна", "organisation": f"СОШ № {m % 400 + 1}",
         "municipality": MUNICIPALITIES[m % 10], "registered_at": JOINED}
        for m in range(mentors)
    ] + [
        {"id": FIRST_RESERVIST + n, "telegram_id": 1_000_000 + n, "role": Role.RESERVIST,
         "full_name": f"Резервист {n:05d} Петрович", "organisation": f"МБОУ СОШ № {n % 400 + 1}",
         "municipality": MUNICIPALITIES[n % 10], "registered_at": JOINED}
        for n in range(count)
    ]  # fmt: skip
    await _insert(db, User, officers)
    await _insert(db, User, people)
    await ensure_plans(db, settings, JOINED)
    async with db.session() as repo:
        due = await repo.session.execute(
            select(PlanItem.id, IndividualPlan.user_id)
            .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
            .where(PlanItem.due_on < TODAY)
            .order_by(PlanItem.id)
        )
        done = [(item, user) for n, (item, user) in enumerate(due.all()) if n % 2 == 0]
        for start in range(0, len(done), CHUNK):
            await repo.session.execute(
                update(PlanItem)
                .where(PlanItem.id.in_([i for i, _ in done[start : start + CHUNK]]))
                .values(status=ItemStatus.DONE, done_on=PlanItem.due_on, own_title=PlanItem.title)
            )
    # a third of the reservists did something lately, the others over 30 days ago (stalled)
    await _insert(
        db,
        PlanItemEvent,
        [
            {"item_id": item, "actor_id": user, "action": "done", "data": {},
             "at": NOW - timedelta(days=5 if user % 3 == 0 else 45)}
            for item, user in done
        ],
    )  # fmt: skip
    pairs, consultations = [], []
    for n in range(count):
        reservist, mentor = FIRST_RESERVIST + n, FIRST_MENTOR + _mentor_of(n, count, mentors)
        if n < count // 10:  # an earlier mentor, the pair ended
            earlier = FIRST_MENTOR + (mentor - FIRST_MENTOR + 1) % mentors
            pairs.append(
                {"reservist_id": reservist, "mentor_id": earlier, "assigned_by": REGIONAL_ID,
                 "started_at": JOINED, "ended_at": JOINED + timedelta(days=30),
                 "ended_by": REGIONAL_ID}
            )  # fmt: skip
        pairs.append(
            {"reservist_id": reservist, "mentor_id": mentor, "assigned_by": REGIONAL_ID,
             "started_at": JOINED + timedelta(days=30), "ended_at": None, "ended_by": None}
        )  # fmt: skip
        for k, status in enumerate(
            [ConsultationStatus.CONFIRMED, ConsultationStatus.PENDING, ConsultationStatus.DECLINED]
        ):
            if (n + k) % 3 == 2:
                continue  # two of the three a pair
            consultations.append(
                {"reservist_id": reservist, "mentor_id": mentor,
                 "logged_by": reservist if k % 2 else mentor,
                 "held_on": date(2027, 3 + k, 10), "format": "online",
                 "topic": "Подготовка к собеседованию", "minutes": 45, "status": status,
                 "created_at": datetime(2027, 3 + k, 10, 12, 0, tzinfo=UTC)}
            )  # fmt: skip
    await _insert(db, MentorAssignment, pairs)
    await _insert(db, Consultation, consultations)
    print(
        f"data: {count} reservists with plans of {TODAY.year} ({len(done)} items done), "
        f"{mentors} mentors (the busiest with {count // 10} mentees), "
        f"{len(pairs)} assignments ({count} active), {len(consultations)} consultations"
    )


class _Silent:
    """The digests' notifier: nothing may be sent in quiet hours."""

    async def send_confirmation_digest(self, *_: object, **__: object) -> None:
        raise AssertionError("nothing is sent in quiet hours")

    async def send_text(self, *_: object, **__: object) -> None:
        raise AssertionError("nothing is sent in quiet hours")


class _FullCollections:
    """Times the garbage collector's full (generation 2) collections while attached: they
    pause whatever runs, and a run that allocates many objects sets one off."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)


async def _measure(
    db: Database, name: str, action: Callable[[], Awaitable[str]], runs: int
) -> None:
    """Run ``action`` once to warm up, then ``runs`` times; print its statements, what it
    found, min / median / max seconds and the full collections of the garbage collector in
    the runs."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    await action()
    times = []
    found = ""
    engine = db.engine.sync_engine
    collections = _FullCollections()
    gc.callbacks.append(collections)
    for _ in range(runs):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        started = time.perf_counter()
        try:
            found = await action()
        finally:
            elapsed = time.perf_counter() - started
            event.remove(engine, "before_cursor_execute", count)
        times.append(elapsed)
    gc.callbacks.remove(collections)
    verdict = "ok" if median(times) <= TARGET_S else "MISSED"
    pauses = collections.pauses
    print(
        f"{name:30} {len(statements):2} statements  min {min(times):6.3f}  "
        f"median {median(times):6.3f}  max {max(times):6.3f} s  {verdict}  ({found}; "
        f"{len(pauses)} full GC, {sum(pauses):.3f} s)"
    )


async def main(count: int, runs: int, url: str | None) -> None:
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="bench-mentoring-"))
        url = f"sqlite+aiosqlite:///{folder}/b.db"
    settings = load_settings(_env_file=None, database_url=url, default_timezone="Europe/Moscow")
    db = Database(settings.database_url)
    await prepare_database(settings, db)
    started = time.perf_counter()
    await fill(db, settings, count)
    print(f"filled in {time.perf_counter() - started:.1f} s ({db.dialect})")
    async with db.session() as repo:
        regional = await repo.users.get(REGIONAL_ID)
        municipal = await repo.users.get(MUNICIPAL_ID)
        busiest = await repo.users.get(FIRST_MENTOR)
    assert regional is not None and municipal is not None and busiest is not None

    def pairs(officer: User) -> Callable[[], Awaitable[str]]:
        async def run() -> str:
            async with db.session() as repo:
                reports = await MentoringService(repo).pairs(TODAY, officer)
            return f"{len(reports)} pairs"

        return run

    async def mentees() -> str:
        async with db.session() as repo:
            progress = await MentoringService(repo).mentees_progress(busiest, TODAY)
        return f"{len(progress)} mentees, {sum(p.overdue > 0 for p in progress)} with overdue"

    async def overdue() -> str:
        async with db.session() as repo:
            found = await recipients(repo, regional, Audience(AudienceKind.OVERDUE), TODAY)
        return f"{len(found)} recipients"

    async def digests() -> str:
        report = await digest_service(settings, db, _Silent()).run(NOW)
        return f"{report.deferred} digests built and deferred, weekly and confirmation"

    print(f"{runs} runs; target ≤ {TARGET_S} s each")
    await _measure(db, "/pairs, regional officer", pairs(regional), runs)
    await _measure(db, "/pairs, municipal officer", pairs(municipal), runs)
    await _measure(db, "/mentees, the busiest mentor", mentees, runs)
    await _measure(db, "overdue audience, regional", overdue, runs)
    await _measure(db, "weekly digests (quiet hours)", digests, runs)
    await db.dispose()


def _option(args: list[str], name: str) -> str | None:
    """The value after ``name`` in ``args`` (both removed), or None."""
    if name not in args:
        return None
    at = args.index(name)
    value = args[at + 1]
    del args[at : at + 2]
    return value


if __name__ == "__main__":
    arguments = sys.argv[1:]
    runs = int(_option(arguments, "--runs") or 3)
    url = _option(arguments, "--url")
    asyncio.run(main(int(arguments[0]) if arguments else 1_000, runs, url))
