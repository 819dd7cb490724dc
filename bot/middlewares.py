"""Dispatcher middlewares: a log context per update, one database transaction per update, and
the caller's user record in the handler's data (``user``: User or None)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, current_session
from storage.repo import Repo

log = structlog.get_logger("bot.updates")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


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


class DatabaseMiddleware(BaseMiddleware):
    """Opens one transaction per update: ``repo`` (Repo) and ``user`` (User | None) in data.

    Commits when the handler returns, rolls back when it raises. The session is also published
    in :data:`storage.db.current_session`, so the FSM storage and services join the same
    transaction. Handlers may append callables to ``after_commit`` (data): they run once the
    update's transaction has committed (and not at all if it rolled back).
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        after_commit: list[Callable[[], object]] = []
        data["after_commit"] = after_commit
        async with self.db.raw_session() as session, session.begin():
            token = current_session.set(session)
            try:
                result = await self._handle(handler, event, data, session)
            finally:
                current_session.reset(token)
        for action in after_commit:  # e.g. start a broadcast once its rows are committed
            action()
        return result

    async def _handle(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any], session: AsyncSession
    ) -> Any:
        repo = Repo(session)
        data["repo"] = repo
        sender = data.get("event_from_user")
        user = await repo.users.by_telegram(sender.id) if sender else None
        if user is not None and not user.active and user.anonymised_at is None:
            # a 403 made them inactive; writing to the bot again means they unblocked it
            await repo.users.set_active(user.id, True)
            user.active = True
        data["user"] = user
        return await handler(event, data)
