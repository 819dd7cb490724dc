"""Mentoring (наставничество): assignments, consultations confirmed by both sides, the mentor's
view of mentees' progress, confirmations and comments on plan items, and digests.

Roadmap rows behind it: Petrovsky «Подбор наставника из числа опытных руководящих работников —
консультативная помощь»; Khabarovsk 2.14 «Закрепление наставников за резервистами … индивидуальный
план работы в системе «резервист» – «наставник»». Only confirmed consultations count in reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot import texts
from bot.services.errors import AccessDeniedError, InputError, NotFoundError
from bot.services.paging import clamp_page
from bot.services.scope import in_scope, officer_municipality, same_area
from bot.services.validation import ascii_number, clean_text
from storage.models import (
    Consultation,
    ConsultationStatus,
    ItemComment,
    ItemStatus,
    MentorAssignment,
    PlanItem,
    Role,
    User,
)
from storage.repo import Repo
from storage.repo.mentoring import ItemCounts, PairMember
from storage.repo.people_search import PeopleQuery

FORMATS = ("in_person", "online", "phone")
MIN_MINUTES, MAX_MINUTES = 5, 480
STALLED_DAYS = 30
PAGE = 8
NO_ITEMS = ItemCounts(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Pool:
    """Whom a searchable list of people offers: not anonymised people with a name of the
    officer's scope, and of them only those of ``role`` (None: every role), only registered ones
    when ``registered``."""

    role: Role | None
    registered: bool = True


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a searchable list of people: ``total`` match the search (and fill
    ``pages``), ``pool`` are in the list before the search."""

    people: Sequence[User]
    page: int
    pages: int
    total: int
    pool: int


async def search_people(
    repo: Repo, officer: User, pool: Pool, query: str | None, page: int
) -> Page:
    """Page ``page`` (1-based, clamped) of :data:`PAGE` people of ``pool`` in ``officer``'s
    scope whose name, organisation or municipality contain every word of ``query`` (None: no
    search) in any letter case, by name. A fixed number of statements whatever the number of
    people: the scope's municipality values (a municipal officer), the two counts, the page.

    Raises:
        AccessDeniedError: ``officer`` is not an officer.
    """
    area = officer_municipality(officer)
    municipalities = None
    if area is not None:
        municipalities = [m for m in await repo.users.municipalities() if same_area(m, area)]
    people = PeopleQuery(pool.role, pool.registered, municipalities, (query or "").split())
    everyone, total = await repo.users.count_people(people)
    page, pages = clamp_page(total, page, PAGE)
    rows = await repo.users.people_page(people, (page - 1) * PAGE, PAGE) if total else []
    return Page(rows, page, pages, total, everyone)


def parse_minutes(value: str | None) -> int:
    """Duration of a consultation in whole minutes, 5-480.

    Raises:
        InputError: not a whole number in range.
    """
    text = (value or "").strip().removesuffix("мин.").removesuffix("мин").strip()
    minutes = ascii_number(text)
    if minutes is None or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise InputError(texts.BAD_MINUTES)
    return minutes


@dataclass(frozen=True, slots=True)
class MenteeProgress:
    """What a mentor sees of one mentee (``user``: the ORM user, or a side of a pair)."""

    user: User | PairMember
    total: int
    done: int
    confirmed: int
    overdue: int
    last_activity: datetime | None
    consultations: int

    def stalled(self, now: datetime) -> bool:
        """No activity for :data:`STALLED_DAYS` days (or never)."""
        return self.last_activity is None or now - self.last_activity > timedelta(
            days=STALLED_DAYS
        )


@dataclass(frozen=True, slots=True)
class PairReport:
    """An officer's line about one mentor-reservist pair."""

    reservist: PairMember
    mentor: PairMember
    since: datetime
    confirmed: int
    pending: int
    progress: MenteeProgress


