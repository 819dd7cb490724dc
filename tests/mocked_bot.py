"""An aiogram Bot whose session records every API call and answers it plausibly, without any
network: the handler tests feed updates through ``Dispatcher.feed_update`` and read what the bot
would have sent. Modelled on aiogram's own tests/mocked_bot.py, but answering by itself."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, File, Message, User


@dataclass
class Call:
    """One API call the bot made."""

    method: str
    params: dict[str, Any]

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data or url) of the inline keyboard, row by row."""
        markup = self.params.get("reply_markup")
        if markup is None:
            return []
        rows = markup.inline_keyboard if hasattr(markup, "inline_keyboard") else []
        return [(b.text, b.callback_data or b.url or "") for row in rows for b in row]

    def button(self, text_part: str) -> str:
        """callback_data of the first button whose text contains ``text_part``."""
        for text, data in self.buttons():
            if text_part in text:
                return data
        msg = f"no button with {text_part!r} in {self.buttons()}"
        raise AssertionError(msg)


#: Telegram's limits, as the Bot API answers 400 when a request exceeds them. Lengths are
#: counted with the HTML markup (Telegram counts after parsing: this errs on the strict side).
MESSAGE_LIMIT, CAPTION_LIMIT, ALERT_LIMIT, CALLBACK_DATA_LIMIT = 4096, 1024, 200, 64


def over_limits(name: str, params: dict[str, Any]) -> str | None:
    """What Telegram would refuse in this call (text, caption, alert, callback data), or None."""
    text = params.get("text")
    if name == "answerCallbackQuery":
        if text is not None and len(str(text)) > ALERT_LIMIT:
            return "MESSAGE_TOO_LONG"
    elif text is not None and len(str(text)) > MESSAGE_LIMIT:
        return "message is too long"
    caption = params.get("caption")
    if caption is not None and len(str(caption)) > CAPTION_LIMIT:
        return "message caption is too long"
    markup = params.get("reply_markup")
    for row in getattr(markup, "inline_keyboard", None) or []:
        for button in row:
            data = button.callback_data
            if data is not None and len(data.encode()) > CALLBACK_DATA_LIMIT:
                return "BUTTON_DATA_INVALID"
    return None


@dataclass
class RecordingSession(BaseSession):
    """Records calls; answers Message-returning methods with a Message and others with True."""

    calls: list[Call] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content for downloads
    # awaited before each call is answered: a test's way to make Telegram slow, hang or look
    # at the database at the moment a message "arrives"
    on_request: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1000)

    async def close(self) -> None:
        return None

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        params = dict(method.model_dump(exclude_none=True))
        params["reply_markup"] = getattr(method, "reply_markup", None)
        name = method.__api_method__
        chat_id = params.get("chat_id")
        if self.on_request is not None:
            await self.on_request(name, params)
        if isinstance(chat_id, int) and chat_id in self.blocked and name.startswith("send"):
            raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")
        if problem := over_limits(name, params):
            raise TelegramBadRequest(method, f"Bad Request: {problem}")
        self.calls.append(Call(name, params))
        returning = method.__returning__
        if name == "getFile":
            file_id = str(params["file_id"])
            return File(
                file_id=file_id, file_unique_id=f"u-{file_id}", file_path=f"docs/{file_id}"
            )  # type: ignore[return-value]
        if name == "getMe":
            return User(id=42, is_bot=True, first_name="Резерв", username="reserve_test_bot")  # type: ignore[return-value]
        if returning is Message or "Message" in str(returning):
            if not isinstance(chat_id, int):
                return True  # type: ignore[return-value]
            return Message(  # type: ignore[return-value]
                message_id=next(self._ids),
                date=datetime.now(UTC),
                chat=Chat(id=chat_id, type="private"),
                text=params.get("text"),
                caption=params.get("caption"),
            )
        return True  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: Any = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield self.files[url.rsplit("/", 1)[-1]]


class MockedBot(Bot):
    """A Bot with a :class:`RecordingSession`; ``bot.calls`` lists what it sent."""

    session: RecordingSession

    def __init__(self) -> None:
        super().__init__(
            "42:TEST_TOKEN_FOR_HANDLER_TESTS_ONLY",
            session=RecordingSession(),
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        self._me = User(id=42, is_bot=True, first_name="Резерв", username="reserve_test_bot")

    @property
    def calls(self) -> list[Call]:
        return self.session.calls
