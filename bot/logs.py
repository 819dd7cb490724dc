"""Structured logging (structlog over the standard library): one line per event, with the
update or job it belongs to (``update_id=…`` / ``job=…``) bound from context variables.

Logs never carry personal data (152-ФЗ; issue 8): no SQL parameters or rows, names, comments,
file ids or invite codes, at any level. The program logs ids and counts only; the libraries
that would log statements with their parameters or result rows (SQLAlchemy's engine and pool,
the aiosqlite and asyncpg drivers) are held at WARNING whatever LOG_LEVEL says, and the engine
hides parameters from its error messages (``hide_parameters``, storage/db.py), which are what
a WARNING or an ``exc_info`` traceback would show.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any

import structlog

# Loggers that print SQL parameters, result rows or message contents below WARNING: SQLAlchemy
# logs statements with their parameters at INFO and rows at DEBUG (``echo``), aiosqlite every
# call with its arguments at DEBUG, asyncpg its notices at DEBUG/INFO,
# aiogram's scenes the dialogue data at DEBUG.
PERSONAL_DATA_LOGGERS = (
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.pool",
    "sqlalchemy.orm",
    "aiosqlite",
    "asyncpg",
    "aiogram.scene",
)


# Exceptions of the database drivers carry the server's detail with row values in their message
# (PostgreSQL: «Key (code)=(…) already exists.»); only their first line is logged.
_DRIVER_MODULES = ("asyncpg", "sqlite3", "aiosqlite", "sqlalchemy")


def _is_driver_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".", 1)[0] in _DRIVER_MODULES


def _exception_of(value: Any) -> BaseException | None:
    if isinstance(value, BaseException):
        return value
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return value[1]
    if value is True:
        return sys.exc_info()[1]
    return None


def _first_lines(te: traceback.TracebackException, seen: set[int]) -> None:
    """Cut the messages of driver exceptions in the chain of ``te`` to their first line."""
    if id(te) in seen:
        return
    seen.add(id(te))
    module = (te.exc_type.__module__ if te.exc_type else "").split(".", 1)[0]
    text = getattr(te, "_str", None)
    if module in _DRIVER_MODULES and isinstance(text, str):
        te._str = text.splitlines()[0] if text else text  # type: ignore[attr-defined]
    for linked in (te.__cause__, te.__context__):
        if linked is not None:
            _first_lines(linked, seen)


def drop_database_details(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: an ``exc_info`` whose exception is, or was caused by, a database
    driver's error is rendered here, into ``exception``, with each driver message cut to its
    first line (no server detail with row values; SQLAlchemy hides the parameters itself)."""
    exc = _exception_of(event_dict.get("exc_info"))
    if exc is None:
        return event_dict
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if not any(_is_driver_error(e) for e in chain):
        return event_dict
    tb: TracebackType | None = exc.__traceback__
    te = traceback.TracebackException(type(exc), exc, tb)
    _first_lines(te, set())
    event_dict.pop("exc_info", None)
    event_dict["exception"] = "".join(te.format())
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Route structlog and the standard library (aiogram, APScheduler) through one formatter.

    ``fmt`` is ``console`` (key=value lines) or ``json`` (one JSON object per line), to stderr.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.processors.LogfmtRenderer(
            key_order=["timestamp", "level", "logger", "event"], drop_missing=True
        )
    )
    structlog.configure(
        # a call below the logger's level (every update's "update handled" at DEBUG) stops at
        # the first processor instead of being stamped and then dropped by the standard library
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            drop_database_details,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiogram.event").setLevel(max(logging.WARNING, root.level))
    for noisy in ("apscheduler.executors", "apscheduler.scheduler", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for talkative in PERSONAL_DATA_LOGGERS:
        logging.getLogger(talkative).setLevel(max(logging.WARNING, root.level))
