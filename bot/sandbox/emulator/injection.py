"""Switching faults on and off (``fail_next``, ``delay_answers``, ``hang``, ``outage``,
``clear_faults``) and how a request meets them on its way through the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

from aiohttp import web

from bot.sandbox.emulator.answers import _ApiError, _default_description, _HtmlError
from bot.sandbox.emulator.faults import OUTAGE_MODES, Delay, Hang, Outage, _Failure
from bot.sandbox.emulator.model import FakeChat, FakeUser, JSONDict, _chat_id_of
from bot.sandbox.emulator.state import _ServerState


class _FaultInjection(_ServerState):
    """The fault switches of the server and their checks on each request."""

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

    # ------------------------------------------------------------------ on each request

    def _current_outage(self) -> Outage | None:
        outage = self._outage
        if outage is None or not outage.active(time.monotonic()):
            return None
        outage.answered += 1
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
