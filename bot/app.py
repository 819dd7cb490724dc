"""The application's wiring, shared by ``python -m bot run`` and the tests: the dispatcher
factory, start-up (migrations, default roadmap, officers) and the reminder service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation

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
    events_isolation: BaseEventIsolation | None = None,
) -> Dispatcher:
    """A Dispatcher with every router and middleware; dialogue states are kept in the database
    (:class:`storage.fsm.DatabaseStorage`) unless ``storage`` is given.

    Updates of one chat (one user in one chat: aiogram's FSM key) are handled one at a time, in
    the order they arrived, and different chats in parallel: ``events_isolation`` defaults to
    aiogram's :class:`SimpleEventIsolation` (one process); several processes sharing a database
    need a shared one, such as aiogram's ``RedisEventIsolation``. The lock is taken outside the
    update's unit of work (:class:`bot.middlewares.DatabaseMiddleware`), so a second press of a
    button sees everything the first one committed.

    Handlers receive ``settings``, ``db``, ``clock`` (aware UTC now), ``repo``, ``user`` and
    ``after_commit``.
    """
    dp = Dispatcher(
        storage=storage or DatabaseStorage(db),
        events_isolation=events_isolation or SimpleEventIsolation(),
        settings=settings,
        db=db,
        clock=clock,
    )
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
