"""Queries of the bulk import of people (``bot.services.people_import``): people to match a
list against, their personal invites and mentor assignments, and bulk inserts.

Reached as ``repo.people`` on a :class:`storage.repo.Repo`, in that repo's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite, MentorAssignment, ReserveStatusChange, User


class PeopleRepo:
    """People in bulk, over one session (one transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def named_people(self) -> Sequence[User]:
        """Every not anonymised person with a name, registered or awaiting registration, by id
        (the candidates an imported row is matched against)."""
        rows = await self.s.scalars(
            select(User)
            .where(User.anonymised_at.is_(None), User.full_name.is_not(None))
            .order_by(User.id)
        )
        return rows.all()

    async def personal_invites(self, person_ids: Iterable[int]) -> dict[int, Invite]:
        """The newest not revoked personal invite of each person (``Invite.person_id``)."""
        wanted = sorted(set(person_ids))
        if not wanted:
            return {}
        rows = await self.s.scalars(
            select(Invite)
            .where(Invite.person_id.in_(wanted), Invite.revoked.is_(False))
            .order_by(Invite.id)
        )
        found: dict[int, Invite] = {}
        for invite in rows:
            assert invite.person_id is not None
            found[invite.person_id] = invite  # ordered by id: the newest wins
        return found

    async def active_assignments(
        self, reservist_ids: Iterable[int]
    ) -> dict[int, MentorAssignment]:
        """The current mentor assignment of each of these reservists that has one."""
        wanted = sorted(set(reservist_ids))
        if not wanted:
            return {}
        rows = await self.s.scalars(
            select(MentorAssignment).where(
                MentorAssignment.reservist_id.in_(wanted), MentorAssignment.ended_at.is_(None)
            )
        )
        return {a.reservist_id: a for a in rows}

    async def add_people(self, people: Sequence[User]) -> None:
        """Insert people in one flush; their ``id`` is set afterwards."""
        self.s.add_all(people)
        await self.s.flush()

    async def add_invites(self, invites: Sequence[Invite]) -> None:
        """Insert invites in one flush."""
        self.s.add_all(invites)
        await self.s.flush()

    async def add_status_changes(self, changes: Sequence[ReserveStatusChange]) -> None:
        """Append reserve lifecycle steps in one flush."""
        self.s.add_all(changes)
        await self.s.flush()

    async def add_assignments(self, assignments: Sequence[MentorAssignment]) -> None:
        """Insert mentor assignments in one flush."""
        self.s.add_all(assignments)
        await self.s.flush()


__all__ = ["PeopleRepo"]
