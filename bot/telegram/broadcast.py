"""aiogram side of broadcasts: the transport that sends a broadcast's messages (text, photo or
document by file_id, the RSVP buttons of :mod:`bot.telegram.keyboards`), and the progress
message that the officer sees edited in place.

Every request goes through the bot's retry policy and throttling (the request middlewares of
:func:`bot.telegram.factory.create_bot`, in the lane the service sets); what outlives the
policy is mapped for :class:`bot.services.broadcast.BroadcastService` by the one rule of
:mod:`bot.telegram.errors`: 403 -> ``RecipientBlockedError``; 429 -> ``RetryAfterError``;
network errors and 5xx -> ``DeliveryError(retryable=True)``; 400 and Telegram's other refusals
-> ``DeliveryError(retryable=False)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiogram import Bot
from aiogram.exceptions import AiogramError, TelegramBadRequest

from bot.services.broadcast import BroadcastProgress, ContentPart, PartKind, ProgressCallback
from bot.telegram.errors import delivery_errors
from bot.telegram.keyboards import resume_keyboard, rsvp_keyboard, stop_keyboard
from bot.texts import broadcast as t
from storage.broadcast_models import Broadcast

log = structlog.get_logger(__name__)


class TelegramBroadcastTransport:
    """:class:`~bot.services.broadcast.BroadcastTransport` over an aiogram Bot (HTML parse
    mode comes from the Bot's defaults)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_part(self, chat_id: int, part: ContentPart, *, rsvp: int | None = None) -> None:
        """Send one message; ``rsvp`` puts that broadcast's «Буду» / «Не смогу» under it.

        Raises:
            RecipientBlockedError: 403.
            RetryAfterError: 429 that the retry policy did not wait out.
            DeliveryError: any other failure (``retryable`` when transient, False for a 400).
        """
        markup = rsvp_keyboard(rsvp) if rsvp is not None else None
        with delivery_errors():
            if part.kind is PartKind.TEXT:
                await self.bot.send_message(chat_id, part.text or "", reply_markup=markup)
            elif part.kind is PartKind.PHOTO:
                assert part.file_id is not None
                await self.bot.send_photo(
                    chat_id, part.file_id, caption=part.text, reply_markup=markup
                )
            else:
                assert part.file_id is not None
                await self.bot.send_document(
                    chat_id, part.file_id, caption=part.text, reply_markup=markup
                )

    async def send_content(
        self, chat_id: int, parts: Sequence[ContentPart], *, rsvp: int | None = None
    ) -> None:
        """Send every part as consecutive messages, the RSVP buttons under the last one.

        Raises:
            As :meth:`send_part`; the parts before the failing one are delivered.
        """
        last = len(parts) - 1
        for index, part in enumerate(parts):
            await self.send_part(chat_id, part, rsvp=rsvp if index == last else None)


class ProgressMessage:
    """A progress callback that edits the officer's progress message in place: the bar and
    counts with «Остановить» while the broadcast runs, the final report without buttons (or
    with «Продолжить» when it was stopped) at the end. Errors are logged, never raised: the
    message may have been deleted."""

    def __init__(self, bot: Bot, chat_id: int, message_id: int) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.message_id = message_id
        self._last = ""

    async def __call__(self, snapshot: BroadcastProgress) -> None:
        if snapshot.final:
            text = t.progress_final(snapshot)
            stopped = snapshot.status == "stopped" and snapshot.pending
            markup = resume_keyboard(snapshot.broadcast_id) if stopped else None
        else:
            text = t.progress(snapshot)
            markup = stop_keyboard(snapshot.broadcast_id)
        if text == self._last:
            return
        try:
            await self.bot.edit_message_text(
                text=text, chat_id=self.chat_id, message_id=self.message_id, reply_markup=markup
            )
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message:
                log.warning("progress message not edited", error=exc.message)
        except AiogramError as exc:  # the retry policy gave up: the next snapshot will do
            log.warning("progress message not edited", error=str(exc).splitlines()[0])
        else:
            self._last = text


def progress_editor(bot: Bot, broadcast: Broadcast) -> ProgressCallback | None:
    """The progress callback of a stored broadcast (its remembered progress message), or None
    when it has none; for the leader's watcher (:meth:`BroadcastService.lead`), which resumes the
    broadcasts left running."""
    if broadcast.progress_chat_id is None or broadcast.progress_message_id is None:
        return None
    return ProgressMessage(bot, broadcast.progress_chat_id, broadcast.progress_message_id)
