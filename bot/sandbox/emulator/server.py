"""The server itself (:class:`FakeTelegramServer`): the aiohttp application, its lifecycle,
the HTTP layer that reads a Bot API request, runs it through the faults and the method
handler and answers it, the file downloads, and the table of the methods it answers. Its
parts come from the mixins of the sibling modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.sandbox.emulator.answers import (
    _ApiError,
    _dumps,
    _error_response,
    _HtmlError,
    _nginx_page,
    _ResetError,
    _status_phrase,
)
from bot.sandbox.emulator.chats import _ChatMethods
from bot.sandbox.emulator.editing import _EditingMethods
from bot.sandbox.emulator.inspection import _Inspection
from bot.sandbox.emulator.limits import UPLOAD_LIMIT
from bot.sandbox.emulator.model import JSONDict, SentCall
from bot.sandbox.emulator.params import Handler, _read_params, _Request
from bot.sandbox.emulator.profile import _ProfileMethods
from bot.sandbox.emulator.state import _TOKEN_RE
from bot.sandbox.emulator.updates import _UpdateMethods
from bot.sandbox.emulator.world import _World

log = logging.getLogger(__name__)


class FakeTelegramServer(
    _World, _Inspection, _UpdateMethods, _EditingMethods, _ChatMethods, _ProfileMethods
):
    """An in-process HTTP server that imitates the Telegram Bot API for one bot.

    ``token``: when given, only this token is accepted and any other well-formed token gets
    401 Unauthorized (as Telegram answers); when ``None``, any token of the form
    ``<digits>:<letters>`` is accepted and the bot id is taken from it. Malformed tokens
    get 404 Not Found. ``bot_username``/``bot_first_name`` shape ``getMe``. ``rate_limit``
    turns on 429 answers (see :class:`RateLimit`). ``strict=False`` disables the markup
    and length checks of texts (they are on by default, as on Telegram).

    Usage::

        async with FakeTelegramServer() as server:
            env = {"TELEGRAM_API_URL": server.base_url, ...}
            user = server.user(1001, "Анна")
            server.push_text(user, "/start")
            reply = await server.wait_for_message(user)
    """

    def _method_table(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_media("photo"),
            "sendDocument": self._send_media("document"),
            "sendVideo": self._send_media("video"),
            "sendAudio": self._send_media("audio"),
            "sendVoice": self._send_media("voice"),
            "sendAnimation": self._send_media("animation"),
            "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_text_setting(self.descriptions, "description"),
            "getMyDescription": self._get_text_setting(self.descriptions, "description"),
            "setMyShortDescription": self._set_text_setting(
                self.short_descriptions, "short_description"
            ),
            "getMyShortDescription": self._get_text_setting(
                self.short_descriptions, "short_description"
            ),
            "setMyName": self._set_text_setting(self.names, "name"),
            "getMyName": self._get_text_setting(self.names, "name"),
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start listening (port 0 picks a free one) and return :attr:`base_url`."""
        if self._runner is not None:
            raise RuntimeError("FakeTelegramServer is already running")
        self._closing = False
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._site = runner, site
        address = runner.addresses[0]
        self._host, self._port = str(address[0]), int(address[1])
        return self.base_url

    async def stop(self) -> None:
        """Answer pending long polls with an empty list, close connections and stop."""
        if self._runner is None:
            return
        self._closing = True
        for hang in self._hangs:
            hang.release()
        if self._outage_task is not None:
            self._outage_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._outage_task
            self._outage_task = None
        self._updates_signal.fire()
        runner, self._runner, self._site = self._runner, None, None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` — the value for ``TELEGRAM_API_URL``."""
        if self._runner is None:
            raise RuntimeError("FakeTelegramServer is not running; await start() first")
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The TCP port the server listens on (0 before start)."""
        return self._port

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        self.stats.calls += 1
        requested = request.match_info["method"]
        canonical = requested
        params: JSONDict = {}
        result: Any = None
        error: _ApiError | None = None
        delay = 0.0
        try:
            outage = self._current_outage()
            if outage is not None and outage.mode != "502":  # before reading the body
                raise _ResetError(f"connection reset: outage ({outage.mode})")
            bot_user = self._authorize(request.match_info["token"])
            params = await _read_params(request)
            entry = self._methods.get(requested.lower())
            if entry is None:
                raise _ApiError(404, "Not Found: method not found")
            canonical, handler = entry
            if outage is not None:
                raise _HtmlError(502)
            self._inject_failure(canonical, params)
            if await self._hold(canonical, params, request):
                raise _ResetError("the client went away while the call was held; not carried out")
            result = await handler(_Request(canonical, bot_user, params))
            delay = self._answer_delay(canonical, params)
        except _ApiError as exc:
            error = exc
        except _HtmlError as exc:
            return self._answer_html(exc.code, canonical, params, at)
        except _ResetError as exc:
            return self._reset(request, canonical, params, at, exc.description)
        except Exception as exc:  # the fake's own bug: answer 500, keep it for the test
            log.exception("fake Telegram server failed on %s", requested)
            self.internal_errors.append(exc)
            error = _ApiError(500, f"Internal Server Error: {type(exc).__name__}: {exc}")
        call = SentCall(canonical, self._peek_chat_id(params), params, at)
        if error is None:
            call.message_id = _message_id_of(result)
            response = web.json_response({"ok": True, "result": result}, dumps=_dumps)
        else:
            call.error_code, call.description = error.code, error.description
            if error.code == 429:
                self.stats.too_many_requests += 1
            elif error.code == 403:
                self.stats.forbidden += 1
            body: JSONDict = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            response = web.json_response(body, status=error.code, dumps=_dumps)
        self.calls.append(call)
        self._calls_signal.fire()
        if delay > 0:
            await asyncio.sleep(delay)
        call.answered_at = time.monotonic()
        return response

    def _answer_html(self, code: int, method: str, params: JSONDict, at: float) -> web.Response:
        call = SentCall(method, self._peek_chat_id(params), params, at)
        call.error_code, call.description = code, f"{code} {_status_phrase(code)} (HTML page)"
        call.answered_at = time.monotonic()
        self.calls.append(call)
        self._calls_signal.fire()
        return web.Response(status=code, text=_nginx_page(code), content_type="text/html")

    def _reset(
        self, request: web.Request, method: str, params: JSONDict, at: float, description: str
    ) -> web.StreamResponse:
        call = SentCall(method, self._peek_chat_id(params), params, at)
        call.error_code, call.description = 0, description
        self.calls.append(call)
        self._calls_signal.fire()
        if request.transport is not None:
            request.transport.abort()
        raise web.HTTPServiceUnavailable()  # never written: the connection is gone

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        path = request.match_info["path"]
        outage = self._current_outage()
        if outage is not None:
            if outage.mode == "502":
                return self._answer_html(502, "downloadFile", {"file_path": path}, at)
            return self._reset(request, "downloadFile", {"file_path": path}, at, "outage")
        try:
            self._authorize(request.match_info["token"])
        except _ApiError as exc:
            return _error_response(exc)
        file = self._files_by_path.get(path)
        call = SentCall("downloadFile", None, {"file_path": path}, at)
        self.calls.append(call)
        self._calls_signal.fire()
        if file is None:
            call.error_code, call.description = 404, "Not Found"
            return _error_response(_ApiError(404, "Not Found"))
        return web.Response(
            body=file.data, content_type=file.mime_type or "application/octet-stream"
        )

    def _authorize(self, token: str) -> JSONDict:
        match = _TOKEN_RE.match(token)
        if match is None:
            raise _ApiError(404, "Not Found")
        if self.token is not None and token != self.token:
            raise _ApiError(401, "Unauthorized")
        return {
            "id": int(match.group(1)),
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }


def _message_id_of(result: Any) -> int | None:
    if isinstance(result, list) and result and isinstance(result[0], dict):
        result = result[0]
    if isinstance(result, dict) and isinstance(result.get("message_id"), int):
        return int(result["message_id"])
    return None
