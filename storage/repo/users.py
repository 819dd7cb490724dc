"""People and their invitation links: :class:`UserRepo` and :class:`InviteRepo`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import for_update
from storage.models import FsmState, Invite, ReserveStatusChange, Role, User
from storage.repo.people_search import PeopleQuery, people_filter, words_filter

#: read for every update (``bot.middlewares``): built once, so its SQL and cache key are too
_BY_TELEGRAM = select(User).where(User.telegram_id == bindparam("telegram_id"))
#: the same with the state of the caller's dialogue (storage.fsm's row), in one statement
_CALLER = _BY_TELEGRAM.add_columns(
    select(FsmState.state).where(FsmState.key == bindparam("state_key")).scalar_subquery()
)


class UserRepo:
    """People: reservists, mentors and officers."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def by_telegram(self, telegram_id: int) -> User | None:
        """The user with this Telegram id, or None (also None after /delete_me)."""
        return await self.s.scalar(_BY_TELEGRAM, {"telegram_id": telegram_id})

    async def caller(self, telegram_id: int, state_key: str) -> tuple[User, str | None] | None:
        """The user with this Telegram id and the state of the dialogue kept under
        ``state_key`` (a key of ``storage.fsm.DatabaseStorage``; None: no dialogue), read in
        one statement: every update needs both (``bot.middlewares.DatabaseMiddleware``).
        Returns None when there is no such user; their dialogue's state (a registration in
        progress) must then be read on its own."""
        row = (
            await self.s.execute(_CALLER, {"telegram_id": telegram_id, "state_key": state_key})
        ).first()
        return None if row is None else (row[0], row[1])

    async def get(self, user_id: int) -> User | None:
        """The user by primary key, or None."""
        return await self.s.get(User, user_id)

    async def everyone(self) -> Sequence[User]:
        """Every not anonymised person with a name (registered or awaiting registration)."""
        rows = await self.s.scalars(
            select(User)
            .where(User.anonymised_at.is_(None), User.full_name.is_not(None))
            .order_by(User.full_name, User.id)
        )
        return rows.all()

    async def status_history(self, user_id: int) -> Sequence[ReserveStatusChange]:
        """A person's reserve lifecycle, oldest first."""
        rows = await self.s.scalars(
            select(ReserveStatusChange)
            .where(ReserveStatusChange.user_id == user_id)
            .order_by(ReserveStatusChange.changed_at, ReserveStatusChange.id)
        )
        return rows.all()

    async def add_status_change(self, change: ReserveStatusChange) -> None:
        """Insert a step of a person's reserve lifecycle."""
        self.s.add(change)
        await self.s.flush()

    async def ensure_officers(self, telegram_ids: Iterable[int]) -> int:
        """Make officers of these Telegram ids (OFFICER_IDS); returns how many changed."""
        changed = 0
        for tg_id in telegram_ids:
            user = await self.by_telegram(tg_id)
            if user is None:
                self.s.add(User(telegram_id=tg_id, role=Role.OFFICER, active=True))
                changed += 1
            elif user.role != Role.OFFICER:
                user.role = Role.OFFICER
                changed += 1
        await self.s.flush()
        return changed

    async def add(self, user: User) -> User:
        """Insert a new user and return it with its id."""
        self.s.add(user)
        await self.s.flush()
        return user

    async def update(self, user: User, **values: Any) -> None:
        """Change columns of ``user`` (a row of this session), e.g. timezone or muted."""
        for name, value in values.items():
            setattr(user, name, value)
        await self.s.flush()

    async def set_active(self, user_id: int, active: bool) -> None:
        """Mark a user as reachable or not (a 403 from Telegram makes them inactive)."""
        await self.s.execute(update(User).where(User.id == user_id).values(active=active))

    async def by_ids(self, ids: Iterable[int]) -> dict[int, User]:
        """Users by id, as a dict."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = await self.s.scalars(select(User).where(User.id.in_(wanted)))
        return {u.id: u for u in rows}

    async def by_role(self, role: Role) -> Sequence[User]:
        """Registered, not anonymised users of ``role``, by name."""
        rows = await self.s.scalars(
            select(User)
            .where(
                User.role == role,
                User.anonymised_at.is_(None),
                User.full_name.is_not(None),
                User.registered_at.is_not(None),
            )
            .order_by(User.full_name, User.id)
        )
        return rows.all()

    async def reservists(self) -> Sequence[User]:
        """Every registered, not anonymised reservist (people imported from a list and not
        registered yet are left out: their plans start when they register)."""
        rows = await self.s.scalars(
            select(User)
            .where(
                User.role == Role.RESERVIST,
                User.anonymised_at.is_(None),
                User.registered_at.is_not(None),
            )
            .order_by(User.id)
        )
        return rows.all()

    async def municipalities(self) -> list[str | None]:
        """Every distinct ``municipality`` value of the people (None among them when someone
        has none), as written: an officer's scope is matched against them."""
        rows = await self.s.scalars(select(User.municipality).distinct())
        return list(rows)

    async def count_people(self, query: PeopleQuery) -> tuple[int, int]:
        """One statement: how many people ``query`` lists without its words, and how many of
        them match the words (the same number when there are none)."""
        where = people_filter(query)
        if not query.words:
            pool = await self.s.scalar(select(func.count()).select_from(User).where(where))
            return pool or 0, pool or 0
        matches = words_filter(query.words, self.s.get_bind().dialect.name)
        row = (
            await self.s.execute(
                select(func.count(), func.coalesce(func.sum(case((matches, 1), else_=0)), 0))
                .select_from(User)
                .where(where)
            )
        ).one()
        return int(row[0]), int(row[1])

    async def people_page(self, query: PeopleQuery, offset: int, limit: int) -> Sequence[User]:
        """At most ``limit`` people ``query`` lists (words included) by name then id, after
        skipping ``offset`` of them: one page of a people picker."""
        where = people_filter(query)
        if query.words:
            where = where & words_filter(query.words, self.s.get_bind().dialect.name)
        rows = await self.s.scalars(
            select(User).where(where).order_by(User.full_name, User.id).offset(offset).limit(limit)
        )
        return rows.all()


class InviteRepo:
    """Invitation links."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, invite: Invite) -> Invite:
        """Insert an invite and return it with its id."""
        self.s.add(invite)
        await self.s.flush()
        return invite

    async def by_code(self, code: str, *, lock: bool = False) -> Invite | None:
        """The invite with this code, or None; ``lock`` holds the row until commit (PostgreSQL)."""
        stmt = select(Invite).where(Invite.code == code)
        if lock:
            stmt = for_update(self.s, stmt)
        return await self.s.scalar(stmt)

    async def get(self, invite_id: int) -> Invite | None:
        """The invite by id, or None."""
        return await self.s.get(Invite, invite_id)

    async def consume(self, invite_id: int, now: datetime) -> bool:
        """Use up one use of the invite if it is still valid at ``now``; False if it is not.

        One conditional UPDATE, so two people racing for the last use cannot both get it.
        """
        result = await self.s.execute(
            update(Invite)
            .where(
                Invite.id == invite_id,
                Invite.uses < Invite.max_uses,
                Invite.expires_at > now,
                Invite.revoked.is_(False),
            )
            .values(uses=Invite.uses + 1)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1
