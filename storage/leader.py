"""Which bot process leads when several run on one database.

Replies work in every process, but the scheduler (reminder scan, digests, plan upkeep, dialogue
purge) and the broadcast runner must run in exactly one, or a reminder or a broadcast message
could go out twice.

- **PostgreSQL**: the leader holds a session-level advisory lock (``pg_try_advisory_lock``) on
  a connection of its own, kept open while it leads. A standby tries the lock every
  :data:`RETRY_SECONDS`; when the leader dies its connection closes, PostgreSQL releases the
  lock, and a standby takes it at its next try. A killed process's socket is closed by its
  kernel, so the server notices at once; a leader whose whole host vanished is noticed by TCP
  keepalives set on that connection (:data:`KEEPALIVE`: about 25 s). The leader checks its
  connection every :data:`CHECK_SECONDS`; when it is gone (the lock may be someone else's
  now) :meth:`Leadership.campaign` returns with :attr:`Leadership.lost` set and the process
  must stop leading at once.
- **SQLite**: one process per database file. :class:`FileLock` takes ``fcntl.flock`` on
  ``<database>.lock`` at start; a second process finds it taken and refuses to start
  (:class:`AnotherInstanceError`). The lock goes with the process, however it ends.

Migrations at start are serialised on PostgreSQL by another advisory lock
(:func:`migration_lock`), so two processes starting at once do not migrate together.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import Database

log = structlog.get_logger("storage.leader")

#: The advisory lock key of the leader ("rsrvbot" as a number; any bigint unused by others).
LEADER_KEY = int.from_bytes(b"rsrvbot", "big")
#: The advisory lock key held while migrating at start.
MIGRATION_KEY = LEADER_KEY + 1
#: Seconds between a standby's tries of the lock.
RETRY_SECONDS = 3.0
#: Seconds between the leader's checks of its lock connection.
CHECK_SECONDS = 3.0
#: Seconds one lock query may take before the connection counts as gone.
QUERY_TIMEOUT = 5.0
#: Server-side TCP keepalives of the lock connection: idle 10 s, then a probe every 5 s, gone
#: after 3 unanswered; so a vanished leader host frees the lock within about 25 s.
KEEPALIVE = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}


class AnotherInstanceError(Exception):
    """Another bot process holds the database's lock file."""


class FileLock:
    """An exclusive ``fcntl.flock`` on a file, held until :meth:`release` or the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock without waiting.

        Raises:
            AnotherInstanceError: another process holds it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AnotherInstanceError(str(self.path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Let the lock go (the file stays; it is only a lock)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def sqlite_lock(url: str) -> FileLock | None:
    """The lock file of a SQLite database file (``<database>.lock``); None for another
    dialect or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return FileLock(Path(parsed.database + ".lock"))


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection of its own (autocommit, so it
    is never left idle in a transaction)."""

    def __init__(self, engine: AsyncEngine, key: int = LEADER_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None
        self._taken = False

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self.engine.connect()
            try:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                for name, value in KEEPALIVE.items():
                    await conn.execute(text(f"SET {name} = {int(value)}"))
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._taken = False
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    async def try_acquire(self) -> bool:
        """``pg_try_advisory_lock``: True when this process holds the lock now. A failure
        (the server not reachable) is logged and counts as False."""
        try:
            async with asyncio.timeout(QUERY_TIMEOUT):
                conn = await self._connection()
                got = await conn.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                )
        except Exception as exc:
            log.warning("leader lock not tried", error=type(exc).__name__)
            await self._drop()
            return False
        self._taken = bool(got)
        return self._taken

    async def held(self) -> bool:
        """Whether the lock's connection still answers (and so the lock is still ours)."""
        if self._conn is None or not self._taken:
            return False
        try:
            async with asyncio.timeout(QUERY_TIMEOUT):
                await self._conn.execute(text("SELECT 1"))
        except Exception as exc:
            log.error("leader lock connection lost", error=type(exc).__name__)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        """Unlock and close the connection (closing alone would release it too)."""
        if self._conn is not None and self._taken:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(QUERY_TIMEOUT):
                    await self._conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                    )
        await self._drop()


@contextlib.asynccontextmanager
async def migration_lock(db: Database) -> AsyncIterator[None]:
    """Hold :data:`MIGRATION_KEY` (waiting for it) on PostgreSQL while the block runs, so that
    processes starting together migrate one after the other; nothing on SQLite (one process
    per file)."""
    if db.dialect != "postgresql":
        yield
        return
    conn = await db.engine.connect()
    try:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_KEY})
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_KEY})
    finally:
        await conn.close()


class Leadership:
    """This process's role among the bot processes on one database: ``leader`` or ``standby``.

    On SQLite the process leads from the start (the file lock keeps others out). On PostgreSQL
    :meth:`campaign` takes the advisory lock when it can.
    """

    def __init__(
        self,
        db: Database,
        *,
        retry: float = RETRY_SECONDS,
        check: float = CHECK_SECONDS,
    ) -> None:
        self.retry = retry
        self.check = check
        self._lock = AdvisoryLock(db.engine) if db.dialect == "postgresql" else None
        self.leading = False
        #: Set when the lock was held and then lost: the process must stop leading now.
        self.lost = False
        #: ``time.monotonic()`` when this process became the leader (None before).
        self.since: float | None = None

    @property
    def role(self) -> str:
        """``leader`` or ``standby``."""
        return "leader" if self.leading else "standby"

    async def campaign(self, stop: asyncio.Event, on_elected: Callable[[], None]) -> None:
        """Become the leader as soon as possible and stay it until ``stop``.

        A standby tries the lock every ``retry`` s; once it holds it, ``on_elected()`` is
        called and the lock's connection is checked every ``check`` s. Returns when ``stop``
        is set, or when the lock was lost (then :attr:`lost` is True and the role is
        ``standby`` again: whatever ``on_elected`` started must stop at once).
        """
        if self._lock is None:
            self._elected(on_elected)
            await stop.wait()
            return
        told = False
        while not stop.is_set():
            if await self._lock.try_acquire():
                break
            if not told:
                log.info("standby: another instance leads; taking over when it stops")
                told = True
            await _wait(stop, self.retry)
        if stop.is_set():
            return
        self._elected(on_elected)
        while not stop.is_set():
            await _wait(stop, self.check)
            if stop.is_set():
                return
            if not await self._lock.held():
                self.leading = False
                self.lost = True
                return

    def _elected(self, on_elected: Callable[[], None]) -> None:
        self.leading = True
        self.since = time.monotonic()
        log.info("leader: this instance runs the scheduler and the broadcasts")
        on_elected()

    async def close(self) -> None:
        """Release the lock (at the end of a stop)."""
        self.leading = False
        if self._lock is not None:
            await self._lock.release()


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)


__all__ = [
    "CHECK_SECONDS",
    "LEADER_KEY",
    "RETRY_SECONDS",
    "AdvisoryLock",
    "AnotherInstanceError",
    "FileLock",
    "Leadership",
    "migration_lock",
    "sqlite_lock",
]
