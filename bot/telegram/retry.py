"""The single retry policy of the program: every Bot API call (replies, reminders, digests and
broadcasts) goes through :class:`RetryMiddleware`, the outermost request middleware of the
bot's session (:func:`bot.telegram.factory.create_bot`).

Built on tenacity: transient failures (:func:`bot.telegram.errors.is_transient`: network
errors, timeouts, any 5xx whatever its body) are retried with exponential back-off and jitter;
a 429 is retried after its ``retry_after``; everything else (400, 401, 403, 404…) is raised at
once. Retrying stops before :data:`RETRY_BUDGET` seconds have passed since the first attempt.
"""

from __future__ import annotations

import structlog
from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
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

from bot.telegram.errors import is_transient

log = structlog.get_logger(__name__)

#: Seconds one Bot API call may spend being retried (TELEGRAM_RETRY_SECONDS, whose default this
#: is), from its first attempt: no retry starts
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
        # one AsyncRetrying per call, not one per middleware: tenacity keeps a call's
        # iteration state on the instance (in a threading.local, which every coroutine of the
        # event loop's thread shares), so concurrent calls would mix up one instance's state
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
