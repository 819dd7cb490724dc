"""Populating a benchmark's database quickly: plain registered reservists in bulk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert

from storage.db import Database
from storage.models import Role, User


async def add_reservists(
    db: Database, count: int, joined: datetime, *, first_id: int = 10_000, chunk: int = 10_000
) -> None:
    """Insert ``count`` registered reservists (Telegram ids from ``first_id``, named
    «Резервист N», registered at the aware moment ``joined``), ``chunk`` rows a statement, in
    one transaction; no plans (``scheduler.jobs.ensure_plans`` makes them)."""
    async with db.session() as repo:
        for start in range(0, count, chunk):
            await repo.session.execute(
                insert(User),
                [
                    {
                        "telegram_id": first_id + n,
                        "role": Role.RESERVIST,
                        "full_name": f"Резервист {n}",
                        "registered_at": joined,
                    }
                    for n in range(start, min(count, start + chunk))
                ],
            )
