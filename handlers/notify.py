"""Telling another user something from inside a handler (the other side of a consultation, a
new mentor). A user who blocked the bot (403) is marked inactive; nothing here raises."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup

from bot.services.delivery import DeliveryError, Lane, RecipientBlockedError, sending_in
from handlers.keyboards import digest_keyboard
from storage.models import User
from storage.repo import Repo

log = structlog.get_logger(__name__)


async def tell(
    bot: Bot, repo: Repo, user: User, text: str, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Send ``text`` to ``user``; False when it could not be delivered."""
    if user.telegram_id is None or user.anonymised_at is not None:
        return False
    try:
        await bot.send_message(user.telegram_id, text, reply_markup=markup)
    except TelegramForbiddenError:
        await repo.users.set_active(user.id, False)
        log.info("user blocked the bot", user_id=user.id)
        return False
    except TelegramAPIError as exc:
        log.warning("message not delivered", user_id=user.id, error=str(exc))
        return False
    return True


class TelegramDigestNotifier:
    """The :class:`bot.services.digests.DigestNotifier` over an aiogram Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_confirmation_digest(
        self, chat_id: int, text: str, entries: Sequence[tuple[int, str]]
    ) -> None:
        """Send a digest with a ✅ / ❌ row per consultation."""
        await self._send(chat_id, text, digest_keyboard(entries))

    async def send_text(self, chat_id: int, text: str) -> None:
        """Send a plain HTML message."""
        await self._send(chat_id, text, None)

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
        try:
            with sending_in(Lane.REMINDER):  # digests go ahead of broadcasts, after replies
                await self.bot.send_message(chat_id, text, reply_markup=markup)
        except TelegramForbiddenError as exc:
            raise RecipientBlockedError(str(exc)) from exc
        except TelegramAPIError as exc:
            raise DeliveryError(str(exc)) from exc
