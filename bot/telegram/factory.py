"""aiogram wiring of delivery: the Bot with a configurable API server, the one retry policy and
the throttling of every outgoing Bot API call (request middlewares on the bot's session), the
mapping of aiogram's errors to :mod:`bot.services.delivery`'s, and the Notifier that the
reminder service sends through.

Request middlewares, outermost first (:func:`create_bot`):

1. :class:`RetryMiddleware` — the single retry policy of the program (replies, reminders,
   digests and broadcasts all go through it), built on tenacity: transient failures
   (:func:`is_transient`: network errors, timeouts, any 5xx whatever its body) are retried with
   exponential back-off and jitter; a 429 is retried after its ``retry_after``; everything else
   (400, 401, 403, 404…) is raised at once. Retrying stops before :data:`RETRY_BUDGET` seconds
   have passed since the first attempt.
2. :class:`ThrottleMiddleware` — every attempt of a sending method waits for a
   :class:`~bot.services.delivery.RateLimiter` slot in the calling context's lane
   (:data:`bot.services.delivery.send_lane`: replies by default, ``REMINDER`` for reminders and
   digests, ``BROADCAST`` for broadcasts), and a 429 pauses every send for ``retry_after``.

:func:`count_requests` adds an innermost one, :class:`RequestMetricsMiddleware`, for
``/metrics`` and ``/healthz`` (messages sent by kind, 429s, Telegram's last answer).

The session (:class:`ResilientSession`) turns a 5xx answer whose body is not Telegram's JSON
(an HTML page from a proxy: aiogram would raise ``ClientDecodeError``) into
``TelegramServerError``, so that it is classified by its status like any other 5xx.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING

import aiohttp
import structlog
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from bot.config import Settings
from bot.services.delivery import (
    DeliveryError,
    Lane,
    RateLimiter,
    RecipientBlockedError,
    RetryAfterError,
    send_lane,
    sending_in,
)

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = structlog.get_logger(__name__)

#: Seconds one Bot API call may spend being retried, from its first attempt: no retry starts
#: (no back-off or ``retry_after`` wait begins) that would end later. A single attempt is
#: bounded by the session's request timeout (aiogram's 60 s), so a call returns or raises
#: within about ``RETRY_BUDGET`` + 60 s. 30 s rides out a Telegram hiccup or a proxy's 502
#: spell of a few seconds (the issue's 6-s outage) without holding a chat's update for long.
RETRY_BUDGET = 30.0
#: Back-off between attempts after a transient failure: 0.5, 1, 2, 4, 8, 8… s plus up to
#: 0.5 s of random jitter (so that many senders do not hit a recovering server at once).
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 8.0
BACKOFF_JITTER = 0.5
#: Methods the policy leaves alone: long polling has its own back-off in aiogram's dispatcher.
NOT_RETRIED = frozenset({"getUpdates"})

# Methods that put a new message into a chat: these count against the limits.
SENDING_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendVoice",
        "sendAnimation", "sendMediaGroup", "sendSticker", "sendLocation", "sendContact",
        "sendPoll", "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
    }
)  # fmt: skip


def is_transient(exc: BaseException) -> bool:
    """Whether a failed Bot API call may succeed if simply repeated later.

    True for network errors and timeouts (aiogram's ``TelegramNetworkError``, aiohttp's
    ``ClientError``, ``TimeoutError``), any 5xx (``TelegramServerError``, including a 5xx with
    an HTML body, see :class:`ResilientSession`) and an answer that is not Telegram's JSON at
    all (``ClientDecodeError``: a proxy's page, a truncated body). False for a 429 (handled
    apart: it says how long to wait) and for every answer Telegram gave as a verdict on the
    request: 400 Bad Request, 401 Unauthorized, 403 Forbidden, 404, 409, 413.
    """
    return isinstance(
        exc,
        TelegramNetworkError
        | TelegramServerError
        | ClientDecodeError
        | aiohttp.ClientError
        | TimeoutError,
    )


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, TelegramRetryAfter) or is_transient(exc)


class RetryMiddleware(BaseRequestMiddleware):
    """The retry policy of every Bot API call (see the module doc), as a request middleware.

    ``budget``: seconds of retrying from the first attempt (:data:`RETRY_BUDGET`);
    ``backoff_first`` / ``backoff_max`` / ``jitter``: the back-off after transient failures.
    A 429's wait is its ``retry_after`` (Bot API: "the number of seconds left to wait before
    the request can be repeated"); a 429 whose wait does not fit in the budget is raised at
    once. The last error is raised as it came (``reraise``) when the budget is spent.
    """

    def __init__(
        self,
        budget: float = RETRY_BUDGET,
        *,
        backoff_first: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
        jitter: float = BACKOFF_JITTER,
    ) -> None:
        self.budget = budget
        self._backoff = wait_exponential(multiplier=backoff_first, max=backoff_max) + wait_random(
            0, jitter
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, TelegramRetryAfter):
            return float(exc.retry_after)
        return float(self._backoff(state))

    @staticmethod
    def _before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "telegram call failed, retrying",
            attempt=state.attempt_number,
            wait=round(state.upcoming_sleep, 2),
            error=f"{type(exc).__name__}: {exc}".splitlines()[0],
        )

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ in NOT_RETRIED:
            return await make_request(bot, method)
        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable),
            wait=self._wait,
            stop=stop_before_delay(self.budget),
            before_sleep=self._before_sleep,
            reraise=True,
        )

        async def attempt() -> Response[TelegramType]:
            return await make_request(bot, method)

        return await retrying(attempt)


class ThrottleMiddleware(BaseRequestMiddleware):
    """Waits for a :class:`RateLimiter` slot before each sending method and honours 429s.

    The slot is taken in the context's lane (:data:`~bot.services.delivery.send_lane`); the
    answer is reported back (:meth:`RateLimiter.sent`) so the next send to the same chat is
    spaced from it. On a 429 (TelegramRetryAfter) every send pauses for ``retry_after`` seconds
    and the error propagates (to :class:`RetryMiddleware`, which repeats the request).
    """

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ not in SENDING_METHODS:
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        chat = chat_id if isinstance(chat_id, int) else None
        await self.limiter.acquire(chat, send_lane.get())
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            self.limiter.pause(exc.retry_after)
            log.warning("telegram 429", method=method.__api_method__, retry_after=exc.retry_after)
            raise
        finally:
            self.limiter.sent(chat)


class RequestMetricsMiddleware(BaseRequestMiddleware):
    """Counts for :class:`bot.metrics.Metrics`, innermost (it sees every attempt): a message
    Telegram accepted (a sending method's success) by kind (:func:`bot.metrics.message_kind`),
    each 429 answer, and the time of Telegram's last answer (any method, ``getUpdates``
    included; a 5xx or a network error is no answer from Telegram).
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        from bot.metrics import message_kind  # noqa: PLC0415 - bot.metrics imports this module

        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            self.metrics.telegram_answered()
            self.metrics.rate_limited(message_kind())
            raise
        except TelegramServerError:
            raise
        except TelegramAPIError:
            self.metrics.telegram_answered()  # a verdict on the request: Telegram is there
            raise
        self.metrics.telegram_answered()
        if method.__api_method__ in SENDING_METHODS:
            self.metrics.message_sent(message_kind())
        return response


