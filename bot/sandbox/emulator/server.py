"""A fake Telegram Bot API server for end-to-end tests and benchmarks.

It speaks the real HTTP Bot API (https://core.telegram.org/bots/api): requests go to
``{base}/bot{token}/{method}`` as GET or POST with a query string, a JSON body, a
form-urlencoded body or a multipart upload, and every answer is
``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {"retry_after": S}}``
with the HTTP status equal to ``error_code``. Files are served from
``{base}/file/bot{token}/{file_path}``. That is the layout
``aiogram.client.telegram.TelegramAPIServer.from_base(base_url)`` produces, so the real
bot (a subprocess started with ``TELEGRAM_API_URL=server.base_url``) cannot tell it from
Telegram.

Behind the HTTP surface sits a small simulated world: users (private chat id == user
id) and optionally groups, the updates the test injects (``push_text``,
``push_document``, ``push_callback``...), which the bot fetches with ``getUpdates`` long
polling, and everything the bot sends back, kept per chat as :class:`SentMessage` and as
a flat log of :class:`SentCall`. Tests wait for the bot's answers with
:meth:`FakeTelegramServer.wait_for_message` / :meth:`FakeTelegramServer.wait_for_call`.

Telegram behaviour that bites real bots is imitated on purpose: HTML / MarkdownV2 /
Markdown text is parsed like Telegram does (a malformed text is a 400 "can't parse
entities"), text and caption length limits, callback_data of at most 64 bytes, "message
is not modified" on a no-op edit, an edit without ``reply_markup`` removing the inline
keyboard, 403 for a user who blocked the bot, 409 when two processes poll at once, and,
with a :class:`RateLimit`, 429 "Too Many Requests" with ``retry_after``.

Faults of a bad network or a bad day at Telegram can be switched on by the test:
``fail_next`` (an error answer for the next N calls or for a time window, optionally as
the HTML page a proxy such as nginx gives for a 5xx), ``delay_answers`` (the answers of calls
to a chat come 0.3-3 s late, as from some hosts), ``hang`` (a method, for a chat, is held
until released or for N seconds) and ``outage`` (for T seconds every request is answered
502 with an HTML body, has its connection reset, or the port refuses connections).

Everything runs in the event loop of whoever awaits :meth:`FakeTelegramServer.start`
(normally the pytest-asyncio test); nothing blocks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import mimetypes
import random
import re
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Self

from aiohttp import BodyPartReader, web

__all__ = [
    "OUTAGE_MODES",
    "Delay",
    "FakeChat",
    "FakeFile",
    "FakeTelegramServer",
    "FakeUser",
    "Hang",
    "Outage",
    "RateLimit",
    "SentCall",
    "SentMessage",
    "ServerEvent",
    "ServerStats",
    "UploadedFile",
    "WaitTimeoutError",
]

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
UPLOAD_LIMIT = 64 * 1024 * 1024

#: Methods that deliver a message and therefore count against the rate limits.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendAnimation",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
    }
)

_TOKEN_RE = re.compile(r"^(\d+):([A-Za-z0-9_-]+)$")
_INT_RE = re.compile(r"^-?\d+$")
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "media",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "menu_button",
        "message_ids",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "duration",
        "width",
        "height",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
    }
)
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


# --------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class RateLimit:
    """Telegram's broadcast limits, enforced when passed to :class:`FakeTelegramServer`.

    ``per_second``: accepted send calls (``send*``, ``copyMessage``, ``forwardMessage``;
    ``sendChatAction`` is free) in any sliding window of one second, across all chats.
    ``per_chat_per_second``: sends to one chat per second (1.0 means a second send to the
    same chat within one second is refused). ``clock_speed`` > 1 shortens the server's
    second: with 10.0 a "second" lasts 0.1 s of real time, so the limits become 300/s and
    10/s per chat in real time, while ``retry_after`` is still reported in server seconds
    (an integer >= 1, as Telegram does). Refused calls answer 429 and are not delivered.
    """

    per_second: int = 30
    per_chat_per_second: float = 1.0
    clock_speed: float = 1.0

    def __post_init__(self) -> None:
        if self.per_second < 1 or self.per_chat_per_second <= 0 or self.clock_speed <= 0:
            raise ValueError(f"invalid rate limit: {self!r}")

    @property
    def window(self) -> float:
        """Length of one server second in real seconds."""
        return 1.0 / self.clock_speed

    @property
    def chat_interval(self) -> float:
        """Minimal real time between two accepted sends to the same chat."""
        return 1.0 / (self.per_chat_per_second * self.clock_speed)


@dataclass
class ServerStats:
    """Counters of what the server answered (reset only by creating a new server).

    ``sends_accepted``: delivered send calls; ``too_many_requests``: 429 answers (rate
    limit and injected); ``rate_limited_global`` / ``rate_limited_chat``: 429s from the
    :class:`RateLimit` by cause; ``forbidden``: 403 answers; ``peak_per_second``: the
    largest number of accepted sends seen in one sliding server second; ``calls``: all
    API requests; ``injected_errors``: answers produced by ``fail_next``; ``delayed``:
    answers held back by ``delay_answers``; ``held``: calls held by ``hang``;
    ``outage_answers``: requests answered 502 or reset during an ``outage``;
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
    outage_answers: int = 0
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


Listener = Callable[[ServerEvent], None]


class WaitTimeoutError(AssertionError):
    """Raised by ``wait_for_message`` / ``wait_for_call`` when nothing matched in time.

    The message lists what the chat did receive, failed calls and pending updates, so a
    failing end-to-end test explains itself.
    """


class _ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


class _EntityError(Exception):
    pass


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


@dataclass
class _Failure:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    chat_id: int | None
    remaining: int
    until: float | None = None
    html: bool = False


class _HtmlError(Exception):
    """An answer that is not the Bot API's JSON: a proxy's HTML error page."""

    def __init__(self, code: int) -> None:
        super().__init__(f"{code} {_status_phrase(code)} (HTML)")
        self.code = code


