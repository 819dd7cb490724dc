"""Reminders owed and sent: :class:`NoticeRepo`, and a pending notice with its user and item
(:class:`NoticeRow`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import NOTICE_IS_PENDING, Notice, PlanItem, User, utcnow


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """A pending notice with its user and item."""

    notice: Notice
    user: User
    item: PlanItem


class NoticeRepo:
    """Reminders owed and sent."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def record(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert new pending notices, ignoring those already recorded; returns how many are new.

        Each row: user_id, item_id, kind, occasion, not_before (aware UTC).
        """
        now = utcnow()
        return await insert_ignore(
            self.s,
            Notice.__table__,  # type: ignore[arg-type]
            [{**r, "status": "pending", "created_at": now} for r in rows],
            ["user_id", "item_id", "kind", "occasion"],
        )

    async def pending_users(
        self, now: datetime, *, after_id: int = 0, limit: int = 500
    ) -> list[int]:
        """Ids of users (after ``after_id``, at most ``limit``, ascending) with a pending notice
        whose ``not_before`` has come: the pages :meth:`pending_of` reads."""
        rows = await self.s.scalars(
            select(Notice.user_id)
            .where(NOTICE_IS_PENDING, Notice.not_before <= now, Notice.user_id > after_id)
            .group_by(Notice.user_id)
            .order_by(Notice.user_id)
            .limit(limit)
        )
        return list(rows.all())

    async def pending_of(self, user_ids: Sequence[int], now: datetime) -> Sequence[NoticeRow]:
        """The pending notices of these users whose ``not_before`` has come, oldest first."""
        if not user_ids:
            return []
        stmt = (
            select(Notice, User, PlanItem)
            .join(User, User.id == Notice.user_id)
            .join(PlanItem, PlanItem.id == Notice.item_id)
            .where(
                NOTICE_IS_PENDING,
                Notice.not_before <= now,
                Notice.user_id.in_(list(user_ids)),
            )
            .order_by(Notice.not_before, Notice.id)
        )
        return [NoticeRow(n, u, i) for n, u, i in (await self.s.execute(stmt)).all()]

    async def recorded_keys(self, item_ids: Iterable[int]) -> set[tuple[int, int, str, str]]:
        """(user, item, kind, occasion) of every notice recorded about these items, in any
        status: one query per 5,000 items (a dry run's check, not one query per notice)."""
        ids = sorted(set(item_ids))
        found: set[tuple[int, int, str, str]] = set()
        for start in range(0, len(ids), 5000):
            rows = await self.s.execute(
                select(Notice.user_id, Notice.item_id, Notice.kind, Notice.occasion).where(
                    Notice.item_id.in_(ids[start : start + 5000])
                )
            )
            found.update((u, i, k, o) for u, i, k, o in rows.all())
        return found

    async def purge_older(self, before: datetime, *, limit: int = 5000) -> int:
        """Delete up to ``limit`` notices whose moment (``not_before``) is before ``before``;
        returns how many. Call it in a loop, a transaction per batch."""
        ids = (
            await self.s.scalars(
                select(Notice.id)
                .where(Notice.not_before < before)
                .order_by(Notice.id)
                .limit(limit)
            )
        ).all()
        if ids:
            await self.s.execute(delete(Notice).where(Notice.id.in_(list(ids))))
        return len(ids)

    async def pending(self, now: datetime) -> Sequence[NoticeRow]:
        """Every pending notice whose ``not_before`` has come, oldest first."""
        stmt = (
            select(Notice, User, PlanItem)
            .join(User, User.id == Notice.user_id)
            .join(PlanItem, PlanItem.id == Notice.item_id)
            .where(NOTICE_IS_PENDING, Notice.not_before <= now)
            .order_by(Notice.not_before, Notice.id)
        )
        return [NoticeRow(n, u, i) for n, u, i in (await self.s.execute(stmt)).all()]

    async def set_status(self, notice_id: int, status: str, at: datetime | None = None) -> None:
        """Move a notice to ``sent``, ``skipped`` or ``failed``."""
        values: dict[str, Any] = {"status": status}
        if status == "sent":
            values["sent_at"] = at or utcnow()
        await self.s.execute(update(Notice).where(Notice.id == notice_id).values(**values))

    async def set_status_many(
        self, notice_ids: Sequence[int], status: str, at: datetime | None = None
    ) -> None:
        """Move several notices to ``sent`` (at ``at``), ``skipped`` or ``failed`` at once."""
        if not notice_ids:
            return
        values: dict[str, Any] = {"status": status}
        if status == "sent":
            values["sent_at"] = at or utcnow()
        for start in range(0, len(notice_ids), 5000):  # drivers' parameter limits
            chunk = list(notice_ids[start : start + 5000])
            await self.s.execute(update(Notice).where(Notice.id.in_(chunk)).values(**values))

    async def skip_for_user(self, user_id: int) -> int:
        """Skip every pending notice of a user (blocked or muted); returns how many."""
        result = await self.s.execute(
            update(Notice)
            .where(Notice.user_id == user_id, NOTICE_IS_PENDING)
            .values(status="skipped")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def exists(self, user_id: int, item_id: int, kind: str, occasion: str) -> bool:
        """Whether this notice was already recorded (in any status)."""
        found = await self.s.scalar(
            select(Notice.id).where(
                Notice.user_id == user_id,
                Notice.item_id == item_id,
                Notice.kind == kind,
                Notice.occasion == occasion,
            )
        )
        return found is not None
