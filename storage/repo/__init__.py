"""Repositories: every query of the program, grouped by table, behind one :class:`Repo` holder.

A ``Repo`` wraps one ``AsyncSession`` (one transaction). Methods return model instances that stay
usable after the session closes (``expire_on_commit=False``); relationships are never lazy-loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    and_,
    cast,
    column,
    delete,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
    values,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.broadcast_models import Broadcast, BroadcastAnswer, BroadcastDelivery, DeliveryState
from storage.dialect import for_update, insert_ignore
from storage.models import (
    Activity,
    AuditEntry,
    ConsentRecord,
    ConsentText,
    Consultation,
    ConsultationStatus,
    DigestLog,
    FsmState,
    IndividualPlan,
    Invite,
    ItemComment,
    ItemStatus,
    MentorAssignment,
    Notice,
    PlanItem,
    PlanItemEvent,
    ReserveStatusChange,
    RoadmapImport,
    Role,
    User,
    utcnow,
)

# Reservists with these statuses follow a plan and get reminders (see bot.services.lifecycle).
IN_RESERVE = ("included", "training")


class UserRepo:
    """People: reservists, mentors and officers."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def by_telegram(self, telegram_id: int) -> User | None:
        """The user with this Telegram id, or None (also None after /delete_me)."""
        return await self.s.scalar(select(User).where(User.telegram_id == telegram_id))

    async def get(self, user_id: int) -> User | None:
        """The user by primary key, or None."""
        return await self.s.get(User, user_id)

    async def everyone(self) -> Sequence[User]:
        """Every not anonymised person with a name (registered or awaiting registration)."""
        rows = await self.s.scalars(
            select(User)
            .where(User.anonymised_at.is_(None), User.full_name.is_not(None))
            .order_by(User.full_name, User.id)
        )
        return rows.all()

    async def status_history(self, user_id: int) -> Sequence[ReserveStatusChange]:
        """A person's reserve lifecycle, oldest first."""
        rows = await self.s.scalars(
            select(ReserveStatusChange)
            .where(ReserveStatusChange.user_id == user_id)
            .order_by(ReserveStatusChange.changed_at, ReserveStatusChange.id)
        )
        return rows.all()

    async def ensure_officers(self, telegram_ids: Iterable[int]) -> int:
        """Make officers of these Telegram ids (OFFICER_IDS); returns how many changed."""
        changed = 0
        for tg_id in telegram_ids:
            user = await self.by_telegram(tg_id)
            if user is None:
                self.s.add(User(telegram_id=tg_id, role=Role.OFFICER, active=True))
                changed += 1
            elif user.role != Role.OFFICER:
                user.role = Role.OFFICER
                changed += 1
        await self.s.flush()
        return changed

    async def add(self, user: User) -> User:
        """Insert a new user and return it with its id."""
        self.s.add(user)
        await self.s.flush()
        return user

    async def update(self, user: User, **values: Any) -> None:
        """Change columns of ``user`` (a row of this session), e.g. timezone or muted."""
        for name, value in values.items():
            setattr(user, name, value)
        await self.s.flush()

    async def set_active(self, user_id: int, active: bool) -> None:
        """Mark a user as reachable or not (a 403 from Telegram makes them inactive)."""
        await self.s.execute(update(User).where(User.id == user_id).values(active=active))

    async def by_ids(self, ids: Iterable[int]) -> dict[int, User]:
        """Users by id, as a dict."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self.s.scalars(select(User).where(User.id.in_(wanted)))
        return {u.id: u for u in rows}

    async def by_role(self, role: Role) -> Sequence[User]:
        """Registered, not anonymised users of ``role``, by name."""
        rows = await self.s.scalars(
            select(User)
            .where(
                User.role == role,
                User.anonymised_at.is_(None),
                User.full_name.is_not(None),
                User.registered_at.is_not(None),
            )
            .order_by(User.full_name, User.id)
        )
        return rows.all()

    async def reservists(self) -> Sequence[User]:
        """Every registered, not anonymised reservist (people imported from a list and not
        registered yet are left out: their plans start when they register)."""
        rows = await self.s.scalars(
            select(User)
            .where(
                User.role == Role.RESERVIST,
                User.anonymised_at.is_(None),
                User.registered_at.is_not(None),
            )
            .order_by(User.id)
        )
        return rows.all()


class InviteRepo:
    """Invitation links."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, invite: Invite) -> Invite:
        """Insert an invite and return it with its id."""
        self.s.add(invite)
        await self.s.flush()
        return invite

    async def by_code(self, code: str, *, lock: bool = False) -> Invite | None:
        """The invite with this code, or None; ``lock`` holds the row until commit (PostgreSQL)."""
        stmt = select(Invite).where(Invite.code == code)
        if lock:
            stmt = for_update(self.s, stmt)
        return await self.s.scalar(stmt)

    async def get(self, invite_id: int) -> Invite | None:
        """The invite by id, or None."""
        return await self.s.get(Invite, invite_id)

    async def consume(self, invite_id: int, now: datetime) -> bool:
        """Use up one use of the invite if it is still valid at ``now``; False if it is not.

        One conditional UPDATE, so two people racing for the last use cannot both get it.
        """
        result = await self.s.execute(
            update(Invite)
            .where(
                Invite.id == invite_id,
                Invite.uses < Invite.max_uses,
                Invite.expires_at > now,
                Invite.revoked.is_(False),
            )
            .values(uses=Invite.uses + 1)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


@dataclass(frozen=True, slots=True)
class ActivityUpsert:
    """Counts of one roadmap import."""

    created: int
    updated: int
    unchanged: int
    archived: int


class ActivityRepo:
    """The department's roadmap activities."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def count(self, *, include_archived: bool = False) -> int:
        """How many activities there are."""
        stmt = select(func.count()).select_from(Activity)
        if not include_archived:
            stmt = stmt.where(Activity.archived.is_(False))
        return int(await self.s.scalar(stmt) or 0)

    async def get(self, activity_id: int) -> Activity | None:
        """An activity by id, or None."""
        return await self.s.get(Activity, activity_id)

    async def by_key(self, key: str) -> Activity | None:
        """The activity with this importer key, or None."""
        return await self.s.scalar(select(Activity).where(Activity.key == key))

    async def add(self, activity: Activity) -> Activity:
        """Insert an activity."""
        self.s.add(activity)
        await self.s.flush()
        return activity

    async def next_position(self) -> int:
        """A position after every existing activity."""
        return int(await self.s.scalar(select(func.max(Activity.position))) or 0) + 1

    async def active(self) -> Sequence[Activity]:
        """Activities of the current roadmap in the roadmap's order."""
        rows = await self.s.scalars(
            select(Activity).where(Activity.archived.is_(False)).order_by(Activity.position)
        )
        return rows.all()

    async def upsert(
        self, rows: Sequence[dict[str, Any]], municipality: str | None = None
    ) -> ActivityUpsert:
        """Bring the activities of one roadmap in line with an imported file, matched by ``key``.

        ``rows`` are dicts of Activity columns (key, title, kind, schedule, responsible, result,
        section, source_line, position, for_reservists). Rows with a known key are updated in
        place; new keys are inserted; activities of the same roadmap (the regional one, or
        ``municipality``'s own, names compared case- and space-insensitively) whose key is
        absent are archived, not deleted; other roadmaps are not touched.
        """
        area = " ".join((municipality or "").casefold().split())
        existing = {
            a.key: a
            for a in await self.s.scalars(select(Activity))
            if " ".join((a.municipality or "").casefold().split()) == area
        }
        created = updated = unchanged = 0
        seen: set[str] = set()
        for row in rows:
            seen.add(row["key"])
            current = existing.get(row["key"])
            if current is None:
                self.s.add(Activity(**row, archived=False))
                created += 1
                continue
            changes = {k: v for k, v in row.items() if getattr(current, k) != v}
            if current.archived:
                changes["archived"] = False
            for k, v in changes.items():
                setattr(current, k, v)
            # a row that only moved in the file (position, line) is not a change of content
            if set(changes) - {"position", "source_line"}:
                updated += 1
            else:
                unchanged += 1
        archived = 0
        for key, activity in existing.items():
            if key not in seen and not activity.archived:
                activity.archived = True
                archived += 1
        await self.s.flush()
        return ActivityUpsert(created, updated, unchanged, archived)

    async def log_import(self, record: RoadmapImport) -> None:
        """Record an import in the history."""
        self.s.add(record)
        await self.s.flush()

    async def last_import(self) -> RoadmapImport | None:
        """The newest import, or None when the roadmap was never imported."""
        return await self.s.scalar(
            select(RoadmapImport).order_by(RoadmapImport.id.desc()).limit(1)
        )


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
class NoticeRow:
    """A pending notice with its user and item."""

    notice: Notice
    user: User
    item: PlanItem


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


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What a progress count reads of a plan item (plain columns, no ORM object)."""

    status: str
    due_on: date | None
    confirmed_at: datetime | None


class PlanRepo:
    """Individual plans, their items and the items' history."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def plan(self, user_id: int, year: int) -> IndividualPlan | None:
        """The user's plan for ``year``, or None."""
        return await self.s.scalar(
            select(IndividualPlan).where(
                IndividualPlan.user_id == user_id, IndividualPlan.year == year
            )
        )

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
        stmt = select(PlanItem).where(PlanItem.plan_id == plan_id)
        if not include_archived:
            stmt = stmt.where(PlanItem.archived.is_(False))
        stmt = stmt.order_by(
            PlanItem.due_on.is_(None), PlanItem.due_on, PlanItem.starts_on, PlanItem.id
        )
        return (await self.s.scalars(stmt)).all()

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

    async def item_facts(self, user_ids: Sequence[int], year: int) -> dict[int, list[ItemFacts]]:
        """Status, due date and confirmation of the (not archived) items of these users' plans
        of ``year``, by user: one query per 5,000 users, whatever their number."""
        found: dict[int, list[ItemFacts]] = {u: [] for u in user_ids}
        ids = list(found)
        for start in range(0, len(ids), 5000):
            rows = await self.s.execute(
                select(
                    IndividualPlan.user_id, PlanItem.status, PlanItem.due_on, PlanItem.confirmed_at
                )
                .join(PlanItem, PlanItem.plan_id == IndividualPlan.id)
                .where(
                    IndividualPlan.user_id.in_(ids[start : start + 5000]),
                    IndividualPlan.year == year,
                    PlanItem.archived.is_(False),
                )
            )
            for user_id, status, due_on, confirmed_at in rows.all():
                found[user_id].append(ItemFacts(status, due_on, confirmed_at))
        return found

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
        names = ("activity_id", "occurrence", "title", "kind", "starts_on", "due_on")
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
            .where(Notice.status == "pending", Notice.not_before <= now, Notice.user_id > after_id)
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
                Notice.status == "pending",
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
            .where(Notice.status == "pending", Notice.not_before <= now)
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
            .where(Notice.user_id == user_id, Notice.status == "pending")
            .values(status="skipped")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def sent_for(self, user_id: int) -> Sequence[Notice]:
        """Notices sent to a user, oldest first."""
        rows = await self.s.scalars(
            select(Notice)
            .where(Notice.user_id == user_id, or_(Notice.status == "sent"))
            .order_by(Notice.id)
        )
        return rows.all()

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


class MentoringRepo:
    """Mentor assignments, consultations, comments on plan items, digests."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def active_assignment(self, reservist_id: int) -> MentorAssignment | None:
        """The reservist's current assignment, or None."""
        return await self.s.scalar(
            select(MentorAssignment).where(
                MentorAssignment.reservist_id == reservist_id,
                MentorAssignment.ended_at.is_(None),
            )
        )

    async def is_active_pair(self, mentor_id: int, reservist_id: int) -> bool:
        """Whether ``mentor_id`` is the reservist's current mentor."""
        found = await self.s.scalar(
            select(MentorAssignment.id).where(
                MentorAssignment.reservist_id == reservist_id,
                MentorAssignment.mentor_id == mentor_id,
                MentorAssignment.ended_at.is_(None),
            )
        )
        return found is not None

    async def add_assignment(self, assignment: MentorAssignment) -> MentorAssignment:
        """Insert an assignment."""
        self.s.add(assignment)
        await self.s.flush()
        return assignment

    async def end_assignment(
        self, assignment: MentorAssignment, by: int | None, at: datetime
    ) -> None:
        """End an assignment (it stays in the history)."""
        assignment.ended_at = at
        assignment.ended_by = by
        await self.s.flush()

    async def assignments_of(self, reservist_id: int) -> Sequence[MentorAssignment]:
        """The reservist's assignments, newest first (the history)."""
        rows = await self.s.scalars(
            select(MentorAssignment)
            .where(MentorAssignment.reservist_id == reservist_id)
            .order_by(MentorAssignment.started_at.desc(), MentorAssignment.id.desc())
        )
        return rows.all()

    async def mentees(self, mentor_id: int) -> Sequence[User]:
        """The mentor's current mentees, by name."""
        rows = await self.s.scalars(
            select(User)
            .join(MentorAssignment, MentorAssignment.reservist_id == User.id)
            .where(
                MentorAssignment.mentor_id == mentor_id,
                MentorAssignment.ended_at.is_(None),
                User.anonymised_at.is_(None),
            )
            .order_by(User.full_name, User.id)
        )
        return rows.all()

    async def active_pairs(self) -> Sequence[tuple[MentorAssignment, User, User]]:
        """Every current assignment with (reservist, mentor)."""
        mentor = aliased(User)
        rows = await self.s.execute(
            select(MentorAssignment, User, mentor)
            .join(User, User.id == MentorAssignment.reservist_id)
            .join(mentor, mentor.id == MentorAssignment.mentor_id)
            .where(MentorAssignment.ended_at.is_(None))
            .order_by(mentor.full_name, User.full_name)
        )
        return [(a, r, m) for a, r, m in rows.all()]

    async def add_consultation(self, consultation: Consultation) -> Consultation:
        """Insert a consultation."""
        self.s.add(consultation)
        await self.s.flush()
        return consultation

    async def consultation(
        self, consultation_id: int, *, lock: bool = False
    ) -> Consultation | None:
        """A consultation by id (``lock``: hold the row until commit on PostgreSQL)."""
        stmt = select(Consultation).where(Consultation.id == consultation_id)
        if lock:
            stmt = for_update(self.s, stmt)
        return await self.s.scalar(stmt)

    async def consultations_of(
        self, reservist_id: int, *, status: str | None = None, since: date | None = None
    ) -> Sequence[Consultation]:
        """A reservist's consultations, newest first, optionally by status and from a date."""
        stmt = select(Consultation).where(Consultation.reservist_id == reservist_id)
        if status is not None:
            stmt = stmt.where(Consultation.status == status)
        if since is not None:
            stmt = stmt.where(Consultation.held_on >= since)
        stmt = stmt.order_by(Consultation.held_on.desc(), Consultation.id.desc())
        return (await self.s.scalars(stmt)).all()

    async def consultation_counts(
        self, reservist_ids: Sequence[int], since: date
    ) -> dict[tuple[int, int, str], int]:
        """How many consultations held from ``since`` each (reservist, mentor, status) of these
        reservists has: one grouped query per 5,000 reservists."""
        found: dict[tuple[int, int, str], int] = {}
        ids = list(reservist_ids)
        for start in range(0, len(ids), 5000):
            rows = await self.s.execute(
                select(
                    Consultation.reservist_id,
                    Consultation.mentor_id,
                    Consultation.status,
                    func.count(),
                )
                .where(
                    Consultation.reservist_id.in_(ids[start : start + 5000]),
                    Consultation.held_on >= since,
                )
                .group_by(Consultation.reservist_id, Consultation.mentor_id, Consultation.status)
            )
            for reservist_id, mentor_id, status, count in rows.all():
                found[(reservist_id, mentor_id, status)] = int(count)
        return found

    async def confirmed_counts(self, year: int) -> dict[int, int]:
        """Confirmed consultations held in ``year``, per reservist id."""
        rows = await self.s.execute(
            select(Consultation.reservist_id, func.count())
            .where(
                Consultation.status == ConsultationStatus.CONFIRMED,
                Consultation.held_on >= date(year, 1, 1),
                Consultation.held_on <= date(year, 12, 31),
            )
            .group_by(Consultation.reservist_id)
        )
        return {rid: int(n) for rid, n in rows.all()}

    async def awaiting(self, user_id: int) -> Sequence[Consultation]:
        """Pending consultations ``user_id`` must confirm (logged by the other side)."""
        rows = await self.s.scalars(
            select(Consultation)
            .where(
                Consultation.status == ConsultationStatus.PENDING,
                or_(Consultation.reservist_id == user_id, Consultation.mentor_id == user_id),
                Consultation.logged_by != user_id,
            )
            .order_by(Consultation.id)
        )
        return rows.all()

    async def pending_before(self, moment: datetime) -> Sequence[Consultation]:
        """Pending consultations logged before ``moment`` (candidates for a reminder digest)."""
        rows = await self.s.scalars(
            select(Consultation)
            .where(
                Consultation.status == ConsultationStatus.PENDING,
                Consultation.created_at <= moment,
            )
            .order_by(Consultation.id)
        )
        return rows.all()

    async def add_comment(self, comment: ItemComment) -> ItemComment:
        """Insert a comment on a plan item."""
        self.s.add(comment)
        await self.s.flush()
        return comment

    async def comments(self, item_id: int) -> Sequence[ItemComment]:
        """Comments on an item, oldest first."""
        rows = await self.s.scalars(
            select(ItemComment).where(ItemComment.item_id == item_id).order_by(ItemComment.id)
        )
        return rows.all()

    async def last_activity(self, user_ids: Sequence[int]) -> dict[int, datetime]:
        """The latest thing each user did: a plan item change or a consultation logged."""
        if not user_ids:
            return {}
        ids = list(user_ids)
        found: dict[int, datetime] = {}
        events = await self.s.execute(
            select(PlanItemEvent.actor_id, func.max(PlanItemEvent.at))
            .where(PlanItemEvent.actor_id.in_(ids))
            .group_by(PlanItemEvent.actor_id)
        )
        consults = await self.s.execute(
            select(Consultation.reservist_id, func.max(Consultation.created_at))
            .where(Consultation.reservist_id.in_(ids))
            .group_by(Consultation.reservist_id)
        )
        for uid, at in [*events.all(), *consults.all()]:
            # max() keeps the column's type, so ``at`` is an aware UTC datetime here
            if uid is not None and at is not None and (uid not in found or at > found[uid]):
                found[uid] = at
        return found

    async def record_digest(self, user_id: int, kind: str, occasion: str) -> bool:
        """Record a digest as sent; False if this (user, kind, occasion) was sent already."""
        inserted = await insert_ignore(
            self.s,
            DigestLog.__table__,  # type: ignore[arg-type]
            [{"user_id": user_id, "kind": kind, "occasion": occasion, "sent_at": utcnow()}],
            ["user_id", "kind", "occasion"],
        )
        return inserted == 1

    async def forget_digest(self, user_id: int, kind: str, occasion: str) -> None:
        """Undo :meth:`record_digest` when the digest could not be delivered."""
        await self.s.execute(
            delete(DigestLog).where(
                DigestLog.user_id == user_id,
                DigestLog.kind == kind,
                DigestLog.occasion == occasion,
            )
        )


class AuditRepo:
    """The audit log of officers' actions (append-only)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def record(
        self, actor_id: int | None, action: str, target: str | None, details: dict[str, Any]
    ) -> None:
        """Append an entry: who (user id), what (action, e.g. ``invite``), on what, details."""
        self.s.add(AuditEntry(actor_id=actor_id, action=action, target=target, details=details))
        await self.s.flush()

    async def entries(self, limit: int = 100) -> Sequence[AuditEntry]:
        """The newest entries first."""
        rows = await self.s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
        return rows.all()


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """One row of the consent journal with the person's name (None once they are deleted)."""

    user_id: int | None
    version: str
    accepted_at: datetime
    withdrawn_at: datetime | None
    full_name: str | None


class ConsentRepo:
    """Consent texts by version and the consent journal (152-ФЗ, art. 9)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def publish(self, version: str, text: str, at: datetime) -> None:
        """Store the text of consent ``version`` unless that version is stored already (a
        version's text never changes once published)."""
        await insert_ignore(
            self.s,
            ConsentText.__table__,  # type: ignore[arg-type]
            [{"version": version, "text": text, "published_at": at}],
            ["version"],
        )

    async def text(self, version: str) -> ConsentText | None:
        """The stored text of ``version``, or None."""
        return await self.s.get(ConsentText, version)

    async def record(self, user_id: int, version: str, at: datetime) -> ConsentRecord:
        """Journal the consent of ``user_id`` to ``version`` given at ``at`` (aware UTC); the
        version's text must be stored (:meth:`publish`)."""
        row = ConsentRecord(user_id=user_id, version=version, accepted_at=at)
        self.s.add(row)
        await self.s.flush()
        return row

    async def current(self, user_id: int) -> tuple[ConsentRecord, ConsentText] | None:
        """The user's latest consent not withdrawn, with its text; None if there is none."""
        row = await self.s.execute(
            select(ConsentRecord, ConsentText)
            .join(ConsentText, ConsentText.version == ConsentRecord.version)
            .where(ConsentRecord.user_id == user_id, ConsentRecord.withdrawn_at.is_(None))
            .order_by(ConsentRecord.accepted_at.desc(), ConsentRecord.id.desc())
            .limit(1)
        )
        found = row.first()
        return (found[0], found[1]) if found else None

    async def withdraw(self, user_id: int, at: datetime) -> int:
        """Mark every consent of the user not yet withdrawn as withdrawn at ``at``; returns
        how many."""
        result = await self.s.execute(
            update(ConsentRecord)
            .where(ConsentRecord.user_id == user_id, ConsentRecord.withdrawn_at.is_(None))
            .values(withdrawn_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def journal(self) -> list[ConsentRow]:
        """Every consent, oldest first, with the name of people not deleted."""
        rows = await self.s.execute(
            select(
                ConsentRecord.user_id,
                ConsentRecord.version,
                ConsentRecord.accepted_at,
                ConsentRecord.withdrawn_at,
                User.full_name,
            )
            .outerjoin(User, User.id == ConsentRecord.user_id)
            .order_by(ConsentRecord.accepted_at, ConsentRecord.id)
        )
        return [ConsentRow(*r) for r in rows.all()]


@dataclass(frozen=True, slots=True)
class EndedPair:
    """A mentor pair ended by the deletion of one side; ``other`` is the side to tell."""

    assignment_id: int
    other: User


class ErasureRepo:
    """The queries of deleting a person's data (/delete_me, 152-ФЗ art. 21): every free text
    and identifier that came from the person or names them, in every table."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def end_pairs(self, user_id: int, at: datetime) -> list[EndedPair]:
        """End the active mentor pairs the user is a side of (ended by them, at ``at``);
        returns each with the other side."""
        active = (
            await self.s.scalars(
                select(MentorAssignment).where(
                    MentorAssignment.ended_at.is_(None),
                    or_(
                        MentorAssignment.reservist_id == user_id,
                        MentorAssignment.mentor_id == user_id,
                    ),
                )
            )
        ).all()
        ended = []
        for assignment in active:
            assignment.ended_at = at
            assignment.ended_by = user_id
            other_id = (
                assignment.mentor_id
                if assignment.reservist_id == user_id
                else assignment.reservist_id
            )
            other = await self.s.get(User, other_id)
            if other is not None:
                ended.append(EndedPair(assignment.id, other))
        await self.s.flush()
        return ended

    async def erase(self, user_id: int, telegram_id: int | None, at: datetime, title: str) -> None:
        """Erase the person's texts and identifiers everywhere but the ``users`` row (the
        caller clears that): consultation topics, notes and decline reasons (pending ones are
        declined: nobody can confirm them), comments by and about them, the comments, evidence
        and history details of their items, the titles of their personal items (``title``
        instead), interview conclusions, the texts of their reserve history, audit details
        naming them, broadcast chat ids and RSVP answers, their personal invites (revoked, the
        code replaced), and their dialogue states."""
        theirs = or_(Consultation.reservist_id == user_id, Consultation.mentor_id == user_id)
        await self.s.execute(
            update(Consultation)
            .where(theirs, Consultation.status == ConsultationStatus.PENDING)
            .values(status=ConsultationStatus.DECLINED, decided_at=at)
        )
        await self.s.execute(
            update(Consultation).where(theirs).values(topic="", note=None, decline_reason=None)
        )
        items = (
            select(PlanItem.id)
            .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
            .where(IndividualPlan.user_id == user_id)
        )
        await self.s.execute(
            delete(ItemComment).where(
                or_(ItemComment.author_id == user_id, ItemComment.item_id.in_(items))
            )
        )
        await self.s.execute(
            update(PlanItem)
            .where(PlanItem.id.in_(items))
            .values(comment=None, evidence_file_id=None, evidence_kind=None, evidence_name=None)
        )
        await self.s.execute(
            update(PlanItem)
            .where(PlanItem.id.in_(items), PlanItem.personal.is_(True))
            .values(title=title)
        )
        await self.s.execute(
            update(PlanItemEvent)
            .where(PlanItemEvent.item_id.in_(items))
            .values(data={"redacted": True})
        )
        await self.s.execute(
            update(IndividualPlan)
            .where(IndividualPlan.user_id == user_id)
            .values(interview_conclusion=None)
        )
        await self.s.execute(
            update(ReserveStatusChange)
            .where(ReserveStatusChange.user_id == user_id)
            .values(order_number=None, post=None, organisation=None, reason=None)
        )
        await self.s.execute(
            update(AuditEntry)
            .where(AuditEntry.target == f"user:{user_id}")
            .values(details={"redacted": True})
        )
        await self._erase_broadcasts(user_id)
        for invite in await self.s.scalars(select(Invite).where(Invite.person_id == user_id)):
            invite.revoked = True
            invite.code = f"erased-{invite.id}"
        if telegram_id is not None:
            await self._erase_dialogues(telegram_id)
        await self.s.flush()

    async def _erase_broadcasts(self, user_id: int) -> None:
        """Deliveries keep their state without the chat id (queued ones are given up),
        RSVP answers are deleted, and the user's own broadcasts forget their progress chat."""
        await self.s.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.user_id == user_id,
                BroadcastDelivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
            )
            .values(state=DeliveryState.FAILED)
        )
        await self.s.execute(
            update(BroadcastDelivery)
            .where(BroadcastDelivery.user_id == user_id)
            .values(chat_id=0, last_error=None)
        )
        await self.s.execute(delete(BroadcastAnswer).where(BroadcastAnswer.user_id == user_id))
        await self.s.execute(
            update(Broadcast)
            .where(Broadcast.created_by == user_id)
            .values(progress_chat_id=None, progress_message_id=None)
        )

    async def _erase_dialogues(self, telegram_id: int) -> None:
        """Delete the dialogue states of chats or users with this Telegram id (aiogram keys
        ``fsm:<bot>:<chat>:[<thread>:]<user>:<destiny>``)."""
        tg = str(telegram_id)
        keys = await self.s.scalars(select(FsmState.key).where(FsmState.key.like(f"%:{tg}:%")))
        mine = [k for k in keys if tg in k.split(":")[2:-1]]
        if mine:
            await self.s.execute(delete(FsmState).where(FsmState.key.in_(mine)))


class Repo:
    """All repositories over one session (one transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepo(session)
        self.invites = InviteRepo(session)
        self.activities = ActivityRepo(session)
        self.plans = PlanRepo(session)
        self.notices = NoticeRepo(session)
        self.mentoring = MentoringRepo(session)
        self.audit = AuditRepo(session)
        self.consents = ConsentRepo(session)
        self.erasure = ErasureRepo(session)

    async def flush(self) -> None:
        """Send pending changes to the database without committing."""
        await self.session.flush()


__all__ = [
    "ActivityRepo",
    "ActivityUpsert",
    "AuditRepo",
    "ConsentRepo",
    "ConsentRow",
    "EndedPair",
    "ErasureRepo",
    "InviteRepo",
    "MentoringRepo",
    "NoticeRepo",
    "NoticeRow",
    "OpenItem",
    "PlanRepo",
    "Repo",
    "UserRepo",
]
