"""The simulated world's data: users and chats, files, the calls the bot made and the
messages it sent (with their keyboards read back as buttons), the events an observer sees,
the server's answer counters, and the waiting primitives (:class:`WaitTimeoutError` for a
test that waited in vain, :class:`_Signal` to wake waiters).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSONDict = dict[str, Any]


@dataclass
class ServerStats:
    """Counters of what the server answered (reset only by creating a new server).

    ``sends_accepted``: delivered send calls; ``too_many_requests``: 429 answers (rate
    limit and injected); ``rate_limited_global`` / ``rate_limited_chat``: 429s from the
    :class:`RateLimit` by cause; ``forbidden``: 403 answers; ``peak_per_second``: the
    largest number of accepted sends seen in one sliding server second; ``calls``: all
    API requests; ``injected_errors``: answers produced by ``fail_next``; ``delayed``:
    answers held back by ``delay_answers``; ``held``: calls held by ``hang``;
    ``abandoned``: held calls whose client had gone when they were released (not carried out).
    """

    calls: int = 0
    sends_accepted: int = 0
    too_many_requests: int = 0
    rate_limited_global: int = 0
    rate_limited_chat: int = 0
    forbidden: int = 0
    injected_errors: int = 0
    peak_per_second: int = 0
    delayed: int = 0
    held: int = 0
    abandoned: int = 0


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user of the simulated world; their private chat with the bot has id == ``id``."""

    id: int
    first_name: str = "Test"
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "ru"

    @property
    def chat_id(self) -> int:
        """Id of the private chat with the bot (equal to the user id, as in Telegram)."""
        return self.id

    def to_dict(self) -> JSONDict:
        """The Bot API ``User`` object."""
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_dict(self) -> JSONDict:
        """The Bot API ``Chat`` object of the private chat."""
        data: JSONDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class FakeChat:
    """A group, supergroup or channel of the simulated world (ids are negative)."""

    id: int
    title: str
    type: str = "supergroup"
    username: str | None = None

    def chat_dict(self) -> JSONDict:
        """The Bot API ``Chat`` object."""
        data: JSONDict = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request: form field name, file name, content type, bytes."""

    field_name: str
    filename: str
    content_type: str | None
    data: bytes = field(repr=False)


@dataclass
class FakeFile:
    """A file the server knows: pushed by a test or uploaded by the bot.

    ``getFile`` answers ``file_path`` for ``file_id`` and ``GET /file/bot{token}/{file_path}``
    returns ``data``. ``kind`` is ``"document"``, ``"photo"``, ``"video"``, ``"audio"``,
    ``"voice"`` or ``"animation"``.
    """

    file_id: str
    file_unique_id: str
    file_path: str
    kind: str
    data: bytes = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None
    thumbnail: FakeFile | None = None

    @property
    def file_size(self) -> int:
        """Size of ``data`` in bytes."""
        return len(self.data)

    def file_dict(self) -> JSONDict:
        """The Bot API ``File`` object (answer of ``getFile``)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }

    def media_dict(self) -> JSONDict | list[JSONDict]:
        """The object put into a Message: ``Document``, ``Video``... or a ``PhotoSize`` list."""
        base: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.kind == "photo":
            sizes = [{**base, "width": 1280, "height": 960}]
            if self.thumbnail is not None:
                thumb = self.thumbnail
                sizes.insert(
                    0,
                    {
                        "file_id": thumb.file_id,
                        "file_unique_id": thumb.file_unique_id,
                        "file_size": thumb.file_size,
                        "width": 90,
                        "height": 68,
                    },
                )
            return sizes
        if self.file_name:
            base["file_name"] = self.file_name
        if self.mime_type:
            base["mime_type"] = self.mime_type
        if self.kind in {"video", "animation"}:
            base.update(width=640, height=480, duration=1)
        elif self.kind in {"audio", "voice"}:
            base["duration"] = 1
        return base


