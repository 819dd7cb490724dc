"""A fake Telegram Bot API server for end-to-end tests, benchmarks and the sandbox.

:mod:`bot.sandbox.emulator.server` holds it for now; this package names what it offers.
"""

from bot.sandbox.emulator.server import (
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
    ServerEvent,
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
    "ServerEvent",
    "ServerStats",
    "UploadedFile",
    "WaitTimeoutError",
]