def count_requests(bot: Bot, metrics: Metrics) -> None:
    """Count ``bot``'s Bot API calls into ``metrics`` (:class:`RequestMetricsMiddleware`, as
    the innermost request middleware)."""
    bot.session.middleware(RequestMetricsMiddleware(metrics))


#: ``Response[T]`` of every result type met: pydantic caches a parametrised model only weakly,
#: so without a reference of ours the garbage collector took ``Response[Message]`` away again
#: and again, and aiogram's check of each answer rebuilt it, schema and all (9 % of a busy
#: bot's time in a ``/plan`` storm).
_RESPONSE_TYPES: dict[object, object] = {}


class ResilientSession(AiohttpSession):
    """aiogram's aiohttp session, but a 5xx answer with a body that is not Telegram's JSON
    (a proxy's HTML "502 Bad Gateway") raises ``TelegramServerError`` (transient) instead of
    ``ClientDecodeError``; any other answer is checked by aiogram as usual."""

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        """aiogram's check, with the 5xx case above.

        Raises:
            TelegramServerError: a 5xx answer, whatever its body.
            TelegramAPIError, ClientDecodeError: as aiogram's own check.
        """
        returning = method.__returning__
        if returning not in _RESPONSE_TYPES:
            _RESPONSE_TYPES[returning] = Response[returning]  # type: ignore[valid-type]
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError as exc:
            if status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
                snippet = " ".join(content[:80].split())
                raise TelegramServerError(
                    method=method, message=f"HTTP {status_code} without a Bot API body: {snippet}"
                ) from exc
            raise


def create_bot(
    settings: Settings, limiter: RateLimiter, *, retry: RetryMiddleware | None = None
) -> Bot:
    """The Bot for ``settings`` (token, API base URL) with the retry policy (``retry``, by
    default :class:`RetryMiddleware` with :data:`RETRY_BUDGET`), throttling by ``limiter`` and
    HTML parse mode.

    Raises:
        SettingsError: BOT_TOKEN is not set.
    """
    session = ResilientSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(retry or RetryMiddleware())
    session.middleware(ThrottleMiddleware(limiter))
    return Bot(
        token=settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
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
    """Raise the Bot API calls' errors of this block as :func:`delivery_error` maps them."""
    try:
        yield
    except (AiogramError, aiohttp.ClientError, TimeoutError) as exc:
        raise delivery_error(exc) from exc


class TelegramNotifier:
    """The reminder service's :class:`~bot.services.delivery.Notifier` over an aiogram Bot.

    Reminders wait in the ``REMINDER`` lane: after replies, before broadcasts. Retries are the
    bot's policy (:class:`RetryMiddleware`); errors are mapped by :func:`delivery_error`.
    """

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_notices(
        self, chat_id: int, text: str, items: Sequence[tuple[int, str]]
    ) -> None:
        """Send one reminder message about ``items`` ((plan item id, title), in the order the
        text numbers them): for one item «Отметить выполненным» / «Напомнить позже», for
        several a row of «✅ N. title» / «Напомнить позже» per item.

        Raises:
            RecipientBlockedError: 403 from Telegram.
            DeliveryError: any other failure after the retry policy (``retryable`` when
                transient).
        """
        # imported here: handlers import bot.broadcast_telegram, which imports this module
        from handlers.keyboards import reminder_keyboard, reminders_keyboard  # noqa: PLC0415

        one = len(items) == 1
        markup = reminder_keyboard(items[0][0]) if one else reminders_keyboard(items)
        with sending_in(Lane.REMINDER), delivery_errors():
            await self.bot.send_message(chat_id, text, reply_markup=markup)

    async def send_reminder(self, chat_id: int, text: str, item_id: int) -> None:
        """Send a reminder about one item (as :meth:`send_notices` with one item).

        Raises:
            As :meth:`send_notices`.
        """
        await self.send_notices(chat_id, text, [(item_id, "")])


__all__ = [
    "RETRY_BUDGET",
    "RequestMetricsMiddleware",
    "ResilientSession",
    "RetryMiddleware",
    "TelegramNotifier",
    "ThrottleMiddleware",
    "count_requests",
    "create_bot",
    "delivery_error",
    "delivery_errors",
    "is_transient",
]
