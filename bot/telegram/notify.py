"""Messages the bot sends on its own, not as a reply: the reminder service's notifier, the
digests' notifier, and :func:`tell` (a handler telling another user something: the other side
of a consultation, a new mentor).

Reminders and digests wait in the ``REMINDER`` lane (after replies, before broadcasts).
Retries are the bot's one policy (:class:`bot.telegram.retry.RetryMiddleware`); errors are
mapped by the one rule of :mod:`bot.telegram.errors`, and a user who blocked the bot (403) is
handled by :func:`bot.services.delivery.mark_blocked`.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup

from bot.services.delivery import (
    DeliveryError,
    Lane,
    RecipientBlockedError,
    mark_blocked,
    sending_in,
)
from bot.telegram.errors import delivery_errors
from bot.telegram.keyboards import digest_keyboard, reminder_keyboard, reminders_keyboard
from storage.models import User
from storage.repo import Repo

log = structlog.get_logger(__name__)


class TelegramNotifier:
    """The reminder service's :class:`~bot.services.delivery.Notifier` over an aiogram Bot.

    Reminders wait in the ``REMINDER`` lane: after replies, before broadcasts. Retries are the
    bot's policy (:class:`~bot.telegram.retry.RetryMiddleware`); errors are mapped by
    :func:`~bot.telegram.errors.delivery_error`.
    """

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_notices(
        self, chat_id: int, text: str, items: Sequence[tuple[int, str]]
    ) -> None:
        """Send one reminder message about ``items`` ((plan item id, title), in the order the
        text numbers them): for one item «Отметить выполненным» / «Напомнить позже», for
        several a row of «✅ N. title» / «Напомнить позже» per item.

        Raises:
            RecipientBlockedError: 403 from Telegram.
            DeliveryError: any other failure after the retry policy (``retryable`` when
                transient).
        """
        one = len(items) == 1
        markup = reminder_keyboard(items[0][0]) if one else reminders_keyboard(items)
        with sending_in(Lane.REMINDER), delivery_errors():
            await self.bot.send_message(chat_id, text, reply_markup=markup)


class TelegramDigestNotifier:
    """The :class:`bot.services.digests.DigestNotifier` over an aiogram Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_confirmation_digest(
        self, chat_id: int, text: str, entries: Sequence[tuple[int, str]]
    ) -> None:
        """Send a digest with a ✅ / ❌ row per consultation.

        Raises:
            RecipientBlockedError: 403. DeliveryError: anything else after the retry policy.
        """
        await self._send(chat_id, text, digest_keyboard(entries))

    async def send_text(self, chat_id: int, text: str) -> None:
        """Send a plain HTML message. Raises as :meth:`send_confirmation_digest`."""
        await self._send(chat_id, text, None)

    async def _send(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
        # digests go ahead of broadcasts, after replies
        with sending_in(Lane.REMINDER), delivery_errors():
            await self.bot.send_message(chat_id, text, reply_markup=markup)


async def tell(
    bot: Bot, repo: Repo, user: User, text: str, markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Send ``text`` to ``user``; False when it could not be delivered (after the retry
    policy). Never raises a delivery error: a 403 makes the user inactive, anything else is
    logged."""
    if user.telegram_id is None or user.anonymised_at is not None:
        return False
    try:
        with delivery_errors():
            await bot.send_message(user.telegram_id, text, reply_markup=markup)
    except RecipientBlockedError:
        await mark_blocked(repo, user.id)
        log.info("user blocked the bot", user_id=user.id)
        return False
    except DeliveryError as exc:
        log.warning("message not delivered", user_id=user.id, error=str(exc))
        return False
    return True
