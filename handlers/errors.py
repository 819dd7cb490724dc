"""The error handler: an exception in a handler is logged with its update and the user gets a
short apology instead of silence; their dialogue state is kept. Failures are counted for
``/metrics`` when the dispatcher has ``metrics`` (the bot process sets it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from aiogram import Router
from aiogram.types import ErrorEvent

from bot import texts

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = structlog.get_logger("bot.errors")


def setup() -> Router:
    """The router of this module."""
    router = Router(name="errors")
    router.errors.register(on_error)
    return router


async def on_error(event: ErrorEvent, metrics: Metrics | None = None) -> bool:
    """Log and count the failure and tell the user; True marks the error as handled."""
    update = event.update
    if metrics is not None:
        metrics.handler_failed(update.event_type)
    log.error(
        "handler failed",
        update_id=update.update_id,
        error=repr(event.exception),
        exc_info=event.exception,
    )
    try:
        if update.message is not None:
            await update.message.answer(texts.ERROR)
        elif update.callback_query is not None:
            await update.callback_query.answer(texts.ERROR, show_alert=True)
    except Exception:
        log.warning("could not tell the user about the error", update_id=update.update_id)
    return True
