"""SQLite through aiosqlite with one thread hop per statement.

aiosqlite runs each SQLite call in the connection's own thread, and SQLAlchemy's adapter makes
four such calls for every statement (open a cursor, execute, fetch, close), plus a COMMIT and a
ROLLBACK (the pool's reset) at the end of every session, even one that only read. Each call is
a handover of the GIL to that thread and back: 20 of them for a ``/plan``, the largest share of
its time after aiogram's own dispatch. Here a statement is one call (the cursor is opened,
executed, read to the end and closed in the connection's thread), and COMMIT and ROLLBACK are
not sent while SQLite has no transaction open (``sqlite3`` itself does nothing then: with its
default transaction control a read opens none).

Used by :func:`storage.db.create_engine` for ``sqlite+aiosqlite`` URLs (``module=``); results,
errors and transactions are those of SQLAlchemy's adapter, which this subclasses.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_only


class _Ran:
    """What the cursor keeps of a statement run and closed in the connection's thread."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(
        self,
        description: Any = None,
        rowcount: int = -1,
        lastrowid: int | None = None,
    ) -> None:
        self.description = description
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        self.arraysize = 1

    def close(self) -> None:
        """Nothing left open: the SQLite cursor was closed in its thread."""


def _execute(
    conn: sqlite3.Connection, operation: str, parameters: Any
) -> tuple[_Ran, list[Any] | None]:
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return _Ran(cursor.description, cursor.rowcount, cursor.lastrowid), rows
    finally:
        cursor.close()


def _executemany(conn: sqlite3.Connection, operation: str, parameters: Sequence[Any]) -> _Ran:
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, parameters)
        return _Ran(cursor.description, cursor.rowcount, cursor.lastrowid)
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A statement in one call to the connection's thread, its rows read at once (as the
    adapter's own buffered cursor does); server-side cursors stay SQLAlchemy's."""

    __slots__ = ()
    _awaitable_cursor_close = False

    def _make_new_cursor(self, connection: Any) -> Any:  # noqa: ARG002
        return _Ran()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            ran, rows = await connection._execute(  # type: ignore[no-untyped-call]
                _execute, connection._conn, operation, parameters
            )
        self._cursor = ran
        if rows is not None:
            self._rows = collections.deque(rows)
        return None

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            ran = await connection._execute(  # type: ignore[no-untyped-call]
                _executemany, connection._conn, operation, seq_of_parameters
            )
        self._cursor = ran
        return None


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """COMMIT and ROLLBACK only when SQLite has a transaction open."""

    __slots__ = ()
    _cursor_cls = OneHopCursor

    def _idle(self) -> bool:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        return connection._connection is None or not connection.in_transaction

    def commit(self) -> None:
        if not self._idle():
            super().commit()

    def rollback(self) -> None:
        if not self._idle():
            super().rollback()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy's adapter presents it, with :class:`OneHopConnection`."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        creator = kw.pop("async_creator_fn", None)
        connection = creator(*arg, **kw) if creator else aiosqlite.connect(*arg, **kw)
        thread = getattr(connection, "_thread", None)
        if thread is not None:
            thread.daemon = True  # as SQLAlchemy's adapter does: never holds up the exit
        return OneHopConnection(self, await_only(connection))


def supported() -> bool:
    """Whether the installed SQLAlchemy and aiosqlite have what this module builds on
    (SQLAlchemy 2.1's shared asyncio cursor, aiosqlite's call queue); if not, SQLAlchemy's
    own adapter is used as it is."""
    return all(
        hasattr(cls, name)
        for cls, name in (
            (AsyncAdapt_aiosqlite_cursor, "_make_new_cursor"),
            (AsyncAdapt_aiosqlite_cursor, "_aenter_cursor"),
            (AsyncAdapt_aiosqlite_cursor, "_execute_async"),
            (aiosqlite.Connection, "_execute"),
            (aiosqlite.Connection, "in_transaction"),
        )
    )
