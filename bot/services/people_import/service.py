"""The import of a read list (:class:`PeopleImportService`): all or nothing, idempotent, in
the officer's scope; people, personal invite links, mentor assignments and the audit (the rules
are in the package docstring, :mod:`bot.services.people_import`)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.services.people import CODE_BYTES
from bot.services.people_import.matching import compact, mentor_matches, name_words, person_key
from bot.services.people_import.reading import ImportFormatError, PeopleTable
from bot.services.people_import.rows import PersonRow, RowError, check_row
from bot.services.scope import officer_municipality
from bot.texts import people as tp
from storage.models import (
    Invite,
    MentorAssignment,
    ReserveStatus,
    ReserveStatusChange,
    Role,
    User,
)
from storage.repo import Repo

__all__ = ["ImportResult", "PeopleImportService", "RowOutcome", "RowStatus", "invite_link"]


def invite_link(bot_username: str, code: str) -> str:
    """The deep link of an invite: ``https://t.me/<bot>?start=<code>`` (Bot API deep linking)."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


class RowStatus(StrEnum):
    """What the import did with a row."""

    CREATED = "created"
    EXISTING = "existing"  # already in the database, awaiting registration: link kept or renewed
    REGISTERED = "registered"  # already in the database and registered: no link


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """A row's person, what happened, and the text of its link cell."""

    line: int
    person_id: int
    status: RowStatus
    link: str
    renewed: bool = False


