"""The queries of the sandbox's demo district (:mod:`bot.sandbox.demo`), reached as ``repo.demo``
on a :class:`storage.repo.Repo`, in that repo's transaction.

The demo is loaded through the program's services, which stamp some rows with the real clock
(a plan item's history, a plan's creation, a consultation logged, an audit entry). The demo's
year happened before the moment it is loaded at, so these moments are set afterwards to the
ones the demo chose (:class:`DemoRepo` ``retime_*``). Also here: whether a database has people,
and a dump of every table for the demo's determinism test.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Activity,
    AuditEntry,
    Consultation,
    IndividualPlan,
    Invite,
    PlanItem,
    PlanItemEvent,
    RoadmapImport,
    User,
)
from storage.tables import metadata

_PLANS: Table = IndividualPlan.__table__  # type: ignore[assignment]
_ITEMS: Table = PlanItem.__table__  # type: ignore[assignment]
_EVENTS: Table = PlanItemEvent.__table__  # type: ignore[assignment]
_CONSULTATIONS: Table = Consultation.__table__  # type: ignore[assignment]
_INVITES: Table = Invite.__table__  # type: ignore[assignment]


class DemoRepo:
    """The demo district's own queries; works inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def has_users(self) -> bool:
        """Whether any user row exists (registered, imported, an OFFICER_IDS officer, or
        anonymised)."""
        return bool(await self.s.scalar(select(exists().where(User.id.is_not(None)))))

    async def plan_items(self) -> list[tuple[int, int, int]]:
        """(item id, owner's user id, plan year) of every plan item, by item id."""
        rows = await self.s.execute(
            select(PlanItem.id, IndividualPlan.user_id, IndividualPlan.year)
            .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
            .order_by(PlanItem.id)
        )
        return [(int(i), int(u), int(y)) for i, u, y in rows.all()]

    async def plans(self) -> list[tuple[int, int, int]]:
        """(plan id, owner's user id, year) of every plan, by id."""
        rows = await self.s.execute(
            select(IndividualPlan.id, IndividualPlan.user_id, IndividualPlan.year).order_by(
                IndividualPlan.id
            )
        )
        return [(int(p), int(u), int(y)) for p, u, y in rows.all()]

    async def insert_plan_items(self, rows: Sequence[dict[str, Any]], source: str) -> int:
        """Insert plan items given as column dicts (with ``plan_id``), each with its
        ``created`` history entry (no actor, ``{"source": source}``): two statements, no ORM
        objects. Their moments are the real clock's (see the ``retime_*`` methods). Returns
        how many."""
        if not rows:
            return 0
        ids = await self.s.scalars(_ITEMS.insert().returning(_ITEMS.c.id), list(rows))
        now = datetime.now(UTC)
        events = [
            {
                "item_id": i,
                "actor_id": None,
                "action": "created",
                "data": {"source": source},
                "at": now,
            }
            for i in ids.all()
        ]
        await self.s.execute(_EVENTS.insert(), events)
        return len(events)

    async def retime_plans(self, rows: Sequence[tuple[int, datetime]]) -> None:
        """Set ``created_at`` (aware UTC) of plans: (plan id, moment) pairs."""
        if rows:
            await self.s.execute(
                update(_PLANS)
                .where(_PLANS.c.id == bindparam("d_id"))
                .values(created_at=bindparam("d_at")),
                [{"d_id": i, "d_at": at} for i, at in rows],
            )

    async def retime_items(self, rows: Sequence[tuple[int, datetime, datetime]]) -> None:
        """Set ``created_at`` and ``updated_at`` (aware UTC) of plan items: (item id, created,
        updated) triples."""
        if rows:
            await self.s.execute(
                update(_ITEMS)
                .where(_ITEMS.c.id == bindparam("d_id"))
                .values(created_at=bindparam("d_created"), updated_at=bindparam("d_updated")),
                [{"d_id": i, "d_created": c, "d_updated": u} for i, c, u in rows],
            )

    async def retime_events(self, rows: Sequence[tuple[int, str, datetime]]) -> None:
        """Set the moment (aware UTC) of plan-item history entries: (item id, action, moment)
        sets every entry of that item with that action."""
        if rows:
            await self.s.execute(
                update(_EVENTS)
                .where(
                    _EVENTS.c.item_id == bindparam("d_item"),
                    _EVENTS.c.action == bindparam("d_action"),
                )
                .values(at=bindparam("d_at")),
                [{"d_item": i, "d_action": a, "d_at": at} for i, a, at in rows],
            )

    async def retime_consultations(self, rows: Sequence[tuple[int, datetime]]) -> None:
        """Set ``created_at`` (aware UTC, when it was logged) of consultations: (id, moment)."""
        if rows:
            await self.s.execute(
                update(_CONSULTATIONS)
                .where(_CONSULTATIONS.c.id == bindparam("d_id"))
                .values(created_at=bindparam("d_at")),
                [{"d_id": i, "d_at": at} for i, at in rows],
            )

    async def stamp_last_audit(self, at: datetime) -> None:
        """Set the moment of the newest audit entry to ``at`` (aware UTC)."""
        newest = select(func.max(AuditEntry.id)).scalar_subquery()
        await self.s.execute(update(AuditEntry).where(AuditEntry.id == newest).values(at=at))

    async def retime_roadmap(self, at: datetime) -> None:
        """Date every activity's last change and every roadmap import at ``at`` (aware UTC)."""
        await self.s.execute(update(Activity).values(updated_at=at))
        await self.s.execute(update(RoadmapImport).values(imported_at=at))

    async def users_created_at_registration(self) -> None:
        """Set ``created_at`` of every user stored after their registration (i.e. stamped by
        the real clock at the registration) to their ``registered_at``; people imported from a
        list before they registered keep theirs."""
        await self.s.execute(
            update(User)
            .where(User.registered_at.is_not(None), User.created_at > User.registered_at)
            .values(created_at=User.registered_at)
        )

    async def set_invite_codes(self, rows: Sequence[tuple[int, str]]) -> None:
        """Replace invite codes: (invite id, code) pairs (codes stay unique)."""
        if rows:
            await self.s.execute(
                update(_INVITES)
                .where(_INVITES.c.id == bindparam("d_id"))
                .values(code=bindparam("d_code")),
                [{"d_id": i, "d_code": c} for i, c in rows],
            )

    async def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table of the schema, by table name, ordered by primary key (as
        the driver returns them: aware UTC datetimes, dates, JSON as Python values)."""
        found: dict[str, list[tuple[Any, ...]]] = {}
        for table in metadata.sorted_tables:
            rows = await self.s.execute(select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(r) for r in rows.all()]
        return found


__all__ = ["DemoRepo"]
