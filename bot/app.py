"""The application's wiring, shared by ``python -m bot run`` and the tests: the dispatcher
factory, start-up (migrations, default roadmap, officers) and the reminder service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage

from bot.config import Settings
from bot.middlewares import DatabaseMiddleware, LogContextMiddleware
from bot.services.clock import utcnow
from bot.services.delivery import Notifier
from bot.services.digests import DigestNotifier, DigestService
from bot.services.reminders import ReminderRules, ReminderService
from bot.services.roadmap_import import ensure_default_roadmap
from handlers import setup_routers
from storage import migrate
from storage.db import Database
from storage.fsm import DatabaseStorage


def create_dispatcher(
    settings: Settings,
    db: Database,
    *,
    clock: Callable[[], datetime] = utcnow,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    """A Dispatcher with every router and middleware; dialogue states are kept in the database
    (:class:`storage.fsm.DatabaseStorage`) unless ``storage`` is given.

    Handlers receive ``settings``, ``db``, ``clock`` (aware UTC now), ``repo`` and ``user``.
    """
    dp = Dispatcher(storage=storage or DatabaseStorage(db), settings=settings, db=db, clock=clock)
    dp.update.outer_middleware(LogContextMiddleware())
    dp.update.outer_middleware(DatabaseMiddleware(db))
    dp.include_router(setup_routers())
    return dp


def reminder_rules(settings: Settings) -> ReminderRules:
    """The reminder rules configured by ``settings``."""
    return ReminderRules(
        days_before=settings.reminder_days_before,
        due_soon_days=settings.due_soon_days,
        quiet_start=settings.quiet_hours_start,
        quiet_end=settings.quiet_hours_end,
        default_timezone=settings.default_timezone,
    )


def reminder_service(
    settings: Settings,
    db: Database,
    notifier: Notifier | None,
    clock: Callable[[], datetime] = utcnow,
) -> ReminderService:
    """The reminder service of the program."""
    return ReminderService(db, reminder_rules(settings), notifier, clock)


def digest_service(
    settings: Settings,
    db: Database,
    notifier: DigestNotifier,
    clock: Callable[[], datetime] = utcnow,
) -> DigestService:
    """The mentoring digests of the program."""
    return DigestService(db, reminder_rules(settings), notifier, clock)


async def prepare_database(settings: Settings, db: Database) -> None:
    """Apply pending migrations, load the default roadmap into an empty database, and make the
    OFFICER_IDS officers."""
    await migrate.upgrade(db.engine)
    await ensure_default_roadmap(db, settings)
    async with db.session() as repo:
        await repo.users.ensure_officers(settings.officer_ids)
