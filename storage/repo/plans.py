"""Individual plans, their items and the items' history: :class:`PlanRepo`, with the plain rows
the reminder scan reads (:class:`OpenItem`) and the scan's filter in SQL (:class:`OwingFilter`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    and_,
    bindparam,
    cast,
    column,
    false,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    values,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import insert_ignore
from storage.models import IndividualPlan, ItemStatus, PlanItem, PlanItemEvent, Role, User, utcnow

# Reservists with these statuses follow a plan and get reminders (see bot.services.lifecycle).
IN_RESERVE = ("included", "training")


@dataclass(frozen=True, slots=True)
class OpenItem:
    """A not-done, dated plan item with what the reminder rules need of it and its owner
    (plain columns, no ORM objects: the scan reads every open item of every plan)."""

    id: int
    title: str
    starts_on: date | None
    due_on: date | None
    status: str
    user_id: int
    full_name: str | None
    timezone: str | None


@dataclass(frozen=True, slots=True)
class PlanLine:
    """A plan item as ``/plan`` and a mentee's plan show it (plain columns, no ORM object:
    read for every ``/plan`` and plan page, where loading ORM items was a third of the reads'
    CPU). ``status`` is an ``ItemStatus`` value; ``confirmed_at`` is aware UTC."""

    id: int
    title: str
    status: str
    starts_on: date | None
    due_on: date | None
    done_on: date | None
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class OwingFilter:
    """The reminder scan's candidates in SQL: the items that may owe a notice now. An item is
    read when its window starts within one of ``starts_ranges`` (``window`` notices), it is
    due within one of ``due_ranges`` (``due``), it is past due this year (due from
    ``year_start``, before ``last_overdue``) and, unless ``overdue_ranges`` is None, due
    within one of them (``overdue``: the items whose next repeat began since the previous
    scan), or it was changed since ``changed_since`` (aware UTC, real time). The scan builds
    the ranges a day wide of every zone's today; the rules (``owed_notices``) decide the rest,
    so a scan reads what may be due, not every open item."""

    year_start: date
    last_overdue: date
    starts_ranges: tuple[tuple[date, date], ...]
    due_ranges: tuple[tuple[date, date], ...]
    overdue_ranges: tuple[tuple[date, date], ...] | None = None
    changed_since: datetime | None = None

    def clause(self) -> Any:
        """The WHERE clause (over PlanItem)."""

        def within(column: Any, ranges: tuple[tuple[date, date], ...]) -> Any:
            return or_(false(), *(column.between(a, b) for a, b in ranges))

        overdue: Any = and_(
            PlanItem.due_on >= self.year_start, PlanItem.due_on < self.last_overdue
        )
        if self.overdue_ranges is not None:
            # each range clipped to [year_start, last_overdue) in Python: the database reads
            # each through the due_on index, not every item past due this year and filters
            last = self.last_overdue - timedelta(days=1)
            clipped = tuple(
                (max(a, self.year_start), min(b, last)) for a, b in self.overdue_ranges
            )
            overdue = within(PlanItem.due_on, tuple((a, b) for a, b in clipped if a <= b))
        parts = [
            within(PlanItem.starts_on, self.starts_ranges),
            within(PlanItem.due_on, self.due_ranges),
            overdue,
        ]
        if self.changed_since is not None:
            parts.append(PlanItem.updated_at >= self.changed_since)
        return or_(*parts)


#: the reads of a plan and its items: built once, so are their SQL and cache key
#: (:meth:`PlanRepo.plan`, :meth:`PlanRepo.items`, :meth:`PlanRepo.plan_lines`)
_OF_USER_AND_YEAR = (
    IndividualPlan.user_id == bindparam("user_id"),
    IndividualPlan.year == bindparam("year"),
)
_PLAN = select(IndividualPlan).where(*_OF_USER_AND_YEAR)
_ITEM_ORDER = (PlanItem.due_on.is_(None), PlanItem.due_on, PlanItem.starts_on, PlanItem.id)
_ALL_ITEMS = (
    select(PlanItem).where(PlanItem.plan_id == bindparam("plan_id")).order_by(*_ITEM_ORDER)
)
_ITEMS = _ALL_ITEMS.where(PlanItem.archived.is_(False))
#: every /plan and plan page: the plan's items as plain rows, in one statement (a plan without
#: items is one row of Nones; no row: no plan)
_PLAN_LINES = (
    select(
        IndividualPlan.id,
        PlanItem.id,
        PlanItem.title,
        PlanItem.status,
        PlanItem.starts_on,
        PlanItem.due_on,
        PlanItem.done_on,
        PlanItem.confirmed_at,
    )
    .outerjoin(PlanItem, and_(PlanItem.plan_id == IndividualPlan.id, PlanItem.archived.is_(False)))
    .where(*_OF_USER_AND_YEAR)
    .order_by(*_ITEM_ORDER)
)


class PlanRepo:
    """Individual plans, their items and the items' history."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def plan(self, user_id: int, year: int) -> IndividualPlan | None:
        """The user's plan for ``year``, or None."""
        return await self.s.scalar(_PLAN, {"user_id": user_id, "year": year})

    async def plan_lines(self, user_id: int, year: int) -> list[PlanLine] | None:
        """The items of the user's plan for ``year`` as :class:`PlanLine` rows, in the order
        of :meth:`items`, archived ones left out; None when there is no such plan."""
        rows = (await self.s.execute(_PLAN_LINES, {"user_id": user_id, "year": year})).all()
        if not rows:
            return None
        return [PlanLine(*row[1:]) for row in rows if row[1] is not None]

    async def get_plan(self, plan_id: int) -> IndividualPlan | None:
        """The plan by id, or None."""
        return await self.s.get(IndividualPlan, plan_id)

    async def create_plan(self, user_id: int, year: int) -> IndividualPlan:
        """Create (or return the existing) plan of ``user_id`` for ``year``."""
        await insert_ignore(
            self.s,
            IndividualPlan.__table__,  # type: ignore[arg-type]
            [{"user_id": user_id, "year": year, "created_at": utcnow()}],
            ["user_id", "year"],
        )
        plan = await self.plan(user_id, year)
        assert plan is not None
        return plan

    async def plans_of_year(self, year: int) -> Sequence[IndividualPlan]:
        """Every plan of ``year``."""
        rows = await self.s.scalars(select(IndividualPlan).where(IndividualPlan.year == year))
        return rows.all()

    async def owner_municipalities(self, year: int) -> dict[int, str | None]:
        """The municipality of each plan's owner, by plan id, for the plans of ``year``."""
        rows = await self.s.execute(
            select(IndividualPlan.id, User.municipality)
            .join(User, User.id == IndividualPlan.user_id)
            .where(IndividualPlan.year == year)
        )
        return {row[0]: row[1] for row in rows.all()}

    async def items(self, plan_id: int, *, include_archived: bool = False) -> Sequence[PlanItem]:
        """Items of a plan ordered by date (undated last), then by id."""
        stmt = _ALL_ITEMS if include_archived else _ITEMS
        return (await self.s.scalars(stmt, {"plan_id": plan_id})).all()

    async def get_item(self, item_id: int) -> PlanItem | None:
        """The item by id (archived ones too), or None."""
        return await self.s.get(PlanItem, item_id)

    async def item_of_user(self, item_id: int, user_id: int) -> PlanItem | None:
        """The item if it belongs to one of ``user_id``'s plans, else None (ownership check)."""
        return await self.s.scalar(
            select(PlanItem)
            .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
            .where(PlanItem.id == item_id, IndividualPlan.user_id == user_id)
        )

    async def add_item(self, item: PlanItem) -> PlanItem:
        """Insert an item and return it with its id."""
        self.s.add(item)
        await self.s.flush()
        return item

    async def add_items(
        self, items: Sequence[PlanItem], actor_id: int | None, source: str
    ) -> None:
        """Insert items in one go, each with its ``created`` history entry."""
        self.s.add_all(items)
        await self.s.flush()
        self.s.add_all(
            PlanItemEvent(
                item_id=i.id, actor_id=actor_id, action="created", data={"source": source}
            )
            for i in items
        )
        await self.s.flush()

    async def add_event(
        self, item_id: int, actor_id: int | None, action: str, data: dict[str, Any]
    ) -> None:
        """Append to an item's history."""
        self.s.add(PlanItemEvent(item_id=item_id, actor_id=actor_id, action=action, data=data))
        await self.s.flush()

    async def events(self, item_id: int) -> Sequence[PlanItemEvent]:
        """An item's history, oldest first."""
        rows = await self.s.scalars(
            select(PlanItemEvent)
            .where(PlanItemEvent.item_id == item_id)
            .order_by(PlanItemEvent.id)
        )
        return rows.all()

    async def open_items_of_years(
        self, years: Sequence[int], owing: OwingFilter | None = None
    ) -> list[OpenItem]:
        """Not-done, dated items of these years' plans owned by active, unmuted reservists;
        with ``owing``, only those that may owe a notice now (see :class:`OwingFilter`)."""
        stmt = (
            select(
                PlanItem.id,
                PlanItem.title,
                PlanItem.starts_on,
                PlanItem.due_on,
                PlanItem.status,
                User.id,
                User.full_name,
                User.timezone,
            )
            .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
            .join(User, User.id == IndividualPlan.user_id)
            .where(
                IndividualPlan.year.in_(list(years)),
                PlanItem.status == ItemStatus.PLANNED,
                PlanItem.archived.is_(False),
                PlanItem.due_on.is_not(None),
                User.role == Role.RESERVIST,
                or_(
                    User.reserve_status.is_(None),
                    User.reserve_status.in_(IN_RESERVE),
                ),
                User.active.is_(True),
                User.muted.is_(False),
                User.telegram_id.is_not(None),
            )
            .order_by(User.id, PlanItem.id)
        )
        if owing is not None:
            stmt = stmt.where(owing.clause())
        return [OpenItem(*row) for row in (await self.s.execute(stmt)).all()]

    async def with_overdue(self, user_ids: Sequence[int], year: int, today: date) -> set[int]:
        """Those of ``user_ids`` whose plan of ``year`` has an overdue item on ``today`` (not
        done, not archived, due before it): one query per 5,000 users."""
        found: set[int] = set()
        ids = list(user_ids)
        for start in range(0, len(ids), 5000):
            rows = await self.s.scalars(
                select(IndividualPlan.user_id)
                .join(PlanItem, PlanItem.plan_id == IndividualPlan.id)
                .where(
                    IndividualPlan.user_id.in_(ids[start : start + 5000]),
                    IndividualPlan.year == year,
                    PlanItem.archived.is_(False),
                    PlanItem.status != ItemStatus.DONE,
                    PlanItem.due_on < today,
                )
                .distinct()
            )
            found.update(rows.all())
        return found

    async def missing_plan_owners(
        self, year: int, *, after_id: int = 0, limit: int = 500
    ) -> list[tuple[int, str | None]]:
        """(id, municipality) of registered, not anonymised reservists with no plan for
        ``year``, by id, after ``after_id`` (a page of at most ``limit``): one query a page."""
        has_plan = (
            select(IndividualPlan.id)
            .where(IndividualPlan.user_id == User.id, IndividualPlan.year == year)
            .exists()
        )
        rows = await self.s.execute(
            select(User.id, User.municipality)
            .where(
                User.id > after_id,
                User.role == Role.RESERVIST,
                User.anonymised_at.is_(None),
                User.registered_at.is_not(None),
                ~has_plan,
            )
            .order_by(User.id)
            .limit(limit)
        )
        return [(user_id, municipality) for user_id, municipality in rows.all()]

    async def create_plans(self, user_ids: Sequence[int], year: int) -> dict[int, int]:
        """Create the plans of ``year`` of these users in one statement, skipping those that
        exist; returns the new plans' ids by user id (a plan made meanwhile is not in it)."""
        if not user_ids:
            return {}
        table: Any = IndividualPlan.__table__
        now = utcnow()
        dialect: Any = postgresql if self.s.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=["user_id", "year"])
        result = await self.s.execute(
            stmt.returning(table.c.user_id, table.c.id),
            [{"user_id": u, "year": year, "created_at": now} for u in user_ids],
        )
        return {int(user_id): int(plan_id) for user_id, plan_id in result.all()}

    async def insert_roadmap_items(
        self, plan_ids: Sequence[int], rows: Sequence[dict[str, Any]], source: str
    ) -> None:
        """Give each of the new plans ``plan_ids`` a copy of the item ``rows`` (column dicts
        without ``plan_id``: one roadmap's template, see
        :func:`bot.services.plans.new_plan_rows`), each with its ``created`` history entry.

        Two statements whatever the number of plans, the rows made by the database: ``INSERT
        … SELECT`` of the plans × the template (a ``VALUES`` list bound once), then ``INSERT …
        SELECT`` of the history from the plans' items. The plans must be new (made in this
        transaction): every item of theirs gets the entry."""
        if not plan_ids or not rows:
            return
        items: Any = PlanItem.__table__
        names = ("activity_id", "occurrence", "kind", "starts_on", "due_on")  # title: NULL
        template = (
            values(
                column("n", Integer),
                *(column(name, items.c[name].type) for name in names),
                column("needs_confirmation", Boolean),
                name="template",
            )
            .data(
                [
                    (n, *(row[name] for name in names), bool(row["needs_confirmation"]))
                    for n, row in enumerate(rows)
                ]
            )
            .cte("template")
        )
        # PostgreSQL types a VALUES column from its values: one all NULL (undated items only)
        # would be text. SQLite's CAST AS DATE would turn a date into a number: no cast there.
        typed = self.s.get_bind().dialect.name == "postgresql"
        fields = [
            cast(template.c[name], items.c[name].type) if typed else template.c[name]
            for name in (*names, "needs_confirmation")
        ]
        now = utcnow()
        plans = IndividualPlan.id.in_(list(plan_ids))
        await self.s.execute(
            insert(PlanItem).from_select(
                [
                    *names,
                    "needs_confirmation",
                    "plan_id",
                    "status",
                    "personal",
                    "archived",
                    "created_at",
                    "updated_at",
                ],
                select(
                    *fields,
                    IndividualPlan.id,
                    literal(str(ItemStatus.PLANNED), items.c.status.type),
                    literal(False, Boolean),
                    literal(False, Boolean),
                    literal(now, items.c.created_at.type),
                    literal(now, items.c.updated_at.type),
                )
                .select_from(IndividualPlan)
                .join(template, true())
                .where(plans)
                .order_by(IndividualPlan.id, template.c.n),
                include_defaults=False,
            )
        )
        events: Any = PlanItemEvent.__table__
        await self.s.execute(
            insert(PlanItemEvent).from_select(
                ["item_id", "actor_id", "action", "data", "at"],
                select(
                    PlanItem.id,
                    null(),
                    literal("created", events.c.action.type),
                    literal({"source": source}, events.c.data.type),
                    literal(now, events.c.at.type),
                )
                .where(PlanItem.plan_id.in_(list(plan_ids)))
                .order_by(PlanItem.id),
                include_defaults=False,
            )
        )
