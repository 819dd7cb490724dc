"""Counting the SQL statements a block of code sends, for the query-count guards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from storage.db import Database


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    """The SQL statements executed on ``db`` inside the block (SQLAlchemy's
    ``before_cursor_execute``), in order."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
