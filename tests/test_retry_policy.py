"""The one retry policy of Bot API calls (bot.telegram.RetryMiddleware over the real aiogram Bot,
against the fake Bot API server): what is transient, what is final, the 502 with an HTML body,
429 with retry_after, the time bound; and the mapping to the delivery errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import orjson
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    RestartingTelegram,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web

from bot.config import load_settings
from bot.sandbox.emulator import FakeTelegramServer
from bot.services.delivery import (
    DeliveryError,
    RateLimiter,
    RecipientBlockedError,
    RetryAfterError,
)
from bot.telegram import RetryMiddleware, create_bot, delivery_error, is_transient
from bot.telegram.factory import ThrottleMiddleware, json_text

TOKEN = "123456:RETRY-token-for-the-fake-server-only"
CHAT = 5001
FAST = {"backoff_first": 0.02, "backoff_max": 0.1, "jitter": 0.01}
METHOD = SendMessage(chat_id=1, text="x")


@asynccontextmanager
async def telegram(budget: float = 5.0) -> AsyncIterator[tuple[FakeTelegramServer, Bot]]:
    """The fake server with one user, and the real Bot with the policy (short back-offs)."""
    async with FakeTelegramServer(TOKEN) as server:
        server.user(CHAT)
        settings = load_settings(_env_file=None, bot_token=TOKEN, telegram_api_url=server.base_url)
        bot = create_bot(settings, RateLimiter(1000, 0.0), retry=RetryMiddleware(budget, **FAST))
        try:
            yield server, bot
        finally:
            await bot.session.close()


def sends(server: FakeTelegramServer) -> int:
    return sum(1 for c in server.calls if c.method == "sendMessage")


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TelegramNetworkError(METHOD, "ServerDisconnectedError"), True),
        (TelegramServerError(METHOD, "Bad Gateway"), True),
        (RestartingTelegram(METHOD, "Telegram is restarting"), True),
        (ClientDecodeError("Failed to decode object", ValueError("x"), "<html>"), True),
        (aiohttp.ClientConnectionError("reset"), True),
        (TimeoutError(), True),
        (TelegramRetryAfter(METHOD, "Too Many Requests", 3), False),  # waited, not backed off
        (TelegramBadRequest(METHOD, "Bad Request: chat not found"), False),
        (TelegramUnauthorizedError(METHOD, "Unauthorized"), False),
        (TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"), False),
        (TelegramNotFound(METHOD, "Not Found"), False),
        (ValueError("a bug"), False),
    ],
)
def test_classification(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_mapping_to_delivery_errors() -> None:
    blocked = delivery_error(TelegramForbiddenError(METHOD, "Forbidden: bot was blocked"))
    assert isinstance(blocked, RecipientBlockedError) and not blocked.retryable
    throttled = delivery_error(TelegramRetryAfter(METHOD, "Too Many Requests", 7))
    assert isinstance(throttled, RetryAfterError) and throttled.seconds == 7
    assert delivery_error(TelegramServerError(METHOD, "Bad Gateway")).retryable
    assert delivery_error(TelegramNetworkError(METHOD, "timeout")).retryable
    bad = delivery_error(TelegramBadRequest(METHOD, "Bad Request: message is too long"))
    assert type(bad) is DeliveryError and not bad.retryable
    assert "message is too long" in str(bad)


async def test_keyboards_go_as_utf8_json_and_answers_are_read_by_orjson() -> None:
    """The session's JSON is orjson's (``json_text``): a keyboard's Cyrillic is sent as UTF-8,
    not ``\\u`` escapes, and arrives intact; the answer (the sent message) is parsed back."""
    assert json_text({"text": "Пункт", "n": 1, "ok": True}) == '{"text":"Пункт","n":1,"ok":true}'
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Отметить «Тренинг»", callback_data="x:1")]]
    )
    async with telegram() as (server, bot):
        assert bot.session.json_dumps is json_text and bot.session.json_loads is orjson.loads
        sent = await bot.send_message(CHAT, "План", reply_markup=markup)
        (call,) = [c for c in server.calls if c.method == "sendMessage"]
        assert call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Отметить «Тренинг»"
        assert sent.text == "План" and sent.reply_markup is not None
        button = sent.reply_markup.inline_keyboard[0][0]
        assert (button.text, button.callback_data) == ("Отметить «Тренинг»", "x:1")


async def test_a_call_goes_as_one_json_body_and_an_upload_as_a_multipart_form() -> None:
    """What the session puts on the wire, seen by a plain HTTP server on 127.0.0.1: a message
    with a keyboard is one ``application/json`` body holding the fields as JSON values (the
    parse mode filled in from the bot's defaults, unset fields left out); a document upload is
    aiogram's multipart form."""
    seen: list[tuple[str, str, bytes]] = []
    message = {"message_id": 1, "date": 1, "chat": {"id": CHAT, "type": "private"}, "text": "x"}

    async def api(request: web.Request) -> web.Response:
        seen.append((request.match_info["method"], request.content_type, await request.read()))
        return web.json_response({"ok": True, "result": message})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", api)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    settings = load_settings(
        _env_file=None, bot_token=TOKEN, telegram_api_url=f"http://127.0.0.1:{port}"
    )
    bot = create_bot(settings, RateLimiter(1000, 0.0), retry=RetryMiddleware(0, **FAST))
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Отметить «Тренинг»", callback_data="x:1")]]
    )
    try:
        await bot.send_message(CHAT, "План <b>2027</b>", reply_markup=markup)
        await bot.send_document(CHAT, BufferedInputFile(b"report", filename="report.txt"))
    finally:
        await bot.session.close()
        await runner.cleanup()
    (send, text_type, text_body), (upload, file_type, file_body) = seen
    assert (send, text_type) == ("sendMessage", "application/json")
    assert orjson.loads(text_body) == {
        "chat_id": CHAT,
        "text": "План <b>2027</b>",
        "parse_mode": "HTML",  # the bot's defaults (create_bot)
        "link_preview_options": {"is_disabled": True},
        "disable_web_page_preview": True,
        "reply_markup": {
            "inline_keyboard": [[{"text": "Отметить «Тренинг»", "callback_data": "x:1"}]]
        },
    }
    assert (upload, file_type) == ("sendDocument", "multipart/form-data")
    assert b'filename="report.txt"' in file_body and b"report" in file_body


