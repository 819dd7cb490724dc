"""Queries for monitoring (``/healthz``, ``/metrics``, ``python -m bot check``): a database ping
(:func:`ping`), and the lengths of the durable send queues (:class:`MonitoringRepo`,
``repo.monitoring`` of :class:`storage.repo.Repo`: two counts on indexed columns, cheap enough
to run at every scrape)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage.broadcast_models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryState
from storage.models import NOTICE_IS_PENDING, Notice


@dataclass(frozen=True, slots=True)
class QueueLengths:
    """``reminders``: notices pending whose moment has come (``not_before`` <= now);
    ``broadcast``: recipients of running broadcasts not yet sent to (pending or in flight)."""

    reminders: int
    broadcast: int


class MonitoringRepo:
    """Read-only counts for the metrics."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def queue_lengths(self, now: datetime) -> QueueLengths:
        """The queue lengths at ``now`` (aware UTC); read-only."""
        reminders = await self.s.scalar(
            select(func.count())
            .select_from(Notice)
            .where(NOTICE_IS_PENDING, Notice.not_before <= now)
        )
        broadcast = await self.s.scalar(
            select(func.count())
            .select_from(BroadcastDelivery)
            .join(Broadcast, Broadcast.id == BroadcastDelivery.broadcast_id)
            .where(
                Broadcast.status == BroadcastStatus.RUNNING,
                BroadcastDelivery.state.in_((DeliveryState.PENDING, DeliveryState.SENDING)),
            )
        )
        return QueueLengths(reminders=int(reminders or 0), broadcast=int(broadcast or 0))


async def ping(engine: AsyncEngine) -> None:
    """``SELECT 1`` on a connection of ``engine``; raises whatever the driver raises."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
