"""The writer of the delivery queue: writes of all running broadcasts go through one writer
task that groups whatever is waiting into one transaction ("group commit"), so SQLite sees one
writer and the queue costs about one commit per recipient at most. A worker's request records
the outcome of its previous recipient and claims its next one in the same transaction (see
:mod:`bot.services.broadcast` for why)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog

from bot.services.delivery import mark_blocked
from storage.broadcast_repo import ClaimedDelivery, DeliveryResult
from storage.db import Database

__all__ = ["QueueWriter"]

log = structlog.get_logger(__name__)


@dataclass(eq=False, slots=True)
class _Op:
    """A worker's request to the writer: record ``result`` (if any), make ``blocked_user``
    inactive (if any), and claim the next pending delivery of ``broadcast_id`` if ``claim``."""

    broadcast_id: int
    result: DeliveryResult | None
    blocked_user: int | None
    claim: bool
    future: asyncio.Future[ClaimedDelivery | None] = field(repr=False)


class QueueWriter:
    """Writes the delivery queue for every running broadcast: the requests that arrive while a
    transaction is being committed are grouped into the next one ("group commit")."""

    def __init__(
        self, db: Database, linger: float = 0.0, retries: int = 5, backoff: float = 0.5
    ) -> None:
        self.db = db
        self.linger = linger
        self.retries = retries
        self.backoff = backoff
        self._ops: list[_Op] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(
        self,
        broadcast_id: int,
        result: DeliveryResult | None,
        *,
        blocked_user: int | None = None,
        claim: bool,
    ) -> ClaimedDelivery | None:
        """Record ``result`` and claim the next delivery in one transaction; returns the
        claimed delivery, or None when nothing is pending (or ``claim`` is False).

        Raises:
            SQLAlchemyError: the database refused ``retries`` times in a row.
        """
        if result is None and not claim:
            return None
        loop = asyncio.get_running_loop()
        op = _Op(broadcast_id, result, blocked_user, claim, loop.create_future())
        self._ops.append(op)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(), name="broadcast-writer")
        return await asyncio.shield(op.future)

    async def _drain(self) -> None:
        while self._ops:
            if self.linger:
                await asyncio.sleep(self.linger)
            ops, self._ops = self._ops, []
            try:
                claimed = await self._commit_with_retries(ops)
            except Exception as exc:  # handed to every waiting worker
                for op in ops:
                    if not op.future.done():
                        op.future.set_exception(exc)
                continue
            for op in ops:
                if not op.future.done():
                    op.future.set_result(claimed.get(id(op)))
        self._task = None

    async def _commit_with_retries(self, ops: list[_Op]) -> dict[int, ClaimedDelivery]:
        for attempt in range(self.retries):
            try:
                return await self._commit(ops)
            except Exception:
                if attempt == self.retries - 1:
                    raise
                log.warning("broadcast queue write failed, retrying", exc_info=True)
                await asyncio.sleep(self.backoff * 2**attempt)
        raise AssertionError  # pragma: no cover - the loop returns or raises

    async def _commit(self, ops: list[_Op]) -> dict[int, ClaimedDelivery]:
        claimed: dict[int, ClaimedDelivery] = {}
        async with self.db.session() as repo:
            broadcasts = repo.broadcasts
            await broadcasts.finish([op.result for op in ops if op.result is not None])
            for op in ops:
                if op.blocked_user is not None:
                    await mark_blocked(repo, op.blocked_user)
            wanted: dict[int, list[_Op]] = {}
            for op in ops:
                if op.claim:
                    wanted.setdefault(op.broadcast_id, []).append(op)
            for broadcast_id, claimers in wanted.items():
                rows = await broadcasts.claim(broadcast_id, len(claimers))
                for op, row in zip(claimers, rows, strict=False):
                    claimed[id(op)] = row
        return claimed
