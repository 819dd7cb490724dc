"""The in-memory side of one broadcast being sent by this process: its counts, the
recipients-per-second rate and the signals between its workers, the service and a stop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Mapping

from bot.services.broadcast.content import ContentPart
from bot.services.broadcast.progress import BroadcastProgress
from storage.broadcast_models import Broadcast, BroadcastStatus, DeliveryState

__all__ = ["BroadcastRun"]


class BroadcastRun:
    """The in-memory side of one broadcast being sent by this process."""

    def __init__(
        self, broadcast: Broadcast, parts: list[ContentPart], counts: Mapping[str, int]
    ) -> None:
        self.id = broadcast.id
        self.parts = parts
        self.rsvp = broadcast.rsvp
        self.total = broadcast.total
        self.sent = counts[DeliveryState.SENT]
        self.blocked = counts[DeliveryState.BLOCKED]
        self.failed = counts[DeliveryState.FAILED]
        self.pending = counts[DeliveryState.PENDING] + counts[DeliveryState.SENDING]
        self.status = BroadcastStatus.RUNNING.value
        self.active = True  # workers take new recipients
        self.sending_done = asyncio.Event()  # the workers have ended
        self.finished = asyncio.Event()  # ``final`` is set
        self.final: BroadcastProgress | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.transient_streak = 0  # transient failures in a row, for the requeue pause
        self._wakeup = asyncio.Event()
        self._marks: deque[tuple[float, int]] = deque([(time.monotonic(), self.processed)])

    @property
    def processed(self) -> int:
        return self.sent + self.blocked + self.failed

    def halt(self, status: str | None = None) -> None:
        """Take no new recipients (``status`` stopped: the officer's stop; None: shutdown)."""
        self.active = False
        if status is not None:
            self.status = status
        self._wakeup.set()

    async def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the run is halted."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    def account(self, state: str) -> None:
        """Count a recorded outcome."""
        if state == DeliveryState.PENDING:
            return
        self.pending -= 1
        if state == DeliveryState.SENT:
            self.sent += 1
        elif state == DeliveryState.BLOCKED:
            self.blocked += 1
        else:
            self.failed += 1
        now = time.monotonic()
        self._marks.append((now, self.processed))
        while len(self._marks) > 2 and self._marks[1][0] < now - 10.0:
            self._marks.popleft()

    def snapshot(self, *, final: bool = False) -> BroadcastProgress:
        """The current progress."""
        now = time.monotonic()
        since, base = self._marks[0]
        elapsed = now - since
        rate = (self.processed - base) / elapsed if elapsed > 0.5 else 0.0
        eta = self.pending / rate if rate > 0 else (0.0 if self.pending == 0 else None)
        return BroadcastProgress(
            broadcast_id=self.id,
            status=self.status,
            total=self.total,
            sent=self.sent,
            blocked=self.blocked,
            failed=self.failed,
            pending=self.pending,
            rate=rate,
            eta_seconds=eta,
            final=final,
        )
