"""Test doubles for the outside world the bot talks to.

:mod:`tests.fakes.telegram_server` is a fake Telegram Bot API HTTP server: the real bot
process is pointed at it with ``TELEGRAM_API_URL`` and talks to it exactly as to Telegram.
"""

from tests.fakes.telegram_server import (
    FakeChat,
    FakeFile,
    FakeTelegramServer,
    FakeUser,
    RateLimit,
    SentCall,
    SentMessage,
    ServerStats,
    UploadedFile,
    WaitTimeoutError,
)

__all__ = [
    "FakeChat",
    "FakeFile",
    "FakeTelegramServer",
    "FakeUser",
    "RateLimit",
    "SentCall",
    "SentMessage",
    "ServerStats",
    "UploadedFile",
    "WaitTimeoutError",
]
