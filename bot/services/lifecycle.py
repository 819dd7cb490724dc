"""A person's way through the reserve (кадровый резерв), moved by officers:

candidate → included (date and number of the order) → in training → appointed (post,
organisation, date) or excluded (reason). An excluded person may be included again. Every step
is kept in ``reserve_status_changes`` and in the audit log; appointed and excluded people get
no reservist reminders (the reminder scan reads only people in the reserve).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot import texts
from bot.services.errors import AccessDeniedError, InputError, NotFoundError
from bot.services.scope import in_scope
from bot.services.validation import clean_text, column_length
from storage.models import ReserveStatus, ReserveStatusChange, Role, User
from storage.repo import Repo

S = ReserveStatus
ALLOWED: dict[str | None, frozenset[ReserveStatus]] = {
    None: frozenset({S.CANDIDATE, S.INCLUDED}),
    S.CANDIDATE: frozenset({S.INCLUDED, S.EXCLUDED}),
    S.INCLUDED: frozenset({S.TRAINING, S.APPOINTED, S.EXCLUDED}),
    S.TRAINING: frozenset({S.APPOINTED, S.EXCLUDED}),
    S.APPOINTED: frozenset(),
    S.EXCLUDED: frozenset({S.INCLUDED}),
}
# Statuses whose holders follow an individual plan and get reminders.
IN_RESERVE = frozenset({S.INCLUDED, S.TRAINING})


@dataclass(frozen=True, slots=True)
class StatusStep:
    """What an officer entered for a step: the fields each status needs are checked."""

    status: ReserveStatus
    effective_on: date
    order_number: str | None = None
    post: str | None = None
    organisation: str | None = None
    reason: str | None = None


#: The longest answer each step's field takes: its column's length (the reason is free text,
#: kept to a paragraph).
FIELD_LIMITS = {
    "order_number": column_length(ReserveStatusChange.order_number),
    "post": column_length(ReserveStatusChange.post),
    "organisation": column_length(ReserveStatusChange.organisation),
    "reason": 300,
}


def next_statuses(current: str | None) -> list[ReserveStatus]:
    """The statuses a person with ``current`` may be moved to, in lifecycle order."""
    allowed = ALLOWED.get(current, frozenset())
    return [s for s in ReserveStatus if s in allowed]


def needed_fields(status: ReserveStatus) -> tuple[str, ...]:
    """The fields a step to ``status`` requires besides the date."""
    return {
        S.INCLUDED: ("order_number",),
        S.APPOINTED: ("post", "organisation"),
        S.EXCLUDED: ("reason",),
    }.get(status, ())


class LifecycleService:
    """Status changes over a :class:`Repo` (one transaction)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    async def person(self, officer: User, person_id: int) -> User:
        """A reservist in ``officer``'s scope.

        Raises:
            AccessDeniedError: not an officer. NotFoundError: no such reservist in scope.
        """
        if officer.role != Role.OFFICER:
            raise AccessDeniedError(officer.id)
        person = await self.repo.users.get(person_id)
        if (
            person is None
            or person.role != Role.RESERVIST
            or person.anonymised_at is not None
            or not in_scope(officer, person)
        ):
            raise NotFoundError(person_id)
        return person

    async def change(
        self, officer: User, person_id: int, step: StatusStep, now: datetime
    ) -> tuple[User, ReserveStatusChange]:
        """Move a reservist to ``step.status`` and keep the step in the history.

        Raises:
            AccessDeniedError / NotFoundError: as :meth:`person`.
            InputError: a move the lifecycle does not allow, or a missing required field.
        """
        person = await self.person(officer, person_id)
        if step.status not in ALLOWED.get(person.reserve_status, frozenset()):
            raise InputError(texts.BAD_STATUS_MOVE)
        values = {
            "order_number": step.order_number,
            "post": step.post,
            "organisation": step.organisation,
            "reason": step.reason,
        }
        for name in needed_fields(step.status):
            values[name] = clean_text(values[name], 1, FIELD_LIMITS[name])
        change = ReserveStatusChange(
            user_id=person.id,
            status=step.status,
            effective_on=step.effective_on,
            changed_by=officer.id,
            changed_at=now,
            **values,
        )
        await self.repo.users.update(person, reserve_status=step.status)
        await self.repo.users.add_status_change(change)
        await self.repo.audit.record(
            officer.id,
            "status",
            f"user:{person.id}",
            {"status": step.status, "effective_on": step.effective_on.isoformat(), **values},
        )
        return person, change
