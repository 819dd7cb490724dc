"""Benchmark: a page of a people picker at a region's scale — /report's list of reservists
(page 2, no search) and a search typed into it, for a regional and a municipal officer, over N
registered reservists in 10 municipalities (a fresh migrated SQLite database in a temporary
folder). Each measure is the picker's ``show`` as the handlers call it, answered into a stub
message; it prints min / median / max of the runs in milliseconds and the target.

Usage: .venv/bin/python -m bench.pickers [N] [--runs R]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any, cast

from sqlalchemy import String, update
from sqlalchemy import cast as sql_cast

from bench.population import add_reservists
from bot.app import prepare_database
from bot.config import load_settings
from handlers.common import Target
from handlers.reports import RESERVISTS
from storage.db import Database
from storage.models import Role, User

AT = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
MUNICIPALITIES = 10
#: the target: a page loads one page of rows, so a page or a search (one SQL scan of the
#: scope's names, no Python objects per person) stays within this at 10,000 people
TARGET_MS = 50.0


class _Stub:
    """Stands for the officer's message: keeps what the picker answers."""

    def __init__(self) -> None:
        self.answers: list[str] = []

    async def answer(self, text: str, **_: Any) -> None:
        self.answers.append(text)


async def _setup(count: int) -> tuple[Database, User, User]:
    folder = Path(tempfile.mkdtemp(prefix="bench-pickers-"))
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{folder}/b.db")
    db = Database(settings.database_url)
    await prepare_database(settings, db)
    await add_reservists(db, count, AT)
    async with db.session() as repo:
        await repo.session.execute(
            update(User).values(
                municipality="Муниципальный район № " + sql_cast(User.id % MUNICIPALITIES, String),
                organisation="МБОУ СОШ № " + sql_cast(User.id % 400, String),
            )
        )
        regional = await repo.users.add(
            User(telegram_id=1, role=Role.OFFICER, full_name="Офицер", registered_at=AT)
        )
        municipal = await repo.users.add(
            User(
                telegram_id=2,
                role=Role.OFFICER,
                full_name="Офицер района",
                municipality="муниципальный  район № 3",
                registered_at=AT,
            )
        )
    return db, regional, municipal


async def _time(db: Database, officer: User, query: str | None, page: int) -> tuple[float, str]:
    stub = _Stub()
    started = time.perf_counter()
    async with db.session() as repo:
        await RESERVISTS.show(cast(Target, stub), repo, officer, query, page)
    elapsed = (time.perf_counter() - started) * 1000
    found = [line for line in "\n".join(stub.answers).splitlines() if "Найдено" in line]
    return elapsed, found[-1] if found else "\n".join(stub.answers)


async def main(count: int, runs: int) -> None:
    db, regional, municipal = await _setup(count)
    cases = [
        ("/report page 2, regional", regional, None, 2),
        ("/report search, regional", regional, "резервист 12", 1),
        ("/report page 2, municipal", municipal, None, 2),
        ("/report search, municipal", municipal, "РЕЗЕРВИСТ 13", 1),
    ]
    print(f"{count} reservists; {runs} runs; target ≤ {TARGET_MS:.0f} ms a page or a search")
    for name, officer, query, page in cases:
        await _time(db, officer, query, page)  # warm-up: imports and the connection
        times = []
        for _ in range(runs):
            elapsed, head = await _time(db, officer, query, page)
            times.append(elapsed)
        print(
            f"{name:28} min {min(times):7.1f}  median {median(times):7.1f}  "
            f"max {max(times):7.1f} ms   ({head})"
        )
    await db.dispose()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 3
    if "--runs" in sys.argv:
        args.remove(str(runs))
    asyncio.run(main(int(args[0]) if args else 10_000, runs))
