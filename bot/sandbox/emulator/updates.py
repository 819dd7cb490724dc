"""Method handlers for receiving updates: ``getUpdates`` long polling (409 when a second
poller comes, failed by an outage) and the webhook methods.
"""

from __future__ import annotations

import itertools
import time

from bot.sandbox.emulator.answers import _ApiError, _bad, _HtmlError, _ResetError
from bot.sandbox.emulator.injection import _FaultInjection
from bot.sandbox.emulator.model import JSONDict
from bot.sandbox.emulator.params import _bool_param, _float_param, _int_param, _Request

_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


class _UpdateMethods(_FaultInjection):
    """``getUpdates``, ``setWebhook``, ``deleteWebhook``, ``getWebhookInfo``."""

    async def _get_updates(self, req: _Request) -> list[JSONDict]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_param(req.params, "offset", 0)
        limit = min(max(_int_param(req.params, "limit", 100), 1), 100)
        timeout = max(_float_param(req.params, "timeout", 0.0), 0.0)
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.fire()  # an older long poll is now terminated with 409
        deadline = time.monotonic() + timeout
        self.polls_waiting += 1
        self._calls_signal.fire()
        try:
            return await self._long_poll(limit, generation, deadline)
        finally:
            self.polls_waiting -= 1

    async def _long_poll(self, limit: int, generation: int, deadline: float) -> list[JSONDict]:
        while True:
            outage = self._current_outage()
            if outage is not None:
                if outage.mode == "502":
                    raise _HtmlError(502)
                raise _ResetError(f"connection reset: outage ({outage.mode})")
            batch = list(itertools.islice(self._updates, limit))
            if batch or self._closing:
                return batch
            if generation != self._poll_generation:
                raise _ApiError(409, _CONFLICT_POLL)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await self._updates_signal.wait(remaining)

    def _confirm(self, offset: int) -> None:
        updates = self._updates
        if offset > 0:
            while updates and updates[0]["update_id"] < offset:
                updates.popleft()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()

    async def _set_webhook(self, req: _Request) -> bool:
        url = req.params.get("url") or ""
        if not isinstance(url, str):
            raise _bad("bad webhook: invalid URL")
        self.webhook_url = url
        if _bool_param(req.params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, req: _Request) -> bool:
        self.webhook_url = ""
        if _bool_param(req.params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, req: _Request) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