class MentoringService:
    """Mentoring over a :class:`Repo` (one transaction)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    # --- assignments --------------------------------------------------------------------
    async def person(self, user_id: int, role: Role, officer: User | None = None) -> User:
        """A user of ``role`` (in ``officer``'s scope when given).

        Raises:
            NotFoundError: no such user, another role, anonymised, or outside the scope.
        """
        user = await self.repo.users.get(user_id)
        if user is None or user.role != role or user.anonymised_at is not None:
            raise NotFoundError(user_id)
        if officer is not None and not in_scope(officer, user):
            raise NotFoundError(user_id)
        return user

    async def current_mentor(self, reservist: User) -> User | None:
        """The reservist's active mentor, or None (also when the mentor deleted their data:
        their pairs end then, see PeopleService.erase; this guards pairs left by older data)."""
        assignment = await self.repo.mentoring.active_assignment(reservist.id)
        mentor = await self.repo.users.get(assignment.mentor_id) if assignment else None
        return mentor if mentor is not None and mentor.anonymised_at is None else None

    async def assign(
        self, officer: User, reservist_id: int, mentor_id: int, now: datetime
    ) -> tuple[User, User, User | None]:
        """Make ``mentor_id`` the reservist's mentor, ending the current assignment if any.

        Returns (reservist, mentor, previous mentor or None).

        Raises:
            AccessDeniedError: ``officer`` is not an officer.
            NotFoundError: the reservist or mentor does not exist (or has another role).
            InputError: the mentor is already this reservist's mentor.
        """
        if officer.role != Role.OFFICER:
            raise AccessDeniedError(officer.id)
        reservist = await self.person(reservist_id, Role.RESERVIST, officer)
        mentor = await self.person(mentor_id, Role.MENTOR, officer)
        current = await self.repo.mentoring.active_assignment(reservist.id)
        previous = None
        if current is not None:
            if current.mentor_id == mentor.id:
                raise InputError(texts.ALREADY_ASSIGNED)
            previous = await self.repo.users.get(current.mentor_id)
            await self.repo.mentoring.end_assignment(current, officer.id, now)
        await self.repo.mentoring.add_assignment(
            MentorAssignment(
                reservist_id=reservist.id, mentor_id=mentor.id, assigned_by=officer.id,
                started_at=now,
            )
        )  # fmt: skip
        await self.repo.audit.record(
            officer.id,
            "assign",
            f"user:{reservist.id}",
            {"mentor_id": mentor.id, "previous_mentor_id": previous.id if previous else None},
        )
        return reservist, mentor, previous

    async def end(self, officer: User, reservist_id: int, now: datetime) -> tuple[User, User]:
        """End the reservist's current assignment. Returns (reservist, former mentor).

        Raises:
            AccessDeniedError: ``officer`` is not an officer.
            NotFoundError: no such reservist or no active assignment.
        """
        if officer.role != Role.OFFICER:
            raise AccessDeniedError(officer.id)
        reservist = await self.person(reservist_id, Role.RESERVIST, officer)
        current = await self.repo.mentoring.active_assignment(reservist.id)
        if current is None:
            raise NotFoundError(reservist_id)
        mentor = await self.repo.users.get(current.mentor_id)
        assert mentor is not None
        await self.repo.mentoring.end_assignment(current, officer.id, now)
        await self.repo.audit.record(
            officer.id, "unassign", f"user:{reservist.id}", {"mentor_id": mentor.id}
        )
        return reservist, mentor

    async def check_mentee(self, mentor: User, reservist_id: int) -> User:
        """The reservist if ``mentor`` is their current mentor.

        Raises:
            NotFoundError: not the mentor's mentee (a forged or stale button).
        """
        if mentor.role != Role.MENTOR or not await self.repo.mentoring.is_active_pair(
            mentor.id, reservist_id
        ):
            raise NotFoundError(reservist_id)
        return await self.person(reservist_id, Role.RESERVIST)

    # --- consultations ------------------------------------------------------------------
    async def counterpart(self, actor: User, reservist_id: int | None) -> tuple[User, User]:
        """(reservist, mentor) of a consultation ``actor`` logs.

        A reservist logs with their current mentor; a mentor with one of their mentees.

        Raises:
            NotFoundError: no active pair (no mentor yet, or not the mentor's mentee).
            AccessDeniedError: an officer or other role.
        """
        if actor.role == Role.RESERVIST:
            mentor = await self.current_mentor(actor)
            if mentor is None:
                raise NotFoundError(actor.id)
            return actor, mentor
        if actor.role == Role.MENTOR and reservist_id is not None:
            return await self.check_mentee(actor, reservist_id), actor
        raise AccessDeniedError(actor.id)

    async def log_consultation(
        self,
        actor: User,
        *,
        reservist_id: int | None,
        held_on: date,
        fmt: str,
        topic: str,
        minutes: int,
        note: str | None,
        item_id: int | None,
        today: date,
    ) -> tuple[Consultation, User]:
        """Record a consultation logged by ``actor``; returns it and the side who must confirm.

        Raises:
            NotFoundError / AccessDeniedError: as :meth:`counterpart`; a plan item that is not
                the reservist's.
            InputError: a date in the future, an unknown format, a duration out of 5-480.
        """
        reservist, mentor = await self.counterpart(actor, reservist_id)
        if held_on > today:
            raise InputError(texts.BAD_DATE_FUTURE)
        if fmt not in FORMATS:
            raise InputError(texts.BAD_FORMAT)
        if not MIN_MINUTES <= minutes <= MAX_MINUTES:
            raise InputError(texts.BAD_MINUTES)
        topic = clean_text(topic, 3, 300)
        if (
            item_id is not None
            and await self.repo.plans.item_of_user(item_id, reservist.id) is None
        ):
            raise NotFoundError(item_id)
        consultation = await self.repo.mentoring.add_consultation(
            Consultation(
                reservist_id=reservist.id,
                mentor_id=mentor.id,
                logged_by=actor.id,
                held_on=held_on,
                format=fmt,
                topic=topic,
                minutes=minutes,
                note=note,
                item_id=item_id,
                status=ConsultationStatus.PENDING,
            )
        )
        return consultation, mentor if actor.id == reservist.id else reservist

    async def decide(
        self,
        actor: User,
        consultation_id: int,
        *,
        confirm: bool,
        reason: str | None,
        now: datetime,
    ) -> tuple[Consultation, User]:
        """Confirm or decline (with a reason) a consultation the other side logged.

        Returns the consultation and the user who logged it (to be told).

        Raises:
            NotFoundError: not a party to it, or it was logged by ``actor`` (a forged button).
            InputError: already decided; a decline without a reason.
        """
        consultation = await self.repo.mentoring.consultation(consultation_id, lock=True)
        if (
            consultation is None
            or actor.id not in (consultation.reservist_id, consultation.mentor_id)
            or consultation.logged_by == actor.id
        ):
            raise NotFoundError(consultation_id)
        if consultation.status != ConsultationStatus.PENDING:
            raise InputError(texts.ALREADY_DECIDED)
        if not confirm:
            reason = clean_text(reason, 3, 500)
        consultation.status = (
            ConsultationStatus.CONFIRMED if confirm else ConsultationStatus.DECLINED
        )
        consultation.decided_at = now
        consultation.decline_reason = None if confirm else reason
        other_id = consultation.logged_by or (
            consultation.mentor_id if actor.id == consultation.reservist_id
            else consultation.reservist_id
        )  # fmt: skip
        other = await self.repo.users.get(other_id)
        assert other is not None
        await self.repo.flush()
        return consultation, other

    async def awaiting(self, user: User) -> Sequence[Consultation]:
        """Consultations waiting for ``user``'s confirmation."""
        return await self.repo.mentoring.awaiting(user.id)

    # --- progress -----------------------------------------------------------------------
    async def progress(
        self, reservists: Sequence[User | PairMember], today: date
    ) -> list[MenteeProgress]:
        """Progress of each reservist in their plan of ``today``'s year (zeros without one): a
        fixed number of queries, the item counts made in SQL."""
        ids = [u.id for u in reservists]
        last = await self.repo.mentoring.last_activity(ids)
        counts = await self.repo.mentoring.confirmed_counts(today.year)
        items = await self.repo.mentoring.item_counts(ids, today.year, today)
        result = []
        for user in reservists:
            mine = items.get(user.id, NO_ITEMS)
            result.append(
                MenteeProgress(
                    user=user,
                    total=mine.total,
                    done=mine.done,
                    confirmed=mine.confirmed,
                    overdue=mine.overdue,
                    last_activity=last.get(user.id),
                    consultations=counts.get(user.id, 0),
                )
            )
        return result

    async def mentees_progress(self, mentor: User, today: date) -> list[MenteeProgress]:
        """The mentor's mentees with their progress."""
        return await self.progress(await self.repo.mentoring.mentees(mentor.id), today)

    async def pairs(self, today: date, officer: User | None = None) -> list[PairReport]:
        """Every active pair with confirmed and pending consultations this year; with
        ``officer``, only the pairs whose reservist is in their scope (as :func:`in_scope`),
        so that a municipal officer's /pairs computes no other district's progress. A fixed
        number of queries; the pairs are plain rows and the item counts made in SQL.

        Raises:
            AccessDeniedError: ``officer`` is given and is not an officer.
        """
        pairs = await self.repo.mentoring.active_pairs()
        area = officer_municipality(officer) if officer is not None else None
        if area is not None:
            pairs = [p for p in pairs if same_area(p.reservist.municipality, area)]
        reservists = [p.reservist for p in pairs]
        progress = {p.user.id: p for p in await self.progress(reservists, today)}
        counts = await self.repo.mentoring.consultation_counts(
            [r.id for r in reservists], date(today.year, 1, 1)
        )  # one grouped query, not one per pair
        reports = []
        for pair in pairs:
            key = (pair.reservist.id, pair.mentor.id)
            reports.append(
                PairReport(
                    reservist=pair.reservist,
                    mentor=pair.mentor,
                    since=pair.since,
                    confirmed=counts.get((*key, ConsultationStatus.CONFIRMED), 0),
                    pending=counts.get((*key, ConsultationStatus.PENDING), 0),
                    progress=progress[pair.reservist.id],
                )
            )
        return reports

    # --- items --------------------------------------------------------------------------
    async def mentee_item(self, mentor: User, item_id: int) -> tuple[PlanItem, User]:
        """An item of one of the mentor's mentees, with its owner.

        Raises:
            NotFoundError: the item is not a current mentee's (forged or stale).
        """
        item = await self.repo.plans.get_item(item_id)
        if item is None or item.archived:
            raise NotFoundError(item_id)
        plan = await self.repo.plans.get_plan(item.plan_id)
        if plan is None:
            raise NotFoundError(item_id)
        owner = await self.check_mentee(mentor, plan.user_id)
        return item, owner

    async def confirm_item(
        self, mentor: User, item_id: int, now: datetime
    ) -> tuple[PlanItem, User]:
        """Confirm a done item of a mentee (one the roadmap marks as needing confirmation, or
        logged with evidence). Returns the item and its owner.

        Raises:
            NotFoundError: not a mentee's item.
            InputError: not done, already confirmed, or not confirmable.
        """
        item, owner = await self.mentee_item(mentor, item_id)
        if item.status != ItemStatus.DONE:
            raise InputError(texts.ITEM_NOT_DONE)
        if item.confirmed_at is not None:
            raise InputError(texts.ITEM_ALREADY_CONFIRMED)
        if not confirmable(item):
            raise InputError(texts.ITEM_NOT_CONFIRMABLE)
        item.confirmed_by = mentor.id
        item.confirmed_at = now
        await self.repo.plans.add_event(item.id, mentor.id, "confirmed", {})
        return item, owner

    async def comment_item(
        self, mentor: User, item_id: int, text: str | None, now: datetime
    ) -> tuple[PlanItem, User, str]:
        """Add the mentor's comment to a mentee's item. Returns (item, owner, clean text).

        Raises:
            NotFoundError: not a mentee's item.
            InputError: empty, a command, or longer than 1000 characters.
        """
        item, owner = await self.mentee_item(mentor, item_id)
        clean = clean_text(text, 2, 1000)
        await self.repo.mentoring.add_comment(
            ItemComment(item_id=item.id, author_id=mentor.id, text=clean, created_at=now)
        )
        await self.repo.plans.add_event(item.id, mentor.id, "commented", {})
        return item, owner, clean


def confirmable(item: PlanItem) -> bool:
    """A done item a mentor may confirm: the roadmap asks for it, or it carries evidence."""
    return item.status == ItemStatus.DONE and (
        item.needs_confirmation or item.evidence_file_id is not None
    )
