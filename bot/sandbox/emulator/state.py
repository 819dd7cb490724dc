"""The server's state (:class:`_ServerState`): the simulated world (users, chats, messages,
files, updates, command menus), the faults switched on, the rate limit's send times, the
listeners, and the few steps every part of the server shares: resolving a call's chat (with
Telegram's 400/403 answers), numbering messages and telling the listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import re
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox.emulator.answers import _ApiError, _bad
from bot.sandbox.emulator.faults import Delay, Hang, Outage, _Failure
from bot.sandbox.emulator.limits import RateLimit
from bot.sandbox.emulator.model import (
    FakeChat,
    FakeFile,
    FakeUser,
    JSONDict,
    Listener,
    SentCall,
    SentMessage,
    ServerEvent,
    ServerStats,
    _Signal,
)
from bot.sandbox.emulator.params import Handler, _Request

log = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"^(\d+):([A-Za-z0-9_-]+)$")


class _ServerState:
    """The state of a :class:`~bot.sandbox.emulator.server.FakeTelegramServer` and the steps
    its parts share."""

    def __init__(
        self,
        token: str | None = None,
        *,
        bot_username: str = "reserve_test_bot",
        bot_first_name: str = "Reserve Test Bot",
        rate_limit: RateLimit | None = None,
        strict: bool = True,
    ) -> None:
        """See :class:`~bot.sandbox.emulator.server.FakeTelegramServer`."""
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

    def _method_table(self) -> dict[str, Handler]:
        """The Bot API methods answered, by canonical name (the server class lists them)."""
        return {}

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

    def _new_message_id(self, chat_id: int) -> int:
        mid = self._next_mid.get(chat_id, 1)
        self._next_mid[chat_id] = mid + 1
        return mid

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
