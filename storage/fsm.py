"""aiogram FSM storage in the bot's own database (table ``fsm_states``), so that a dialogue in
progress (registration, logging an item, a consultation) survives a restart of the bot.

While an update is handled, each call joins the update's own transaction (the state commits
or rolls back with the update's changes; ``bot.middlewares.DatabaseMiddleware`` reads the state
once in it); outside an update each call is its own short transaction. Keys are built by
aiogram's ``DefaultKeyBuilder``
(bot, chat, user, destiny). Every write stamps ``updated_at``; :func:`purge_stale` deletes the
dialogues left unfinished for PENDING_DATA_DAYS (a registration's name and school typed by
someone who never finished: 152-ФЗ, art. 5 part 7, data kept no longer than needed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.dialect import upsert
from storage.models import FsmState, utcnow

#: the dialogue's row, read for every update: built once, so are its SQL and cache key
_ROW = select(FsmState).where(FsmState.key == bindparam("key"))


class DatabaseStorage(BaseStorage):
    """FSM states and data in ``fsm_states``; a row without state and data is deleted."""

    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.keys = key_builder or DefaultKeyBuilder(with_destiny=True)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """The update's own transaction when called while handling one (``Database.session``
        joins it: the state commits or rolls back with the update's changes), else a new one."""
        async with self.db.session() as repo:
            yield repo.session

    async def _row(self, key: str) -> FsmState | None:
        async with self._session() as session:
            return await session.scalar(_ROW, {"key": key})

    async def _write(
        self, key: str, state: str | None, data: Mapping[str, Any], *, exists: bool
    ) -> None:
        """Store ``state`` and ``data`` under ``key``; neither: delete the row. With
        ``exists`` False (no row was read) clearing is nothing to do, and nothing is written:
        a write would take SQLite's write lock until the update commits."""
        if not exists and state is None and not data:
            return
        async with self._session() as session:
            if state is None and not data:
                await session.execute(delete(FsmState).where(FsmState.key == key))
                return
            await upsert(
                session,
                FsmState.__table__,  # type: ignore[arg-type]
                {"key": key, "state": state, "data": dict(data), "updated_at": utcnow()},
                ["key"],
                ["state", "data", "updated_at"],
            )

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Set the dialogue state (None leaves the dialogue)."""
        name = self.keys.build(key)
        row = await self._row(name)
        value = state.state if isinstance(state, State) else state
        await self._write(name, value, row.data if row else {}, exists=row is not None)

    async def get_state(self, key: StorageKey) -> str | None:
        """The current state, or None."""
        row = await self._row(self.keys.build(key))
        return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the dialogue data (JSON-serialisable values)."""
        name = self.keys.build(key)
        row = await self._row(name)
        await self._write(name, row.state if row else None, data, exists=row is not None)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """A copy of the dialogue data ({} when none)."""
        row = await self._row(self.keys.build(key))
        return dict(row.data) if row else {}

    async def close(self) -> None:
        """Nothing to close: the database belongs to the application."""


async def purge_stale(db: Database, before: datetime) -> int:
    """Delete every dialogue state (and its data) last changed before ``before`` (aware UTC):
    an unfinished registration's answers, a half-typed log entry, a forgotten draft. Returns
    how many were deleted. Runs in its own transaction (the scheduler's job)."""
    async with db.session() as repo:
        result = await repo.session.execute(delete(FsmState).where(FsmState.updated_at < before))
        return int(getattr(result, "rowcount", 0) or 0)
