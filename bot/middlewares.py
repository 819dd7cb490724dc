"""Dispatcher middlewares: the chat's lock, a log context per update, the update's unit of work
(committed before anything is sent to Telegram; the dialogue state and the caller's user record,
``raw_state`` and ``user``, read in it), the caller's zone and local date (``zone``, ``today``),
and the count of updates handled for ``/metrics``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import structlog
from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.time_policy import TimePolicy
from storage.db import Database, current_session
from storage.fsm import DatabaseStorage
from storage.models import User
from storage.repo import Repo

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = structlog.get_logger("bot.updates")

# key of ``Session.info``: the task that handles the update owning the session
_OWNER = "update_task"

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ChatLockMiddleware(FSMContextMiddleware):
    """aiogram's FSM middleware without its early read of the dialogue state.

    As aiogram's, it takes the chat's lock (the dispatcher's events isolation: one update per
    chat at a time, in arrival order) and puts the chat's ``state`` (FSMContext) into the
    handler's data; but ``raw_state``, which the state filters compare, is read by
    :class:`DatabaseMiddleware` inside the update's own transaction, under that lock, instead of
    in a transaction of its own before it (one session, one connection and one commit less per
    update).
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        context = self.resolve_event_context(cast(Bot, data["bot"]), data)
        data["fsm_storage"] = self.storage
        if context is None:
            return await handler(event, data)
        async with self.events_isolation.lock(key=context.key):
            data["state"] = context
            return await handler(event, data)


class LogContextMiddleware(BaseMiddleware):
    """Binds ``update_id`` and the sender's id to every log line written while handling.

    Failures are logged by the error handler (handlers/errors.py), after the transaction of
    :class:`DatabaseMiddleware` was rolled back.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update_id = event.update_id if isinstance(event, Update) else None
        sender = data.get("event_from_user")
        with structlog.contextvars.bound_contextvars(
            update_id=update_id, tg_user=sender.id if sender else None
        ):
            started = time.perf_counter()
            try:
                return await handler(event, data)
            finally:
                log.debug("update handled", ms=round((time.perf_counter() - started) * 1000, 1))


class MetricsMiddleware(BaseMiddleware):
    """Counts every update handled, by type, and how long it took (:class:`Metrics`);
    failures are counted by the error handler (handlers/errors.py)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            self.metrics.update_handled(kind, time.perf_counter() - started)


class DatabaseMiddleware(BaseMiddleware):
    """The update's unit of work: ``repo`` (Repo), ``user`` (User | None) and, behind
    :class:`ChatLockMiddleware`, ``raw_state`` (the dialogue state) in data.

    Durable before told. The update's session is published in
    :data:`storage.db.current_session`, so the FSM storage and services join it. Every Bot API
    call made while the update is handled first commits what the handler has written so far
    (:class:`CommitBeforeSendMiddleware`, installed on the handling bot's session here), and the
    rest is committed when the handler returns; on an exception only the uncommitted rest is
    rolled back. So a reply that reports a change («Готово», «Отмечено»…) and the dialogue
    state set before it reach Telegram only once they are on disk, and no write transaction
    (SQLite's single write lock) stays open while a request to Telegram is waiting: the
    session holds a connection only between two calls.

    Handlers may append callables to ``after_commit`` (data): they run once the update's last
    commit succeeded (and not at all if it failed), e.g. to start a broadcast's run.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        bot = data.get("bot")
        if isinstance(bot, Bot):
            install_commit_before_send(bot)
        after_commit: list[Callable[[], object]] = []
        data["after_commit"] = after_commit
        session = self.db.raw_session()
        session.info[_OWNER] = asyncio.current_task()
        token = current_session.set(session)
        try:
            result = await self._handle(handler, event, data, session)
            if session.in_transaction():  # else a commit would begin a transaction to end it
                await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            current_session.reset(token)
            await session.close()
        for action in after_commit:
            action()
        return result

    async def _handle(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], session: AsyncSession
    ) -> Any:
        repo = Repo(session)
        data["repo"] = repo
        sender = data.get("event_from_user")
        state = data.get("state")
        user: User | None = None
        if (
            sender is not None
            and isinstance(state, FSMContext)
            and isinstance(state.storage, DatabaseStorage)
            and "raw_state" not in data
        ):  # the user with their dialogue's state, in one statement (fsm_states' key)
            found = await repo.users.caller(sender.id, state.storage.keys.build(state.key))
            if found is not None:
                user, data["raw_state"] = found
        elif sender is not None:
            user = await repo.users.by_telegram(sender.id)
        if user is not None and not user.active and user.anonymised_at is None:
            # a 403 made them inactive; writing to the bot again means they unblocked it
            await repo.users.set_active(user.id, True)
            user.active = True
        data["user"] = user
        if isinstance(state, FSMContext) and "raw_state" not in data:
            data["raw_state"] = await state.get_state()  # joins this session
        return await handler(event, data)


class TimeMiddleware(BaseMiddleware):
    """Puts the shared ``time_policy`` (:class:`TimePolicy`) into data and, for a known caller,
    their ``zone`` (ZoneInfo) and ``today`` (their local date at the dispatcher's ``clock`` now).

    It runs inside :class:`DatabaseMiddleware`, which loads ``user``: no query of its own, and
    nothing awaited before the handler. The clock is read from data on every update, so tests
    can move it.
    """

    def __init__(self, time_policy: TimePolicy) -> None:
        self.time_policy = time_policy

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["time_policy"] = self.time_policy
        user = data.get("user")
        if isinstance(user, User):
            clock = cast(Callable[[], datetime], data["clock"])
            data["zone"] = self.time_policy.zone(user)
            data["today"] = self.time_policy.today(clock(), user)
        return await handler(event, data)


class CommitBeforeSendMiddleware(BaseRequestMiddleware):
    """A request middleware: commits the current update's transaction before any Bot API call.

    Outside an update (:data:`storage.db.current_session` unset: the scheduler, broadcasts,
    start-up) it does nothing; nor in a task the handler started that inherited its context
    (aiogram's ``ChatActionSender`` sending «печатает…» while the handler works): only the
    update's own task commits its session, never concurrently with the handler's queries.

    It must be the outermost request middleware, so that nothing (the rate limiter's queue, a
    retry's back-off) is awaited with the transaction open; see
    :func:`install_commit_before_send`.

    Raises whatever the commit raises (a full disk, a lost connection): the request is then not
    sent, and the error handler tells the user that nothing was saved.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        session = current_session.get()
        if (
            session is not None
            and session.info.get(_OWNER) is asyncio.current_task()
            and session.in_transaction()
        ):
            await session.commit()
        return await make_request(bot, method)


def install_commit_before_send(bot: Bot) -> None:
    """Make :class:`CommitBeforeSendMiddleware` the outermost request middleware of ``bot``'s
    session; calling it again changes nothing."""
    manager = bot.session.middleware
    if manager and isinstance(manager[0], CommitBeforeSendMiddleware):
        return
    others = [m for m in manager if not isinstance(m, CommitBeforeSendMiddleware)]
    for middleware in list(manager):
        manager.unregister(middleware)
    manager.register(CommitBeforeSendMiddleware())
    for middleware in others:
        manager.register(middleware)
