"""Sending within Telegram's limits: the rate limiter's spacing and the 429/403 handling of the
aiogram request middleware and notifier."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.services.delivery import (
    ArrivalWindow,
    Lane,
    RateLimiter,
    RecipientBlockedError,
    Slot,
    send_lane,
    sending_in,
)
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
        slot = await limiter.acquire(chat)
        if chat % 7 == 0:
            time.sleep(0.015)  # noqa: ASYNC251 - a busy event loop: the limiter wakes up late
        limiter.sent(slot)

    await asyncio.gather(*(one(chat) for chat in range(120)))
    granted = limiter.granted
    assert len(granted) == 120
    for start, at in enumerate(granted):
        later = [t for t in granted[start:] if t < at + 1.0 - 1e-6]
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
    slot = await limiter.acquire(5)
    await asyncio.sleep(0.08)  # a slow request
    limiter.sent(slot)
    started = time.monotonic()
    await limiter.acquire(5)
    assert time.monotonic() - started >= 0.09


class LaneRecorder(RateLimiter):
    """Records the lane of every slot taken."""

    def __init__(self) -> None:
        super().__init__(per_second=1000, chat_interval=0.0)
        self.lanes: list[Lane] = []

    async def acquire(self, chat_id: int | None, lane: Lane | None = None) -> Slot:
        self.lanes.append(send_lane.get() if lane is None else lane)
        return await super().acquire(chat_id, lane)


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


# ---------------------------------------------------------------- the arrival window (no clock)


def test_a_send_counts_until_its_answer_not_from_its_grant() -> None:
    window = ArrivalWindow(burst=3, window=1.0, answer_bound=10.0)
    slots = [Slot(n, granted_at=n / 10) for n in range(3)]
    for slot in slots:
        assert window.opens_at(slot.granted_at) == slot.granted_at
        window.take(slot)
    assert window.opens_at(0.3) == 11.0  # all three in flight: hung only after 10 s
    slots[0].answered_at = 0.5  # it may have arrived as late as 0.5
    assert window.opens_at(0.6) == 1.5  # not 1.0, a window after its grant
    assert window.opens_at(1.5) == 1.5
    window.take(Slot(3, granted_at=1.5))
    assert window.opens_at(1.6) == 11.1  # slots 1 and 2 still in flight, hung from 10.1


def _pace(
    delays: list[float], *, answered: bool, burst: int = 30, per_second: float = 29.1
) -> list[float]:
    """Simulate the limiter's global rules: grants on a grid of ``1 / per_second`` and (if
    ``answered``) the arrival window of ``burst`` a second, each answer coming back 2 ms after
    its request arrived ``delays[n]`` after its grant. Returns the arrival times, sorted."""
    window = ArrivalWindow(burst=burst, window=1.0, answer_bound=10.0)
    in_flight: list[tuple[float, Slot]] = []  # (answer time, slot)
    arrivals = []
    now = 0.0
    for delay in delays:
        while True:
            for answer, slot in [a for a in in_flight if a[0] <= now]:
                slot.answered_at = answer
                in_flight.remove((answer, slot))
            opens = window.opens_at(now) if answered else now
            if opens <= now:
                break
            now = min([opens, *(answer for answer, _ in in_flight)])
        slot = Slot(None, granted_at=now)
        window.take(slot)
        arrivals.append(now + delay)
        in_flight.append((now + delay + 0.002, slot))
        now += 1 / per_second
    return sorted(arrivals)


def _most_in_a_second(arrivals: list[float]) -> int:
    """The most arrivals in any half-open second (Telegram's and the fake server's count)."""
    return max(
        sum(1 for later in arrivals[start:] if later < at + 1.0)
        for start, at in enumerate(arrivals)
    )


def test_no_second_of_arrivals_exceeds_the_limit_whatever_the_delays() -> None:
    rng = random.Random(10)
    # a busy machine: most requests arrive 2 ms after their grant, one in ten up to 120 ms
    delays = [0.002 + (rng.uniform(0, 0.12) if rng.random() < 0.1 else 0) for _ in range(900)]
    assert _most_in_a_second(_pace(delays, answered=False)) > 30  # spacing alone: 429s
    arrivals = _pace(delays, answered=True)
    assert _most_in_a_second(arrivals) <= 30
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert rate >= 0.95 * 30  # the window costs little throughput


async def test_an_answer_opens_a_full_window() -> None:
    limiter = RateLimiter(per_second=100, chat_interval=0.02)  # 2 sends in any 20 ms
    limiter.arrivals.answer_bound = 3600.0  # no request is taken as hung here
    first = await limiter.acquire(1)
    await limiter.acquire(2)
    third = asyncio.create_task(limiter.acquire(3))
    await asyncio.sleep(0.05)
    assert not third.done()  # both in flight: either may arrive any moment now
    limiter.sent(first)
    slot = await asyncio.wait_for(third, 5)
    assert first.answered_at is not None
    assert slot.granted_at >= first.answered_at + 0.02
