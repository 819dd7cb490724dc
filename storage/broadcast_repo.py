"""Every query of the broadcasts feature (:mod:`storage.broadcast_models`), over one session.

:class:`BroadcastRepo` is reached as ``repo.broadcasts`` on a :class:`storage.repo.Repo`: like
the other repositories it works inside the caller's transaction and never commits. The delivery
queue is worked through with :meth:`BroadcastRepo.claim` (pending -> sending) and
:meth:`BroadcastRepo.finish` (sending -> sent | blocked | failed | pending).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcast_models import (
    Broadcast,
    BroadcastAnswer,
    BroadcastDelivery,
    BroadcastStatus,
    DeliveryState,
)
from storage.dialect import insert_ignore
from storage.models import User, utcnow

_BROADCASTS: Table = Broadcast.__table__  # type: ignore[assignment]
_DELIVERIES: Table = BroadcastDelivery.__table__  # type: ignore[assignment]
_ANSWERS: Table = BroadcastAnswer.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Recipient:
    """A user a broadcast can reach: their id and their Telegram chat."""

    user_id: int
    chat_id: int


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery row taken for sending (now ``sending``)."""

    id: int
    user_id: int
    chat_id: int
    attempts: int


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one claimed delivery, for :meth:`BroadcastRepo.finish`.

    ``state`` is ``sent``, ``blocked``, ``failed``, or ``pending`` (put back unsent: the
    broadcast was stopped while the delivery waited to be retried); ``tries`` send attempts
    are added to the row's count.
    """

    id: int
    state: str
    tries: int = 1
    error: str | None = None
    at: datetime | None = None


class BroadcastRepo:
    """Broadcasts, their delivery queue and RSVP answers."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    # ------------------------------------------------------------------ broadcasts

    async def create(
        self,
        *,
        created_by: int | None,
        content: dict[str, Any],
        audience: dict[str, Any],
        rsvp: bool,
        at: datetime | None = None,
    ) -> Broadcast:
        """Insert a draft broadcast with no recipients yet and return it with its id."""
        broadcast = Broadcast(**self._row(created_by, content, audience, rsvp, at, None))
        self.s.add(broadcast)
        await self.s.flush()
        return broadcast

    async def create_once(
        self,
        *,
        draft_key: str,
        created_by: int | None,
        content: dict[str, Any],
        audience: dict[str, Any],
        rsvp: bool,
        at: datetime | None = None,
    ) -> Broadcast | None:
        """As :meth:`create`, under the draft's idempotency key ``draft_key`` (unique): when a
        broadcast with this key exists, nothing is inserted and None is returned.

        One ``INSERT … ON CONFLICT (draft_key) DO NOTHING``, so two presses racing (two
        transactions, two processes) cannot both insert: on PostgreSQL the second waits for the
        first to commit and then inserts nothing; SQLite has one writer.
        """
        row = self._row(created_by, content, audience, rsvp, at, draft_key)
        if not await insert_ignore(self.s, _BROADCASTS, [row], ["draft_key"]):
            return None
        return await self.by_draft_key(draft_key)

    @staticmethod
    def _row(
        created_by: int | None,
        content: dict[str, Any],
        audience: dict[str, Any],
        rsvp: bool,
        at: datetime | None,
        draft_key: str | None,
    ) -> dict[str, Any]:
        return {
            "created_by": created_by,
            "created_at": at or utcnow(),
            "status": BroadcastStatus.DRAFT.value,
            "content": content,
            "audience": audience,
            "rsvp": rsvp,
            "total": 0,
            "draft_key": draft_key,
        }

    async def by_draft_key(self, draft_key: str) -> Broadcast | None:
        """The broadcast created from the draft with this idempotency key, or None."""
        return await self.s.scalar(
            select(Broadcast)
            .where(Broadcast.draft_key == draft_key)
            .execution_options(populate_existing=True)
        )

    async def add_recipients(self, broadcast_id: int, recipients: Iterable[Recipient]) -> int:
        """Queue ``recipients`` (pending), skipping users already queued; sets ``total``.

        Idempotent: adding the same users again changes nothing. Returns how many were new.
        """
        rows = [
            {
                "broadcast_id": broadcast_id,
                "user_id": r.user_id,
                "chat_id": r.chat_id,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
            }
            for r in recipients
        ]
        added = await insert_ignore(self.s, _DELIVERIES, rows, ["broadcast_id", "user_id"])
        total = await self.s.scalar(
            select(func.count())
            .select_from(BroadcastDelivery)
            .where(BroadcastDelivery.broadcast_id == broadcast_id)
        )
        await self.s.execute(
            update(Broadcast).where(Broadcast.id == broadcast_id).values(total=int(total or 0))
        )
        return added

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """The broadcast by id, read afresh from the database, or None."""
        return await self.s.get(Broadcast, broadcast_id, populate_existing=True)

    async def status(self, broadcast_id: int) -> str | None:
        """The broadcast's status, or None when there is no such broadcast."""
        return await self.s.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id))

    async def set_status(
        self,
        broadcast_id: int,
        status: str,
        *,
        only_from: Sequence[str] | None = None,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
    ) -> bool:
        """Move a broadcast to ``status`` (if it is in one of ``only_from``, when given).

        ``started_at`` is written only when the broadcast has none yet; ``finished_at`` when
        given. Returns whether the row changed (one conditional UPDATE, so two callers racing
        cannot both move it).
        """
        values: dict[str, Any] = {"status": status}
        if started_at is not None:
            values["started_at"] = func.coalesce(Broadcast.started_at, started_at)
        if finished_at is not None:
            values["finished_at"] = finished_at
        stmt = update(Broadcast).where(Broadcast.id == broadcast_id)
        if only_from is not None:
            stmt = stmt.where(Broadcast.status.in_(list(only_from)))
        result = await self.s.execute(
            stmt.values(**values).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def finish_if_settled(self, broadcast_id: int, at: datetime) -> bool:
        """Make a ``running`` or ``stopped`` broadcast ``done`` if none of its recipients is
        pending or being sent, in one conditional UPDATE (so a concurrent
        :meth:`requeue_failed` is never overwritten). Returns whether it changed."""
        unsettled = (
            select(_DELIVERIES.c.id)
            .where(
                _DELIVERIES.c.broadcast_id == broadcast_id,
                _DELIVERIES.c.state.in_(
                    [DeliveryState.PENDING.value, DeliveryState.SENDING.value]
                ),
            )
            .exists()
        )
        result = await self.s.execute(
            update(Broadcast)
            .where(
                Broadcast.id == broadcast_id,
                Broadcast.status.in_([BroadcastStatus.RUNNING, BroadcastStatus.STOPPED]),
                ~unsettled,
            )
            .values(status=BroadcastStatus.DONE, finished_at=at)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def requeue_failed(self, broadcast_id: int) -> int:
        """Put the ``failed`` recipients of a ``done`` or ``running`` broadcast back to
        ``pending`` and make it ``running`` (the officer's «Отправить повторно»); returns how
        many. Idempotent: a second call finds none failed and changes nothing. A ``draft`` or
        ``stopped`` broadcast is left alone (0)."""
        moved = await self.s.execute(
            update(Broadcast)
            .where(
                Broadcast.id == broadcast_id,
                Broadcast.status.in_([BroadcastStatus.DONE, BroadcastStatus.RUNNING]),
                select(_DELIVERIES.c.id)
                .where(
                    _DELIVERIES.c.broadcast_id == broadcast_id,
                    _DELIVERIES.c.state == DeliveryState.FAILED.value,
                )
                .exists(),
            )
            .values(status=BroadcastStatus.RUNNING, finished_at=None)
            .execution_options(synchronize_session=False)
        )
        if int(getattr(moved, "rowcount", 0) or 0) != 1:
            return 0
        result = await self.s.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.state == DeliveryState.FAILED,
            )
            .values(state=DeliveryState.PENDING, last_error=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def set_progress_message(
        self, broadcast_id: int, chat_id: int | None, message_id: int | None
    ) -> None:
        """Remember the officer's progress message of the broadcast (None: forget it)."""
        await self.s.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(progress_chat_id=chat_id, progress_message_id=message_id)
        )

    async def with_status(self, status: str) -> Sequence[Broadcast]:
        """Broadcasts in ``status``, oldest first (``running`` ones are resumed at start-up)."""
        rows = await self.s.scalars(
            select(Broadcast).where(Broadcast.status == status).order_by(Broadcast.id)
        )
        return rows.all()

    async def unfinished(self) -> Sequence[Broadcast]:
        """Broadcasts left ``running`` (by a stop or crash of the process), oldest first."""
        return await self.with_status(BroadcastStatus.RUNNING)

    async def recent(self, limit: int = 10) -> Sequence[Broadcast]:
        """The newest broadcasts, newest first."""
        rows = await self.s.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))
        return rows.all()

    async def recipients_of(self, user_ids: Iterable[int]) -> list[Recipient]:
        """Those of ``user_ids`` a broadcast can reach (active, with a Telegram id), by id."""
        wanted = sorted(set(user_ids))
        found: list[Recipient] = []
        for start in range(0, len(wanted), 5000):  # keep under the drivers' parameter limits
            chunk = wanted[start : start + 5000]
            rows = await self.s.execute(
                select(User.id, User.telegram_id).where(
                    User.id.in_(chunk),
                    User.active.is_(True),
                    User.anonymised_at.is_(None),
                    User.telegram_id.is_not(None),
                )
            )
            found += [Recipient(uid, chat) for uid, chat in rows.all() if chat is not None]
        return sorted(found, key=lambda r: r.user_id)

    # ------------------------------------------------------------------ the delivery queue

    async def claim(self, broadcast_id: int, limit: int) -> list[ClaimedDelivery]:
        """Take up to ``limit`` pending deliveries of a ``running`` broadcast, oldest first, and
        mark them ``sending``. Empty when the broadcast is not running or nobody is pending.

        One ``UPDATE … RETURNING`` statement; on both dialects the UPDATE re-checks
        ``state = 'pending'``, so two claimers never get the same row. On SQLite the ids come
        from ``id IN (SELECT … LIMIT n)``. On PostgreSQL they come from a ``MATERIALIZED`` CTE
        that takes the rows ``FOR UPDATE SKIP LOCKED``: as a subquery of the UPDATE, PostgreSQL
        may plan the ``LIMIT n`` to run again for each row it updates (seen with the statistics a
        table keeps after TRUNCATE), each run skipping the rows just updated, so that one claim
        of 41 marked all 100 pending rows ``sending`` and returned 100 — 59 were never sent.
        A materialized CTE runs once.
        """
        if limit <= 0:
            return []
        table = _DELIVERIES
        running = (
            select(_BROADCASTS.c.id)
            .where(
                _BROADCASTS.c.id == broadcast_id,
                _BROADCASTS.c.status == BroadcastStatus.RUNNING.value,
            )
            .exists()
        )
        pick = (
            select(table.c.id)
            .where(
                table.c.broadcast_id == broadcast_id,
                table.c.state == DeliveryState.PENDING.value,
                running,
            )
            .order_by(table.c.id)
            .limit(limit)
        )
        if self.s.get_bind().dialect.name == "postgresql":
            picked = (
                pick.with_for_update(skip_locked=True)
                .cte("picked")
                .prefix_with("MATERIALIZED", dialect="postgresql")
            )
            chosen = table.c.id.in_(select(picked.c.id).scalar_subquery())
        else:
            chosen = table.c.id.in_(pick.scalar_subquery())
        result = await self.s.execute(
            update(table)
            .where(chosen, table.c.state == DeliveryState.PENDING.value)
            .values(state=DeliveryState.SENDING.value)
            .returning(table.c.id, table.c.user_id, table.c.chat_id, table.c.attempts)
        )
        claimed = [ClaimedDelivery(i, u, c, a) for i, u, c, a in result.all()]
        return sorted(claimed, key=lambda d: d.id)

    async def finish(self, results: Sequence[DeliveryResult]) -> None:
        """Record the outcomes of claimed deliveries (one executemany)."""
        if not results:
            return
        table = _DELIVERIES
        stmt = (
            update(table)
            .where(table.c.id == bindparam("d_id"))
            .values(
                state=bindparam("d_state"),
                attempts=table.c.attempts + bindparam("d_tries"),
                last_error=bindparam("d_error"),
                sent_at=bindparam("d_at"),
            )
        )
        await self.s.execute(
            stmt,
            [
                {
                    "d_id": r.id,
                    "d_state": r.state,
                    "d_tries": r.tries,
                    "d_error": r.error[:1000] if r.error else None,
                    "d_at": r.at if r.state == DeliveryState.SENT else None,
                }
                for r in results
            ],
        )

    async def release_in_flight(self, broadcast_id: int) -> int:
        """Put deliveries left ``sending`` (by a process that died while sending them) back to
        ``pending``; returns how many. Call only when no sender works on this broadcast."""
        result = await self.s.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.state == DeliveryState.SENDING,
            )
            .values(state=DeliveryState.PENDING)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def counts(self, broadcast_id: int) -> dict[str, int]:
        """Number of deliveries in each state (every :class:`DeliveryState` is a key)."""
        rows = await self.s.execute(
            select(BroadcastDelivery.state, func.count())
            .where(BroadcastDelivery.broadcast_id == broadcast_id)
            .group_by(BroadcastDelivery.state)
        )
        counts = {state.value: 0 for state in DeliveryState}
        for state, count in rows.all():
            counts[state] = int(count)
        return counts

    async def deliveries(
        self, broadcast_id: int, state: str | None = None
    ) -> Sequence[BroadcastDelivery]:
        """Delivery rows of a broadcast (in ``state``, when given), by id."""
        stmt = select(BroadcastDelivery).where(BroadcastDelivery.broadcast_id == broadcast_id)
        if state is not None:
            stmt = stmt.where(BroadcastDelivery.state == state)
        return (await self.s.scalars(stmt.order_by(BroadcastDelivery.id))).all()

    async def delivery_of(self, broadcast_id: int, user_id: int) -> BroadcastDelivery | None:
        """The delivery of the broadcast to ``user_id``, or None if they are not a recipient."""
        return await self.s.scalar(
            select(BroadcastDelivery).where(
                BroadcastDelivery.broadcast_id == broadcast_id,
                BroadcastDelivery.user_id == user_id,
            )
        )

    # ------------------------------------------------------------------ RSVP answers

    async def set_answer(
        self, broadcast_id: int, user_id: int, answer: str, at: datetime | None = None
    ) -> bool:
        """Store the user's RSVP answer, replacing an earlier one; returns whether the stored
        answer changed (False when it was already ``answer``)."""
        at = at or utcnow()
        inserted = await insert_ignore(
            self.s,
            _ANSWERS,
            [
                {
                    "broadcast_id": broadcast_id,
                    "user_id": user_id,
                    "answer": answer,
                    "answered_at": at,
                }
            ],
            ["broadcast_id", "user_id"],
        )
        if inserted:
            return True
        result = await self.s.execute(
            update(BroadcastAnswer)
            .where(
                BroadcastAnswer.broadcast_id == broadcast_id,
                BroadcastAnswer.user_id == user_id,
                BroadcastAnswer.answer != answer,
            )
            .values(answer=answer, answered_at=at)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def answer_of(self, broadcast_id: int, user_id: int) -> str | None:
        """The user's RSVP answer to the broadcast, or None."""
        return await self.s.scalar(
            select(BroadcastAnswer.answer).where(
                BroadcastAnswer.broadcast_id == broadcast_id, BroadcastAnswer.user_id == user_id
            )
        )

    async def answer_counts(self, broadcast_id: int) -> dict[str, int]:
        """Number of answers of each kind, e.g. ``{"yes": 12, "no": 3}`` (missing kinds: 0)."""
        rows = await self.s.execute(
            select(BroadcastAnswer.answer, func.count())
            .where(BroadcastAnswer.broadcast_id == broadcast_id)
            .group_by(BroadcastAnswer.answer)
        )
        return {answer: int(count) for answer, count in rows.all()}


__all__ = ["BroadcastRepo", "ClaimedDelivery", "DeliveryResult", "Recipient"]
