"""Mentor assignments, consultations, comments on plan items, the mentees' progress counts and
digests: :class:`MentoringRepo`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.dialect import for_update, insert_ignore
from storage.models import (
    Consultation,
    ConsultationStatus,
    DigestLog,
    IndividualPlan,
    ItemComment,
    ItemStatus,
    MentorAssignment,
    PlanItem,
    PlanItemEvent,
    User,
    utcnow,
)


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """A reservist's plan items of a year (not archived): all, done, confirmed by the mentor,
    and overdue (not done, due before the day counted for)."""

    total: int
    done: int
    confirmed: int
    overdue: int


@dataclass(frozen=True, slots=True)
class PairMember:
    """A side of a current pair as the lists show it: the user's id, name, municipality,
    Telegram id and whether their data was deleted."""

    id: int
    full_name: str | None
    municipality: str | None
    telegram_id: int | None
    anonymised: bool


@dataclass(frozen=True, slots=True)
class Pair:
    """A current mentor assignment: since when, the reservist and the mentor."""

    since: datetime
    reservist: PairMember
    mentor: PairMember


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

    async def active_pairs(self) -> list[Pair]:
        """Every current assignment as a :class:`Pair`, by the mentor's name, then the
        reservist's: plain columns, no ORM objects (a region's lists hold thousands)."""
        mentor = aliased(User)
        rows = await self.s.execute(
            select(
                MentorAssignment.started_at,
                User.id, User.full_name, User.municipality, User.telegram_id, User.anonymised_at,
                mentor.id, mentor.full_name, mentor.municipality, mentor.telegram_id,
                mentor.anonymised_at,
            )
            .join(User, User.id == MentorAssignment.reservist_id)
            .join(mentor, mentor.id == MentorAssignment.mentor_id)
            .where(MentorAssignment.ended_at.is_(None))
            .order_by(mentor.full_name, User.full_name)
        )  # fmt: skip
        mentors: dict[int, PairMember] = {}
        pairs = []
        for since, rid, name, area, chat, gone, mid, m_name, m_area, m_chat, m_gone in rows.all():
            if mid not in mentors:
                mentors[mid] = PairMember(mid, m_name, m_area, m_chat, m_gone is not None)
            reservist = PairMember(rid, name, area, chat, gone is not None)
            pairs.append(Pair(since, reservist, mentors[mid]))
        return pairs

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

    async def item_counts(
        self, user_ids: Sequence[int], year: int, today: date
    ) -> dict[int, ItemCounts]:
        """:class:`ItemCounts` of these users' plans of ``year`` on ``today``, by user id (a user
        without such a plan is left out): counted in SQL, one grouped query per 5,000 users."""
        found: dict[int, ItemCounts] = {}
        ids = list(user_ids)
        done = PlanItem.status == ItemStatus.DONE
        for start in range(0, len(ids), 5000):
            rows = await self.s.execute(
                select(
                    IndividualPlan.user_id,
                    func.count(PlanItem.id),
                    func.count(case((done, 1))),
                    func.count(PlanItem.confirmed_at),
                    func.count(case((~done & (PlanItem.due_on < today), 1))),
                )
                .join(PlanItem, PlanItem.plan_id == IndividualPlan.id)
                .where(
                    IndividualPlan.user_id.in_(ids[start : start + 5000]),
                    IndividualPlan.year == year,
                    PlanItem.archived.is_(False),
                )
                .group_by(IndividualPlan.user_id)
            )
            for user_id, total, done_, confirmed, overdue in rows.all():
                found[user_id] = ItemCounts(int(total), int(done_), int(confirmed), int(overdue))
        return found

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
