"""People of the reserve: invitations, registration with consent (152-ФЗ), deletion.

Nobody gets in without an invite: an officer creates a link for a role; opening it starts
registration; the user is stored only when registration completes with consent given.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.services.plans import PlanService
from storage.models import Invite, Role, User
from storage.repo import Repo

CODE_BYTES = 9  # 12 URL-safe characters; Telegram allows up to 64 in a /start payload


class InviteProblem(StrEnum):
    """Why an invite cannot be used."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


class InviteError(Exception):
    """The invite cannot be used; ``problem`` says why."""

    def __init__(self, problem: InviteProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Profile:
    """What registration asks for. ``municipality`` is None when the invite fixes it."""

    full_name: str
    organisation: str
    position: str
    municipality: str | None


@dataclass(frozen=True, slots=True)
class InviteInfo:
    """What the registration dialogue needs to know of a valid invite."""

    code: str
    role: Role
    municipality: str | None


class PeopleService:
    """Invites, registration and personal data over a :class:`Repo` (one transaction)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    async def create_invite(
        self,
        officer: User,
        role: Role,
        *,
        now: datetime,
        ttl: timedelta,
        max_uses: int = 1,
        municipality: str | None = None,
    ) -> Invite:
        """Create an invite link code for ``role`` valid for ``ttl`` from ``now`` (aware UTC).

        Raises:
            PermissionError: ``officer`` is not an officer.
            ValueError: ``max_uses`` is not between 1 and 1000.
        """
        if officer.role != Role.OFFICER:
            raise PermissionError(officer.id)
        if not 1 <= max_uses <= 1000:
            msg = "max_uses must be 1..1000"
            raise ValueError(msg)
        return await self.repo.invites.add(
            Invite(
                code=secrets.token_urlsafe(CODE_BYTES),
                role=role,
                municipality=municipality,
                max_uses=max_uses,
                uses=0,
                expires_at=now + ttl,
                created_by=officer.id,
                created_at=now,
            )
        )

    async def check_invite(self, code: str, now: datetime, *, lock: bool = False) -> Invite:
        """The invite with ``code`` if it can be used at ``now``.

        Raises:
            InviteError: unknown or revoked, expired, or used up.
        """
        invite = await self.repo.invites.by_code(code, lock=lock) if code else None
        if invite is None or invite.revoked:
            raise InviteError(InviteProblem.UNKNOWN)
        if invite.expires_at <= now:
            raise InviteError(InviteProblem.EXPIRED)
        if invite.uses >= invite.max_uses:
            raise InviteError(InviteProblem.USED)
        return invite

    async def invite_info(self, code: str, now: datetime) -> InviteInfo:
        """Like :meth:`check_invite`, as plain data for the dialogue."""
        invite = await self.check_invite(code, now)
        return InviteInfo(invite.code, Role(invite.role), invite.municipality)

    async def register(
        self,
        telegram_id: int,
        code: str,
        profile: Profile,
        *,
        consent_version: str,
        consent_at: datetime,
        now: datetime,
        today: date,
    ) -> User:
        """Store a new user from a completed registration and use up one use of the invite.

        The invite is checked again under a lock (it may have expired or been used while the
        user typed). A reservist gets the individual plan of ``today``'s year.

        Raises:
            InviteError: the invite can no longer be used.
            ValueError: this Telegram user is already registered.
        """
        if await self.repo.users.by_telegram(telegram_id) is not None:
            msg = "already registered"
            raise ValueError(msg)
        invite = await self.check_invite(code, now, lock=True)
        if not await self.repo.invites.consume(invite.id, now):
            raise InviteError(InviteProblem.USED)
        user = await self.repo.users.add(
            User(
                telegram_id=telegram_id,
                role=invite.role,
                full_name=profile.full_name,
                organisation=profile.organisation,
                position=profile.position,
                municipality=invite.municipality or profile.municipality,
                consent_version=consent_version,
                consent_at=consent_at,
                invite_id=invite.id,
                registered_at=now,
                active=True,
                muted=False,
            )
        )
        if user.role == Role.RESERVIST:
            plans = PlanService(self.repo)
            await plans.ensure_plan(user, today.year, today)
            if today.month == 12:
                await plans.ensure_plan(user, today.year + 1, today)
        return user

    async def anonymise(self, user: User, now: datetime) -> None:
        """Delete the user's personal data (152-ФЗ, art. 21) and keep what reports need.

        Cleared: name, organisation, position, Telegram id, comments, evidence files and the
        personal parts of the history. Kept without a name: role, municipality, plan items'
        statuses and dates, so the department's indicators stay true.
        """
        await self.repo.plans.redact_user_items(user.id)
        user.full_name = None
        user.organisation = None
        user.position = None
        user.telegram_id = None
        user.active = False
        user.muted = True
        user.anonymised_at = now
        await self.repo.notices.skip_for_user(user.id)
        await self.repo.flush()