@dataclass
class SentCall:
    """One API request the bot made (any method, successful or not), in arrival order.

    ``params`` are the request parameters decoded: JSON fields (``reply_markup``,
    ``entities``, ``media``, ``commands``, ``scope``...) parsed into dicts/lists, integer
    ids as ``int``, uploaded files as :class:`UploadedFile`. ``at`` is ``time.monotonic()``
    at arrival. ``message_id`` is the id of the message created or changed (first one of
    a media group), ``error_code``/``description`` are set when the answer was an error
    (``error_code`` 0: no answer at all, the connection was reset or the client had gone).
    ``answered_at`` is ``time.monotonic()`` when the answer was handed to the client (later
    than the call took effect when ``delay_answers`` holds it back).
    """

    method: str
    chat_id: int | None
    params: JSONDict
    at: float
    message_id: int | None = None
    error_code: int | None = None
    description: str | None = None
    answered_at: float | None = None

    @property
    def ok(self) -> bool:
        """True when the server answered ``{"ok": true}``."""
        return self.error_code is None


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent to a chat, as the chat sees it now (edits update it in place).

    ``text`` is what the user sees: the text or the caption with the HTML/Markdown markup
    removed and entities decoded; ``raw_text`` is exactly what the bot sent. ``reply_markup``
    is the parsed markup of any kind (inline keyboard, reply keyboard, remove, force reply);
    ``buttons`` flattens it. ``file`` is the attached document/photo/... (for an upload it
    holds the file name and the bytes). ``edits`` keeps the earlier ``(text, reply_markup)``
    pairs, oldest first; ``raw`` is the Bot API ``Message`` object as the server holds it.
    """

    chat_id: int
    message_id: int
    method: str
    text: str | None
    raw_text: str | None
    parse_mode: str | None
    reply_markup: JSONDict | None
    at: float
    date: int
    media_type: str | None = None
    file: FakeFile | None = None
    media_group_id: str | None = None
    reply_to_message_id: int | None = None
    deleted: bool = False
    edits: list[tuple[str | None, JSONDict | None]] = field(default_factory=list)
    raw: JSONDict = field(default_factory=dict, repr=False)

    @property
    def document(self) -> FakeFile | None:
        """The attached document, if this is a document message."""
        return self.file if self.media_type == "document" else None

    @property
    def photo(self) -> FakeFile | None:
        """The (largest size of the) attached photo, if this is a photo message."""
        return self.file if self.media_type == "photo" else None

    @property
    def edited(self) -> bool:
        """True when the bot has edited the message at least once."""
        return bool(self.edits)

    @property
    def button_rows(self) -> list[list[tuple[str, str | None]]]:
        """Keyboard rows of ``(text, callback_data or url)``; reply-keyboard buttons: ``None``."""
        return _button_rows(self.reply_markup)

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """All buttons as a flat list of ``(text, callback_data or url)``."""
        return [button for row in self.button_rows for button in row]

    def button(self, text: str) -> tuple[str, str | None]:
        """The button whose text equals ``text`` or, failing that, uniquely contains it.

        Raises ``LookupError`` listing the buttons when there is no such (unique) button.
        """
        return _find_button(self.buttons, text, self.message_id)

    def describe(self) -> str:
        """A one-line human-readable summary (used in timeout errors)."""
        parts = [f"{self.method} id={self.message_id}"]
        if self.media_type:
            name = self.file.file_name if self.file and self.file.file_name else ""
            parts.append(f"[{self.media_type}{' ' + name if name else ''}]")
        text = self.text or ""
        parts.append(repr(text if len(text) <= 120 else text[:117] + "..."))
        if self.buttons:
            parts.append(f"buttons={self.buttons}")
        if self.edits:
            parts.append(f"(edited {len(self.edits)}x)")
        if self.deleted:
            parts.append("(deleted)")
        return " ".join(parts)


#: The kinds of :class:`ServerEvent`.
EVENT_KINDS = (
    "user_message",
    "bot_message",
    "edit",
    "delete",
    "callback_answer",
    "commands",
    "chat_action",
)


@dataclass(frozen=True)
class ServerEvent:
    """Something that happened in the simulated world, as an observer sees it (see
    :meth:`FakeTelegramServer.add_listener`; the sandbox's chat page is one).

    ``kind`` is one of :data:`EVENT_KINDS`:

    - ``"user_message"``: a user sent a message (``push_text``, ``push_document``...);
      ``payload`` is the Bot API ``Message``.
    - ``"bot_message"``: the bot delivered a message (any ``send*``, copy, forward);
      ``sent`` is its :class:`SentMessage`.
    - ``"edit"``: the bot edited a message; ``sent`` is the message in its new state.
    - ``"delete"``: a message was deleted (``sent`` is set when it was the bot's).
    - ``"callback_answer"``: the bot answered a button press; ``payload`` has ``user_id``,
      ``message_id``, ``text`` (or None), ``show_alert`` and ``url`` (or None).
    - ``"commands"``: ``setMyCommands`` / ``deleteMyCommands``; ``payload`` has ``scope``
      (the BotCommandScope dict, None for the default) and ``language_code``.
    - ``"chat_action"``: ``sendChatAction``; ``payload`` has ``action`` (e.g. "typing").

    ``chat_id`` and ``message_id`` are set where they apply.
    """

    kind: str
    chat_id: int | None = None
    message_id: int | None = None
    sent: SentMessage | None = None
    payload: JSONDict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            msg = f"unknown server event kind {self.kind!r}"
            raise ValueError(msg)


Listener = Callable[[ServerEvent], None]


class WaitTimeoutError(AssertionError):
    """Raised by ``wait_for_message`` / ``wait_for_call`` when nothing matched in time.

    The message lists what the chat did receive, failed calls and pending updates, so a
    failing end-to-end test explains itself.
    """


class _Signal:
    """Wakes every waiter whenever something changes (a broadcast, edge-triggered)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


def _chat_id_of(chat: FakeUser | FakeChat | int) -> int:
    if isinstance(chat, FakeUser | FakeChat):
        return chat.id
    return int(chat)


def _button_rows(markup: JSONDict | None) -> list[list[tuple[str, str | None]]]:
    if not markup:
        return []
    rows: list[list[tuple[str, str | None]]] = []
    if isinstance(markup.get("inline_keyboard"), list):
        for row in markup["inline_keyboard"]:
            out: list[tuple[str, str | None]] = []
            for button in row:
                value = button.get("callback_data") or button.get("url")
                if value is None:
                    for key in ("web_app", "login_url"):
                        if isinstance(button.get(key), dict):
                            value = button[key].get("url")
                out.append((str(button.get("text", "")), value))
            rows.append(out)
    elif isinstance(markup.get("keyboard"), list):
        for row in markup["keyboard"]:
            rows.append([(b if isinstance(b, str) else str(b.get("text", "")), None) for b in row])
    return rows


def _find_button(
    buttons: list[tuple[str, str | None]], text: str, message_id: int
) -> tuple[str, str | None]:
    exact = [b for b in buttons if b[0] == text]
    if len(exact) == 1:
        return exact[0]
    if not exact:
        partial = [b for b in buttons if text.lower() in b[0].lower()]
        if len(partial) == 1:
            return partial[0]
    raise LookupError(f"no unique button {text!r} under message {message_id}; buttons: {buttons}")
