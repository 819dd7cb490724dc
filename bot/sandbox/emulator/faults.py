"""The faults a test can switch on (see :class:`~bot.sandbox.emulator.injection._FaultInjection`):
injected error answers (:class:`_Failure`), late answers (:class:`Delay`), held calls
(:class:`Hang`) and outages (:class:`Outage`, one of :data:`OUTAGE_MODES`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass

from bot.sandbox.emulator.model import WaitTimeoutError, _Signal


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
