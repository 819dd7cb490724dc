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
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
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
