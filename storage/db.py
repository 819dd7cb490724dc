"""Engine and sessions. The rest of the program reaches the database through :class:`Database`
and the repositories of :mod:`storage.repo`, never through SQLAlchemy directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.repo import Repo


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL is safe in WAL mode (no corruption; a power cut may lose the last commits) and
    # makes each commit cheap: the reminder sender commits once per message.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """Create the async engine for ``url`` (sqlite+aiosqlite or postgresql+asyncpg).

    For a SQLite file the folder is created when missing; foreign keys, WAL and a busy timeout
    are switched on for every connection.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)


# The session of the update being handled (set by the per-update middleware), so that code
# reached outside the handler's arguments, such as the FSM storage, joins its transaction.
current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)


class Database:
    """The engine and its sessions; ``session()`` yields a :class:`Repo` in a transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Repo]:
        """One unit of work: commits when the block ends normally, rolls back on an exception.

        Called while an update is being handled (:data:`current_session` is set), it joins the
        update's transaction instead, which commits or rolls back with the update: a service
        reached from a handler never waits on the handler's own write lock (SQLite has one
        writer) and never commits half of an update. Background tasks started from a handler
        must run in a fresh context (``asyncio.create_task(..., context=Context())``).
        """
        joined = current_session.get()
        if joined is not None:
            yield Repo(joined)
            await joined.flush()
            return
        async with self._sessions() as session, session.begin():
            yield Repo(session)

    def raw_session(self) -> AsyncSession:
        """A session the caller manages (the per-update middleware uses it)."""
        return self._sessions()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
