"""The application's wiring, shared by ``python -m bot run`` and the tests: the dispatcher
factory, start-up (migrations, default roadmap, officers) and the reminder service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import Dispatcher, Router
from aiogram.dispatcher.middlewares.error import ErrorsMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation

from bot.config import Settings
from bot.middlewares import (
    ChatLockMiddleware,
    DatabaseMiddleware,
    LogContextMiddleware,
    TimeMiddleware,
)
from bot.services.clock import utcnow
from bot.services.delivery import Notifier
from bot.services.digests import DigestNotifier, DigestService
from bot.services.reminders import ReminderRules, ReminderService
from bot.services.roadmap_import import ensure_default_roadmap
from bot.services.time_policy import TimePolicy
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
    time_policy: TimePolicy | None = None,
) -> Dispatcher:
    """A Dispatcher with every router and middleware; dialogue states are kept in the database
    (:class:`storage.fsm.DatabaseStorage`) unless ``storage`` is given.

    Updates of one chat (one user in one chat: aiogram's FSM key) are handled one at a time, in
    the order they arrived, and different chats in parallel: ``events_isolation`` defaults to
    aiogram's :class:`SimpleEventIsolation` (one process); several processes sharing a database
    need a shared one, such as aiogram's ``RedisEventIsolation``. The lock is taken outside the
    update's unit of work (:class:`bot.middlewares.DatabaseMiddleware`), so a second press of a
    button sees everything the first one committed.

    Handlers receive ``settings``, ``db``, ``clock`` (aware UTC now), ``repo``, ``user``,
    ``after_commit``, ``time_policy`` (the shared one; None: the one of ``settings``) and, for a
    known user, ``zone`` and ``today`` (:class:`bot.middlewares.TimeMiddleware`).
    """
    dp = Dispatcher(
        storage=storage or DatabaseStorage(db),
        events_isolation=events_isolation or SimpleEventIsolation(),
        disable_fsm=True,  # ChatLockMiddleware instead: the state is read in the update's session
        settings=settings,
        db=db,
        clock=clock,
    )
    dp.fsm = ChatLockMiddleware(
        storage=dp.fsm.storage, strategy=dp.fsm.strategy, events_isolation=dp.fsm.events_isolation
    )
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(LogContextMiddleware())
    # the error handlers (handlers/errors.py) run here: after the unit of work rolled back and
    # still under the chat's lock, so a refusal reaches the user before their next update is
    # handled (aiogram's own ErrorsMiddleware, outermost, would answer after the lock is gone)
    dp.update.outer_middleware(ErrorsMiddleware(dp))
    dp.update.outer_middleware(DatabaseMiddleware(db))
    dp.update.outer_middleware(TimeMiddleware(time_policy or TimePolicy.from_settings(settings)))
    dp.include_router(setup_routers())
    run_filters_inline(dp)
    return dp


def run_filters_inline(router: Router) -> None:
    """Make every filter of ``router`` and the routers under it run in the event loop.

    aiogram runs a filter that is not a coroutine function in a worker thread
    (``asyncio.to_thread``): every state filter (``LogItem.date``…) and magic filter (``F.…``)
    it checks on the way to a handler — 11 thread hops for a ``/plan``, each a handover of the
    GIL. Ours are pure and quick (a comparison, a regular expression), so they are called
    directly instead.
    """
    for each in router.chain_tail:
        for observer in each.observers.values():
            for handler in (observer._handler, *observer.handlers):  # router-level filters first
                for event_filter in handler.filters or ():
                    if not event_filter.awaitable:
                        event_filter.callback = _in_loop(event_filter.callback)
                        event_filter.awaitable = True


def _in_loop(callback: Callable[..., Any]) -> Callable[..., Any]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return callback(*args, **kwargs)

    return call


def reminder_service(
    settings: Settings,
    db: Database,
    notifier: Notifier | None,
    clock: Callable[[], datetime] = utcnow,
    *,
    time_policy: TimePolicy | None = None,
) -> ReminderService:
    """The reminder service of the program, by the rules of ``settings`` and the shared
    ``time_policy`` (None: the one of ``settings``)."""
    return ReminderService(db, ReminderRules.from_settings(settings, time_policy), notifier, clock)


def digest_service(
    settings: Settings,
    db: Database,
    notifier: DigestNotifier,
    clock: Callable[[], datetime] = utcnow,
    *,
    time_policy: TimePolicy | None = None,
) -> DigestService:
    """The mentoring digests of the program, in the zones and quiet hours of the shared
    ``time_policy`` (None: the one of ``settings``)."""
    return DigestService(db, time_policy or TimePolicy.from_settings(settings), notifier, clock)


async def prepare_database(settings: Settings, db: Database) -> None:
    """Apply pending migrations, load the default roadmap into an empty database, and make the
    OFFICER_IDS officers."""
    await migrate.upgrade(db.engine)
    await ensure_default_roadmap(db, settings)
    async with db.session() as repo:
        await repo.users.ensure_officers(settings.officer_ids)