async def test_a_502_with_an_html_body_is_retried() -> None:
    async with telegram() as (server, bot):
        server.fail_next("sendMessage", 502, html=True, times=3)
        message = await bot.send_message(CHAT, "после 502")
        assert message.text == "после 502"
        assert sends(server) == 4
        assert [m.text for m in server.messages_to(CHAT)] == ["после 502"]


async def test_a_502_with_an_html_body_is_a_server_error_not_a_decode_error() -> None:
    async with telegram(budget=0) as (server, bot):  # no retrying: see the raw error
        server.fail_next("sendMessage", 502, html=True)
        with pytest.raises(TelegramServerError, match="502") as caught:
            await bot.send_message(CHAT, "x")
        assert delivery_error(caught.value).retryable


async def test_json_5xx_and_network_errors_are_retried() -> None:
    async with telegram() as (server, bot):
        server.fail_next("sendMessage", 500, times=2)
        await bot.send_message(CHAT, "после 500")
        assert sends(server) == 3
        await server.outage(0.3, mode="reset")
        await bot.send_message(CHAT, "после обрыва")
        await server.outage(0.3, mode="refuse")
        await bot.send_message(CHAT, "после отказа в соединении")
        texts = [m.text for m in server.messages_to(CHAT)]
        assert texts == ["после 500", "после обрыва", "после отказа в соединении"]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (400, TelegramBadRequest),
        (401, TelegramUnauthorizedError),
        (403, TelegramForbiddenError),
        (404, TelegramNotFound),
    ],
)
async def test_refusals_are_never_retried(code: int, error: type[Exception]) -> None:
    async with telegram() as (server, bot):
        server.fail_next("sendMessage", code)
        with pytest.raises(error):
            await bot.send_message(CHAT, "x")
        assert sends(server) == 1


async def test_429_waits_retry_after_and_pauses_every_send() -> None:
    async with telegram() as (server, bot):
        server.fail_next("sendMessage", 429, retry_after=1)
        started = time.monotonic()
        await bot.send_message(CHAT, "после 429")
        assert time.monotonic() - started >= 0.95
        assert sends(server) == 2


async def test_a_429_longer_than_the_budget_is_raised_at_once() -> None:
    async with telegram(budget=2.0) as (server, bot):
        server.fail_next("sendMessage", 429, retry_after=30)
        started = time.monotonic()
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(CHAT, "x")
        assert time.monotonic() - started < 1.0
        assert sends(server) == 1


async def test_retrying_is_bounded_in_time() -> None:
    async with telegram(budget=0.5) as (server, bot):
        server.fail_next("sendMessage", 502, html=True, for_seconds=30)
        started = time.monotonic()
        with pytest.raises(TelegramServerError):
            await bot.send_message(CHAT, "x")
        assert time.monotonic() - started < 1.5
        assert sends(server) >= 3  # it did retry meanwhile


async def test_long_polling_is_left_to_the_dispatcher() -> None:
    async with telegram() as (server, bot):
        server.fail_next("getUpdates", 502, html=True)
        with pytest.raises(TelegramServerError):
            await bot.get_updates(timeout=0)
        assert sum(1 for c in server.calls if c.method == "getUpdates") == 1
        await asyncio.sleep(0)


@pytest.mark.parametrize(("speed", "per_second", "chat_interval"), [(1, 30, 1.0), (10, 300, 0.1)])
async def test_a_bot_without_a_limiter_keeps_telegram_limits_on_the_settings_clock(
    speed: float, per_second: float, chat_interval: float
) -> None:
    """``create_bot(settings)`` (the CLI's one-off bots: scan, check, getMe) throttles at
    Telegram's limits on TELEGRAM_CLOCK_SPEED's clock, as the running bot does: 30 sends per
    1/K s, one per chat per 1/K s (with the limiter's 10 % headroom)."""
    settings = load_settings(
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_url="http://127.0.0.1:8081",
        telegram_clock_speed=speed,
    )
    bot = create_bot(settings)
    try:
        middleware = bot.session.middleware
        (limiter,) = [m.limiter for m in middleware if isinstance(m, ThrottleMiddleware)]
        assert limiter.per_second == pytest.approx(per_second)
        assert limiter.chat_interval == pytest.approx(chat_interval * 1.1)
    finally:
        await bot.session.close()
