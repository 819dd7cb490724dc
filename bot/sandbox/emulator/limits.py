"""Telegram's limits the server enforces: text and caption lengths, callback data, upload
size, and the broadcast rate limit (:class:`RateLimit`) with its 429 answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.sandbox.emulator.answers import _ApiError

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
UPLOAD_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class RateLimit:
    """Telegram's broadcast limits, enforced when passed to :class:`FakeTelegramServer`.

    ``per_second``: accepted send calls (``send*``, ``copyMessage``, ``forwardMessage``;
    ``sendChatAction`` is free) in any sliding window of one second, across all chats.
    ``per_chat_per_second``: sends to one chat per second (1.0 means a second send to the
    same chat within one second is refused). ``clock_speed`` > 1 shortens the server's
    second: with 10.0 a "second" lasts 0.1 s of real time, so the limits become 300/s and
    10/s per chat in real time, while ``retry_after`` is still reported in server seconds
    (an integer >= 1, as Telegram does). Refused calls answer 429 and are not delivered.
    """

    per_second: int = 30
    per_chat_per_second: float = 1.0
    clock_speed: float = 1.0

    def __post_init__(self) -> None:
        if self.per_second < 1 or self.per_chat_per_second <= 0 or self.clock_speed <= 0:
            raise ValueError(f"invalid rate limit: {self!r}")

    @property
    def window(self) -> float:
        """Length of one server second in real seconds."""
        return 1.0 / self.clock_speed

    @property
    def chat_interval(self) -> float:
        """Minimal real time between two accepted sends to the same chat."""
        return 1.0 / (self.per_chat_per_second * self.clock_speed)


def _too_many(wait_real: float, limit: RateLimit) -> _ApiError:
    retry_after = max(1, math.ceil(wait_real * limit.clock_speed))
    return _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