class _ResetError(Exception):
    """Answer nothing: drop the connection."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


#: How an :meth:`FakeTelegramServer.outage` fails requests.
OUTAGE_MODES = ("502", "reset", "refuse")


@dataclass
class Delay:
    """Answers of matching calls are held back (see :meth:`FakeTelegramServer.delay_answers`).

    ``seconds`` is a fixed delay or a ``(low, high)`` range drawn from uniformly per call.
    ``count`` is the number of answers delayed so far. :meth:`cancel` ends it.
    """

    chat_id: int | None
    methods: frozenset[str] | None
    seconds: float | tuple[float, float]
    until: float | None = None
    count: int = 0
    cancelled: bool = False

    def cancel(self) -> None:
        """Answer at once again from now on (answers already held keep their delay)."""
        self.cancelled = True

    def active(self, now: float) -> bool:
        return not self.cancelled and (self.until is None or now < self.until)

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.methods is None:
            if method == "getupdates":
                return False
        elif method not in self.methods:
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def draw(self, rng: random.Random) -> float:
        if isinstance(self.seconds, tuple):
            low, high = self.seconds
            return rng.uniform(low, high)
        return float(self.seconds)


class Hang:
    """Matching calls are held before they are carried out (see
    :meth:`FakeTelegramServer.hang`) until :meth:`release`, or until ``seconds`` have passed
    since the hang was set; a call whose client has gone by then is not carried out.

    ``held`` counts the calls held so far (including released ones), ``waiting`` those held
    right now.
    """

    def __init__(
        self, method: str, chat_id: int | None, until: float | None, times: int | None
    ) -> None:
        self.method = method
        self.chat_id = chat_id
        self.until = until
        self.times = times
        self.held = 0
        self.waiting = 0
        self._released = asyncio.Event()
        self._changed = _Signal()

    @property
    def released(self) -> bool:
        """True once :meth:`release` was called."""
        return self._released.is_set()

    def release(self) -> None:
        """Let every held call go on and stop holding new ones."""
        self._released.set()
        self._changed.fire()

    def active(self, now: float) -> bool:
        if self.released or (self.until is not None and now >= self.until):
            return False
        return self.times is None or self.held < self.times

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method not in ("*", method):
            return False
        return self.chat_id is None or self.chat_id == chat_id

    async def wait_held(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` calls have been held (``WaitTimeoutError`` after ``timeout``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.held < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeoutError(
                    f"{self.held} call(s) of {self.method} held within {timeout:g} s, "
                    f"expected {count}"
                )
            await self._changed.wait(remaining)

    async def _hold(self, now: float) -> None:
        self.held += 1
        self.waiting += 1
        self._changed.fire()
        try:
            timeout = None if self.until is None else max(self.until - now, 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), timeout)
        finally:
            self.waiting -= 1
            self._changed.fire()


@dataclass
class Outage:
    """A window in which the server fails every request (see
    :meth:`FakeTelegramServer.outage`); ``answered`` counts the requests it failed."""

    mode: str
    until: float | None
    answered: int = 0
    ended: bool = False

    def active(self, now: float) -> bool:
        return not self.ended and (self.until is None or now < self.until)


@dataclass
class _Request:
    method: str
    bot_user: JSONDict
    params: JSONDict


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


# --------------------------------------------------------------------------- the server


Handler = Callable[[_Request], Awaitable[Any]]


class FakeTelegramServer:
    """An in-process HTTP server that imitates the Telegram Bot API for one bot.

    ``token``: when given, only this token is accepted and any other well-formed token gets
    401 Unauthorized (as Telegram answers); when ``None``, any token of the form
    ``<digits>:<letters>`` is accepted and the bot id is taken from it. Malformed tokens
    get 404 Not Found. ``bot_username``/``bot_first_name`` shape ``getMe``. ``rate_limit``
    turns on 429 answers (see :class:`RateLimit`). ``strict=False`` disables the markup
    and length checks of texts (they are on by default, as on Telegram).

    Usage::

        async with FakeTelegramServer() as server:
            env = {"TELEGRAM_API_URL": server.base_url, ...}
            user = server.user(1001, "Анна")
            server.push_text(user, "/start")
            reply = await server.wait_for_message(user)
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        bot_username: str = "reserve_test_bot",
        bot_first_name: str = "Reserve Test Bot",
        rate_limit: RateLimit | None = None,
        strict: bool = True,
    ) -> None:
        if token is not None and not _TOKEN_RE.match(token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.rate_limit = rate_limit
        self.strict = strict

        #: Every API request in arrival order (see :class:`SentCall`).
        self.calls: list[SentCall] = []
        #: Answer counters (see :class:`ServerStats`).
        self.stats = ServerStats()
        #: Unexpected exceptions raised inside the fake while handling requests (its bugs).
        self.internal_errors: list[BaseException] = []
        #: ``answerCallbackQuery`` parameters by callback query id.
        self.callback_answers: dict[str, JSONDict] = {}
        #: ``setMyDescription`` / ``setMyShortDescription`` / ``setMyName`` by language code.
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.names: dict[str, str] = {}
        #: The URL given to ``setWebhook`` (``getUpdates`` answers 409 while it is set).
        self.webhook_url = ""
        #: The ``menu_button`` objects set by ``setChatMenuButton`` by chat id (None = default).
        self.menu_buttons: dict[int | None, JSONDict] = {}

        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeChat] = {}
        self._blocked: set[int] = set()
        self._not_started: set[int] = set()
        self._next_mid: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._sent: dict[int, list[SentMessage]] = {}
        self._sent_index: dict[tuple[int, int], SentMessage] = {}
        self._cursors: dict[int, int] = {}
        self._call_cursors: dict[str, int] = {}
        self._files: dict[str, FakeFile] = {}
        self._files_by_path: dict[str, FakeFile] = {}
        self._file_seq = itertools.count(1)
        self._callback_seq = itertools.count(4_000_000_000_000_001)
        self._media_group_seq = itertools.count(13_000_000_000_001)
        self._callbacks: dict[str, JSONDict] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._failures: list[_Failure] = []
        self._delays: list[Delay] = []
        self._hangs: list[Hang] = []
        self._outage: Outage | None = None
        self._outage_task: asyncio.Task[None] | None = None
        self._random = random.Random(20260101)

        self._updates: deque[JSONDict] = deque()
        self._next_update_id = 1
        self._poll_generation = 0
        self._updates_signal = _Signal()
        self._messages_signal = _Signal()
        self._calls_signal = _Signal()

        self._send_times: deque[float] = deque()
        self._last_chat_send: dict[int, float] = {}

        #: ``getUpdates`` requests being answered right now (a bot is polling when > 0).
        self.polls_waiting = 0
        self._listeners: list[Listener] = []

        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._host = ""
        self._port = 0
        self._closing = False

        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in self._method_table().items():
            self._methods[name.lower()] = (name, handler)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start listening (port 0 picks a free one) and return :attr:`base_url`."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegramServer is already running")
        self._closing = False
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._site = runner, site
        address = runner.addresses[0]
        self._host, self._port = str(address[0]), int(address[1])
        return self.base_url

    async def stop(self) -> None:
        """Answer pending long polls with an empty list, close connections and stop."""
        if self._runner is None:
            return
        self._closing = True
        for hang in self._hangs:
            hang.release()
        if self._outage_task is not None:
            self._outage_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._outage_task
            self._outage_task = None
        self._updates_signal.fire()
        runner, self._runner, self._site = self._runner, None, None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` — the value for ``TELEGRAM_API_URL``."""
        if self._runner is None:
            raise RuntimeError("FakeTelegramServer is not running; await start() first")
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The TCP port the server listens on (0 before start)."""
        return self._port

    # ------------------------------------------------------------------ the world

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        username: str | None = None,
        last_name: str | None = None,
        *,
        language_code: str | None = "ru",
        started: bool = True,
    ) -> FakeUser:
        """Create (or replace) a user; their private chat id equals ``user_id``.

        ``started=False`` imitates a user who never opened the bot: sends to them answer
        403 "Forbidden: bot can't initiate conversation with a user" until the user pushes
        anything (``push_text`` etc.).
        """
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = FakeUser(user_id, first_name, username, last_name, language_code)
        self._users[user_id] = user
        if started:
            self._not_started.discard(user_id)
        else:
            self._not_started.add(user_id)
        return user

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        chat_type: str = "supergroup",
        username: str | None = None,
    ) -> FakeChat:
        """Create (or replace) a group/supergroup/channel chat (``chat_id`` must be negative)."""
        if chat_id >= 0:
            raise ValueError("group and channel ids are negative")
        if chat_type not in {"group", "supergroup", "channel"}:
            raise ValueError(f"unknown chat type {chat_type!r}")
        chat = FakeChat(chat_id, title, chat_type, username)
        self._groups[chat_id] = chat
        return chat

    def block(self, user: FakeUser | int) -> None:
        """The user blocks the bot: every call aimed at their chat answers
        403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add(_chat_id_of(user))

    def unblock(self, user: FakeUser | int) -> None:
        """The user unblocks the bot (pushing an update from them unblocks it as well)."""
        self._blocked.discard(_chat_id_of(user))

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: FakeUser | FakeChat | int | None = None,
        times: int = 1,
        *,
        html: bool = False,
        for_seconds: float | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``, if given) fail.

        The answer is ``{"ok": false, "error_code": error_code, "description": ...}``;
        ``description`` defaults to Telegram's usual text for the code. For 429 the answer
        carries ``parameters.retry_after`` (default 1 s), which aiogram raises as
        ``TelegramRetryAfter``. Method names are case-insensitive, like Telegram's; ``"*"``
        matches every method (``getUpdates`` included).

        ``html=True`` answers instead with the HTML error page a reverse proxy (nginx) gives,
        ``content-type: text/html``, HTTP status ``error_code`` (a 5xx, usually 502): not
        JSON at all. ``for_seconds`` makes every matching call fail during that many seconds
        from now, however many there are (``times`` is then ignored). A failed call is not
        carried out.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if html and not 500 <= error_code <= 599:
            raise ValueError("an HTML error page is for 5xx codes")
        if for_seconds is not None and for_seconds <= 0:
            raise ValueError("for_seconds must be > 0")
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = _default_description(error_code, retry_after)
        self._failures.append(
            _Failure(
                method.lower(),
                error_code,
                description,
                retry_after,
                None if chat_id is None else _chat_id_of(chat_id),
                times,
                None if for_seconds is None else time.monotonic() + for_seconds,
                html,
            )
        )

    def delay_answers(
        self,
        chat_id: FakeUser | FakeChat | int | None,
        seconds: float | tuple[float, float],
        *,
        methods: Iterable[str] | None = None,
        for_seconds: float | None = None,
    ) -> Delay:
        """Answer calls aimed at ``chat_id`` (any chat when ``None``) ``seconds`` late.

        ``seconds`` is fixed (``0.5``) or a range drawn from per call (``(0.3, 3.0)``). The
        call takes effect at once (the message is in the chat, :meth:`wait_for_message` sees
        it); only the answer to the bot is late, as Telegram's answers are from some hosts.
        ``methods`` limits it to those methods (``getUpdates`` is delayed only when named);
        ``for_seconds`` ends it after that long. Returns a :class:`Delay` (``.cancel()``).
        """
        low, high = (seconds, seconds) if not isinstance(seconds, tuple) else seconds
        if low < 0 or high < low:
            raise ValueError(f"invalid delay: {seconds!r}")
        delay = Delay(
            None if chat_id is None else _chat_id_of(chat_id),
            None if methods is None else frozenset(m.lower() for m in methods),
            seconds,
            None if for_seconds is None else time.monotonic() + for_seconds,
        )
        self._delays.append(delay)
        return delay

    def hang(
        self,
        method: str,
        chat_id: FakeUser | FakeChat | int | None = None,
        *,
        seconds: float | None = None,
        times: int | None = None,
    ) -> Hang:
        """Hold calls of ``method`` (``"*"``: any) to ``chat_id`` (any chat when ``None``)
        before they are carried out: until :meth:`Hang.release`, or until ``seconds`` from
        now have passed (held calls then go on), and only the next ``times`` calls if given.

        A held call is carried out when let go, unless its client has closed the connection
        by then (the bot gave up or died): then nothing happens and the call is recorded with
        ``error_code`` 0. Returns the :class:`Hang`; ``await hang.wait_held()`` waits until a
        call is being held.
        """
        if seconds is not None and seconds < 0:
            raise ValueError("seconds must be >= 0")
        if times is not None and times < 1:
            raise ValueError("times must be >= 1")
        hang = Hang(
            method.lower(),
            None if chat_id is None else _chat_id_of(chat_id),
            None if seconds is None else time.monotonic() + seconds,
            times,
        )
        self._hangs.append(hang)
        return hang

    async def outage(self, seconds: float | None, mode: str = "502") -> Outage:
        """Fail every request for ``seconds`` (until :meth:`end_outage` when ``None``).

        ``mode``: ``"502"`` answers 502 Bad Gateway with nginx's HTML page; ``"reset"``
        drops each connection without an answer; ``"refuse"`` stops listening, so
        connections are refused (requests on connections already open are reset). Long polls
        in progress are ended the same way. Returns when the outage is in force.
        """
        if mode not in OUTAGE_MODES:
            raise ValueError(f"unknown outage mode {mode!r}; one of {OUTAGE_MODES}")
        if seconds is not None and seconds <= 0:
            raise ValueError("seconds must be > 0")
        await self.end_outage()
        outage = Outage(mode, None if seconds is None else time.monotonic() + seconds)
        self._outage = outage
        if mode == "refuse" and self._site is not None:
            site, self._site = self._site, None
            await site.stop()
        if seconds is not None:
            self._outage_task = asyncio.create_task(self._end_outage_later(outage, seconds))
        self._updates_signal.fire()  # long polls in progress fail too
        return outage

    async def end_outage(self) -> None:
        """End the current outage now (listening again after a ``"refuse"`` one)."""
        task, self._outage_task = self._outage_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        outage, self._outage = self._outage, None
        if outage is None:
            return
        outage.ended = True
        if self._site is None and self._runner is not None:
            site = web.TCPSite(self._runner, self._host, self._port)
            await site.start()
            self._site = site

    async def clear_faults(self) -> None:
        """Remove every injected failure, delay, hang (releasing held calls) and outage."""
        self._failures.clear()
        for delay in self._delays:
            delay.cancel()
        self._delays.clear()
        for hang in self._hangs:
            hang.release()
        self._hangs.clear()
        await self.end_outage()

    async def _end_outage_later(self, outage: Outage, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self._outage is outage:
            self._outage_task = None
            await self.end_outage()

    # ------------------------------------------------------------------ observers

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every :class:`ServerEvent` from now on.

        The listener runs synchronously inside the request (or ``push_*`` call) that caused
        the event, in the server's event loop: it must be quick and must not block (put the
        event on a queue). An exception it raises is logged and otherwise ignored; the
        request is answered as if there were no listener.

        Returns:
            A function that removes the listener (calling it twice is harmless).
        """
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def _emit(self, event: ServerEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("listener of the fake Telegram server failed on %s", event.kind)

    # ------------------------------------------------------------------ incoming updates

    def push_text(
        self,
        user: FakeUser,
        text: str,
        *,
        chat: FakeChat | None = None,
        reply_to: int | None = None,
    ) -> JSONDict:
        """The user sends a text message (to the private chat, or to ``chat``).

        A text starting with "/" gets a ``bot_command`` entity at offset 0 covering the
        first word (so ``/start CODE`` is a deep link). ``reply_to`` is the id of a message
        in the same chat being replied to. Returns the update dict.
        """
        fields: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16(command)}]
        return self._push_message(user, chat, fields, reply_to=reply_to)

    def push_document(
        self,
        user: FakeUser,
        file_name: str,
        mime_type: str = "application/pdf",
        caption: str | None = None,
        *,
        content: bytes | None = None,
        chat: FakeChat | None = None,
    ) -> JSONDict:
        """The user sends a document; ``content`` (default: a small fake body) is what the
        bot downloads via ``getFile``. The file gets a fresh unique file_id. Returns the update.
        """
        if content is None:
            content = _fake_content(file_name, mime_type)
        file = self._new_file("document", content, file_name=file_name, mime_type=mime_type)
        fields: JSONDict = {"document": file.media_dict()}
        if caption is not None:
            fields["caption"] = caption
        return self._push_message(user, chat, fields)

    def push_photo(
        self,
        user: FakeUser,
        caption: str | None = None,
        *,
        content: bytes | None = None,
        chat: FakeChat | None = None,
    ) -> JSONDict:
        """The user sends a photo (two sizes, each with its own file_id). Returns the update."""
        if content is None:
            content = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"
        file = self._new_file("photo", content, mime_type="image/jpeg")
        fields: JSONDict = {"photo": file.media_dict()}
        if caption is not None:
            fields["caption"] = caption
        return self._push_message(user, chat, fields)

    def push_contact(
        self,
        user: FakeUser,
        phone_number: str = "+79990000000",
        *,
        chat: FakeChat | None = None,
    ) -> JSONDict:
        """The user shares their own contact (a ``request_contact`` button). Returns the update."""
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": user.first_name,
            "user_id": user.id,
        }
        if user.last_name:
            contact["last_name"] = user.last_name
        return self._push_message(user, chat, {"contact": contact})

    def push_callback(
        self,
        user: FakeUser,
        message_id: int | SentMessage,
        data: str,
        *,
        chat: FakeChat | None = None,
    ) -> JSONDict:
        """The user presses an inline button with ``data`` under a message the bot sent.

        The message must exist in that chat (the private chat, or ``chat``) and not be
        deleted; the callback_query carries it, in its current state, as ``message``.
        Returns the update; its ``callback_query.id`` is what ``answerCallbackQuery`` expects.
        """
        chat_id = chat.id if chat is not None else user.id
        mid = message_id.message_id if isinstance(message_id, SentMessage) else message_id
        sent = self._sent_index.get((chat_id, mid))
        if sent is None or sent.deleted:
            raise ValueError(
                f"the bot has no (undeleted) message {mid} in chat {chat_id}; "
                f"it sent: {[m.message_id for m in self._sent.get(chat_id, [])]}"
            )
        self._user_acts(user)
        query_id = str(next(self._callback_seq))
        self._callbacks[query_id] = {"user_id": user.id, "chat_id": chat_id, "message_id": mid}
        query: JSONDict = {
            "id": query_id,
            "from": user.to_dict(),
            "message": json.loads(json.dumps(sent.raw)),
            "chat_instance": f"{abs(chat_id)}{user.id % 1000:03d}",
            "data": data,
        }
        return self._push_update("callback_query", query)

    def press(
        self,
        user: FakeUser,
        message: SentMessage,
        button_text: str,
        *,
        chat: FakeChat | None = None,
    ) -> JSONDict:
        """Press a button of ``message`` by its text (exact, else unique substring).

        An inline callback button pushes a callback_query; a reply-keyboard button pushes
        its text as a message. Returns the update. URL buttons cannot be pressed.
        """
        text, value = message.button(button_text)
        markup = message.reply_markup or {}
        if "inline_keyboard" in markup:
            for row in markup["inline_keyboard"]:
                for button in row:
                    if button.get("text") == text and "callback_data" in button:
                        return self.push_callback(
                            user, message.message_id, button["callback_data"], chat=chat
                        )
            raise ValueError(f"button {text!r} is not a callback button ({value!r})")
        return self.push_text(user, text, chat=chat)

    # ------------------------------------------------------------------ inspection

    def messages_to(self, chat: FakeUser | FakeChat | int) -> list[SentMessage]:
        """All messages the bot has sent to the chat, oldest first (deleted ones included)."""
        return list(self._sent.get(_chat_id_of(chat), []))

    def message(self, chat: FakeUser | FakeChat | int, message_id: int) -> JSONDict | None:
        """The current Bot API Message object of any (not deleted) message of the chat."""
        return self._messages.get((_chat_id_of(chat), message_id))

    def file(self, file_id: str) -> FakeFile:
        """A known file by file_id (``KeyError`` if unknown)."""
        return self._files[file_id]

    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot (fetched or not)."""
        return list(self._updates)

    def is_blocked(self, user: FakeUser | int) -> bool:
        """Whether the user has blocked the bot."""
        return _chat_id_of(user) in self._blocked

    def commands_for(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        """Commands set with ``setMyCommands`` for exactly this scope and language.

        ``scope`` is the BotCommandScope dict, e.g. ``{"type": "chat", "chat_id": 42}``;
        ``None`` means the default scope. Returns a list of ``{"command", "description"}``
        (empty when nothing is set), without the fallback between scopes that clients do.
        """
        return [dict(c) for c in self._commands.get((_scope_key(scope), language_code), [])]

    def menus(self) -> list[JSONDict]:
        """Every command list set with ``setMyCommands``, to be kept across restarts as
        Telegram keeps them: ``[{"scope": str, "language_code": str, "commands": [...]}]``
        (``scope`` is the emulator's key of a BotCommandScope), for :meth:`restore_menus`."""
        return [
            {"scope": scope, "language_code": language, "commands": [dict(c) for c in found]}
            for (scope, language), found in sorted(self._commands.items())
        ]

    def restore_menus(self, menus: Iterable[JSONDict]) -> None:
        """Put back command lists kept by :meth:`menus` (entries of another shape are
        skipped)."""
        for entry in menus:
            scope, language, found = (
                entry.get("scope"),
                entry.get("language_code"),
                entry.get("commands"),
            )
            if isinstance(scope, str) and isinstance(language, str) and isinstance(found, list):
                self._commands[(scope, language)] = [
                    {"command": str(c["command"]), "description": str(c["description"])}
                    for c in found
                    if isinstance(c, dict) and "command" in c and "description" in c
                ]

    def set_chat_menu(
        self, chat_id: int, commands: Iterable[tuple[str, str]], language_code: str = ""
    ) -> None:
        """Set the command menu of the private chat ``chat_id`` as the bot's ``setMyCommands``
        with ``BotCommandScopeChat`` would: ``commands`` are (command, description) pairs."""
        key = (_scope_key({"type": "chat", "chat_id": chat_id}), language_code)
        self._commands[key] = [{"command": c, "description": d} for c, d in commands]

    def visible_commands(self, chat_id: int, language_code: str = "ru") -> list[JSONDict]:
        """The command menu a Telegram client shows in the private chat ``chat_id``: the first
        list set for, in order, that chat, all private chats, the default scope, each first in
        ``language_code`` and then for every language (the Bot API's "Determining list of
        commands"). Returns ``{"command", "description"}`` dicts (empty when nothing is set).
        """
        scopes: list[JSONDict | None] = [
            {"type": "chat", "chat_id": chat_id},
            {"type": "all_private_chats"},
            None,
        ]
        for scope in scopes:
            for language in (language_code, ""):
                found = self._commands.get((_scope_key(scope), language))
                if found:
                    return [dict(c) for c in found]
        return []

    async def wait_for_message(
        self,
        chat_id: FakeUser | FakeChat | int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
        after: int | None = None,
    ) -> SentMessage:
        """Wait for the first new message the bot sends to the chat that matches ``predicate``.

        "New" is counted by index in :meth:`messages_to`: with ``after=N`` the search starts
        at the (N+1)-th message (``after=len(server.messages_to(user))`` taken before pushing
        means "the reply to what I push next"); with ``after=None`` it starts right after the
        last message a previous ``wait_for_message`` returned for this chat (0 at first), so
        successive calls walk through the conversation: push, wait -> 1st answer, wait ->
        2nd answer. Messages that arrived earlier are found too (no race). Non-matching
        messages are skipped. Raises :class:`WaitTimeoutError` (an ``AssertionError``) describing
        what the chat did receive when nothing matched within ``timeout`` seconds.
        """
        cid = _chat_id_of(chat_id)
        start = self._cursors.get(cid, 0) if after is None else after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = start
        while True:
            messages = self._sent.get(cid, [])
            while index < len(messages):
                message = messages[index]
                index += 1
                if predicate is None or predicate(message):
                    self._cursors[cid] = max(self._cursors.get(cid, 0), index)
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeoutError(self._explain_chat(cid, start, predicate, timeout))
            await self._messages_signal.wait(remaining)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[SentCall], bool] | None = None,
        timeout: float = 10.0,
        *,
        chat_id: FakeUser | FakeChat | int | None = None,
        after: int | None = None,
    ) -> SentCall:
        """Wait for the first new call of ``method`` (case-insensitive) matching the filters.

        Failed calls count too (check ``call.ok`` in the predicate if that matters).
        ``after`` is an index into :attr:`calls` to search from; by default the search
        starts after the last call this method returned for the same ``method``, so repeated
        waits return successive calls. Raises :class:`WaitTimeoutError` listing recent calls.
        """
        key = method.lower()
        cid = None if chat_id is None else _chat_id_of(chat_id)
        start = self._call_cursors.get(key, 0) if after is None else after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = start
        while True:
            while index < len(self.calls):
                call = self.calls[index]
                index += 1
                if call.method.lower() != key or (cid is not None and call.chat_id != cid):
                    continue
                if predicate is None or predicate(call):
                    self._call_cursors[key] = max(self._call_cursors.get(key, 0), index)
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeoutError(self._explain_calls(method, cid, start, timeout))
            await self._calls_signal.wait(remaining)

    @property
    def poll_count(self) -> int:
        """How many ``getUpdates`` requests have arrived so far."""
        return self._poll_generation

    async def wait_polling(self, timeout: float = 10.0, *, newer_than: int = 0) -> None:
        """Wait until a ``getUpdates`` request is in progress, i.e. a bot is polling, and
        (with ``newer_than=server.poll_count`` taken earlier) a poll made since then, e.g. by
        a restarted bot. Raises :class:`WaitTimeoutError` after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self.polls_waiting > 0 and self._poll_generation > newer_than):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise WaitTimeoutError(
                    f"no getUpdates in progress within {timeout:g} s "
                    f"(polls so far: {self._poll_generation}, waited for #{newer_than + 1}+)"
                )
            await self._calls_signal.wait(remaining)

    # ------------------------------------------------------------------ explanations

    def _explain_chat(
        self,
        chat_id: int,
        start: int,
        predicate: Callable[[SentMessage], bool] | None,
        timeout: float,
    ) -> str:
        messages = self._sent.get(chat_id, [])
        what = "message" if predicate is None else f"message matching {_callable_name(predicate)}"
        lines = [
            (
                f"No new {what} to chat {chat_id} within {timeout:g} s "
                f"(looked from message #{start}, i.e. after {start} earlier one(s))."
            ),
        ]
        if messages:
            lines.append(f"Chat {chat_id} received {len(messages)} message(s) from the bot:")
            lines += [f"  #{i} {m.describe()}" for i, m in enumerate(messages)]
        else:
            lines.append(f"Chat {chat_id} received no messages from the bot at all.")
        failed = [c for c in self.calls if c.chat_id == chat_id and not c.ok]
        if failed:
            lines.append("Failed calls for this chat:")
            lines += [f"  {c.method} -> {c.error_code} {c.description}" for c in failed[-10:]]
        other = [c for c in self.calls if c.chat_id == chat_id and c.ok and c.message_id is None]
        if other:
            lines.append("Other calls for this chat: " + ", ".join(c.method for c in other[-10:]))
        lines.append(self._polling_state())
        return "\n".join(lines)

    def _explain_calls(self, method: str, chat_id: int | None, start: int, timeout: float) -> str:
        where = "" if chat_id is None else f" for chat {chat_id}"
        lines = [
            f"No new {method} call{where} within {timeout:g} s (looked from call #{start}).",
        ]
        same = [c for c in self.calls if c.method.lower() == method.lower()]
        if same:
            lines.append(f"Earlier {method} calls:")
            lines += [f"  {_describe_call(c)}" for c in same[-10:]]
        lines.append(f"Last calls ({min(len(self.calls), 15)} of {len(self.calls)}):")
        lines += [f"  {_describe_call(c)}" for c in self.calls[-15:]]
        lines.append(self._polling_state())
        return "\n".join(lines)

    def _polling_state(self) -> str:
        polls = sum(1 for c in self.calls if c.method == "getUpdates")
        return (
            f"getUpdates calls so far: {polls}; updates not yet confirmed by the bot: "
            f"{len(self._updates)}; internal errors of the fake: {len(self.internal_errors)}."
        )

    # ------------------------------------------------------------------ world internals

    def _push_message(
        self,
        user: FakeUser,
        chat: FakeChat | None,
        fields: JSONDict,
        *,
        reply_to: int | None = None,
    ) -> JSONDict:
        if user.id not in self._users:
            self._users[user.id] = user
        self._user_acts(user)
        chat_dict = user.chat_dict() if chat is None else chat.chat_dict()
        chat_id = int(chat_dict["id"])
        if chat is not None and chat.id not in self._groups:
            self._groups[chat.id] = chat
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": user.to_dict(),
            "chat": chat_dict,
            "date": int(time.time()),
            **fields,
        }
        if reply_to is not None:
            replied = self._messages.get((chat_id, reply_to))
            if replied is None:
                raise ValueError(f"no message {reply_to} in chat {chat_id} to reply to")
            message["reply_to_message"] = replied
        self._messages[(chat_id, message["message_id"])] = message
        update = self._push_update("message", message)
        self._emit(ServerEvent("user_message", chat_id, message["message_id"], payload=message))
        return update

    def _user_acts(self, user: FakeUser) -> None:
        self._not_started.discard(user.id)
        self._blocked.discard(user.id)

    def _push_update(self, kind: str, payload: JSONDict) -> JSONDict:
        update: JSONDict = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._updates_signal.fire()
        return update

    def _new_message_id(self, chat_id: int) -> int:
        mid = self._next_mid.get(chat_id, 1)
        self._next_mid[chat_id] = mid + 1
        return mid

    def _new_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> FakeFile:
        file = self._make_file(kind, data, file_name=file_name, mime_type=mime_type)
        if kind == "photo":
            file.thumbnail = self._make_file("photo", data, mime_type=mime_type)
        return file

    def _make_file(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> FakeFile:
        seq = next(self._file_seq)
        prefix = {"photo": "AgACAgIAAxk", "document": "BQACAgIAAxk"}.get(kind, "BAACAgIAAxk")
        suffix = PurePosixPath(file_name).suffix if file_name else ""
        if not suffix:
            suffix = mimetypes.guess_extension(mime_type or "") or (
                ".jpg" if kind == "photo" else ""
            )
        folder = {"photo": "photos", "document": "documents"}.get(kind, kind + "s")
        file = FakeFile(
            file_id=f"{prefix}{seq:06d}{uuid.uuid4().hex}",
            file_unique_id=f"AgAD{seq:06d}{uuid.uuid4().hex[:8]}",
            file_path=f"{folder}/file_{seq}{suffix}",
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[file.file_id] = file
        self._files_by_path[file.file_path] = file
        return file

    def _known_chat(self, chat_id: Any) -> JSONDict:
        """Resolve a chat id or @username to its Chat object (400 "chat not found")."""
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for group in self._groups.values():
                if group.username and group.username.lower() == chat_id[1:].lower():
                    return group.chat_dict()
            raise _bad("chat not found")
        if not isinstance(chat_id, int):
            raise _bad("chat not found")
        if chat_id in self._users:
            return self._users[chat_id].chat_dict()
        if chat_id in self._groups:
            return self._groups[chat_id].chat_dict()
        raise _bad("chat not found")

    def _target_chat(self, req: _Request, key: str = "chat_id") -> JSONDict:
        """The chat a call acts on, with the 400/403 answers Telegram gives."""
        chat = self._known_chat(req.params.get(key))
        chat_id = int(chat["id"])
        if chat_id in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self._not_started:
            raise _ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _peek_chat_id(self, params: JSONDict) -> int | None:
        value = params.get("chat_id")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.startswith("@"):
            with contextlib.suppress(_ApiError):
                return int(self._known_chat(value)["id"])
        return None

    # ------------------------------------------------------------------ rate limiting

    def _admit_send(self, chat_id: int) -> None:
        """Account one send; 429 when it would exceed the configured rate limit."""
        now = time.monotonic()
        limit = self.rate_limit
        window = limit.window if limit is not None else 1.0
        times = self._send_times
        while times and times[0] <= now - window:
            times.popleft()
        if limit is not None:
            last = self._last_chat_send.get(chat_id)
            if last is not None and now - last < limit.chat_interval:
                self.stats.rate_limited_chat += 1
                raise _too_many(last + limit.chat_interval - now, limit)
            if len(times) >= limit.per_second:
                self.stats.rate_limited_global += 1
                raise _too_many(times[0] + window - now, limit)
        times.append(now)
        self._last_chat_send[chat_id] = now
        self.stats.sends_accepted += 1
        self.stats.peak_per_second = max(self.stats.peak_per_second, len(times))

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        self.stats.calls += 1
        requested = request.match_info["method"]
        canonical = requested
        params: JSONDict = {}
        result: Any = None
        error: _ApiError | None = None
        delay = 0.0
        try:
            outage = self._current_outage()
            if outage is not None and outage.mode != "502":  # before reading the body
                raise _ResetError(f"connection reset: outage ({outage.mode})")
            bot_user = self._authorize(request.match_info["token"])
            params = await _read_params(request)
            entry = self._methods.get(requested.lower())
            if entry is None:
                raise _ApiError(404, "Not Found: method not found")
            canonical, handler = entry
            if outage is not None:
                raise _HtmlError(502)
            self._inject_failure(canonical, params)
            if await self._hold(canonical, params, request):
                raise _ResetError("the client went away while the call was held; not carried out")
            result = await handler(_Request(canonical, bot_user, params))
            delay = self._answer_delay(canonical, params)
        except _ApiError as exc:
            error = exc
        except _HtmlError as exc:
            return self._answer_html(exc.code, canonical, params, at)
        except _ResetError as exc:
            return self._reset(request, canonical, params, at, exc.description)
        except Exception as exc:  # the fake's own bug: answer 500, keep it for the test
            log.exception("fake Telegram server failed on %s", requested)
            self.internal_errors.append(exc)
            error = _ApiError(500, f"Internal Server Error: {type(exc).__name__}: {exc}")
        call = SentCall(canonical, self._peek_chat_id(params), params, at)
        if error is None:
            call.message_id = _message_id_of(result)
            response = web.json_response({"ok": True, "result": result}, dumps=_dumps)
        else:
            call.error_code, call.description = error.code, error.description
            if error.code == 429:
                self.stats.too_many_requests += 1
            elif error.code == 403:
                self.stats.forbidden += 1
            body: JSONDict = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            response = web.json_response(body, status=error.code, dumps=_dumps)
        self.calls.append(call)
        self._calls_signal.fire()
        if delay > 0:
            await asyncio.sleep(delay)
        call.answered_at = time.monotonic()
        return response

    # ------------------------------------------------------------------ faults

    def _current_outage(self) -> Outage | None:
        outage = self._outage
        if outage is None or not outage.active(time.monotonic()):
            return None
        outage.answered += 1
        self.stats.outage_answers += 1
        return outage

    async def _hold(self, method: str, params: JSONDict, request: web.Request) -> bool:
        """Hold the call while a :class:`Hang` matches it; True when the client has gone."""
        key, chat_id = method.lower(), self._peek_chat_id(params)
        now = time.monotonic()
        for hang in list(self._hangs):
            if not hang.matches(key, chat_id):
                continue
            if not hang.active(now):
                if hang.released or (hang.until is not None and now >= hang.until):
                    self._hangs.remove(hang)
                continue
            self.stats.held += 1
            await hang._hold(now)
            transport = request.transport
            if transport is None or transport.is_closing():
                self.stats.abandoned += 1
                return True
            return False
        return False

    def _answer_delay(self, method: str, params: JSONDict) -> float:
        key, chat_id = method.lower(), self._peek_chat_id(params)
        now = time.monotonic()
        self._delays = [d for d in self._delays if d.active(now)]
        for delay in self._delays:
            if delay.matches(key, chat_id):
                delay.count += 1
                self.stats.delayed += 1
                return delay.draw(self._random)
        return 0.0

    def _answer_html(self, code: int, method: str, params: JSONDict, at: float) -> web.Response:
        call = SentCall(method, self._peek_chat_id(params), params, at)
        call.error_code, call.description = code, f"{code} {_status_phrase(code)} (HTML page)"
        call.answered_at = time.monotonic()
        self.calls.append(call)
        self._calls_signal.fire()
        return web.Response(status=code, text=_nginx_page(code), content_type="text/html")

    def _reset(
        self, request: web.Request, method: str, params: JSONDict, at: float, description: str
    ) -> web.StreamResponse:
        call = SentCall(method, self._peek_chat_id(params), params, at)
        call.error_code, call.description = 0, description
        self.calls.append(call)
        self._calls_signal.fire()
        if request.transport is not None:
            request.transport.abort()
        raise web.HTTPServiceUnavailable()  # never written: the connection is gone

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        path = request.match_info["path"]
        outage = self._current_outage()
        if outage is not None:
            if outage.mode == "502":
                return self._answer_html(502, "downloadFile", {"file_path": path}, at)
            return self._reset(request, "downloadFile", {"file_path": path}, at, "outage")
        try:
            self._authorize(request.match_info["token"])
        except _ApiError as exc:
            return _error_response(exc)
        file = self._files_by_path.get(path)
        call = SentCall("downloadFile", None, {"file_path": path}, at)
        self.calls.append(call)
        self._calls_signal.fire()
        if file is None:
            call.error_code, call.description = 404, "Not Found"
            return _error_response(_ApiError(404, "Not Found"))
        return web.Response(
            body=file.data, content_type=file.mime_type or "application/octet-stream"
        )

    def _authorize(self, token: str) -> JSONDict:
        match = _TOKEN_RE.match(token)
        if match is None:
            raise _ApiError(404, "Not Found")
        if self.token is not None and token != self.token:
            raise _ApiError(401, "Unauthorized")
        return {
            "id": int(match.group(1)),
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _inject_failure(self, method: str, params: JSONDict) -> None:
        key = method.lower()
        chat_id = self._peek_chat_id(params)
        now = time.monotonic()
        self._failures = [f for f in self._failures if f.until is None or now < f.until]
        for failure in self._failures:
            if failure.method not in ("*", key):
                continue
            if failure.chat_id is not None and failure.chat_id != chat_id:
                continue
            if failure.until is None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
            self.stats.injected_errors += 1
            if failure.html:
                raise _HtmlError(failure.error_code)
            raise _ApiError(failure.error_code, failure.description, failure.retry_after)

    # ------------------------------------------------------------------ methods

    def _method_table(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_media("photo"),
            "sendDocument": self._send_media("document"),
            "sendVideo": self._send_media("video"),
            "sendAudio": self._send_media("audio"),
            "sendVoice": self._send_media("voice"),
            "sendAnimation": self._send_media("animation"),
            "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_text_setting(self.descriptions, "description"),
            "getMyDescription": self._get_text_setting(self.descriptions, "description"),
            "setMyShortDescription": self._set_text_setting(
                self.short_descriptions, "short_description"
            ),
            "getMyShortDescription": self._get_text_setting(
                self.short_descriptions, "short_description"
            ),
            "setMyName": self._set_text_setting(self.names, "name"),
            "getMyName": self._get_text_setting(self.names, "name"),
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
        }

    async def _true(self, req: _Request) -> bool:
        return True

    async def _get_me(self, req: _Request) -> JSONDict:
        return {
            **req.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # -- updates

    async def _get_updates(self, req: _Request) -> list[JSONDict]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_param(req.params, "offset", 0)
        limit = min(max(_int_param(req.params, "limit", 100), 1), 100)
        timeout = max(_float_param(req.params, "timeout", 0.0), 0.0)
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.fire()  # an older long poll is now terminated with 409
        deadline = time.monotonic() + timeout
        self.polls_waiting += 1
        self._calls_signal.fire()
        try:
            return await self._long_poll(limit, generation, deadline)
        finally:
            self.polls_waiting -= 1

    async def _long_poll(self, limit: int, generation: int, deadline: float) -> list[JSONDict]:
        while True:
            outage = self._current_outage()
            if outage is not None:
                if outage.mode == "502":
                    raise _HtmlError(502)
                raise _ResetError(f"connection reset: outage ({outage.mode})")
            batch = list(itertools.islice(self._updates, limit))
            if batch or self._closing:
                return batch
            if generation != self._poll_generation:
                raise _ApiError(409, _CONFLICT_POLL)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await self._updates_signal.wait(remaining)

    def _confirm(self, offset: int) -> None:
        updates = self._updates
        if offset > 0:
            while updates and updates[0]["update_id"] < offset:
                updates.popleft()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()

    async def _set_webhook(self, req: _Request) -> bool:
        url = req.params.get("url") or ""
        if not isinstance(url, str):
            raise _bad("bad webhook: invalid URL")
        self.webhook_url = url
        if _bool_param(req.params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, req: _Request) -> bool:
        self.webhook_url = ""
        if _bool_param(req.params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, req: _Request) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # -- sending

    async def _send_message(self, req: _Request) -> JSONDict:
        chat = self._target_chat(req)
        raw_text = req.params.get("text")
        parse_mode = _parse_mode(req.params)
        text = self._render(raw_text, parse_mode, caption=False)
        markup = _reply_markup(req.params)
        reply_to = self._reply_to(req.params, chat)
        self._admit_send(int(chat["id"]))
        sent = self._deliver(
            req,
            chat,
            {"text": text},
            raw_text=raw_text if isinstance(raw_text, str) else None,
            parse_mode=parse_mode,
            markup=markup,
            reply_to=reply_to,
        )
        return sent.raw

    def _send_media(self, kind: str) -> Handler:
        async def send(req: _Request) -> JSONDict:
            chat = self._target_chat(req)
            file = self._resolve_file(req.params.get(kind), kind)
            raw_caption = req.params.get("caption")
            parse_mode = _parse_mode(req.params)
            caption = self._render(raw_caption, parse_mode, caption=True)
            markup = _reply_markup(req.params)
            reply_to = self._reply_to(req.params, chat)
            self._admit_send(int(chat["id"]))
            sent = self._deliver(
                req,
                chat,
                _media_fields(file, caption),
                raw_text=raw_caption if isinstance(raw_caption, str) else None,
                parse_mode=parse_mode,
                markup=markup,
                reply_to=reply_to,
                file=file,
            )
            return sent.raw

        return send

    async def _send_media_group(self, req: _Request) -> list[JSONDict]:
        chat = self._target_chat(req)
        media = req.params.get("media")
        if not isinstance(media, list) or not media:
            raise _bad('parameter "media" is required')
        if not 2 <= len(media) <= 10:
            raise _bad("media group must contain 2-10 items")
        prepared: list[tuple[FakeFile, str, str | None, str | None]] = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in {
                "photo",
                "video",
                "document",
                "audio",
            }:
                raise _bad("can't parse InputMedia: media type is invalid")
            file = self._resolve_file(item.get("media"), str(item["type"]))
            raw_caption = item.get("caption")
            mode = _parse_mode(item) or _parse_mode(req.params)
            caption = self._render(raw_caption, mode, caption=True)
            prepared.append(
                (file, caption, raw_caption if isinstance(raw_caption, str) else None, mode)
            )
        reply_to = self._reply_to(req.params, chat)
        self._admit_send(int(chat["id"]))
        group_id = str(next(self._media_group_seq))
        results = []
        for file, caption, item_raw_caption, mode in prepared:
            sent = self._deliver(
                req,
                chat,
                {**_media_fields(file, caption), "media_group_id": group_id},
                raw_text=item_raw_caption,
                parse_mode=mode,
                markup=None,
                reply_to=reply_to,
                file=file,
                media_group_id=group_id,
            )
            results.append(sent.raw)
        return results

    async def _copy_message(self, req: _Request) -> JSONDict:
        chat = self._target_chat(req)
        source = self._source_message(req, "message to copy not found")
        fields = _content_fields(source)
        if not fields:
            raise _bad("message can't be copied")
        file = self._file_of(source)
        parse_mode = _parse_mode(req.params)
        raw_text: str | None = source.get("text", source.get("caption"))
        if "caption" in req.params and file is not None:
            raw_caption = req.params["caption"]
            fields["caption"] = self._render(raw_caption, parse_mode, caption=True)
            raw_text = raw_caption if isinstance(raw_caption, str) else None
            if not fields["caption"]:
                del fields["caption"]
        else:
            parse_mode = None
        markup = _reply_markup(req.params)
        reply_to = self._reply_to(req.params, chat)
        self._admit_send(int(chat["id"]))
        sent = self._deliver(
            req,
            chat,
            fields,
            raw_text=raw_text,
            parse_mode=parse_mode,
            markup=markup,
            reply_to=reply_to,
            file=file,
        )
        return {"message_id": sent.message_id}

    async def _forward_message(self, req: _Request) -> JSONDict:
        chat = self._target_chat(req)
        source = self._source_message(req, "message to forward not found")
        fields = _content_fields(source)
        if not fields:
            raise _bad("message can't be forwarded")
        origin_chat = source["chat"]
        origin: JSONDict
        if origin_chat.get("type") == "private":
            origin = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        else:
            origin = {"type": "chat", "date": source["date"], "sender_chat": origin_chat}
        fields["forward_origin"] = origin
        self._admit_send(int(chat["id"]))
        sent = self._deliver(
            req,
            chat,
            fields,
            raw_text=source.get("text", source.get("caption")),
            parse_mode=None,
            markup=None,
            reply_to=None,
            file=self._file_of(source),
        )
        return sent.raw

    def _source_message(self, req: _Request, not_found: str) -> JSONDict:
        from_chat = self._known_chat(req.params.get("from_chat_id"))
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        source = self._messages.get((int(from_chat["id"]), message_id))
        if source is None:
            raise _bad(not_found)
        return source

    def _file_of(self, message: JSONDict) -> FakeFile | None:
        for kind in ("document", "video", "audio", "voice", "animation"):
            if kind in message:
                return self._files.get(message[kind]["file_id"])
        if "photo" in message:
            return self._files.get(message["photo"][-1]["file_id"])
        return None

    def _resolve_file(self, value: Any, kind: str) -> FakeFile:
        if value is None or value == "":
            raise _bad(f"there is no {kind} in the request")
        if isinstance(value, UploadedFile):
            mime = value.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(value.filename)[0] or mime
            if kind == "photo":
                return self._new_file("photo", value.data, mime_type=mime or "image/jpeg")
            return self._new_file(
                kind, value.data, file_name=value.filename, mime_type=mime or None
            )
        if isinstance(value, str):
            if value in self._files:
                return self._files[value]
            if value.startswith(("http://", "https://")):
                name = PurePosixPath(value.split("?", 1)[0]).name or kind
                mime = mimetypes.guess_type(name)[0]
                return self._new_file(kind, b"", file_name=name, mime_type=mime)
        raise _bad("wrong file identifier/HTTP URL specified")

    def _reply_to(self, params: JSONDict, chat: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters")
        message_id: Any = None
        allow_missing = _bool_param(params, "allow_sending_without_reply")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        elif "reply_to_message_id" in params:
            message_id = params["reply_to_message_id"]
        if message_id is None:
            return None
        replied = self._messages.get((int(chat["id"]), _as_int(message_id)))
        if replied is None and not allow_missing:
            raise _bad("message to be replied not found")
        return replied

    def _render(self, raw: Any, parse_mode: str | None, *, caption: bool) -> str:
        """Visible text of a text/caption, with Telegram's parsing errors and limits."""
        text = "" if raw is None else str(raw)
        try:
            visible = _render_markup(text, parse_mode).strip()
        except _EntityError as exc:
            if not self.strict:
                return text
            raise _bad(f"can't parse entities: {exc}") from None
        if not self.strict:
            return visible
        if caption:
            if len(visible) > CAPTION_LIMIT:
                raise _bad("message caption is too long")
        elif not visible:
            raise _bad("message text is empty")
        elif len(visible) > TEXT_LIMIT:
            raise _bad("message is too long")
        return visible

    def _deliver(
        self,
        req: _Request,
        chat: JSONDict,
        fields: JSONDict,
        *,
        raw_text: str | None,
        parse_mode: str | None,
        markup: JSONDict | None,
        reply_to: JSONDict | None,
        file: FakeFile | None = None,
        media_group_id: str | None = None,
    ) -> SentMessage:
        chat_id = int(chat["id"])
        fields = {k: v for k, v in fields.items() if v not in (None, "")}
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": req.bot_user,
            "chat": chat,
            "date": int(time.time()),
            **fields,
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        sent = SentMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            method=req.method,
            text=fields.get("text", fields.get("caption")),
            raw_text=raw_text,
            parse_mode=parse_mode,
            reply_markup=markup,
            at=time.monotonic(),
            date=message["date"],
            media_type=file.kind if file is not None else None,
            file=file,
            media_group_id=media_group_id,
            reply_to_message_id=None if reply_to is None else reply_to["message_id"],
            raw=message,
        )
        self._sent.setdefault(chat_id, []).append(sent)
        self._sent_index[(chat_id, sent.message_id)] = sent
        self._messages_signal.fire()
        self._emit(ServerEvent("bot_message", chat_id, sent.message_id, sent))
        return sent

    # -- editing

    def _editable(self, req: _Request) -> SentMessage:
        if "inline_message_id" in req.params:
            raise _bad("inline messages are not supported by the fake server")
        chat = self._target_chat(req)
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        chat_id = int(chat["id"])
        sent = self._sent_index.get((chat_id, message_id))
        if sent is None or sent.deleted:
            if (chat_id, message_id) in self._messages:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return sent

    def _apply_edit(
        self,
        sent: SentMessage,
        *,
        key: str,
        text: str | None,
        raw_text: str | None,
        parse_mode: str | None,
        markup: JSONDict | None,
    ) -> JSONDict:
        inline_markup = markup if markup is not None and "inline_keyboard" in markup else None
        current_inline = sent.raw.get("reply_markup")
        if (
            text == sent.text
            and raw_text == sent.raw_text
            and parse_mode == sent.parse_mode
            and _markup_equal(inline_markup, current_inline)
        ):
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        sent.edits.append((sent.text, sent.reply_markup))
        sent.text, sent.raw_text, sent.parse_mode = text, raw_text, parse_mode
        sent.reply_markup = inline_markup
        if text:
            sent.raw[key] = text
        else:
            sent.raw.pop(key, None)
        if inline_markup is None:
            sent.raw.pop("reply_markup", None)
        else:
            sent.raw["reply_markup"] = inline_markup
        sent.raw["edit_date"] = int(time.time())
        self._messages_signal.fire()
        self._emit(ServerEvent("edit", sent.chat_id, sent.message_id, sent))
        return sent.raw

    async def _edit_message_text(self, req: _Request) -> JSONDict:
        sent = self._editable(req)
        if "text" not in sent.raw:
            raise _bad("there is no text in the message to edit")
        raw_text = req.params.get("text")
        parse_mode = _parse_mode(req.params)
        text = self._render(raw_text, parse_mode, caption=False)
        return self._apply_edit(
            sent,
            key="text",
            text=text,
            raw_text=raw_text if isinstance(raw_text, str) else None,
            parse_mode=parse_mode,
            markup=_reply_markup(req.params),
        )

    async def _edit_message_caption(self, req: _Request) -> JSONDict:
        sent = self._editable(req)
        if sent.file is None:
            raise _bad("there is no caption in the message to edit")
        raw_caption = req.params.get("caption")
        parse_mode = _parse_mode(req.params)
        caption = self._render(raw_caption, parse_mode, caption=True) or None
        return self._apply_edit(
            sent,
            key="caption",
            text=caption,
            raw_text=raw_caption if isinstance(raw_caption, str) else None,
            parse_mode=parse_mode,
            markup=_reply_markup(req.params),
        )

    async def _edit_message_reply_markup(self, req: _Request) -> JSONDict:
        sent = self._editable(req)
        return self._apply_edit(
            sent,
            key="text" if sent.file is None else "caption",
            text=sent.text,
            raw_text=sent.raw_text,
            parse_mode=sent.parse_mode,
            markup=_reply_markup(req.params),
        )

    async def _delete_message(self, req: _Request) -> bool:
        chat = self._target_chat(req)
        message_id = req.params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        chat_id = int(chat["id"])
        if self._messages.pop((chat_id, message_id), None) is None:
            raise _bad("message to delete not found")
        sent = self._sent_index.get((chat_id, message_id))
        if sent is not None:
            sent.deleted = True
        self._messages_signal.fire()
        self._emit(ServerEvent("delete", chat_id, message_id, sent))
        return True

    # -- misc

    async def _answer_callback_query(self, req: _Request) -> bool:
        query_id = req.params.get("callback_query_id")
        query_id = str(query_id) if query_id is not None else ""
        if query_id not in self._callbacks or query_id in self.callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = req.params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = dict(req.params)
        origin = self._callbacks[query_id]
        url = req.params.get("url")
        self._emit(
            ServerEvent(
                "callback_answer",
                origin["chat_id"],
                origin["message_id"],
                payload={
                    "user_id": origin["user_id"],
                    "message_id": origin["message_id"],
                    "text": text if isinstance(text, str) and text else None,
                    "show_alert": _bool_param(req.params, "show_alert"),
                    "url": url if isinstance(url, str) and url else None,
                },
            )
        )
        return True

    async def _send_chat_action(self, req: _Request) -> bool:
        chat = self._target_chat(req)
        action = req.params.get("action")
        if not action:
            raise _bad("action is empty")
        self._emit(ServerEvent("chat_action", int(chat["id"]), payload={"action": str(action)}))
        return True

    async def _get_file(self, req: _Request) -> JSONDict:
        file_id = req.params.get("file_id")
        file = self._files.get(file_id) if isinstance(file_id, str) else None
        if file is None:
            raise _bad("invalid file_id")
        return file.file_dict()

    async def _get_chat(self, req: _Request) -> JSONDict:
        chat = self._known_chat(req.params.get("chat_id"))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, req: _Request) -> JSONDict:
        chat = self._known_chat(req.params.get("chat_id"))
        user_id = req.params.get("user_id")
        if user_id == req.bot_user["id"]:
            return {"status": "member", "user": req.bot_user}
        user = self._users.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            raise _bad("user not found")
        if chat["type"] == "private" and chat["id"] != user.id:
            raise _bad("user not found")
        status = "kicked" if user.id in self._blocked else "member"
        if status == "kicked":
            return {"status": status, "user": user.to_dict(), "until_date": 0}
        return {"status": status, "user": user.to_dict()}

    async def _set_my_commands(self, req: _Request) -> bool:
        commands = req.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(req)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        self._emit_commands(req)
        return True

    async def _get_my_commands(self, req: _Request) -> list[JSONDict]:
        return [dict(c) for c in self._commands.get(self._commands_key(req), [])]

    async def _delete_my_commands(self, req: _Request) -> bool:
        self._commands.pop(self._commands_key(req), None)
        self._emit_commands(req)
        return True

    def _emit_commands(self, req: _Request) -> None:
        scope = req.params.get("scope")
        language = str(req.params.get("language_code") or "")
        chat_id = scope.get("chat_id") if isinstance(scope, dict) else None
        self._emit(
            ServerEvent(
                "commands",
                chat_id if isinstance(chat_id, int) else None,
                payload={
                    "scope": scope if isinstance(scope, dict) else None,
                    "language_code": language,
                },
            )
        )

    def _commands_key(self, req: _Request) -> tuple[str, str]:
        scope = req.params.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise _bad("can't parse BotCommandScope JSON object")
        language = req.params.get("language_code") or ""
        return _scope_key(scope), str(language)

    def _set_text_setting(self, store: dict[str, str], key: str) -> Handler:
        async def set_setting(req: _Request) -> bool:
            value = req.params.get(key) or ""
            language = str(req.params.get("language_code") or "")
            if value:
                store[language] = str(value)
            else:
                store.pop(language, None)
            return True

        return set_setting

    def _get_text_setting(self, store: dict[str, str], key: str) -> Handler:
        async def get_setting(req: _Request) -> JSONDict:
            language = str(req.params.get("language_code") or "")
            return {key: store.get(language, store.get("", ""))}

        return get_setting

    async def _set_chat_menu_button(self, req: _Request) -> bool:
        chat_id = req.params.get("chat_id")
        if chat_id is not None:
            self._known_chat(chat_id)
        button = req.params.get("menu_button")
        self.menu_buttons[chat_id] = button if isinstance(button, dict) else {"type": "default"}
        return True

    async def _get_chat_menu_button(self, req: _Request) -> JSONDict:
        chat_id = req.params.get("chat_id")
        return self.menu_buttons.get(chat_id, self.menu_buttons.get(None, {"type": "default"}))


# --------------------------------------------------------------------------- helpers


def _chat_id_of(chat: FakeUser | FakeChat | int) -> int:
    if isinstance(chat, FakeUser | FakeChat):
        return chat.id
    return int(chat)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _callable_name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


def _describe_call(call: SentCall) -> str:
    where = "" if call.chat_id is None else f" chat={call.chat_id}"
    if call.ok:
        mid = "" if call.message_id is None else f" message_id={call.message_id}"
        return f"{call.method}{where}{mid} ok"
    return f"{call.method}{where} -> {call.error_code} {call.description}"


def _default_description(code: int, retry_after: int | None) -> str:
    if code == 429:
        return f"Too Many Requests: retry after {retry_after}"
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(code, "Error")


def _status_phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def _nginx_page(code: int) -> str:
    """The error page nginx serves for a 5xx (its ``\\r\\n`` line ends included)."""
    title = f"{code} {_status_phrase(code)}"
    lines = [
        "<html>",
        f"<head><title>{title}</title></head>",
        "<body>",
        f"<center><h1>{title}</h1></center>",
        "<hr><center>nginx/1.18.0 (Ubuntu)</center>",
        "</body>",
        "</html>",
        "",
    ]
    return "\r\n".join(lines)


def _too_many(wait_real: float, limit: RateLimit) -> _ApiError:
    retry_after = max(1, math.ceil(wait_real * limit.clock_speed))
    return _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def _error_response(error: _ApiError) -> web.Response:
    body: JSONDict = {"ok": False, "error_code": error.code, "description": error.description}
    return web.json_response(body, status=error.code, dumps=_dumps)


def _message_id_of(result: Any) -> int | None:
    if isinstance(result, list) and result and isinstance(result[0], dict):
        result = result[0]
    if isinstance(result, dict) and isinstance(result.get("message_id"), int):
        return int(result["message_id"])
    return None


def _fake_content(file_name: str, mime_type: str) -> bytes:
    if mime_type == "application/pdf" or file_name.lower().endswith(".pdf"):
        return b"%PDF-1.4\n% fake document " + file_name.encode() + b"\n%%EOF\n"
    return b"fake file " + file_name.encode()


def _scope_key(scope: JSONDict | None) -> str:
    scope = dict(scope) if scope else {"type": "default"}
    for key in ("chat_id", "user_id"):
        value = scope.get(key)
        if isinstance(value, str) and _INT_RE.match(value):
            scope[key] = int(value)
    return json.dumps(scope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _bad("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value)
    raise _bad(f"expected an integer, got {value!r}")


def _int_param(params: JSONDict, key: str, default: int) -> int:
    value = params.get(key)
    if value is None or value == "":
        return default
    return _as_int(value)


def _float_param(params: JSONDict, key: str, default: float) -> float:
    value = params.get(key)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"parameter {key!r} must be a number") from None


def _bool_param(params: JSONDict, key: str) -> bool:
    value = params.get(key)
    if isinstance(value, str):
        return value.lower() in {"true", "1"}
    return bool(value)


def _parse_mode(params: JSONDict) -> str | None:
    mode = params.get("parse_mode")
    if mode is None or mode == "":
        return None
    if not isinstance(mode, str):
        raise _bad("unsupported parse_mode")
    normal = {"html": "HTML", "markdownv2": "MarkdownV2", "markdown": "Markdown"}.get(mode.lower())
    if normal is None:
        raise _bad(f"unsupported parse_mode {mode!r}")
    return normal


def _reply_markup(params: JSONDict) -> JSONDict | None:
    markup = params.get("reply_markup")
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad(
                "can't parse inline keyboard markup: "
                'field "inline_keyboard" must be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                _check_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad("can't parse reply keyboard markup JSON object")
    elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
        raise _bad("can't parse reply keyboard markup JSON object")
    return markup


_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not any(key in button for key in _INLINE_ACTIONS):
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT
    ):
        raise _bad("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise _bad("BUTTON_URL_INVALID")


def _markup_equal(a: JSONDict | None, b: JSONDict | None) -> bool:
    def norm(markup: JSONDict | None) -> str:
        if not markup or not markup.get("inline_keyboard"):
            return ""
        return json.dumps(markup["inline_keyboard"], sort_keys=True)

    return norm(a) == norm(b)


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


def _media_fields(file: FakeFile, caption: str | None) -> JSONDict:
    fields: JSONDict = {file.kind: file.media_dict()}
    if caption:
        fields["caption"] = caption
    return fields


def _content_fields(message: JSONDict) -> JSONDict:
    keys = (
        "text",
        "caption",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
        "animation",
        "contact",
        "sticker",
        "location",
    )
    return {k: json.loads(json.dumps(message[k])) for k in keys if k in message}


async def _read_params(request: web.Request) -> JSONDict:
    """Collect the parameters of a Bot API request from the query string and the body."""
    params: JSONDict = dict(request.query)
    uploads: dict[str, UploadedFile] = {}
    content_type = request.content_type
    if request.can_read_body:
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad("can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise _bad("request body must be a JSON object")
            params.update(body)
        elif content_type == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    data = await part.read(decode=False)
                    uploads[part.name] = UploadedFile(
                        part.name, part.filename, part.headers.get("Content-Type"), bytes(data)
                    )
                else:
                    params[part.name] = await part.text()
        elif content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    params = _normalize(params)
    return _attach_uploads(params, uploads)


def _normalize(params: JSONDict) -> JSONDict:
    out: JSONDict = {}
    for key, value in params.items():
        out[key] = _normalize_value(key, value)
    return out


def _normalize_value(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in _INT_FIELDS and _INT_RE.match(value.strip()):
        return int(value)
    if key in _BOOL_FIELDS and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return value


def _attach_uploads(params: JSONDict, uploads: dict[str, UploadedFile]) -> JSONDict:
    """Replace ``attach://<name>`` references (aiogram's way) by the uploaded files; a file
    sent directly in the field it belongs to (``document=<file>``) becomes that field."""
    if not uploads:
        return params
    referenced: set[str] = set()

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("attach://"):
            name = value.removeprefix("attach://")
            if name in uploads:
                referenced.add(name)
                return uploads[name]
            return value
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    resolved = {k: resolve(v) for k, v in params.items()}
    for name, upload in uploads.items():
        if name not in referenced and name not in resolved:
            resolved[name] = upload
    return resolved


# --------------------------------------------------------------------------- text markup
#
# Telegram parses "HTML", "MarkdownV2" and the legacy "Markdown" server-side and answers
# 400 "Bad Request: can't parse entities: ..." on malformed input. The parsers below follow
# the behaviour of Telegram's own parser (tdlib's MessageEntity.cpp) closely enough to
# reject what Telegram rejects, with the same messages and byte offsets, and return the
# visible text. They do not build the entity list.

_SPACES = " \t\r\n\v\f"
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _render_markup(text: str, parse_mode: str | None) -> str:
    if parse_mode == "HTML":
        return _parse_html(text)
    if parse_mode == "MarkdownV2":
        return _parse_markdown_v2(text)
    if parse_mode == "Markdown":
        return _parse_markdown(text)
    return text


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_html_entity(text: str, start: int) -> tuple[str, int] | None:
    """Decode ``&...`` at ``start`` the way Telegram does; ``None`` means a literal "&"."""
    n = len(text)
    i = start + 1
    if i < n and text[i] == "#":
        i += 1
        digits = "0123456789"
        base = 10
        if i < n and text[i] in "xX":
            i += 1
            digits, base = "0123456789abcdefABCDEF", 16
        begin = i
        while i < n and text[i] in digits:
            i += 1
        if i == begin:
            return None
        code = int(text[begin:i], base)
        if code == 0 or code > 0x10FFFF:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise _EntityError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(code)
    else:
        begin = i
        while i < n and text[i].isascii() and text[i].isalpha():
            i += 1
        char_or_none = _HTML_NAMED.get(text[begin:i])
        if char_or_none is None:
            return None
        char = char_or_none
    if i < n and text[i] == ";":
        i += 1
    return char, i


def _unescape_html(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            decoded = _decode_html_entity(value, i)
            if decoded is not None:
                out.append(decoded[0])
                i = decoded[1]
                continue
        out.append(value[i])
        i += 1
    return "".join(out)


def _parse_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                i = decoded[1]
                continue
        if c != "<":
            out.append(c)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            i += 1
            if not stack:
                raise _EntityError(
                    f"Unexpected end tag at byte offset {_byte_offset(text, begin)}"
                )
            j = i
            while j < n and text[j] not in _SPACES and text[j] != ">":
                j += 1
            name = text[i:j].lower()
            while j < n and text[j] in _SPACES:
                j += 1
            if j >= n or text[j] != ">":
                raise _EntityError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            expected = stack[-1]
            if name and name != expected:
                raise _EntityError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{expected}>", found "</{name}>"'
                )
            stack.pop()
            i = j + 1
            continue
        j = i
        while j < n and text[j] not in _SPACES and text[j] != ">":
            j += 1
        if j >= n:
            raise _EntityError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        name = text[i:j].lower()
        if name not in _HTML_TAGS:
            raise _EntityError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}'
            )
        attributes, i = _parse_html_attributes(text, j, name, begin)
        if name == "span" and not attributes.get("class", "").startswith("tg-spoiler"):
            offset = _byte_offset(text, begin)
            raise _EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        stack.append(name)
    if stack:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _parse_html_attributes(text: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse attributes from ``i`` up to and including ">"; return them and the next index."""
    n = len(text)
    attributes: dict[str, str] = {}
    while True:
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise _EntityError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        if text[i] == ">":
            return attributes, i + 1
        start = i
        while i < n and text[i] not in _SPACES and text[i] not in "=>":
            i += 1
        name = text[start:i].lower()
        if not name:
            offset = _byte_offset(text, begin)
            raise _EntityError(f'Empty attribute name in the tag "{tag}" at byte offset {offset}')
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n or text[i] != "=":
            attributes[name] = ""
            continue
        i += 1
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise _EntityError(
                f'Unclosed start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        if text[i] in "\"'":
            end = text.find(text[i], i + 1)
            if end < 0:
                raise _EntityError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            attributes[name] = _unescape_html(text[i + 1 : end])
            i = end + 1
            continue
        start = i
        while i < n and text[i].isascii() and (text[i].isalnum() or text[i] in ".-"):
            i += 1
        if i >= n or (text[i] not in _SPACES and text[i] != ">"):
            raise _EntityError(
                f"Unexpected end of name token at byte offset {_byte_offset(text, start)}"
            )
        attributes[name] = text[start:i]


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_CODE = frozenset({"Code", "Pre", "PreCode"})


def _mdv2_escapes(text: str, i: int) -> bool:
    return text[i] == "\\" and i + 1 < len(text) and 0 < ord(text[i + 1]) <= 126


def _parse_markdown_v2(text: str) -> str:
    out: list[str] = []
    stack: list[tuple[str, int]] = []  # (entity type, byte offset of its start)
    n = len(text)
    i = 0
    line_quoted = False
    quote_base = 0  # entities opened inside a block quote must close before it ends
    marker_at = -1  # len(out) when the last quote marker was consumed
    while i < n:
        c = text[i]
        top = stack[-1][0] if stack else None
        in_code = top in _MDV2_CODE
        at_line_start = (not out or out[-1] in "\r\n") and marker_at != len(out)
        if not in_code and at_line_start:
            marker = 3 if text.startswith("**>", i) else 1 if c == ">" else 0
            if line_quoted and not marker and len(stack) > quote_base:
                kind, offset = stack[-1]
                raise _EntityError(f"Can't find end of {kind} entity at byte offset {offset}")
            if marker and not line_quoted:
                quote_base = len(stack)
            line_quoted = bool(marker)
            if marker:
                marker_at = len(out)
                i += marker
                continue
        if _mdv2_escapes(text, i):
            out.append(text[i + 1])
            i += 2
            continue
        if c not in ("`" if in_code else _MDV2_RESERVED):
            out.append(c)
            i += 1
            continue
        closes = {
            "Bold": c == "*",
            "Italic": c == "_" and not text.startswith("__", i),
            "Code": c == "`",
            "Pre": text.startswith("```", i),
            "PreCode": text.startswith("```", i),
            "TextUrl": c == "]",
            "CustomEmoji": c == "]",
            "Underline": text.startswith("__", i),
            "Strikethrough": c == "~",
            "Spoiler": text.startswith("||", i),
        }.get(top or "", False)
        if closes:
            kind = stack.pop()[0]
            i = _mdv2_close(text, i, kind)
            continue
        begin = i
        if c == "_":
            kind = "Underline" if text.startswith("__", i) else "Italic"
            i += 2 if kind == "Underline" else 1
        elif c == "*":
            kind, i = "Bold", i + 1
        elif c == "~":
            kind, i = "Strikethrough", i + 1
        elif c == "|" and text.startswith("||", i):
            if line_quoted and text[i + 2 : i + 3] in {"", "\n", "\r"}:
                i += 2  # "||" at the end of a quoted line: expandable block quote
                continue
            kind, i = "Spoiler", i + 2
        elif c == "[":
            kind, i = "TextUrl", i + 1
        elif c == "!" and text.startswith("![", i):
            kind, i = "CustomEmoji", i + 2
        elif c == "`" and text.startswith("```", i):
            kind, i = _mdv2_open_pre(text, i + 3)
        elif c == "`":
            kind, i = "Code", i + 1
        else:
            raise _EntityError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        stack.append((kind, _byte_offset(text, begin)))
    if stack:
        kind, offset = stack[-1]
        raise _EntityError(f"Can't find end of {kind} entity at byte offset {offset}")
    return "".join(out)


