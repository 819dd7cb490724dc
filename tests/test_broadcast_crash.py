"""A broadcast survives a crash: the real bot process (`python -m bot run`) resumes a broadcast
queued in the database, is killed with SIGKILL while sending, is started again and finishes it.
Every recipient gets the message; only deliveries that were in flight at the kill (rows left
``sending``, at most one per worker) may have got it twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from bot.sandbox.emulator import FakeTelegramServer
from bot.services.broadcast import BroadcastService, ContentPart
from bot.services.delivery import RateLimiter
from storage.broadcast_models import BroadcastStatus, DeliveryState
from storage.db import Database
from storage.models import Role, User
from tests.e2e_support import Bot, bot_env, fake_telegram, wait_until

pytestmark = pytest.mark.e2e

FIRST = 3_000
RECIPIENTS = 60
MARKER = "Плановое совещание резерва"
WAIT = 60.0


class NoTransport:
    """The test process only queues the broadcast; the bot process sends it."""

    async def send_part(self, chat_id: int, part: ContentPart, *, rsvp: int | None = None) -> None:
        raise AssertionError("the test process must not send")

    async def send_content(
        self, chat_id: int, parts: Sequence[ContentPart], *, rsvp: int | None = None
    ) -> None:
        raise AssertionError("the test process must not send")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with fake_telegram(speed=1.0) as srv:  # Telegram's limits on its real clock
        yield srv


@pytest.fixture
def env(server: FakeTelegramServer, database_url: str, tmp_path: Path) -> dict[str, str]:
    """The bot's environment on Telegram's real clock: the count of deliveries in doubt at the
    kill is bounded by the concurrency of the bot's default limiter, ``RateLimiter()``."""
    return bot_env(server, database_url, tmp_path, TELEGRAM_CLOCK_SPEED="1")


def delivered(server: FakeTelegramServer) -> dict[int, int]:
    """Messages of the broadcast each recipient's chat received."""
    return {
        chat: sum(1 for m in server.messages_to(chat) if MARKER in (m.text or ""))
        for chat in range(FIRST, FIRST + RECIPIENTS)
    }


async def test_a_killed_bot_resumes_the_broadcast_where_it_stopped(
    db: Database, server: FakeTelegramServer, env: dict[str, str], tmp_path: Path
) -> None:
    async with db.session() as repo:
        users = [
            User(telegram_id=FIRST + n, role=Role.MENTOR, full_name=f"Наставник {n}")
            for n in range(RECIPIENTS)
        ]
        repo.session.add_all(users)
        await repo.flush()
    for user in users:
        server.user(int(user.telegram_id or 0))
    queued = BroadcastService(db, NoTransport(), RateLimiter())
    broadcast = await queued.create(
        created_by=None,
        parts=[ContentPart.of_text(f"<b>{MARKER}</b> в пятницу в 15:00")],
        user_ids=[u.id for u in users],
        audience={"label": "Все наставники"},
    )
    assert await queued.launch(broadcast.id)  # "running": the bot resumes it when it starts
    workers = queued.concurrency_for(1)  # what the bot process runs with its default limiter

    bot = Bot(env, tmp_path / "bot.log")
    try:
        await bot.start()
        await wait_until(
            lambda: sum(delivered(server).values()) >= 20, "the first 20 messages", WAIT
        )
        await bot.kill()
        await asyncio.sleep(0.3)  # requests already on the wire are still answered

        at_kill = delivered(server)
        async with db.session() as repo:
            rows = {d.chat_id: d for d in await repo.broadcasts.deliveries(broadcast.id)}
        in_doubt = {chat for chat, d in rows.items() if d.state == DeliveryState.SENDING}
        assert 20 <= sum(at_kill.values()) < RECIPIENTS, at_kill
        assert len(in_doubt) <= workers, in_doubt
        for chat, row in rows.items():  # the queue matches what really happened
            if row.state == DeliveryState.SENT:
                assert at_kill[chat] == 1, (chat, row.state)
            elif row.state == DeliveryState.PENDING:
                assert at_kill[chat] == 0, (chat, row.state)
            else:
                assert row.state == DeliveryState.SENDING and at_kill[chat] <= 1

        await bot.start()  # the restart resumes the broadcast
        await wait_until(lambda: all(delivered(server).values()), "every recipient", WAIT)

        async def finished() -> bool:
            async with db.session() as repo:
                return await repo.broadcasts.status(broadcast.id) == "done"

        deadline = time.monotonic() + WAIT
        while not await finished():
            assert time.monotonic() < deadline, "the broadcast was not marked done"
            await asyncio.sleep(0.05)
        assert await bot.terminate() == 0
    except BaseException:
        print(bot.log())  # shown by pytest on failure
        raise
    finally:
        if bot.running:
            await bot.terminate()

    final = delivered(server)
    twice = {chat for chat, n in final.items() if n > 1}
    assert all(n >= 1 for n in final.values()), final
    assert max(final.values()) <= 2
    assert twice <= in_doubt, (twice, in_doubt)  # duplicates only among the in-flight ones
    results = await queued.results(broadcast.id)
    assert results.status == BroadcastStatus.DONE
    assert (results.sent, results.pending, results.failed) == (RECIPIENTS, 0, 0)
    assert "resuming broadcasts" in bot.log()
    print(
        f"killed after {sum(at_kill.values())} messages with {len(in_doubt)} in flight; "
        f"{len(twice)} recipient(s) got it twice"
    )
