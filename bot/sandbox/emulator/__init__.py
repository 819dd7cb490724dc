"""A fake Telegram Bot API server for end-to-end tests, benchmarks and the sandbox.

It speaks the real HTTP Bot API (https://core.telegram.org/bots/api): requests go to
``{base}/bot{token}/{method}`` as GET or POST with a query string, a JSON body, a
form-urlencoded body or a multipart upload, and every answer is
``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {"retry_after": S}}``
with the HTTP status equal to ``error_code``. Files are served from
``{base}/file/bot{token}/{file_path}``. That is the layout
``aiogram.client.telegram.TelegramAPIServer.from_base(base_url)`` produces, so the real
bot (a subprocess started with ``TELEGRAM_API_URL=server.base_url``) cannot tell it from
Telegram.

Behind the HTTP surface sits a small simulated world: users (private chat id == user
id) and optionally groups, the updates the test injects (``push_text``,
``push_document``, ``push_callback``...), which the bot fetches with ``getUpdates`` long
polling, and everything the bot sends back, kept per chat as :class:`SentMessage` and as
a flat log of :class:`SentCall`. Tests wait for the bot's answers with
:meth:`FakeTelegramServer.wait_for_message` / :meth:`FakeTelegramServer.wait_for_call`.

Telegram behaviour that bites real bots is imitated on purpose: HTML / MarkdownV2 /
Markdown text is parsed like Telegram does (a malformed text is a 400 "can't parse
entities"), text and caption length limits, callback_data of at most 64 bytes, "message
is not modified" on a no-op edit, an edit without ``reply_markup`` removing the inline
keyboard, 403 for a user who blocked the bot, 409 when two processes poll at once, and,
with a :class:`RateLimit`, 429 "Too Many Requests" with ``retry_after``.

Faults of a bad network or a bad day at Telegram can be switched on by the test:
``fail_next`` (an error answer for the next N calls or for a time window, optionally as
the HTML page a proxy such as nginx gives for a 5xx), ``delay_answers`` (the answers of calls
to a chat come 0.3-3 s late, as from some hosts), ``hang`` (a method, for a chat, is held
until released or for N seconds) and ``outage`` (for T seconds every request is answered
502 with an HTML body, has its connection reset, or the port refuses connections).

Everything runs in the event loop of whoever awaits :meth:`FakeTelegramServer.start`
(normally the pytest-asyncio test); nothing blocks it.

The package, bottom up (each module imports only those above it):

- ``model``: the world's data (:class:`FakeUser`, :class:`FakeChat`, :class:`FakeFile`,
  :class:`SentCall`, :class:`SentMessage`, :class:`ServerEvent`, :class:`ServerStats`...);
- ``answers``: the error answers (Bot API JSON, a proxy's HTML page, a dropped connection);
- ``limits``: Telegram's length limits and the broadcast :class:`RateLimit`;
- ``faults``: the faults a test switches on (:class:`Delay`, :class:`Hang`, :class:`Outage`);
- ``formatting``: the HTML / MarkdownV2 / Markdown parsers; ``keyboards``: reply markup checks;
- ``params``: reading and decoding a request's parameters;
- ``state``: the server's state and the steps its parts share; ``files``: the file store;
- the parts of the server, one mixin each: ``world`` (users and their updates), ``inspection``
  (reading back and waiting), ``injection`` (fault switches), and the method handlers
  ``updates``, ``sending``, ``editing``, ``chats``, ``profile``;
- ``server``: :class:`FakeTelegramServer` itself (aiohttp app, lifecycle, HTTP layer).
"""

from bot.sandbox.emulator.faults import OUTAGE_MODES, Delay, Hang, Outage
from bot.sandbox.emulator.limits import RateLimit
from bot.sandbox.emulator.model import (
    FakeChat,
    FakeFile,
    FakeUser,
    SentCall,
    SentMessage,
    ServerEvent,
    ServerStats,
    UploadedFile,
    WaitTimeoutError,
)
from bot.sandbox.emulator.server import FakeTelegramServer

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
