"""People of the reserve: invitations, registration with consent (152-ФЗ), deletion.

Nobody gets in without an invite: an officer creates a link for a role; opening it starts
registration; the user is stored only when registration completes with consent given.

A personal invite (``Invite.person_id``, made by the bulk import, bot.services.people_import)
belongs to a person already stored from a list and awaiting registration (no Telegram id):
registering by it binds the Telegram user to that person instead of storing a new one.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot import texts
from bot.services.errors import AccessDeniedError
from bot.services.plans import PlanService
from storage.models import Invite, ReserveStatus, Role, User
from storage.repo import ConsentRow, Repo

CODE_BYTES = 9  # 12 URL-safe characters; Telegram allows up to 64 in a /start payload
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these as formulas


def consent_journal_csv(rows: Sequence[ConsentRow]) -> bytes:
    """The consent journal as CSV (UTF-8 with BOM, ``;``-separated, CRLF, as the reserve's
    CSV export): version, given and withdrawn (ISO 8601 UTC), the user's internal id and the
    name — empty for people who withdrew (deleted: 152-ФЗ art. 21 part 5) and for people with
    no name. A name that a spreadsheet would take for a formula is prefixed with ``'``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(texts.CONSENTS_CSV_HEADER)
    for row in rows:
        name = "" if row.withdrawn_at is not None else (row.full_name or "")
        if name.startswith(_FORMULA_START):
            name = "'" + name
        writer.writerow(
            [
                row.version,
                row.accepted_at.isoformat(timespec="seconds"),
                row.withdrawn_at.isoformat(timespec="seconds") if row.withdrawn_at else "",
                "" if row.user_id is None else row.user_id,
                name,
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


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


class AlreadyRegisteredError(Exception):
    """This Telegram user is already registered (a second /start link opened by a member)."""


@dataclass(frozen=True, slots=True)
class Profile:
    """What registration asks for. ``municipality`` is None when the invite fixes it."""

    full_name: str
    organisation: str
    position: str
    municipality: str | None


@dataclass(frozen=True, slots=True)
class InviteInfo:
    """What the registration dialogue needs to know of a valid invite; ``person`` is the
    pre-filled profile of a personal invite (None for an ordinary one)."""

    code: str
    role: Role
    municipality: str | None
    person: Profile | None = None


def awaiting_registration(person: User) -> bool:
    """Whether a stored person (e.g. imported from a list) may still register: not
    registered, no Telegram id, not anonymised."""
    return (
        person.telegram_id is None
        and person.registered_at is None
        and (person.anonymised_at is None)
    )


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
            AccessDeniedError: ``officer`` is not an officer.
            ValueError: ``max_uses`` is not between 1 and 1000.
        """
        if officer.role != Role.OFFICER:
            raise AccessDeniedError(officer.id)
        if not 1 <= max_uses <= 1000:
            msg = "max_uses must be 1..1000"
            raise ValueError(msg)
        invite = await self.repo.invites.add(
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
        await self.repo.audit.record(
            officer.id,
            "invite",
            role,
            {"invite_id": invite.id, "max_uses": max_uses, "municipality": municipality},
        )
        return invite

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
        """Like :meth:`check_invite`, as plain data for the dialogue; a personal invite comes
        with its person's stored profile.

        Raises:
            InviteError: as :meth:`check_invite`; also USED when the invite's person is
                already registered, UNKNOWN when they were deleted.
        """
        invite = await self.check_invite(code, now)
        person = await self._invited_person(invite)
        if person is None:
            return InviteInfo(invite.code, Role(invite.role), invite.municipality)
        profile = Profile(
            full_name=person.full_name or "",
            organisation=person.organisation or "",
            position=person.position or "",
            municipality=person.municipality,
        )
        municipality = person.municipality or invite.municipality
        return InviteInfo(invite.code, Role(person.role), municipality, profile)

    async def _invited_person(self, invite: Invite) -> User | None:
        """The person of a personal invite (None for an ordinary invite).

        Raises:
            InviteError: USED when the person is registered, UNKNOWN when they are gone or
                anonymised.
        """
        if invite.person_id is None:
            return None
        person = await self.repo.users.get(invite.person_id)
        if person is None or person.anonymised_at is not None:
            raise InviteError(InviteProblem.UNKNOWN)
        if not awaiting_registration(person):
            raise InviteError(InviteProblem.USED)
        return person

    async def register(
        self,
        telegram_id: int,
        code: str,
        profile: Profile | None,
        *,
        consent_version: str,
        consent_at: datetime,
        now: datetime,
        today: date,
    ) -> User:
        """Register a Telegram user by an invite and use up one use of it.

        An ordinary invite stores a new user from ``profile``. A personal invite binds the
        Telegram user to its stored person: ``profile`` None keeps the pre-filled profile
        («Всё верно»), a given one replaces name, organisation and position («Исправить»; the
        municipality stays the person's). The invite is checked again under a lock (it may
        have expired or been used while the user typed). The consent (``consent_version``,
        given at ``consent_at``) is recorded in the consent journal (152-ФЗ, art. 9 part 3:
        the operator proves the consent). A reservist gets the individual plan of ``today``'s
        year (and of the next one in December).

        Raises:
            InviteError: the invite can no longer be used (or its person is registered).
            AlreadyRegisteredError: this Telegram user is already registered.
            TypeError: ``profile`` is None for an ordinary invite.
        """
        if await self.repo.users.by_telegram(telegram_id) is not None:
            raise AlreadyRegisteredError(telegram_id)
        invite = await self.check_invite(code, now, lock=True)
        person = await self._invited_person(invite)
        if person is None and profile is None:
            msg = "an ordinary invite needs the profile"
            raise TypeError(msg)
        if not await self.repo.invites.consume(invite.id, now):
            raise InviteError(InviteProblem.USED)
        if person is not None:
            user = await self._bind(
                person, telegram_id, invite, profile, (consent_version, consent_at), now, today
            )
        else:
            assert profile is not None
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
                    reserve_status=(
                        ReserveStatus.INCLUDED if invite.role == Role.RESERVIST else None
                    ),
                    cohort_year=today.year if invite.role == Role.RESERVIST else None,
                )
            )
        await self.journal_consent(user, consent_version, consent_at)
        if user.role == Role.RESERVIST:
            plans = PlanService(self.repo)
            await plans.ensure_plan(user, today.year, today)
            if today.month == 12:
                await plans.ensure_plan(user, today.year + 1, today)
        return user

    async def journal_consent(self, user: User, version: str, at: datetime) -> None:
        """Record the consent in the journal. The catalogue's current text is stored under its
        version the first time it is agreed to (migration 0007 stored ``2026-11``); a version
        the bot has no text of (never the dialogue's: it shows the current one) is journalled
        with the text marked as not kept, as migration 0007 does for older versions."""
        text = texts.CONSENT if version == texts.CONSENT_VERSION else texts.CONSENT_TEXT_UNKNOWN
        await self.repo.consents.publish(version, text, at)
        await self.repo.consents.record(user.id, version, at)

    async def _bind(
        self,
        person: User,
        telegram_id: int,
        invite: Invite,
        profile: Profile | None,
        consent: tuple[str, datetime],
        now: datetime,
        today: date,
    ) -> User:
        """Bind a Telegram user to a stored person (a personal invite's) with the consent
        (version, moment) and the corrected ``profile`` if given. The reserve status and
        cohort of an imported reservist are kept (set now if missing)."""
        values: dict[str, object] = {
            "telegram_id": telegram_id,
            "consent_version": consent[0],
            "consent_at": consent[1],
            "invite_id": invite.id,
            "registered_at": now,
            "active": True,
            "muted": False,
        }
        if profile is not None:
            values |= {
                "full_name": profile.full_name,
                "organisation": profile.organisation,
                "position": profile.position,
                "municipality": person.municipality or profile.municipality,
            }
        if person.role == Role.RESERVIST:
            values["reserve_status"] = person.reserve_status or ReserveStatus.INCLUDED
            values["cohort_year"] = person.cohort_year or today.year
        await self.repo.users.update(person, **values)
        return person

    async def consent(self, user: User) -> tuple[str, datetime, datetime] | None:
        """The user's consent in force as (version, accepted at, the text's publication), aware
        UTC; None when the journal has none (e.g. an officer of OFFICER_IDS)."""
        found = await self.repo.consents.current(user.id)
        if found is None:
            return None
        record, text = found
        return record.version, record.accepted_at, text.published_at

    async def erase(self, user: User, now: datetime) -> list[User]:
        """Delete the user's personal data and withdraw their consent (/delete_me; 152-ФЗ,
        art. 9 part 2 and art. 21 part 5: on withdrawal the data are destroyed).

        Erased in every table: name, organisation, position and Telegram id; consultation
        topics, notes and decline reasons (pending consultations are declined); comments by
        and about them; comments, evidence files and history details of their plan items; the
        titles of their personal items; interview conclusions; the texts of their reserve
        history; audit details naming them; broadcast chat ids and RSVP answers; personal
        invites; dialogue states. Their active mentor pairs end. Kept without a name: role,
        municipality, reserve status, the plan items' statuses and dates, consultation counts
        and the consent journal (version, given, withdrawn), so the department's indicators
        stay true and the consent stays provable.

        The caller commits, then scrubs the database files (:func:`storage.scrub.scrub_files`)
        and tells the returned people.

        Returns the other sides of the ended pairs (mentees of a deleted mentor, the mentor of
        a deleted reservist), to be told after the commit.
        """
        ended = await self.repo.erasure.end_pairs(user.id, now)
        await self.repo.erasure.erase(user.id, user.telegram_id, now, texts.ERASED_ITEM_TITLE)
        await self.repo.consents.withdraw(user.id, now)
        await self.repo.users.update(
            user,
            full_name=None,
            organisation=None,
            position=None,
            telegram_id=None,
            active=False,
            muted=True,
            anonymised_at=now,
        )
        await self.repo.notices.skip_for_user(user.id)
        await self.repo.flush()
        return [pair.other for pair in ended if pair.other.anonymised_at is None]
