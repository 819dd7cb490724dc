"""Sending within Telegram's limits: the rate limiter's spacing and the 429/403 handling of the
aiogram request middleware and notifier."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.services.delivery import RateLimiter, RecipientBlockedError
from bot.telegram import TelegramNotifier, ThrottleMiddleware
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
    bot.session.middleware(ThrottleMiddleware(limiter, max_retries=3))
    await bot.send_message(5, "привет")
    assert [c.text for c in bot.calls] == ["привет"]


async def test_429_beyond_retries_propagates() -> None:
    bot = FlakyBot(fail=10)
    bot.session.middleware(ThrottleMiddleware(RateLimiter(1000, 0.0), max_retries=1))
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(5, "привет")


async def test_notifier_maps_403_to_blocked_and_sends_buttons() -> None:
    bot = MockedBot()
    bot.session.blocked.add(9)
    notifier = TelegramNotifier(bot)
    with pytest.raises(RecipientBlockedError):
        await notifier.send_reminder(9, "текст", 1)
    await notifier.send_reminder(10, "текст", 77)
    call = bot.calls[-1]
    assert [text for text, _ in call.buttons()] == ["Отметить выполненным", "Напомнить позже"]
    assert call.buttons()[0][1] == "item:done:77:1"
    assert TelegramForbiddenError  # the mocked session raises aiogram's own error
