"""The Telegram adapter: all of the program's Bot API I/O, over aiogram. Handlers import from
here; nothing here imports handlers.

- :mod:`~bot.telegram.factory` — :func:`create_bot` (the Bot, its :class:`ResilientSession`,
  the rate limiter's :class:`ThrottleMiddleware`) and :func:`count_requests` for ``/metrics``.
- :mod:`~bot.telegram.retry` — :class:`RetryMiddleware`, the one retry policy of every call.
- :mod:`~bot.telegram.errors` — the one rule that judges a failed call: :func:`is_transient`
  (retry it?) and :func:`delivery_error` / :func:`delivery_errors` (403 -> recipient blocked,
  429 -> retry after, the rest) for the services.
- :mod:`~bot.telegram.notify` — :class:`TelegramNotifier` (reminders),
  :class:`TelegramDigestNotifier` (digests) and :func:`tell` (a handler telling another user).
- :mod:`~bot.telegram.broadcast` — :class:`TelegramBroadcastTransport` and the officer's
  :class:`ProgressMessage`.
- :mod:`~bot.telegram.keyboards` and :mod:`~bot.telegram.callbacks` — the buttons these send
  (under reminders, digests, broadcasts) and their callback data.
"""

from bot.telegram.broadcast import ProgressMessage, TelegramBroadcastTransport, progress_editor
from bot.telegram.callbacks import BroadcastAnswerCb, BroadcastControlCb, ConsultCb, ItemCb
from bot.telegram.errors import delivery_error, delivery_errors, is_transient
from bot.telegram.factory import (
    RequestMetricsMiddleware,
    ResilientSession,
    ThrottleMiddleware,
    count_requests,
    create_bot,
)
from bot.telegram.keyboards import (
    digest_keyboard,
    reminder_keyboard,
    reminders_keyboard,
    resend_keyboard,
    resume_keyboard,
    rsvp_keyboard,
    short,
    stop_keyboard,
)
from bot.telegram.notify import TelegramDigestNotifier, TelegramNotifier, tell
from bot.telegram.retry import RETRY_BUDGET, RetryMiddleware

__all__ = [
    "RETRY_BUDGET",
    "BroadcastAnswerCb",
    "BroadcastControlCb",
    "ConsultCb",
    "ItemCb",
    "ProgressMessage",
    "RequestMetricsMiddleware",
    "ResilientSession",
    "RetryMiddleware",
    "TelegramBroadcastTransport",
    "TelegramDigestNotifier",
    "TelegramNotifier",
    "ThrottleMiddleware",
    "count_requests",
    "create_bot",
    "delivery_error",
    "delivery_errors",
    "digest_keyboard",
    "is_transient",
    "progress_editor",
    "reminder_keyboard",
    "reminders_keyboard",
    "resend_keyboard",
    "resume_keyboard",
    "rsvp_keyboard",
    "short",
    "stop_keyboard",
    "tell",
]
