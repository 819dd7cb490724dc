"""Counting the SQL statements a block of code sends, for the query-count guards, and capturing
them with their parameters, for the tests that ask the database for a statement's plan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from storage.db import Database


@contextmanager
def _listening(db: Database, record: Callable[[str, Any], None]) -> Iterator[None]:
    """``record(statement, parameters)`` for each statement executed on ``db`` in the block
    (SQLAlchemy's ``before_cursor_execute``)."""

    def listener(*args: Any) -> None:
        record(args[2], args[3])

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", listener)


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    """The SQL statements executed on ``db`` inside the block, in order."""
    statements: list[str] = []
    with _listening(db, lambda statement, _: statements.append(statement)):
        yield statements


@contextmanager
def capturing(db: Database, containing: str) -> Iterator[list[tuple[str, Any]]]:
    """(statement, parameters) of the statements executed on ``db`` inside the block whose
    SQL contains ``containing``, in order (the parameters as the driver got them)."""
    captured: list[tuple[str, Any]] = []

    def record(statement: str, parameters: Any) -> None:
        if containing in statement:
            captured.append((statement, parameters))

    with _listening(db, record):
        yield captured
