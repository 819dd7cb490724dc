"""What the officer sees of a broadcast: :class:`BroadcastProgress` snapshots of a run (and
the callbacks that get them) and the :class:`BroadcastResults` report of outcomes and RSVP
answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from storage.broadcast_models import Broadcast

__all__ = ["BroadcastProgress", "BroadcastResults", "ProgressCallback", "ProgressFactory"]


@dataclass(frozen=True, slots=True)
class BroadcastProgress:
    """A snapshot of a broadcast, for the officer's progress message.

    ``pending`` counts the recipients not yet done (waiting or being sent); ``rate`` is
    recipients per second over the last ten seconds of this run (0 before any); ``eta_seconds``
    the time left at that rate (None when unknown); ``final`` marks the last snapshot of a run.
    """

    broadcast_id: int
    status: str
    total: int
    sent: int
    blocked: int
    failed: int
    pending: int
    rate: float = 0.0
    eta_seconds: float | None = None
    final: bool = False

    @property
    def processed(self) -> int:
        """Recipients done with, whatever the outcome."""
        return self.sent + self.blocked + self.failed

    @property
    def fraction(self) -> float:
        """Share of recipients done with, 0..1 (1 for a broadcast with no recipients)."""
        return self.processed / self.total if self.total else 1.0


ProgressCallback = Callable[[BroadcastProgress], Awaitable[None]]
ProgressFactory = Callable[[Broadcast], ProgressCallback | None]


@dataclass(frozen=True, slots=True)
class BroadcastResults:
    """A broadcast's report: outcome counts and, for RSVP broadcasts, the answers."""

    broadcast: Broadcast
    sent: int
    blocked: int
    failed: int
    pending: int
    yes: int
    no: int

    @property
    def total(self) -> int:
        """Number of recipients."""
        return self.broadcast.total

    @property
    def status(self) -> str:
        """The broadcast's status."""
        return self.broadcast.status
