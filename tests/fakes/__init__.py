"""Test doubles for the outside world the bot talks to.

:mod:`tests.fakes.telegram_server` is a fake Telegram Bot API HTTP server: the real bot
process is pointed at it with ``TELEGRAM_API_URL`` and talks to it exactly as to Telegram.
"""

from tests.fakes.telegram_server import (
    OUTAGE_MODES,
    Delay,
    FakeChat,
    FakeFile,
    FakeTelegramServer,
    FakeUser,
    Hang,
    Outage,
    RateLimit,
    SentCall,
    SentMessage,
    ServerStats,
    UploadedFile,
    WaitTimeoutError,
)

__all__ = [
    "OUTAGE_MODES",
    "Delay",
    "FakeChat",
    "FakeFile",
    "FakeTelegramServer",
    "FakeUser",
    "Hang",
    "Outage",
    "RateLimit",
    "SentCall",
    "SentMessage",
    "ServerStats",
    "UploadedFile",
    "WaitTimeoutError",
]
