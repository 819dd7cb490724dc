"""Bulk queries of the department's reports: the export, the indicators, the year-end report.

Reached as ``repo.reports`` on a :class:`storage.repo.Repo`, in that repo's transaction.
Every method answers with a fixed number of queries whatever the number of people (no query
per reservist), returning plain frozen rows rather than ORM objects, so that 10,000 reservists
with 20 plan items each are read in a handful of round trips.

The officer's scope is passed as ``municipalities``: None for the whole region, or the exact
stored spellings of one municipality (see :meth:`ReportsRepo.reservist_municipalities`; the
service compares names case- and space-insensitively, SQLite's ``lower()`` cannot fold
Cyrillic). Only users with the reservist role are reported on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Executable, Integer, Select, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from storage.models import (
    Activity,
    Consultation,
    ConsultationStatus,
    IndividualPlan,
    ItemComment,
    ItemStatus,
    MentorAssignment,
    PlanItem,
    PlanItemEvent,
    Role,
    User,
)


@dataclass(frozen=True, slots=True)
class ReservistRow:
    """A person with the reservist role (anonymised ones too: they keep their municipality and
    statuses for the counts). ``registered_at`` / ``anonymised_at`` are aware UTC or None."""

    id: int
    full_name: str | None
    organisation: str | None
    position: str | None
    municipality: str | None
    reserve_status: str | None
    cohort_year: int | None
    registered_at: datetime | None
    anonymised_at: datetime | None


@dataclass(frozen=True, slots=True)
class ItemStats:
    """Counts over the non-archived items of one reservist's plan of a year.

    ``overdue``: planned items whose due date is before the ``today`` given to the query;
    ``dated``/``dated_done``: items with a due date (on-demand items have none), and how many
    of them are done; ``trainings``/``trainings_done``: items of kind ``training``.
    """

    total: int
    done: int
    confirmed: int
    overdue: int
    dated: int
    dated_done: int
    trainings: int
    trainings_done: int


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """The indicators' counts over the reservists of one stored spelling of a municipality and
    of an organisation (either may be None): ``people`` in all; ``reserve`` of them in the
    reserve (status included or training), and of those ``supported`` (a done item of the
    year's plan or a confirmed consultation held in the year), ``fulfilled`` (every dated item
    of the year's plan done, at least one) and ``mentored`` (an active mentor who has not
    deleted their data); ``ever`` ever included, ``appointed`` of them appointed; ``trainees``
    with a training item in the year's plan, ``trained`` of them with one done; ``with_mentor``
    with an active mentor, whatever their status (indicator 6)."""

    municipality: str | None
    organisation: str | None
    people: int
    reserve: int
    supported: int
    fulfilled: int
    mentored: int
    ever: int
    appointed: int
    trainees: int
    trained: int
    with_mentor: int


#: A done roadmap item of a year's plan: ``(activity_id, user_id, done_on, confirmed_at,
#: evidence_kind, evidence_name)``: which activity, who (user id), when (their local date), the
#: mentor's confirmation (aware UTC or None) and the evidence file's kind and name. A plain
#: tuple, the row as the driver gives it: a region has some 80,000 (an object made per row was
#: a measurable part of the export's reading).
DoneItemRow = tuple[int, int, date | None, datetime | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """A roadmap activity (мероприятие) in the roadmap's order."""

    id: int
    title: str
    kind: str
    section: str
    archived: bool


@dataclass(frozen=True, slots=True)
class CommentRow:
    """A mentor's comment on a plan item; ``created_at`` is aware UTC."""

    item_id: int
    author: str | None
    text: str
    created_at: datetime


def _area(name: str) -> str:
    """A municipality name for comparison (as bot.services.scope.normalise)."""
    return " ".join(name.casefold().split())


def _int(value: Any) -> int:
    return int(value or 0)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END): portable conditional count."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


#: rows fetched at a time by the queries that return a row per reservist or per plan item:
#: between two batches the event loop serves other users (a region has 10,000 reservists)
BATCH = 1000


