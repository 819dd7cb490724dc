"""What a test reads back from the server: the messages a chat received, command menus,
pending updates, and the waits (``wait_for_message``, ``wait_for_call``, ``wait_polling``)
whose timeout errors explain what did happen instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from bot.sandbox.emulator.model import (
    FakeChat,
    FakeFile,
    FakeUser,
    JSONDict,
    SentCall,
    SentMessage,
    WaitTimeoutError,
    _chat_id_of,
)
from bot.sandbox.emulator.params import _scope_key
from bot.sandbox.emulator.state import _ServerState


class _Inspection(_ServerState):
    """Reading the world back and waiting for the bot."""

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


def _callable_name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


def _describe_call(call: SentCall) -> str:
    where = "" if call.chat_id is None else f" chat={call.chat_id}"
    if call.ok:
        mid = "" if call.message_id is None else f" message_id={call.message_id}"
        return f"{call.method}{where}{mid} ok"
    return f"{call.method}{where} -> {call.error_code} {call.description}"
