"""Delivery of messages within Telegram's limits, independent of any bot framework.

Limits (Bot API FAQ, "My bot is hitting limits"): about 30 messages per second per bot in all,
and about one message per second to the same chat. :class:`RateLimiter` spaces sends to keep
under both; a 429 answer's ``retry_after`` pauses every send (:meth:`RateLimiter.pause`).
The transport raises :class:`RecipientBlockedError` for a 403 (the user blocked the bot) and
:class:`DeliveryError` for anything else that did not go through.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Protocol


class DeliveryError(Exception):
    """A message could not be delivered (after the transport's own retries)."""


class RecipientBlockedError(DeliveryError):
    """Telegram answered 403: the user blocked the bot or deleted the account."""


class Notifier(Protocol):
    """Sends a reminder about a plan item to a chat, with buttons to act on it."""

    async def send_reminder(self, chat_id: int, text: str, item_id: int) -> None:
        """Send ``text`` (HTML) to ``chat_id`` with «Отметить выполненным» / «Напомнить позже».

        Raises:
            RecipientBlockedError: the user blocked the bot (403).
            DeliveryError: any other failure.
        """
        ...


class RateLimiter:
    """Spaces sends: at most ``per_second`` in all and one per ``chat_interval`` s per chat.

    ``acquire(chat_id)`` waits until a send may go out and reserves its slot; it is fair in the
    order callers arrive. Time is ``time.monotonic`` seconds.
    """

    def __init__(
        self, per_second: float = 30.0, chat_interval: float = 1.0, max_chats: int = 100_000
    ) -> None:
        self.interval = 1.0 / per_second
        self.chat_interval = chat_interval
        self._next_global = 0.0
        self._paused_until = 0.0
        self._next_chat: OrderedDict[int, float] = OrderedDict()
        self._max_chats = max_chats
        self._lock = asyncio.Lock()

    async def acquire(self, chat_id: int | None) -> None:
        """Wait for a slot for one message to ``chat_id`` (None: no per-chat limit)."""
        async with self._lock:
            now = time.monotonic()
            at = max(now, self._next_global, self._paused_until)
            if chat_id is not None:
                at = max(at, self._next_chat.get(chat_id, 0.0))
                self._next_chat[chat_id] = at + self.chat_interval
                self._next_chat.move_to_end(chat_id)
                while len(self._next_chat) > self._max_chats:
                    self._next_chat.popitem(last=False)
            self._next_global = at + self.interval
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (a 429's ``retry_after``)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
