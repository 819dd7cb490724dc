"""The Bot and its session: a configurable API server, the request middlewares that every
outgoing Bot API call passes, and the counting of calls for ``/metrics``.

Request middlewares, outermost first (:func:`create_bot`):

1. :class:`~bot.telegram.retry.RetryMiddleware` — the single retry policy of the program.
2. :class:`ThrottleMiddleware` — every attempt of a sending method waits for a
   :class:`~bot.services.delivery.RateLimiter` slot in the calling context's lane
   (:data:`bot.services.delivery.send_lane`: replies by default, ``REMINDER`` for reminders and
   digests, ``BROADCAST`` for broadcasts), and a 429 pauses every send for ``retry_after``.

:func:`count_requests` adds an innermost one, :class:`RequestMetricsMiddleware`, for
``/metrics`` and ``/healthz`` (messages sent by kind, 429s, Telegram's last answer).

The session (:class:`ResilientSession`) posts a call without files as one JSON body instead of
aiogram's form data, and turns a 5xx answer whose body is not Telegram's JSON (an HTML page from
a proxy: aiogram would raise ``ClientDecodeError``) into ``TelegramServerError``, so that it is
classified by its status like any other 5xx.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, cast

import orjson
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
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError

from bot.config import Settings
from bot.metrics import Metrics, message_kind
from bot.services.delivery import RateLimiter, send_lane
from bot.telegram.retry import RetryMiddleware

log = structlog.get_logger(__name__)

# Methods that put a new message into a chat: these count against the limits.
SENDING_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAudio", "sendVoice",
        "sendAnimation", "sendMediaGroup", "sendSticker", "sendLocation", "sendContact",
        "sendPoll", "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
    }
)  # fmt: skip


class ThrottleMiddleware(BaseRequestMiddleware):
    """Waits for a :class:`RateLimiter` slot before each sending method and honours 429s.

    The slot is taken in the context's lane (:data:`~bot.services.delivery.send_lane`); the
    answer (or failure) is reported back (:meth:`RateLimiter.sent`): the request arrived by
    then, which bounds the sends in flight in Telegram's window, and the next send to the
    same chat is spaced from it. On a 429 (TelegramRetryAfter) every send pauses for
    ``retry_after`` seconds and the error propagates (to :class:`RetryMiddleware`, which
    repeats the request).
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
        slot = await self.limiter.acquire(chat, send_lane.get())
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as exc:
            self.limiter.pause(exc.retry_after)
            log.warning("telegram 429", method=method.__api_method__, retry_after=exc.retry_after)
            raise
        finally:
            self.limiter.sent(slot)


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


#: The header of a JSON request body (Bot API: "application/json (except for uploading files)").
JSON_HEADERS = {"Content-Type": "application/json"}


class ResilientSession(AiohttpSession):
    """aiogram's aiohttp session, with two changes:

    - a call without files goes as one JSON body (``application/json``, which the Bot API
      accepts for every method but uploads) instead of aiogram's form data, whose encoding
      (aiohttp's ``FormData``, every keyboard percent-encoded) took a tenth of a ``/plan``
      update's CPU: 0.15 instead of 0.57 ms for a reply with a 20-button keyboard, and 4.0
      instead of 9.1 KB on the wire. A call with a file is aiogram's multipart form, as before.
    - a 5xx answer with a body that is not Telegram's JSON (a proxy's HTML "502 Bad Gateway")
      raises ``TelegramServerError`` (transient) instead of ``ClientDecodeError``; any other
      answer is checked by aiogram as usual.
    """

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        """Post ``method`` to the API server and return its result (aiogram's contract).

        The body holds the fields aiogram's form would (``None`` and empty strings left out,
        defaults such as the parse mode filled in from ``bot.default``), as JSON values.

        Raises:
            TelegramNetworkError: a timeout or a connection error (as aiogram's session).
            TelegramAPIError: Telegram's error answer, see :meth:`check_response`.
        """
        files: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":
                body[key] = prepared
        if files:  # an upload: multipart form data, aiogram's own request
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=orjson.dumps(body),
                headers=JSON_HEADERS,
                timeout=self.timeout if timeout is None else timeout,  # type: ignore[arg-type]
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast(TelegramType, response.result)

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


def json_text(value: Any) -> str:
    """``value`` as JSON text for a request's field (aiogram's ``json_dumps``, which aiogram
    calls on keyboards and other objects before form-encoding them): orjson's, in UTF-8 rather
    than the standard library's ``\\u`` escapes, so that a keyboard's Cyrillic is a third of
    the bytes to percent-encode. With orjson's parser for Telegram's answers (``json_loads``):
    4.68 instead of 5.59 ms of CPU a ``/plan`` update (``bench.updates``, median of 3 rounds).

    Raises:
        orjson.JSONEncodeError: a value JSON cannot hold (as ``json.dumps``'s TypeError)."""
    return orjson.dumps(value).decode()


def create_bot(
    settings: Settings,
    limiter: RateLimiter | None = None,
    *,
    retry: RetryMiddleware | None = None,
) -> Bot:
    """The Bot for ``settings`` (token, API base URL) with the retry policy (``retry``, by
    default :class:`RetryMiddleware` with a budget of TELEGRAM_RETRY_SECONDS),
    throttling by ``limiter`` and HTML parse mode. Without ``limiter`` the Bot has one of its
    own for Telegram's limits on TELEGRAM_CLOCK_SPEED's clock
    (:meth:`RateLimiter.for_telegram`); a process whose services send too passes the one
    they share.

    Raises:
        SettingsError: BOT_TOKEN is not set.
    """
    session = ResilientSession(
        api=TelegramAPIServer.from_base(settings.telegram_api_url),
        json_loads=orjson.loads,
        json_dumps=json_text,
    )
    session.middleware(retry or RetryMiddleware(settings.telegram_retry_seconds))
    if limiter is None:
        limiter = RateLimiter.for_telegram(settings.telegram_clock_speed)
    session.middleware(ThrottleMiddleware(limiter))
    return Bot(
        token=settings.require_token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
