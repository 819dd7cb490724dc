"""How a failed Bot API call is judged — the one place for it: whether it is worth repeating
(:func:`is_transient`, the retry policy's test) and which :mod:`bot.services.delivery` error it
is for the services (:func:`delivery_error`, :func:`delivery_errors`): a 403 ("bot was blocked
by the user", "user is deactivated") is :class:`~bot.services.delivery.RecipientBlockedError`,
whatever sent the message (reminders, digests, broadcasts, a handler telling another user);
a 429 is :class:`~bot.services.delivery.RetryAfterError` with its ``retry_after``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import aiohttp
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.services.delivery import DeliveryError, RecipientBlockedError, RetryAfterError


def is_transient(exc: BaseException) -> bool:
    """Whether a failed Bot API call may succeed if simply repeated later.

    True for network errors and timeouts (aiogram's ``TelegramNetworkError``, aiohttp's
    ``ClientError``, ``TimeoutError``), any 5xx (``TelegramServerError``, including a 5xx with
    an HTML body, see :class:`~bot.telegram.factory.ResilientSession`) and an answer that is
    not Telegram's JSON at all (``ClientDecodeError``: a proxy's page, a truncated body). False
    for a 429 (handled apart: it says how long to wait) and for every answer Telegram gave as a
    verdict on the request: 400 Bad Request, 401 Unauthorized, 403 Forbidden, 404, 409, 413.
    """
    return isinstance(
        exc,
        TelegramNetworkError
        | TelegramServerError
        | ClientDecodeError
        | aiohttp.ClientError
        | TimeoutError,
    )


def delivery_error(exc: BaseException) -> DeliveryError:
    """The :mod:`bot.services.delivery` error for a failed Bot API call (after the retry
    policy): 403 -> :class:`RecipientBlockedError`; 429 -> :class:`RetryAfterError`;
    transient (:func:`is_transient`) -> ``DeliveryError(retryable=True)``; anything else
    (400 and the other answers on the request itself) -> ``DeliveryError(retryable=False)``.
    """
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    message = str(message).splitlines()[0]
    if isinstance(exc, TelegramForbiddenError):
        return RecipientBlockedError(message)
    if isinstance(exc, TelegramRetryAfter):
        return RetryAfterError(exc.retry_after, message)
    if is_transient(exc):
        return DeliveryError(f"{type(exc).__name__}: {message}", retryable=True)
    return DeliveryError(message, retryable=False)


@contextlib.contextmanager
def delivery_errors() -> Iterator[None]:
    """Raise the Bot API calls' errors of this block as :func:`delivery_error` maps them.

    Raises:
        DeliveryError: (or its subclasses) for any aiogram, aiohttp or timeout error.
    """
    try:
        yield
    except (AiogramError, aiohttp.ClientError, TimeoutError) as exc:
        raise delivery_error(exc) from exc
