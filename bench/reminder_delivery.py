"""Benchmark: one reminder scan delivering N notices to U users (two each by default, so one
gathered message per user) through the real aiogram Bot (retry policy, ThrottleMiddleware),
the TelegramNotifier and the reminder service, against the fake Bot API server enforcing
Telegram's limits (30 messages/s in all, 1/s per chat) on a clock K times faster.

The limiter is configured for the same cap (RateLimiter(per_second=30*K, chat_interval=1/K)).
Prints the sustained rate of accepted sends (first to last, as the server saw them) against
the target of 0.9 × the cap, the 429s (target 0), and checks that every notice was recorded as
sent exactly once and every user got exactly one message. ``--outage S`` answers every
sendMessage with a 502 and nginx's HTML page for S seconds (of real time) from the start of the
scan: notices are delayed, none is lost (the fake server then runs in this event loop).

Usage: .venv/bin/python -m bench.reminder_delivery [USERS] [--per-user P] [--speed K]
       [--outage S] [--same-loop] [--headroom H] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from bench.broadcast import FIRST_ID, TOKEN, InLoopHost, child_server, loop_server, rate_limit
from bot.config import load_settings
from bot.services.delivery import RateLimiter
from bot.services.reminders import ReminderRules, ReminderService
from bot.telegram import TelegramNotifier, create_bot
from storage import migrate
from storage.db import Database
from storage.models import IndividualPlan, ItemStatus, Notice, PlanItem, Role, User

NOW = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Moscow: outside the quiet hours
TARGET = 0.9


async def seed(db: Database, users: int, per_user: int) -> None:
    """``users`` reservists, each with ``per_user`` plan items due in two days: every item owes
    one ``due`` notice at :data:`NOW`."""
    due = NOW.date() + timedelta(days=2)
    async with db.session() as repo:
        s = repo.session
        await s.execute(
            insert(User),
            [
                {
                    "telegram_id": FIRST_ID + n,
                    "role": Role.RESERVIST.value,
                    "full_name": f"Резервист {n}",
                    "active": True,
                    "muted": False,
                }
                for n in range(users)
            ],
        )
        user_ids = (await s.scalars(select(User.id).order_by(User.id))).all()
        await s.execute(
            insert(IndividualPlan), [{"user_id": uid, "year": NOW.year} for uid in user_ids]
        )
        plan_ids = (await s.scalars(select(IndividualPlan.id).order_by(IndividualPlan.id))).all()
        rows: list[dict[str, Any]] = [
            {
                "plan_id": pid,
                "title": f"Мероприятие {k + 1}",
                "kind": "event",
                "due_on": due,
                "status": ItemStatus.PLANNED.value,
                "occurrence": k,
                "personal": False,
                "archived": False,
            }
            for pid in plan_ids
            for k in range(per_user)
        ]
        for start in range(0, len(rows), 5000):
            await s.execute(insert(PlanItem), rows[start : start + 5000])


async def main(args: argparse.Namespace) -> None:
    users, per_user, speed = args.users, args.per_user, args.speed
    folder = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    url = args.database or f"sqlite+aiosqlite:///{folder}/r.db"
    db = Database(url)
    await migrate.upgrade(db.engine)
    started = time.perf_counter()
    await seed(db, users, per_user)
    print(f"setup: {users} users, {users * per_user} plan items in "
          f"{time.perf_counter() - started:.1f} s ({db.dialect})")  # fmt: skip

    limit = rate_limit(speed)
    cap = limit.per_second * speed
    same_loop = args.same_loop or args.outage > 0
    host = loop_server if same_loop else child_server
    async with host(users, speed) as server:
        settings = load_settings(
            _env_file=None, bot_token=TOKEN, telegram_api_url=server.base_url, database_url=url
        )
        limiter = RateLimiter(per_second=cap, chat_interval=1.0 / speed, headroom=args.headroom)
        bot = create_bot(settings, limiter)
        service = ReminderService(
            db, ReminderRules.from_settings(settings), TelegramNotifier(bot), lambda: NOW
        )
        if args.outage > 0:
            assert isinstance(server, InLoopHost)
            server.server.fail_next("sendMessage", 502, html=True, for_seconds=args.outage)
        started = time.perf_counter()
        cpu = time.process_time()
        report = await service.scan(NOW)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        await bot.session.close()
        outcome = await server.report()
        again = await service.scan(NOW + timedelta(minutes=5))
    async with db.session() as repo:
        statuses = Counter((await repo.session.scalars(select(Notice.status))).all())
    await db.dispose()
    accepted, stats = [at for at, _ in outcome.accepted], outcome.stats

    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    rate = (len(accepted) - 1) / span if span else 0.0
    server_rate = rate / speed  # messages per server ("Telegram") second
    print(
        f"scan: {report.recorded} notices recorded, {report.sent} sent in {report.messages} "
        f"messages, {report.failed} failed, {report.blocked} blocked; a second scan sent "
        f"{again.sent}"
    )
    print(f"notices by status: {dict(statuses)}")
    print(f"elapsed: {elapsed:.1f} s for {len(accepted)} accepted messages; CPU {cpu:.1f} s")
    print(
        f"sustained rate: {rate:.1f} messages/s of a cap of {cap:g}/s = "
        f"{server_rate:.1f} msg/s on Telegram's clock (target ≥ {TARGET * limit.per_second:g}: "
        f"{'met' if server_rate >= TARGET * limit.per_second else 'NOT met'}); "
        f"peak {stats.peak_per_second} in a server second of {limit.per_second}"
    )
    print(
        f"429 answers: {stats.too_many_requests} (target 0; global "
        f"{stats.rate_limited_global}, per chat {stats.rate_limited_chat}); injected 502s: "
        f"{stats.injected_errors}"
    )
    lost = users * per_user - statuses.get("sent", 0)
    print(f"notices lost: {lost}; messages beyond one per user: {len(accepted) - users}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.reminder_delivery")
    parser.add_argument("users", nargs="?", type=int, default=5_000, help="users")
    parser.add_argument("--per-user", type=int, default=2, help="notices per user")
    parser.add_argument("--speed", type=float, default=10.0, help="server clock speed K")
    parser.add_argument("--outage", type=float, default=0.0, help="seconds of 502 HTML")
    parser.add_argument("--same-loop", action="store_true", help="fake server in this loop")
    parser.add_argument(
        "--headroom", type=float, default=0.03, help="the limiter's headroom below the cap"
    )
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
