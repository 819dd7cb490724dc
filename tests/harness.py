"""A user's-eye driver for handler tests: type a message, press a button, read the answer.

Updates go through the real Dispatcher (``feed_update``) built by ``bot.app.create_dispatcher``,
with the real database; only the Bot's HTTP session is replaced by :class:`MockedBot`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiogram import Dispatcher
from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    Message,
    MessageEntity,
    PhotoSize,
    Update,
    User,
)

from tests.mocked_bot import Call, MockedBot


@dataclass
class FakeClock:
    """A settable clock: ``clock()`` returns an aware UTC moment."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


_ids = itertools.count(1)


class Harness:
    """Sends updates as Telegram users and collects the bot's replies."""

    def __init__(self, dp: Dispatcher, bot: MockedBot) -> None:
        self.dp = dp
        self.bot = bot

    def _user(self, user_id: int) -> User:
        return User(id=user_id, is_bot=False, first_name=f"U{user_id}", language_code="ru")

    async def _feed(self, update: Update) -> list[Call]:
        before = len(self.bot.calls)
        await self.dp.feed_update(self.bot, update)
        return self.bot.calls[before:]

    def _message(self, user_id: int, **kwargs: object) -> Message:
        return Message(
            message_id=next(_ids),
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=self._user(user_id),
            **kwargs,  # type: ignore[arg-type]
        )

    async def send(self, user_id: int, text: str) -> list[Call]:
        """The user types ``text``; returns the calls the bot made in response."""
        entities = None
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            entities = [MessageEntity(type="bot_command", offset=0, length=length)]
        msg = self._message(user_id, text=text, entities=entities)
        return await self._feed(Update(update_id=next(_ids), message=msg))

    async def send_document(
        self, user_id: int, name: str = "certificate.pdf", content: bytes = b"%PDF-1.4"
    ) -> list[Call]:
        """The user sends a document (its ``content`` can be downloaded by the bot)."""
        file_id = f"DOC{next(_ids)}"
        self.bot.session.files[file_id] = content
        doc = Document(
            file_id=file_id,
            file_unique_id=f"u{next(_ids)}",
            file_name=name,
            file_size=len(content),
        )
        msg = self._message(user_id, document=doc)
        return await self._feed(Update(update_id=next(_ids), message=msg))

    async def send_photo(self, user_id: int) -> list[Call]:
        """The user sends a photo."""
        sizes = [
            PhotoSize(
                file_id=f"PH{next(_ids)}", file_unique_id=f"p{next(_ids)}", width=w, height=w
            )
            for w in (90, 800)
        ]
        msg = self._message(user_id, photo=sizes)
        return await self._feed(Update(update_id=next(_ids), message=msg))

    async def press(self, user_id: int, data: str) -> list[Call]:
        """The user presses an inline button with callback ``data``."""
        query = CallbackQuery(
            id=str(next(_ids)),
            from_user=self._user(user_id),
            chat_instance="ci",
            data=data,
            message=self._message(user_id, text="…"),
        )
        return await self._feed(Update(update_id=next(_ids), callback_query=query))


def texts_of(calls: list[Call]) -> str:
    """Every text sent or shown (alerts included), joined, for assertions."""
    return "\n".join(c.text for c in calls if c.text)


def alert_of(calls: list[Call]) -> str:
    """The text of answerCallbackQuery (an alert or a toast), or ''."""
    for call in calls:
        if call.method == "answerCallbackQuery":
            return str(call.params.get("text") or "")
    return ""


def last_with_buttons(calls: list[Call]) -> Call:
    """The last call carrying an inline keyboard."""
    for call in reversed(calls):
        if call.buttons():
            return call
    msg = f"no keyboard in {[c.text for c in calls]}"
    raise AssertionError(msg)
