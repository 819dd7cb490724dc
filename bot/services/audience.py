"""Audiences of officers' broadcasts: who gets an announcement.

An audience is a kind and, for some kinds, a value: everyone, reservists, mentors, a
municipality, an organisation (school), a cohort year (год включения), or reservists with
overdue plan items. Recipients are always limited to the officer's scope and to registered,
reachable people (a Telegram id, not blocked, not anonymised).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.services.scope import normalise, within_scope
from storage.models import Role, User
from storage.repo import Repo


class AudienceKind(StrEnum):
    """What an audience selects."""

    ALL = "all"
    RESERVISTS = "reservists"
    MENTORS = "mentors"
    MUNICIPALITY = "municipality"
    ORGANISATION = "organisation"
    COHORT = "cohort"
    OVERDUE = "overdue"


NEEDS_VALUE = frozenset(
    {AudienceKind.MUNICIPALITY, AudienceKind.ORGANISATION, AudienceKind.COHORT}
)


@dataclass(frozen=True, slots=True)
class Audience:
    """An audience: ``kind`` and, for municipality / organisation / cohort, ``value``."""

    kind: AudienceKind
    value: str | None = None

    def to_json(self) -> dict[str, str | None]:
        """For storing with the broadcast."""
        return {"kind": self.kind.value, "value": self.value}


async def reachable(repo: Repo, officer: User) -> list[User]:
    """Registered, reachable people of every role in ``officer``'s scope (officers included)."""
    people = await repo.users.everyone()
    return within_scope(
        officer,
        [
            p
            for p in people
            if p.telegram_id is not None and p.active and p.registered_at is not None
        ],
    )


async def recipients(repo: Repo, officer: User, audience: Audience, today: date) -> list[User]:
    """The people ``audience`` selects for ``officer`` on ``today`` (the officer's local date),
    without the officer themself. Municipality and organisation match case- and
    space-insensitively; the cohort is a year; overdue means a planned item of this year's plan
    past its due date."""
    people = [p for p in await reachable(repo, officer) if p.id != officer.id]
    kind, value = audience.kind, audience.value
    if kind == AudienceKind.ALL:
        return people
    if kind == AudienceKind.RESERVISTS:
        return [p for p in people if p.role == Role.RESERVIST]
    if kind == AudienceKind.MENTORS:
        return [p for p in people if p.role == Role.MENTOR]
    if kind == AudienceKind.MUNICIPALITY:
        return [p for p in people if normalise(p.municipality) == normalise(value)]
    if kind == AudienceKind.ORGANISATION:
        return [p for p in people if normalise(p.organisation) == normalise(value)]
    if kind == AudienceKind.COHORT:
        return [p for p in people if p.role == Role.RESERVIST and str(p.cohort_year) == value]
    reservists = [p for p in people if p.role == Role.RESERVIST]
    # one query for all of them (not a plan and its items per reservist)
    late = await repo.plans.with_overdue([p.id for p in reservists], today.year, today)
    return [p for p in reservists if p.id in late]


async def choices(repo: Repo, officer: User, kind: AudienceKind) -> Sequence[str]:
    """The values an officer can pick for a municipality, organisation or cohort audience."""
    people = await reachable(repo, officer)
    if kind == AudienceKind.MUNICIPALITY:
        values = {p.municipality for p in people if p.municipality}
    elif kind == AudienceKind.ORGANISATION:
        values = {p.organisation for p in people if p.organisation}
    elif kind == AudienceKind.COHORT:
        values = {str(p.cohort_year) for p in people if p.cohort_year}
    else:
        return []
    return sorted(values, key=str.casefold)
