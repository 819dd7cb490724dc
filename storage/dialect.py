"""Per-dialect SQL that has no portable spelling: insert-or-ignore and row locks.

SQLite and PostgreSQL both support ``INSERT … ON CONFLICT DO NOTHING``, but SQLAlchemy builds it
with each dialect's own ``insert``; row locks (``SELECT … FOR UPDATE``) exist only on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> int:
    """Insert ``rows`` into ``table``, skipping rows that clash on the unique ``conflict`` columns.

    Returns the number of rows actually inserted.
    """
    if not rows:
        return 0
    name = session.get_bind().dialect.name
    if name == "postgresql":
        stmt: Any = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    elif name == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    else:  # pragma: no cover - settings admit only the two supported dialects
        msg = f"unsupported dialect {name}"
        raise RuntimeError(msg)
    # RETURNING counts the rows really inserted on both dialects (rowcount of an executemany
    # is -1 under asyncpg); SQLAlchemy batches it as "insertmanyvalues".
    key = next(iter(table.primary_key.columns))
    result = await session.execute(stmt.returning(key), list(rows))
    return len(result.all())


_S = TypeVar("_S", bound=Select[Any])


def for_update(session: AsyncSession, stmt: _S) -> _S:
    """Lock the selected rows until the transaction ends where the dialect can (PostgreSQL).

    SQLite serialises writers on the whole file, so no row lock is needed there.
    """
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update()
    return stmt


async def upsert(
    session: AsyncSession,
    table: Table,
    row: dict[str, Any],
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``row`` or, when it clashes on the unique ``conflict`` columns, overwrite the
    ``update`` columns of the existing row (``INSERT … ON CONFLICT DO UPDATE``)."""
    name = session.get_bind().dialect.name
    module: Any = postgresql if name == "postgresql" else sqlite
    stmt = module.insert(table).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(conflict), set_={c: stmt.excluded[c] for c in update}
    )
    await session.execute(stmt)
