"""Bulk queries of the department's reports: the export, the indicators, the year-end report.

Constructed over the session of a :class:`storage.repo.Repo` as ``ReportsRepo(repo.session)``.
Every method answers with a fixed number of queries whatever the number of people (no query
per reservist), returning plain frozen rows rather than ORM objects, so that 10,000 reservists
with 20 plan items each are read in a handful of round trips.

The officer's scope is passed as ``municipalities``: None for the whole region, or the exact
stored spellings of one municipality (see :meth:`ReportsRepo.reservist_municipalities`; the
service compares names case- and space-insensitively, SQLite's ``lower()`` cannot fold
Cyrillic). Only users with the reservist role are reported on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, and_, case, func, or_, select, update
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
class DoneItemRow:
    """A done roadmap item of a year's plan: who (user id), which activity, when (their local
    date), the mentor's confirmation (aware UTC or None) and the evidence file's name."""

    activity_id: int
    user_id: int
    title: str
    done_on: date | None
    confirmed_at: datetime | None
    evidence_kind: str | None
    evidence_name: str | None


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
        return [ReservistRow(*row) for row in (await self.s.execute(stmt)).all()]

    async def item_stats(
        self, year: int, today: date, municipalities: Sequence[str] | None
    ) -> dict[int, ItemStats]:
        """Per reservist id, counts over the non-archived items of their plan of ``year``
        (one grouped query). ``today`` (a local date) decides what is overdue. Reservists with
        no plan of that year are absent."""
        is_done = PlanItem.status == ItemStatus.DONE
        is_training = PlanItem.kind == "training"
        stmt = (
            (
                select(
                    IndividualPlan.user_id,
                    func.count(PlanItem.id),
                    _count_if(is_done),
                    _count_if(PlanItem.confirmed_at.is_not(None)),
                    _count_if(
                        and_(PlanItem.status == ItemStatus.PLANNED, PlanItem.due_on < today)
                    ),
                    _count_if(PlanItem.due_on.is_not(None)),
                    _count_if(and_(PlanItem.due_on.is_not(None), is_done)),
                    _count_if(is_training),
                    _count_if(and_(is_training, is_done)),
                )
                .select_from(PlanItem)
                .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
                .join(User, User.id == IndividualPlan.user_id)
                .where(IndividualPlan.year == year, PlanItem.archived.is_(False))
            )
            .where(*self._scope(municipalities))
            .group_by(IndividualPlan.user_id)
        )
        return {
            uid: ItemStats(*map(_int, values))
            for uid, *values in (await self.s.execute(stmt)).all()
        }

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
        return dict((await self.s.execute(stmt)).all())

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
            for uid, at in (await self.s.execute(stmt)).all():
                # max() keeps the column's type: ``at`` is an aware UTC datetime
                if uid is not None and at is not None and (uid not in found or at > found[uid]):
                    found[uid] = at
        return found

    async def done_items(
        self, year: int, municipalities: Sequence[str] | None
    ) -> list[DoneItemRow]:
        """Done, non-archived roadmap items (``activity_id`` set) of the plans of ``year``,
        ordered by activity, date done and owner."""
        stmt = (
            (
                select(
                    PlanItem.activity_id,
                    IndividualPlan.user_id,
                    PlanItem.title,
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
        return [
            DoneItemRow(int(aid or 0), uid, title, done_on, confirmed, kind, name)
            for aid, uid, title, done_on, confirmed, kind, name in (
                await self.s.execute(stmt)
            ).all()
        ]

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
    "ItemStats",
    "ReportsRepo",
    "ReservistRow",
]
