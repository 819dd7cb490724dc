"""Reminder delivery at the shared budget, through the real aiogram Bot (retry policy,
throttling) against the fake Bot API server: several notices for one user go as one message
with a button row per item, users are served concurrently within the limits, and a window of
502s with an HTML body delays notices but loses none and sends none twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta

from aiogram import Bot
from sqlalchemy import select

from bot.config import load_settings
from bot.sandbox.emulator import FakeTelegramServer, RateLimit, SentCall
from bot.services.delivery import RateLimiter
from bot.services.reminders import (
    NOTICES_PER_MESSAGE,
    TEXT_LIMIT,
    ReminderRules,
    ReminderService,
    gather_notices,
)
from bot.telegram import RetryMiddleware, TelegramNotifier, create_bot
from storage.db import Database
from storage.models import IndividualPlan, Notice, PlanItem, Role, User
from storage.repo import NoticeRow

TOKEN = "123456:REMIND-token-for-the-fake-server-only"
FIRST = 80_000
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 12:00 in Moscow: not in quiet hours
SPEED = 10.0  # the fake server's clock: 300 messages/s in all, 10/s per chat
FAST = {"backoff_first": 0.05, "backoff_max": 0.2, "jitter": 0.02}


@asynccontextmanager
async def telegram(
    limiter: RateLimiter, rate_limit: RateLimit | None = None, *, budget: float = 5.0
) -> AsyncIterator[tuple[FakeTelegramServer, Bot]]:
    """The fake server and the real Bot (retry policy with short back-offs, throttling)."""
    async with FakeTelegramServer(TOKEN, rate_limit=rate_limit) as server:
        settings = load_settings(_env_file=None, bot_token=TOKEN, telegram_api_url=server.base_url)
        bot = create_bot(settings, limiter, retry=RetryMiddleware(budget, **FAST))
        try:
            yield server, bot
        finally:
            await bot.session.close()


async def seed(
    db: Database, server: FakeTelegramServer | None, users: int, per_user: int
) -> list[User]:
    """``users`` reservists, each with ``per_user`` plan items due in two days (one ``due``
    notice each at :data:`NOW`)."""
    due = NOW.date() + timedelta(days=2)
    async with db.session() as repo:
        people = [
            User(telegram_id=FIRST + n, role=Role.RESERVIST, full_name=f"Резервист {n}")
            for n in range(users)
        ]
        repo.session.add_all(people)
        await repo.flush()
        plans = [IndividualPlan(user_id=u.id, year=NOW.year) for u in people]
        repo.session.add_all(plans)
        await repo.flush()
        repo.session.add_all(
            PlanItem(plan_id=p.id, own_title=f"Мероприятие {k + 1}", kind="event", due_on=due)
            for p in plans
            for k in range(per_user)
        )
    if server is not None:
        for user in people:
            server.user(int(user.telegram_id or 0))
    return people


def service_for(db: Database, bot: Bot) -> ReminderService:
    rules = ReminderRules.from_settings(load_settings())
    return ReminderService(db, rules, TelegramNotifier(bot), lambda: NOW)


async def statuses(db: Database) -> dict[str, int]:
    """Number of notices in each status."""
    async with db.session() as repo:
        found = (await repo.session.scalars(select(Notice.status))).all()
    return dict(Counter(found))


async def test_notices_for_one_user_go_as_one_message_with_a_button_row_each(
    db: Database,
) -> None:
    limiter = RateLimiter.for_telegram(SPEED)
    async with telegram(limiter) as (server, bot):
        (user,) = await seed(db, server, 1, 3)
        report = await service_for(db, bot).scan(NOW)
        assert (report.recorded, report.sent, report.messages) == (3, 3, 1)
        (message,) = server.messages_to(user.telegram_id or 0)
        assert "Напоминания по плану (3)" in (message.text or "")
        for n in (1, 2, 3):
            assert f"{n}. ⏳ Срок пункта плана «Мероприятие {n}»" in (message.text or "")
        rows = message.button_rows
        assert len(rows) == 3
        async with db.session() as repo:
            ids = (await repo.session.scalars(select(PlanItem.id).order_by(PlanItem.id))).all()
        for n, row in enumerate(rows):
            (done, done_data), (later, later_data) = row
            assert (
                done.startswith(f"✅ {n + 1}. Мероприятие {n + 1}") and later == "Напомнить позже"
            )
            assert done_data == f"item:done:{ids[n]}:1" and later_data == f"item:later:{ids[n]}:1"
            assert len((done_data or "").encode()) <= 64
        assert await statuses(db) == {"sent": 3}
        again = await service_for(db, bot).scan(NOW + timedelta(minutes=5))
        assert again.sent == 0 and len(server.messages_to(user.telegram_id or 0)) == 1


def test_a_long_list_is_split_within_the_text_and_button_limits() -> None:
    user = User(id=1, telegram_id=1, timezone="Europe/Moscow", role=Role.RESERVIST)
    rows = [
        NoticeRow(
            Notice(id=n, user_id=1, item_id=100 + n, kind="overdue", occasion="x"),
            user,
            PlanItem(
                id=100 + n,
                title=f"{n} " + "очень длинное название " * 20,
                kind="event",
                due_on=date(2026, 2, 1),
                status="planned",
            ),
        )
        for n in range(35)
    ]
    messages = gather_notices(rows, date(2026, 3, 2))
    assert len(messages) >= 4
    assert [r.notice.id for m in messages for r in m.rows] == list(range(35))  # each once
    for message in messages:
        assert len(message.text) <= TEXT_LIMIT
        assert 1 <= len(message.items) <= NOTICES_PER_MESSAGE
        assert [item_id for item_id, _ in message.items] == [r.item.id for r in message.rows]
    assert any(len(m.text) > TEXT_LIMIT * 0.75 for m in messages)  # split by length, not count
    (single,) = gather_notices(rows[:1], date(2026, 3, 2))
    assert single.text.startswith("⚠️ Пункт плана")  # a single notice is sent as it is


def in_flight_at_most(calls: list[SentCall]) -> int:
    """The most requests the server held at once (arrived, not yet answered)."""
    # (time, +1 arrival / -1 answer): at one instant an answer sorts before an arrival
    events = sorted([(c.at, 1) for c in calls] + [(c.answered_at or c.at, -1) for c in calls])
    most = held = 0
    for _, change in events:
        held += change
        most = max(most, held)
    return most


async def test_users_are_served_concurrently_within_the_limits(db: Database) -> None:
    limiter = RateLimiter.for_telegram(SPEED)
    async with telegram(limiter, RateLimit(clock_speed=SPEED)) as (server, bot):
        users = await seed(db, server, 60, 1)
        server.delay_answers(None, 0.05, methods=["sendMessage"])  # a slow Bot API
        report = await service_for(db, bot).scan(NOW)
        assert report.sent == 60 and report.messages == 60
        # Concurrent: sends were waiting for their answers at the same time. One at a time,
        # never more than one would be (60 × 0.05 s = 3 s); the budget allows 300/s, so
        # about 15 overlap. Counted from the server's times of arrival and answer, not timed:
        # a busy machine slows the scan but does not make it send one by one.
        sends = [c for c in server.calls if c.method == "sendMessage"]
        assert in_flight_at_most(sends) >= 4, in_flight_at_most(sends)
        assert server.stats.too_many_requests == 0
        assert server.stats.peak_per_second <= 30
        assert all(len(server.messages_to(u.telegram_id or 0)) == 1 for u in users)


async def test_a_burst_of_502_pages_during_a_scan_delays_notices_and_loses_none(
    db: Database,
) -> None:
    limiter = RateLimiter.for_telegram(SPEED)
    async with telegram(limiter, RateLimit(clock_speed=SPEED)) as (server, bot):
        users = await seed(db, server, 30, 2)
        # The next 20 sends meet the proxy's error page, whenever the scan gets to them (a
        # timed window could close before a slow machine's scan sends anything).
        server.fail_next("sendMessage", 502, html=True, times=20)
        report = await service_for(db, bot).scan(NOW)
        assert (report.sent, report.messages, report.failed) == (60, 30, 0)
        assert server.stats.injected_errors == 20  # the burst did hit the scan
        assert all(len(server.messages_to(u.telegram_id or 0)) == 1 for u in users)
        assert await statuses(db) == {"sent": 60}


async def test_an_outage_longer_than_the_retry_budget_leaves_notices_for_the_next_scan(
    db: Database,
) -> None:
    limiter = RateLimiter.for_telegram(SPEED)
    async with telegram(limiter, budget=0.3) as (server, bot):
        users = await seed(db, server, 10, 2)
        # Down until healed, not for a wall-clock window: on a busy machine the scan's own
        # queries could outlast a timed window before the first send.
        server.fail_next("sendMessage", 502, html=True, times=10_000)
        first = await service_for(db, bot).scan(NOW)
        assert (first.sent, first.failed) == (0, 20)
        assert server.stats.injected_errors > 0
        assert await statuses(db) == {"pending": 20}  # recorded, not lost, not marked sent
        await server.clear_faults()
        second = await service_for(db, bot).scan(NOW + timedelta(minutes=5))
        assert (second.recorded, second.sent, second.messages) == (0, 20, 10)
        assert all(len(server.messages_to(u.telegram_id or 0)) == 1 for u in users)
        assert await statuses(db) == {"sent": 20}
