"""The error handlers. They run once the update's transaction was rolled back
(:class:`bot.middlewares.DatabaseMiddleware`), so nothing the handler wrote is kept and a reply
sent here never reports a change; and while the chat's lock is still held (bot/app.py), so the
reply comes before anything answered to the user's next update.

The domain errors of the services are expected input and are answered, not logged as failures:

- :class:`NotFoundError` (a stale or forged button, an object gone): «Кнопка устарела»;
- :class:`InputError`: its message (a :class:`~handlers.common.StepInputError` with the
  dialogue step's question and keyboard); the dialogue state stays as before the update;
- :class:`AccessDeniedError`: the refusal (a button: «Кнопка устарела», as the fallback);
- :class:`ExportError` (the export's process failed; :mod:`bot.services.export_process` logged
  it, by type and exit code): «Не удалось подготовить выгрузку».

Any other exception in a handler is logged with its update and the user gets a short apology
instead of silence; their dialogue state is kept. Such failures are counted for ``/metrics``
when the dispatcher has ``metrics`` (the bot process sets it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Update

from bot import texts
from bot.services.errors import AccessDeniedError, InputError, NotFoundError
from bot.services.export_process import ExportError
from bot.texts import reports as tr
from handlers.common import ReplyMarkup, StepInputError

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = structlog.get_logger("bot.errors")


def setup() -> Router:
    """The router of this module: the domain errors first, then any other exception."""
    router = Router(name="errors")
    router.errors.register(on_not_found, ExceptionTypeFilter(NotFoundError))
    router.errors.register(on_input_error, ExceptionTypeFilter(InputError))
    router.errors.register(on_access_denied, ExceptionTypeFilter(AccessDeniedError))
    router.errors.register(on_export_failed, ExceptionTypeFilter(ExportError))
    router.errors.register(on_error)
    return router


async def on_not_found(event: ErrorEvent) -> bool:
    """«Кнопка устарела» (an alert for a button); True marks the error as handled."""
    _expected(event)
    await _tell(event.update, texts.STALE_BUTTON)
    return True


async def on_input_error(event: ErrorEvent) -> bool:
    """The error's message, with the keyboard of :class:`StepInputError`; True: handled."""
    _expected(event)
    error = event.exception
    assert isinstance(error, InputError)  # the filter of this handler
    markup = error.reply_markup if isinstance(error, StepInputError) else None
    await _tell(event.update, error.message, markup)
    return True


async def on_access_denied(event: ErrorEvent) -> bool:
    """«Эта команда вам недоступна» (a button: «Кнопка устарела»); True: handled."""
    _expected(event)
    update = event.update
    await _tell(update, texts.STALE_BUTTON if update.callback_query else texts.DENIED)
    return True


async def on_export_failed(event: ErrorEvent) -> bool:
    """«Не удалось подготовить выгрузку»; the failure was logged where it happened (by type and
    exit code: the child's message may hold values), so not again. True: handled."""
    await _tell(event.update, tr.EXPORT_FAILED)
    return True


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
    await _tell(update, texts.ERROR)
    return True


def _expected(event: ErrorEvent) -> None:
    log.debug(
        "domain error answered", update_id=event.update.update_id, error=repr(event.exception)
    )


async def _tell(update: Update, text: str, reply_markup: ReplyMarkup | None = None) -> None:
    """``text`` to the sender: a message in reply to a message, an alert for a button."""
    try:
        if update.message is not None:
            await update.message.answer(text, reply_markup=reply_markup)
        elif update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
    except Exception:
        log.warning("could not tell the user about the error", update_id=update.update_id)