class ReportsRepo:
    """Read-mostly queries of the reports over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    @staticmethod
    def _scope(municipalities: Sequence[str] | None) -> list[ColumnElement[bool]]:
        """Conditions on ``users`` keeping reservists of the scope."""
        conditions: list[ColumnElement[bool]] = [User.role == Role.RESERVIST]
        if municipalities is not None:
            conditions.append(User.municipality.in_(list(municipalities)))
        return conditions

    async def _rows(self, stmt: Executable) -> list[Any]:
        """Every row of ``stmt``, fetched :data:`BATCH` at a time (one statement)."""
        result = await self.s.stream(stmt)
        found: list[Any] = []
        async for rows in result.partitions(BATCH):
            found += rows
        return found

    async def reservist_municipalities(self) -> list[str]:
        """Every distinct stored spelling of reservists' municipalities (no None)."""
        rows = await self.s.scalars(
            select(User.municipality)
            .where(User.role == Role.RESERVIST, User.municipality.is_not(None))
            .distinct()
        )
        return [m for m in rows.all() if m is not None]

    async def reservists(self, municipalities: Sequence[str] | None) -> list[ReservistRow]:
        """Reservists of the scope ordered by name (anonymised, nameless ones last), then id."""
        stmt = (
            (
                select(
                    User.id,
                    User.full_name,
                    User.organisation,
                    User.position,
                    User.municipality,
                    User.reserve_status,
                    User.cohort_year,
                    User.registered_at,
                    User.anonymised_at,
                )
            )
            .where(*self._scope(municipalities))
            .order_by(User.full_name.is_(None), User.full_name, User.id)
        )
        return [ReservistRow(*row) for row in await self._rows(stmt)]

    def _per_reservist_items(
        self, year: int, municipalities: Sequence[str] | None, *columns: Any
    ) -> Select[Any]:
        """``user_id`` and ``columns`` (aggregates over plan items) per reservist of the scope,
        over the non-archived items of their plan of ``year``."""
        return (
            select(IndividualPlan.user_id.label("user_id"), *columns)
            .select_from(PlanItem)
            .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
            .join(User, User.id == IndividualPlan.user_id)
            .where(IndividualPlan.year == year, PlanItem.archived.is_(False))
            .where(*self._scope(municipalities))
            .group_by(IndividualPlan.user_id)
        )

    async def item_stats(
        self, year: int, today: date, municipalities: Sequence[str] | None
    ) -> dict[int, ItemStats]:
        """Per reservist id, counts over the non-archived items of their plan of ``year``
        (one grouped query). ``today`` (a local date) decides what is overdue. Reservists with
        no plan of that year are absent."""
        is_done = PlanItem.status == ItemStatus.DONE
        is_training = PlanItem.kind == "training"
        stmt = self._per_reservist_items(
            year,
            municipalities,
            func.count(PlanItem.id),
            _count_if(is_done),
            _count_if(PlanItem.confirmed_at.is_not(None)),
            _count_if(and_(PlanItem.status == ItemStatus.PLANNED, PlanItem.due_on < today)),
            _count_if(PlanItem.due_on.is_not(None)),
            _count_if(and_(PlanItem.due_on.is_not(None), is_done)),
            _count_if(is_training),
            _count_if(and_(is_training, is_done)),
        )
        return {uid: ItemStats(*map(_int, values)) for uid, *values in await self._rows(stmt)}

    async def group_counts(
        self,
        year: int,
        municipalities: Sequence[str] | None,
        *,
        in_reserve: Sequence[str],
        ever_included: Sequence[str],
        appointed: str,
    ) -> list[GroupCounts]:
        """The indicators' counts (see :class:`GroupCounts`) per stored spelling of
        municipality and organisation of the scope's reservists, for plan ``year``: one query
        aggregating in the database, so /kpi reads a few hundred rows, not a row per reservist
        and per plan item. ``in_reserve``, ``ever_included`` and ``appointed`` are the reserve
        statuses of :mod:`bot.services.indicators`."""
        is_done = PlanItem.status == ItemStatus.DONE
        is_training = PlanItem.kind == "training"
        dated = PlanItem.due_on.is_not(None)
        stats = self._per_reservist_items(
            year,
            municipalities,
            _count_if(is_done).label("done"),
            _count_if(dated).label("dated"),
            _count_if(and_(dated, is_done)).label("dated_done"),
            _count_if(is_training).label("trainings"),
            _count_if(and_(is_training, is_done)).label("trainings_done"),
        ).subquery("stats")
        consults = (
            select(Consultation.reservist_id.label("user_id"))
            .where(
                Consultation.status == ConsultationStatus.CONFIRMED,
                Consultation.held_on >= date(year, 1, 1),
                Consultation.held_on <= date(year, 12, 31),
            )
            .group_by(Consultation.reservist_id)
            .subquery("consults")
        )
        mentor = aliased(User)
        mentors = (
            select(MentorAssignment.reservist_id.label("user_id"))
            .join(mentor, mentor.id == MentorAssignment.mentor_id)
            .where(MentorAssignment.ended_at.is_(None), mentor.full_name.is_not(None))
            .group_by(MentorAssignment.reservist_id)
            .subquery("mentors")
        )
        reserve = User.reserve_status.in_(list(in_reserve))
        has_mentor = mentors.c.user_id.is_not(None)
        stmt = (
            select(
                User.municipality,
                User.organisation,
                func.count(User.id),
                _count_if(reserve),
                _count_if(
                    and_(
                        reserve,
                        or_(func.coalesce(stats.c.done, 0) > 0, consults.c.user_id.is_not(None)),
                    )
                ),
                _count_if(and_(reserve, stats.c.dated > 0, stats.c.dated_done == stats.c.dated)),
                _count_if(and_(reserve, has_mentor)),
                _count_if(User.reserve_status.in_(list(ever_included))),
                _count_if(User.reserve_status == appointed),
                _count_if(stats.c.trainings > 0),
                _count_if(stats.c.trainings_done > 0),
                _count_if(has_mentor),
            )
            .outerjoin(stats, stats.c.user_id == User.id)
            .outerjoin(consults, consults.c.user_id == User.id)
            .outerjoin(mentors, mentors.c.user_id == User.id)
            .where(*self._scope(municipalities))
            .group_by(User.municipality, User.organisation)
            .order_by(User.municipality, User.organisation)
        )
        return [
            GroupCounts(municipality, organisation, *map(_int, counts))
            for municipality, organisation, *counts in (await self.s.execute(stmt)).all()
        ]

    async def confirmed_consultations(
        self, year: int, municipalities: Sequence[str] | None
    ) -> dict[int, int]:
        """Per reservist id, confirmed consultations held in calendar ``year`` (only confirmed
        ones count in reports)."""
        stmt = (
            (
                select(Consultation.reservist_id, func.count(Consultation.id))
                .join(User, User.id == Consultation.reservist_id)
                .where(
                    Consultation.status == ConsultationStatus.CONFIRMED,
                    Consultation.held_on >= date(year, 1, 1),
                    Consultation.held_on <= date(year, 12, 31),
                )
            )
            .where(*self._scope(municipalities))
            .group_by(Consultation.reservist_id)
        )
        return {rid: _int(n) for rid, n in (await self.s.execute(stmt)).all()}

    async def active_mentors(self, municipalities: Sequence[str] | None) -> dict[int, str | None]:
        """Per reservist id with an active assignment (``ended_at`` is None), the mentor's
        full name (None when the mentor deleted their data)."""
        mentor = aliased(User)
        stmt = (
            select(MentorAssignment.reservist_id, mentor.full_name)
            .join(User, User.id == MentorAssignment.reservist_id)
            .join(mentor, mentor.id == MentorAssignment.mentor_id)
            .where(MentorAssignment.ended_at.is_(None))
        ).where(*self._scope(municipalities))
        return dict(await self._rows(stmt))

    async def last_activity(self, municipalities: Sequence[str] | None) -> dict[int, datetime]:
        """Per reservist id, the latest thing they did (aware UTC): a change of a plan item
        they made, or a consultation of theirs logged (as ``MentoringRepo.last_activity``)."""
        events = (
            (
                select(PlanItemEvent.actor_id, func.max(PlanItemEvent.at)).join(
                    User, User.id == PlanItemEvent.actor_id
                )
            )
            .where(*self._scope(municipalities))
            .group_by(PlanItemEvent.actor_id)
        )
        consults = (
            (
                select(Consultation.reservist_id, func.max(Consultation.created_at)).join(
                    User, User.id == Consultation.reservist_id
                )
            )
            .where(*self._scope(municipalities))
            .group_by(Consultation.reservist_id)
        )
        found: dict[int, datetime] = {}
        for stmt in (events, consults):
            for uid, at in await self._rows(stmt):
                # max() keeps the column's type: ``at`` is an aware UTC datetime
                if uid is not None and at is not None and (uid not in found or at > found[uid]):
                    found[uid] = at
        return found

    async def done_items(
        self, year: int, municipalities: Sequence[str] | None, *, batch: int = BATCH
    ) -> AsyncIterator[Sequence[DoneItemRow]]:
        """Done, non-archived roadmap items (``activity_id`` set) of the plans of ``year``,
        ordered by activity, date done and owner: one query whose rows are fetched ``batch``
        at a time (a region has over 100,000), so that other users' requests are served
        between the batches and the raw rows of all of them are never in memory at once."""
        stmt = (
            (
                select(
                    PlanItem.activity_id,
                    IndividualPlan.user_id,
                    PlanItem.done_on,
                    PlanItem.confirmed_at,
                    PlanItem.evidence_kind,
                    PlanItem.evidence_name,
                )
                .select_from(PlanItem)
                .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
                .join(User, User.id == IndividualPlan.user_id)
                .where(
                    IndividualPlan.year == year,
                    PlanItem.archived.is_(False),
                    PlanItem.status == ItemStatus.DONE,
                    PlanItem.activity_id.is_not(None),
                )
            )
            .where(*self._scope(municipalities))
            .order_by(PlanItem.activity_id, PlanItem.done_on, IndividualPlan.user_id, PlanItem.id)
        )
        result = await self.s.stream(stmt)
        async for rows in result.partitions(batch):
            # the rows as they come (no object per row); activity_id is never None (the WHERE)
            yield cast("Sequence[DoneItemRow]", rows)

    async def activities(
        self, extra_ids: Sequence[int] = (), municipalities: Sequence[str] | None = None
    ) -> list[ActivityRow]:
        """The current roadmap's activities for reservists, plus the activities ``extra_ids``
        (e.g. archived ones someone still did), in the roadmap's order.

        With ``municipalities`` (a municipal officer's scope: stored spellings), only the
        regional roadmap's activities and those of these municipalities' own roadmaps, so that
        another district's own roadmap is not shown; ``extra_ids`` are kept regardless.
        """
        extra = set(extra_ids)
        wanted = and_(Activity.archived.is_(False), Activity.for_reservists.is_(True))
        if extra:
            wanted = or_(wanted, Activity.id.in_(list(extra)))
        rows = await self.s.execute(
            select(
                Activity.id,
                Activity.title,
                Activity.kind,
                Activity.section,
                Activity.archived,
                Activity.municipality,
            )
            .where(wanted)
            .order_by(Activity.archived, Activity.position, Activity.id)
        )
        allowed = None if municipalities is None else {_area(m) for m in municipalities}
        return [
            ActivityRow(*row[:5])
            for row in rows.all()
            if allowed is None or row[5] is None or _area(row[5]) in allowed or row[0] in extra
        ]

    async def comments_of_items(self, item_ids: Sequence[int]) -> dict[int, list[CommentRow]]:
        """Comments on these items with their authors' names, oldest first, per item id."""
        if not item_ids:
            return {}
        rows = await self.s.execute(
            select(ItemComment.item_id, User.full_name, ItemComment.text, ItemComment.created_at)
            .outerjoin(User, User.id == ItemComment.author_id)
            .where(ItemComment.item_id.in_(list(item_ids)))
            .order_by(ItemComment.item_id, ItemComment.id)
        )
        found: dict[int, list[CommentRow]] = {}
        for row in rows.all():
            found.setdefault(row[0], []).append(CommentRow(*row))
        return found

    async def set_conclusion(
        self, plan_id: int, text: str, officer_id: int | None, at: datetime
    ) -> None:
        """Store the year-end interview's conclusion on a plan: the text, who (user id) and
        when (aware UTC)."""
        await self.s.execute(
            update(IndividualPlan)
            .where(IndividualPlan.id == plan_id)
            .values(interview_conclusion=text, concluded_by=officer_id, concluded_at=at)
            .execution_options(synchronize_session="fetch")
        )


__all__ = [
    "ActivityRow",
    "CommentRow",
    "DoneItemRow",
    "GroupCounts",
    "ItemStats",
    "ReportsRepo",
    "ReservistRow",
]