@dataclass
class ImportResult:
    """The outcome of :meth:`PeopleImportService.import_people`. With ``errors`` nothing was
    written; otherwise ``outcomes`` has one entry per data row."""

    name: str
    errors: list[RowError] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    existing: int = 0
    registered: int = 0
    renewed: int = 0
    assigned: int = 0
    expires_first: datetime | None = None
    expires_last: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the list was imported."""
        return not self.errors


# Who a mentor named in a row is: ("user", user id) or ("row", line of a new mentor's row).
_Ref = tuple[str, int]


@dataclass
class _Planned:
    row: PersonRow
    existing: User | None
    mentor: _Ref | None = None
    person: User | None = None


@dataclass(frozen=True, slots=True)
class _MentorCandidate:
    ref: _Ref
    full_name: str
    municipality: str


class PeopleImportService:
    """Imports lists of people over a :class:`Repo` (the caller's one transaction)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.people = repo.people

    async def import_people(
        self,
        table: PeopleTable,
        *,
        actor: User | None,
        bot_username: str,
        now: datetime,
        today: date,
        ttl: timedelta,
    ) -> ImportResult:
        """Import ``table`` all or nothing (rules in the package docstring).

        Args:
            actor: the importing officer (their scope applies, they are the audit's actor),
                or None for the command line (every municipality, no actor).
            bot_username: the bot's username, for the links.
            now: the aware UTC moment; links are valid until ``now + ttl`` (INVITE_TTL_DAYS).
            today: the department's local date; its year is the default cohort year.

        Returns:
            The result; with ``errors`` (sorted by row) nothing was written.

        Raises:
            AccessDeniedError: ``actor`` is not an officer.
            ImportFormatError: no «муниципалитет» column and ``actor`` is not a municipal
                officer.
        """
        own = officer_municipality(actor) if actor is not None else None
        if own is None and "municipality" not in table.columns:
            raise ImportFormatError(tp.missing_columns([tp.COLUMN_NAMES["municipality"]]))
        result = ImportResult(table.name)
        checked: list[PersonRow] = []
        for raw in table.rows:
            row, problems = check_row(raw, own)
            result.errors += [RowError(raw.line, p) for p in problems]
            if row is not None:
                checked.append(row)
        known = await self.people.named_people()
        planned = self._match(checked, known, result)
        self._resolve_mentors(planned, known, own, result)
        if result.errors:
            result.errors.sort(key=lambda e: e.line)
            return result
        await self._write(planned, result, actor, bot_username, now, today, ttl)
        return result

    def _match(
        self, rows: list[PersonRow], known: Sequence[User], result: ImportResult
    ) -> list[_Planned]:
        index: dict[tuple[str, str, str], User] = {}
        for user in known:
            key = person_key(
                user.full_name or "", user.organisation or "", user.municipality or ""
            )
            index.setdefault(key, user)
        seen: dict[tuple[str, str, str], int] = {}
        planned = []
        for row in rows:
            if row.key in seen:
                result.errors.append(RowError(row.line, tp.duplicate_row(seen[row.key])))
                continue
            seen[row.key] = row.line
            existing = index.get(row.key)
            if existing is not None and existing.role != row.role:
                result.errors.append(RowError(row.line, tp.role_conflict(existing.role)))
                continue
            planned.append(_Planned(row, existing))
        return planned

    def _resolve_mentors(
        self,
        planned: list[_Planned],
        known: Sequence[User],
        own: str | None,
        result: ImportResult,
    ) -> None:
        candidates: dict[_Ref, _MentorCandidate] = {}
        for user in known:
            if user.role == Role.MENTOR and (
                own is None or compact(user.municipality or "") == compact(own)
            ):
                ref = ("user", user.id)
                candidates[ref] = _MentorCandidate(
                    ref, user.full_name or "", user.municipality or ""
                )
        for p in planned:
            if p.row.role == Role.MENTOR:
                ref = ("user", p.existing.id) if p.existing else ("row", p.row.line)
                candidates[ref] = _MentorCandidate(ref, p.row.full_name, p.row.municipality)
        pool = list(candidates.values())
        for p in planned:
            written = p.row.mentor
            if written is None:
                continue
            exact = [c for c in pool if name_words(c.full_name) == name_words(written)]
            found = exact or [c for c in pool if mentor_matches(written, c.full_name)]
            if len(found) > 1:
                local = [
                    c for c in found if compact(c.municipality) == compact(p.row.municipality)
                ]
                found = local or found
            if not found:
                result.errors.append(RowError(p.row.line, tp.mentor_not_found(written)))
            elif len(found) > 1:
                result.errors.append(RowError(p.row.line, tp.mentor_ambiguous(written)))
            else:
                p.mentor = found[0].ref

    async def _write(
        self,
        planned: list[_Planned],
        result: ImportResult,
        actor: User | None,
        bot_username: str,
        now: datetime,
        today: date,
        ttl: timedelta,
    ) -> None:
        actor_id = actor.id if actor is not None else None
        new = [p for p in planned if p.existing is None]
        for p in new:
            reservist = p.row.role == Role.RESERVIST
            p.person = User(
                telegram_id=None,
                role=p.row.role,
                full_name=p.row.full_name,
                organisation=p.row.organisation,
                position=p.row.position,
                municipality=p.row.municipality,
                active=False,
                muted=False,
                reserve_status=ReserveStatus.INCLUDED if reservist else None,
                cohort_year=(p.row.cohort_year or today.year) if reservist else None,
                created_at=now,
            )
        await self.people.add_people([p.person for p in new if p.person is not None])
        await self.people.add_status_changes(
            [
                ReserveStatusChange(
                    user_id=p.person.id,
                    status=ReserveStatus.INCLUDED,
                    changed_by=actor_id,
                    changed_at=now,
                )
                for p in new
                if p.person is not None and p.row.role == Role.RESERVIST
            ]
        )
        for p in planned:
            p.person = p.person or p.existing
        links = await self._links(planned, result, actor_id, bot_username, now, ttl)
        result.outcomes = links
        await self._assign(planned, result, actor_id, now)
        created: dict[str, int] = {}
        for p in new:
            created[p.row.role] = created.get(p.row.role, 0) + 1
        result.created = {r.value: created[r] for r in Role if r in created}
        await self.repo.audit.record(
            actor_id,
            "import",
            f"people:{result.name}"[:200],
            {
                "file": result.name,
                "rows": len(planned),
                "created": len(new),
                "existing": result.existing,
                "renewed": result.renewed,
                "assigned": result.assigned,
                "person_ids": [p.person.id for p in new if p.person is not None],
            },
        )

    async def _links(
        self,
        planned: list[_Planned],
        result: ImportResult,
        actor_id: int | None,
        bot_username: str,
        now: datetime,
        ttl: timedelta,
    ) -> list[RowOutcome]:
        waiting = [p for p in planned if p.existing is not None and not _registered(p.existing)]
        current = await self.people.personal_invites(
            p.existing.id for p in waiting if p.existing is not None
        )
        fresh: list[Invite] = []
        outcomes: list[RowOutcome] = []
        expiries: list[datetime] = []
        for p in planned:
            person = p.person
            assert person is not None
            if p.existing is not None and _registered(p.existing):
                result.existing += 1
                result.registered += 1
                outcomes.append(
                    RowOutcome(p.row.line, person.id, RowStatus.REGISTERED, tp.LINK_REGISTERED)
                )
                continue
            invite = current.get(person.id)
            renewed = False
            if invite is None or invite.expires_at <= now or invite.uses >= invite.max_uses:
                renewed = p.existing is not None
                invite = Invite(
                    code=secrets.token_urlsafe(CODE_BYTES),
                    role=person.role,
                    municipality=person.municipality,
                    max_uses=1,
                    uses=0,
                    expires_at=now + ttl,
                    created_by=actor_id,
                    created_at=now,
                    revoked=False,
                    person_id=person.id,
                )
                fresh.append(invite)
            if p.existing is not None:
                result.existing += 1
                result.renewed += int(renewed)
            expiries.append(invite.expires_at)
            status = RowStatus.EXISTING if p.existing is not None else RowStatus.CREATED
            outcomes.append(
                RowOutcome(
                    p.row.line, person.id, status, invite_link(bot_username, invite.code), renewed
                )
            )
        await self.people.add_invites(fresh)
        if expiries:
            result.expires_first, result.expires_last = min(expiries), max(expiries)
        return outcomes

    async def _assign(
        self, planned: list[_Planned], result: ImportResult, actor_id: int | None, now: datetime
    ) -> None:
        by_line = {p.row.line: p for p in planned}
        pairs: list[tuple[_Planned, int]] = []
        for p in planned:
            if p.mentor is None:
                continue
            kind, value = p.mentor
            mentor = by_line[value].person if kind == "row" else None
            pairs.append((p, mentor.id if mentor is not None else value))
        current = await self.people.active_assignments(
            p.person.id for p, _ in pairs if p.existing is not None and p.person is not None
        )
        mentors = await self.repo.users.by_ids(a.mentor_id for a in current.values())
        new: list[MentorAssignment] = []
        for p, mentor_id in pairs:
            assert p.person is not None
            active = current.get(p.person.id)
            if active is not None:
                if active.mentor_id != mentor_id:
                    other = mentors.get(active.mentor_id)
                    message = tp.mentor_differs(p.row.mentor or "", _name(other))
                    result.warnings.append(RowError(p.row.line, message))
                continue
            new.append(
                MentorAssignment(
                    reservist_id=p.person.id,
                    mentor_id=mentor_id,
                    assigned_by=actor_id,
                    started_at=now,
                )
            )
        await self.people.add_assignments(new)
        for assignment in new:
            await self.repo.audit.record(
                actor_id,
                "assign",
                f"user:{assignment.reservist_id}",
                {
                    "mentor_id": assignment.mentor_id,
                    "previous_mentor_id": None,
                    "source": "import",
                },
            )
        result.assigned = len(new)


def _registered(user: User) -> bool:
    return user.registered_at is not None or user.telegram_id is not None


def _name(user: User | None) -> str:
    return (user.full_name if user is not None else None) or "—"
