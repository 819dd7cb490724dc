"""Sending within Telegram's limits: the rate limiter's spacing and the 429/403 handling of the
aiogram request middleware and notifier."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.services.delivery import Lane, RateLimiter, RecipientBlockedError, send_lane, sending_in
from bot.telegram import RetryMiddleware, TelegramNotifier, ThrottleMiddleware
from tests.mocked_bot import MockedBot


async def test_one_chat_is_spaced_by_the_chat_interval() -> None:
    limiter = RateLimiter(per_second=1000, chat_interval=0.05)
    started = time.monotonic()
    for _ in range(5):
        await limiter.acquire(1)
    assert time.monotonic() - started >= 0.19


async def test_many_chats_are_spaced_by_the_global_rate() -> None:
    limiter = RateLimiter(per_second=200, chat_interval=1.0)
    started = time.monotonic()
    await asyncio.gather(*(limiter.acquire(chat) for chat in range(41)))
    assert time.monotonic() - started >= 0.19  # 40 intervals of 5 ms


async def test_pause_holds_everyone() -> None:
    limiter = RateLimiter(per_second=1000, chat_interval=0.0)
    limiter.pause(0.1)
    started = time.monotonic()
    await limiter.acquire(7)
    assert time.monotonic() - started >= 0.09


class FlakyBot(MockedBot):
    """Answers the first ``fail`` sendMessage calls with 429 retry_after=0."""

    def __init__(self, fail: int) -> None:
        super().__init__()
        self.fail = fail
        original = self.session.make_request

        async def make_request(
            bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
        ) -> Any:
            if isinstance(method, SendMessage) and self.fail > 0:
                self.fail -= 1
                raise TelegramRetryAfter(method, "Too Many Requests: retry after 0", 0)
            return await original(bot, method, timeout)

        self.session.make_request = make_request  # type: ignore[method-assign]


async def test_429_is_waited_out_and_retried() -> None:
    bot = FlakyBot(fail=2)
    limiter = RateLimiter(per_second=1000, chat_interval=0.0)
    bot.session.middleware(RetryMiddleware(budget=5))
    bot.session.middleware(ThrottleMiddleware(limiter))
    await bot.send_message(5, "привет")
    assert [c.text for c in bot.calls] == ["привет"]


async def test_429_beyond_the_budget_propagates() -> None:
    bot = FlakyBot(fail=10)
    bot.session.middleware(RetryMiddleware(budget=0))
    bot.session.middleware(ThrottleMiddleware(RateLimiter(1000, 0.0)))
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(5, "привет")


async def test_notifier_maps_403_to_blocked_and_sends_buttons() -> None:
    bot = MockedBot()
    bot.session.blocked.add(9)
    notifier = TelegramNotifier(bot)
    with pytest.raises(RecipientBlockedError):
        await notifier.send_notices(9, "текст", [(1, "")])
    await notifier.send_notices(10, "текст", [(77, "")])
    call = bot.calls[-1]
    assert [text for text, _ in call.buttons()] == ["Отметить выполненным", "Напомнить позже"]
    assert call.buttons()[0][1] == "item:done:77:1"
    assert issubclass(TelegramForbiddenError, Exception)  # the mocked session raises it


async def _grant_order(
    limiter: RateLimiter, requests: list[tuple[str, int | None, Lane]]
) -> list[str]:
    """Start acquires in this order (each a moment after the previous); names in grant order."""
    order: list[str] = []

    async def one(name: str, chat: int | None, lane: Lane) -> None:
        await limiter.acquire(chat, lane)
        order.append(name)

    tasks = []
    for name, chat, lane in requests:
        tasks.append(asyncio.create_task(one(name, chat, lane)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return order


async def test_replies_go_before_queued_bulk_sends() -> None:
    limiter = RateLimiter(per_second=100, chat_interval=0.0)
    bulk = [(f"b{n}", 100 + n, Lane.BROADCAST) for n in range(20)]
    order = await _grant_order(
        limiter, [*bulk, ("reminder", 7, Lane.REMINDER), ("reply", 8, Lane.INTERACTIVE)]
    )
    # b0 took the free slot at once; the reply and then the reminder jump the queue
    assert order[:3] == ["b0", "reply", "reminder"]
    assert order[3:] == [f"b{n}" for n in range(1, 20)]


async def test_a_chat_waiting_for_its_interval_lets_others_pass() -> None:
    limiter = RateLimiter(per_second=1000, chat_interval=0.2)
    await limiter.acquire(1)
    started = time.monotonic()
    order = await _grant_order(limiter, [("again-1", 1, Lane.BROADCAST), ("2", 2, Lane.BROADCAST)])
    assert order == ["2", "again-1"]
    assert time.monotonic() - started >= 0.2


class GrantRecorder(RateLimiter):
    """Records the moment of every grant."""

    granted: list[float]

    def _pick(self, now: float) -> tuple[Any, float]:
        waiter, ready = super()._pick(now)
        if waiter is not None:
            self.granted.append(now)
        return waiter, ready


async def test_no_window_holds_more_than_the_rate() -> None:
    limiter = GrantRecorder(per_second=50, chat_interval=1.0)
    limiter.granted = []

    async def one(chat: int) -> None:
        await limiter.acquire(chat)
        if chat % 7 == 0:
            time.sleep(0.015)  # noqa: ASYNC251 - a busy event loop: the limiter wakes up late

    await asyncio.gather(*(one(chat) for chat in range(120)))
    granted = limiter.granted
    assert len(granted) == 120
    window = limiter.burst * limiter.interval
    assert window > 1.0  # the headroom
    for start, at in enumerate(granted):
        later = [t for t in granted[start:] if t < at + window - 1e-6]
        assert len(later) <= 50
    gaps = [b - a for a, b in itertools.pairwise(granted)]
    assert min(gaps) >= limiter.interval / 2 - 1e-6


async def test_a_cancelled_waiter_does_not_block_the_rest() -> None:
    limiter = RateLimiter(per_second=20, chat_interval=0.0)
    await limiter.acquire(1)
    doomed = asyncio.create_task(limiter.acquire(2))
    await asyncio.sleep(0)
    doomed.cancel()
    started = time.monotonic()
    await asyncio.wait_for(limiter.acquire(3), 1)
    assert time.monotonic() - started < 0.2
    assert limiter.waiting() == 0


async def test_the_next_send_to_a_chat_is_spaced_from_the_answer() -> None:
    limiter = RateLimiter(per_second=1000, chat_interval=0.1, chat_headroom=0.0)
    await limiter.acquire(5)
    await asyncio.sleep(0.08)  # a slow request
    limiter.sent(5)
    started = time.monotonic()
    await limiter.acquire(5)
    assert time.monotonic() - started >= 0.09


class LaneRecorder(RateLimiter):
    """Records the lane of every slot taken."""

    def __init__(self) -> None:
        super().__init__(per_second=1000, chat_interval=0.0)
        self.lanes: list[Lane] = []

    async def acquire(self, chat_id: int | None, lane: Lane | None = None) -> None:
        self.lanes.append(send_lane.get() if lane is None else lane)
        await super().acquire(chat_id, lane)


async def test_the_middleware_takes_slots_in_the_lane_of_the_context() -> None:
    bot = MockedBot()
    limiter = LaneRecorder()
    bot.session.middleware(ThrottleMiddleware(limiter))
    await bot.send_message(5, "ответ")
    await TelegramNotifier(bot).send_notices(5, "напоминание", [(1, "")])
    with sending_in(Lane.BROADCAST):
        await bot.send_message(5, "рассылка")
    await bot.send_message(5, "снова ответ")
    assert limiter.lanes == [Lane.INTERACTIVE, Lane.REMINDER, Lane.BROADCAST, Lane.INTERACTIVE]
