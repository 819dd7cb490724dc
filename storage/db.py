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

from storage import sqlite
from storage.repo import Repo

#: Connections kept open (DATABASE_POOL_SIZE); as many again may be opened under load.
DEFAULT_POOL_SIZE = 5
#: Seconds a new PostgreSQL connection may take (asyncpg's ``timeout``; its default is 60 s):
#: a server that accepts and does not answer (still starting behind a proxy, a half-open
#: network) is an error after this long, and start-up logs it and tries again.
PG_CONNECT_TIMEOUT = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL is safe in WAL mode (no corruption; a power cut may lose the last commits) and
    # makes each commit cheap: the reminder sender commits once per message.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(
    url: str, *, pool_size: int = DEFAULT_POOL_SIZE, pool_timeout: float = 30.0
) -> AsyncEngine:
    """Create the async engine for ``url`` (sqlite+aiosqlite or postgresql+asyncpg).

    The pool keeps ``pool_size`` connections and opens up to as many again under load; a
    session waits at most ``pool_timeout`` seconds for one. An update's session holds its
    connection only while it works with the database, never while a reply waits on Telegram
    or the rate limiter (:class:`bot.middlewares.CommitBeforeSendMiddleware` commits first,
    which gives the connection back).

    A PostgreSQL connection (asyncpg) must be made within :data:`PG_CONNECT_TIMEOUT`.
    For a SQLite file the folder is created when missing; foreign keys, WAL and a busy timeout
    are switched on for every connection, and statements go through :mod:`storage.sqlite`
    (one thread hop each).
    """
    parsed = make_url(url)
    sqlite_file = parsed.database not in (None, "", ":memory:")
    pool: dict[str, Any] = {}
    if parsed.get_backend_name() != "sqlite" or sqlite_file:  # in memory: one connection
        pool = {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": pool_timeout}
    if parsed.get_backend_name() == "sqlite":
        if sqlite_file:
            Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
        if parsed.get_driver_name() == "aiosqlite" and sqlite.supported():
            pool["module"] = sqlite.OneHopDBAPI()
        engine = create_async_engine(url, hide_parameters=True, **pool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_driver_name() == "asyncpg":
        pool["connect_args"] = {"timeout": PG_CONNECT_TIMEOUT}
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **pool)


# The session of the update being handled (set by the per-update middleware), so that code
# reached outside the handler's arguments, such as the FSM storage, joins its transaction.
current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)


class Database:
    """The engine and its sessions; ``session()`` yields a :class:`Repo` in a transaction."""

    def __init__(
        self, url: str, *, pool_size: int = DEFAULT_POOL_SIZE, pool_timeout: float = 30.0
    ) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, pool_timeout=pool_timeout)
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
