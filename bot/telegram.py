"""aiogram wiring of delivery: the Bot with a configurable API server, the throttling request
middleware that keeps every outgoing message within Telegram's limits, and the Notifier that
the reminder service sends through.

The middleware waits in the lane of the calling context (:data:`bot.services.delivery.send_lane`):
handlers' replies by default, ``REMINDER`` for the notifier, ``BROADCAST`` for broadcasts (set by
:class:`bot.services.broadcast.BroadcastService`), so replies go first.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.config import Settings
from bot.services.delivery import (
    DeliveryError,
    Lane,
    RateLimiter,
    RecipientBlockedError,
    send_lane,
    sending_in,
)
from handlers.keyboards import reminder_keyboard

log = structlog.get_logger(__name__)

# Methods that put a new message into a chat: these count against the limits.
SENDING_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendVoice",
        "sendAnimation", "sendMediaGroup", "sendSticker", "sendLocation", "sendContact",
        "sendPoll", "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
    }
)  # fmt: skip


class ThrottleMiddleware(BaseRequestMiddleware):
    """Waits for a :class:`RateLimiter` slot before each sending method and honours 429s.

    The slot is taken in the context's lane (:data:`~bot.services.delivery.send_lane`); the
    answer is reported back (:meth:`RateLimiter.sent`) so the next send to the same chat is
    spaced from it. On a 429 (TelegramRetryAfter) every send pauses for ``retry_after`` seconds
    and the request is repeated, up to ``max_retries`` times; then the error propagates.
    """

    def __init__(self, limiter: RateLimiter, max_retries: int = 3) -> None:
        self.limiter = limiter
        self.max_retries = max_retries

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ not in SENDING_METHODS:
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        chat = chat_id if isinstance(chat_id, int) else None
        lane = send_lane.get()
        attempt = 0
        while True:
            await self.limiter.acquire(chat, lane)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                attempt += 1
                self.limiter.pause(exc.retry_after)
                log.warning(
                    "telegram 429", method=method.__api_method__, retry_after=exc.retry_after
                )
                if attempt > self.max_retries:
                    raise
            finally:
                self.limiter.sent(chat)


def create_bot(settings: Settings, limiter: RateLimiter) -> Bot:
    """The Bot for ``settings`` (token, API base URL) with throttling and HTML parse mode.

    Raises:
        SettingsError: BOT_TOKEN is not set.
    """
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(ThrottleMiddleware(limiter))
    return Bot(
        token=settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


class TelegramNotifier:
    """The reminder service's :class:`~bot.services.delivery.Notifier` over an aiogram Bot.

    Reminders wait in the ``REMINDER`` lane: after replies, before broadcasts.
    """

    def __init__(self, bot: Bot, network_retries: int = 2) -> None:
        self.bot = bot
        self.network_retries = network_retries

    async def send_reminder(self, chat_id: int, text: str, item_id: int) -> None:
        """Send a reminder with «Отметить выполненным» / «Напомнить позже» buttons.

        Raises:
            RecipientBlockedError: 403 from Telegram.
            DeliveryError: any other API or network failure after retries.
        """
        with sending_in(Lane.REMINDER):
            await self._send(chat_id, text, item_id)

    async def _send(self, chat_id: int, text: str, item_id: int) -> None:
        kwargs: dict[str, Any] = {"reply_markup": reminder_keyboard(item_id)}
        for attempt in range(self.network_retries + 1):
            try:
                await self.bot.send_message(chat_id, text, **kwargs)
            except TelegramForbiddenError as exc:
                raise RecipientBlockedError(str(exc)) from exc
            except TelegramNetworkError as exc:
                if attempt == self.network_retries:
                    raise DeliveryError(str(exc)) from exc
                await asyncio.sleep(2**attempt)
            except TelegramAPIError as exc:
                raise DeliveryError(str(exc)) from exc
            else:
                return
