"""Delivery of messages within Telegram's limits, independent of any bot framework.

Limits (Bot API FAQ, "My bot is hitting limits"): about 30 messages per second per bot in all,
and about one message per second to the same chat. :class:`RateLimiter` spaces sends to keep
under both; a 429 answer's ``retry_after`` pauses every send (:meth:`RateLimiter.pause`).
Retries are one policy for every Bot API call, applied by the transport (the aiogram one is
:class:`bot.telegram.RetryMiddleware`); what reaches a service has outlived it and is one of:
:class:`RecipientBlockedError` for a 403 (the user blocked the bot: :func:`mark_blocked` is the
one rule for that), :class:`RetryAfterError` for a 429, and :class:`DeliveryError` for anything
else, ``retryable`` when the failure was transient (network, 5xx) and the same message may be
sent again later, not when Telegram refused the request itself (400).

Lanes. Every send waits in one of three lanes (:class:`Lane`), chosen by the context variable
:data:`send_lane` that bulk senders set (:func:`sending_in`): replies to users
(``INTERACTIVE``, the default) go before reminders (``REMINDER``), which go before broadcasts
(``BROADCAST``). A lane is served only when no waiter of a higher lane can go, so a reply never
queues behind a broadcast's waiting sends; all lanes share one budget, so the total stays within
the limits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

from storage.repo import Repo


class DeliveryError(Exception):
    """A message could not be delivered (after the transport's retry policy).

    ``retryable`` is True for a transient failure (network, timeout, 5xx: the same message may
    go through later) and False when sending the same request again cannot help (Telegram
    answered 400 Bad Request: chat not found, malformed text, a wrong file_id...).
    """

    def __init__(self, message: str = "", *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class RecipientBlockedError(DeliveryError):
    """Telegram answered 403: the user blocked the bot or deleted the account."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message, retryable=False)


class RetryAfterError(DeliveryError):
    """Telegram answered 429 "Too Many Requests" and the request was not repeated (any more):
    every send should wait ``seconds`` (the answer's ``retry_after``)."""

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry after {seconds:g} s", retryable=True)
        self.seconds = seconds


class Notifier(Protocol):
    """Sends reminders about plan items to a chat, with buttons to act on them."""

    async def send_notices(
        self, chat_id: int, text: str, items: Sequence[tuple[int, str]]
    ) -> None:
        """Send ``text`` (HTML) to ``chat_id`` as one message with buttons for ``items``
        ((plan item id, title), in the order the text numbers them): «Отметить выполненным» /
        «Напомнить позже» for each.

        Raises:
            RecipientBlockedError: the user blocked the bot (403).
            DeliveryError: any other failure (``retryable`` when transient).
        """
        ...


async def mark_blocked(repo: Repo, user_id: int) -> None:
    """The one rule for a 403 ("bot was blocked by the user", or a deleted account): the user
    becomes inactive (no reminders, digests or broadcasts; unblocking and writing to the bot
    reactivates them) and their pending reminders are skipped. Runs in ``repo``'s transaction.
    """
    await repo.users.set_active(user_id, False)
    await repo.notices.skip_for_user(user_id)


class Lane(IntEnum):
    """Priority of a send; a lower value goes first."""

    INTERACTIVE = 0
    REMINDER = 1
    BROADCAST = 2


#: The lane of the sends made in the current context (task); replies by default.
send_lane: ContextVar[Lane] = ContextVar("send_lane", default=Lane.INTERACTIVE)


@contextlib.contextmanager
def sending_in(lane: Lane) -> Iterator[None]:
    """Make the sends of this block (in this task) wait in ``lane``."""
    token = send_lane.set(lane)
    try:
        yield
    finally:
        send_lane.reset(token)


@dataclass(eq=False, slots=True)
class _Waiter:
    chat_id: int | None
    future: asyncio.Future[Slot] = field(repr=False)


@dataclass(eq=False, slots=True)
class Slot:
    """One send let go by the limiter: its chat, when it was let go and when its answer came
    back (None while the request is in flight). Report the answer with
    :meth:`RateLimiter.sent`."""

    chat_id: int | None
    granted_at: float
    answered_at: float | None = None


class ArrivalWindow:
    """The global limit counted where Telegram counts it: on the requests' arrival.

    Telegram (and the fake server) count a send when its request arrives, at a moment the bot
    does not see but can bound: no earlier than the limiter let it go (:attr:`Slot.granted_at`)
    and no later than its answer came back (:attr:`Slot.answered_at`). Two sends let go 1/30 s
    apart may arrive together when the first is delayed (a busy machine, a slow network) and
    the second is not, so spacing the grants alone does not keep every window of the server
    within the limit. This rule does: a new send may go at ``now`` only while fewer than
    ``burst`` earlier sends may have arrived after ``now - window``, i.e. fewer than ``burst``
    are in flight or were answered less than ``window`` ago. Whatever the delays, no
    ``window`` of arrivals (sliding, so also any fixed second) then holds more than ``burst``.
    It costs one round trip per ``burst`` sends: ``burst / (window + round trip)`` at most.

    A request unanswered for ``answer_bound`` s (hung) is taken as arrived by then, so that
    hung requests do not stop every send. Pure arithmetic on the times given: no clock.
    """

    def __init__(self, burst: int, window: float, answer_bound: float) -> None:
        self.burst = burst
        self.window = window
        self.answer_bound = answer_bound
        self._recent: list[Slot] = []

    def _expiry(self, slot: Slot) -> float:
        """When ``slot`` stops counting: ``window`` after the latest moment it may arrive."""
        arrived_by = slot.answered_at
        if arrived_by is None:
            arrived_by = slot.granted_at + self.answer_bound
        return arrived_by + self.window

    def opens_at(self, now: float) -> float:
        """The earliest moment from ``now`` on when one more send may go (``now`` if at once);
        an answer that comes back meanwhile may make it earlier."""
        recent = [slot for slot in self._recent if self._expiry(slot) > now]
        self._recent = recent
        if len(recent) < self.burst:
            return now
        return min(self._expiry(slot) for slot in recent)

    def take(self, slot: Slot) -> None:
        """Count ``slot`` (granted when :meth:`opens_at` allowed it)."""
        self._recent.append(slot)


class RateLimiter:
    """Spaces sends: at most ``per_second`` in all and one per ``chat_interval`` s per chat.

    ``acquire(chat_id)`` waits until a send may go out and takes its :class:`Slot`; the
    caller reports the answer (or failure) with ``sent(slot)``. Waiters are served by lane
    (:class:`Lane`, from :data:`send_lane` unless given), in arrival order within a lane; a
    waiter whose chat had a send less than ``chat_interval`` ago lets the others pass, so one
    chat never holds up the rest. Time is the event loop's monotonic clock.

    Two rules keep the global limit. Slots are spaced ``interval`` apart on a grid (a slot the
    event loop woke late for is made up by a shorter gap, at most half an interval), with
    ``headroom`` (3 % below ``per_second`` by default) so the pace is even. And the
    :class:`ArrivalWindow` over ``window`` (by default the per-chat interval, i.e. Telegram's
    second) never lets more than ``per_second * window`` sends be in flight or answered within
    the last window: Telegram counts requests as they arrive, and however much the delay from
    a grant to the request's arrival varies (each pair pushed closer together than the limit
    was a 429), no window of arrivals exceeds the limit. The next send to a chat waits
    ``chat_interval`` from the previous one's answer, with ``chat_headroom`` (10 %) above it.
    With Telegram's limits on a faster clock K (the fake server's ``clock_speed``),
    ``RateLimiter(30 * K, 1 / K)`` keeps the same 30 per (shorter) second:
    :meth:`for_telegram`.
    """

    @classmethod
    def for_telegram(cls, clock_speed: float = 1.0) -> RateLimiter:
        """The limiter for Telegram's limits (Bot API FAQ: about 30 messages a second in all,
        one a second to a chat), on a clock ``clock_speed`` times faster than real time
        (TELEGRAM_CLOCK_SPEED, for a fake Bot API server's shortened second; 1 = Telegram).
        A 429's ``retry_after`` is still waited in real seconds: longer than needed on a faster
        clock, never shorter."""
        return cls(30.0 * clock_speed, 1.0 / clock_speed)

    def __init__(
        self,
        per_second: float = 30.0,
        chat_interval: float = 1.0,
        max_chats: int = 100_000,
        *,
        headroom: float = 0.03,
        chat_headroom: float = 0.1,
        window: float | None = None,
    ) -> None:
        self.per_second = per_second
        self.interval = 1.0 / (per_second * (1.0 - headroom))
        self.chat_interval = chat_interval * (1.0 + chat_headroom)
        span = chat_interval if window is None else window
        self.arrivals = ArrivalWindow(
            burst=max(1, round(per_second * span)), window=span, answer_bound=10 * span
        )
        self._next_global = 0.0
        self._paused_until = 0.0
        self._next_chat: OrderedDict[int, float] = OrderedDict()
        self._max_chats = max_chats
        self._queues: tuple[deque[_Waiter], ...] = tuple(deque() for _ in Lane)
        self._pump: asyncio.Task[None] | None = None
        self._timer: asyncio.Future[None] | None = None
        self._waiting_for_answer = False

    async def acquire(self, chat_id: int | None, lane: Lane | None = None) -> Slot:
        """Wait for a slot for one message to ``chat_id`` (None: no per-chat limit) and
        return it; pass it to :meth:`sent` once the request is answered or has failed.

        ``lane`` defaults to the context's :data:`send_lane`.
        """
        loop = asyncio.get_running_loop()
        waiter = _Waiter(chat_id, loop.create_future())
        self._queues[send_lane.get() if lane is None else lane].append(waiter)
        if self._pump is None or self._pump.done():
            self._pump = loop.create_task(self._serve(), name="rate-limiter")
        elif not self._waiting_for_answer:
            self._wake()
        try:
            return await waiter.future
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                for queue in self._queues:
                    if waiter in queue:
                        queue.remove(waiter)
            raise

    def sent(self, slot: Slot) -> None:
        """Note that ``slot``'s request got its answer (or failed): it arrived by now, which
        bounds its place in the :class:`ArrivalWindow`, and the next send to its chat waits
        ``chat_interval`` from now, however long the request took on its way (a cold
        connection)."""
        with contextlib.suppress(RuntimeError):  # no running loop: nothing waits
            now = asyncio.get_running_loop().time()
            slot.answered_at = now
            if slot.chat_id is not None:
                chats = self._next_chat
                chats[slot.chat_id] = max(chats.get(slot.chat_id, 0.0), now + self.chat_interval)
            if self._waiting_for_answer:
                self._wake()

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` (a 429's ``retry_after``)."""
        with contextlib.suppress(RuntimeError):  # no running loop: nothing waits
            now = asyncio.get_running_loop().time()
            self._paused_until = max(self._paused_until, now + seconds)

    def waiting(self, lane: Lane | None = None) -> int:
        """How many sends wait for a slot (in ``lane``, or in all lanes)."""
        if lane is None:
            return sum(len(q) for q in self._queues)
        return len(self._queues[lane])

    # ------------------------------------------------------------------ the grant loop

    async def _serve(self) -> None:
        """Hand out slots while anyone waits, one every ``interval`` at most."""
        loop = asyncio.get_running_loop()
        while any(self._queues):
            now = loop.time()
            start = max(self._next_global, self._paused_until)
            if start > now:  # nobody may go before ``start``: newcomers need not wake us
                await self._sleep_until(start)
                continue
            opens = self.arrivals.opens_at(now)
            if opens > now:  # the window is full: an answer may open it earlier
                await self._sleep_until(opens, for_answer=True)
                continue
            waiter, ready_at = self._pick(now)
            if waiter is None:  # every waiter's chat is busy; a newcomer may not be
                if ready_at != float("inf"):
                    await self._sleep_until(ready_at, for_arrival=True)
                continue
            # Keep to the grid of slots when the loop woke a little late, so that timer
            # lateness costs no throughput, but make up for at most half a slot (and never
            # beyond the window above): an idle spell banks nothing.
            self._next_global = max(start, now - self.interval / 2) + self.interval
            slot = Slot(waiter.chat_id, now)
            self.arrivals.take(slot)
            if waiter.chat_id is not None:
                chats = self._next_chat
                chats[waiter.chat_id] = now + self.chat_interval
                chats.move_to_end(waiter.chat_id)
                while len(chats) > self._max_chats:
                    chats.popitem(last=False)
            waiter.future.set_result(slot)
        self._pump = None

    def _pick(self, now: float) -> tuple[_Waiter | None, float]:
        """The first waiter of the highest lane whose chat may receive now; else the moment
        the earliest chat becomes free (infinity when nobody waits any more)."""
        earliest = float("inf")
        for queue in self._queues:
            stale = False
            for waiter in queue:
                if waiter.future.done():  # cancelled, not yet taken out by its task
                    stale = True
                    continue
                chat = waiter.chat_id
                ready = 0.0 if chat is None else self._next_chat.get(chat, 0.0)
                if ready <= now:
                    queue.remove(waiter)
                    return waiter, now
                earliest = min(earliest, ready)
            if stale:
                kept = [w for w in queue if not w.future.done()]
                queue.clear()
                queue.extend(kept)
        return None, earliest

    async def _sleep_until(
        self, when: float, *, for_arrival: bool = False, for_answer: bool = False
    ) -> None:
        """Sleep until ``when``, or until a new waiter arrives (``for_arrival``) or an answer
        comes back (``for_answer``), whichever is asked for (:meth:`_wake`)."""
        loop = asyncio.get_running_loop()
        timer: asyncio.Future[None] = loop.create_future()
        self._timer = timer if for_arrival or for_answer else None
        self._waiting_for_answer = for_answer
        handle = loop.call_at(when, _resolve, timer)
        try:
            await timer
        finally:
            self._timer = None
            self._waiting_for_answer = False
            handle.cancel()

    def _wake(self) -> None:
        if self._timer is not None:
            _resolve(self._timer)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