def _mdv2_open_pre(text: str, i: int) -> tuple[str, int]:
    n = len(text)
    kind = "Pre"
    end = i
    while end < n and text[end] not in _SPACES and text[end] != "`":
        end += 1
    if end != i and end < n and text[end] != "`":
        kind, i = "PreCode", end
    if i < n and text[i] in "\r\n":
        two = i + 1 < n and text[i + 1] in "\r\n" and text[i] != text[i + 1]
        i += 2 if two else 1
    return kind, i


def _mdv2_close(text: str, i: int, kind: str) -> int:
    """Consume the closing marker of ``kind`` at ``i`` (and a link URL); return next index."""
    n = len(text)
    if kind in {"Underline", "Spoiler"}:
        return i + 2
    if kind in {"Pre", "PreCode"}:
        return i + 3
    i += 1
    if kind == "TextUrl":
        if text[i : i + 1] != "(":
            return i
        i += 1
        url_begin = i
        while i < n and text[i] != ")":
            i += 2 if _mdv2_escapes(text, i) else 1
        if i >= n:
            raise _EntityError(
                f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
            )
        return i + 1
    if kind == "CustomEmoji":
        if text[i : i + 1] != "(":
            raise _EntityError("Custom emoji entity must contain a tg://emoji URL")
        url_begin = i + 1
        end = text.find(")", url_begin)
        if end < 0:
            offset = _byte_offset(text, url_begin)
            raise _EntityError(f"Can't find end of a custom emoji URL at byte offset {offset}")
        return end + 1
    return i


def _parse_markdown(text: str) -> str:
    """Legacy "Markdown": *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = text.startswith("```", i)
        i += 3 if is_pre else 1
        end = text.find("```", i) if is_pre else text.find(end_char, i)
        if end < 0:
            raise _EntityError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, begin)}"
            )
        content = text[i:end]
        if is_pre:
            first_line, newline, rest = content.partition("\n")
            if newline and first_line and " " not in first_line:
                content = rest  # ```language\n...```
        out.append(content)
        i = end + (3 if is_pre else 1)
        if c == "[" and text[i : i + 1] == "(":
            close = text.find(")", i)
            if close < 0:
                offset = _byte_offset(text, begin)
                raise _EntityError(
                    f"Can't find end of the entity starting at byte offset {offset}"
                )
            i = close + 1
    return "".join(out)
