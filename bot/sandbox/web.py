"""The sandbox's chat page: an aiohttp application in front of the Bot API emulator.

The page (``static/index.html``, ``app.css``, ``app.js``; no build step) shows one tab per demo
person and talks to this server only:

- ``GET /`` the page, ``GET /static/...`` its CSS and script;
- ``GET /api/state`` the snapshot below, as one JSON object;
- ``GET /api/events`` a server-sent event stream: first a ``snapshot`` (tabs, the bot's status
  and clock, every chat's messages, reply keyboards and command menus), then one event per
  change (``message``, ``edit``, ``delete``, ``keyboard``, ``commands``, ``alert``,
  ``typing``, ``status``, ``tabs``); a browser that reconnects gets a fresh snapshot;
- ``POST /api/chats/{user_id}/text`` ``{"text": ...}`` the person sends a text (a reply
  keyboard's button is pressed the same way);
- ``POST /api/chats/{user_id}/file`` multipart ``file`` (and ``caption``, ``kind`` =
  ``photo`` | ``document``) the person sends a photo or a document;
- ``POST /api/chats/{user_id}/press`` ``{"message_id", "row", "column"}`` the person presses
  an inline button of a bot's message;
- ``POST /api/time-machine`` ``{"at": "YYYY-MM-DDTHH:MM"}`` (local time of the sandbox's zone)
  moves the bot's clock (the bot restarts; see :mod:`bot.sandbox.app`);
- ``GET /api/files/{file_id}`` a file of the chats (what the bot sent, what a person sent).

:class:`Hub` keeps the page's view of the chats, fed by the emulator's listener hook
(:meth:`bot.sandbox.emulator.FakeTelegramServer.add_listener`), and fans events out to the
open pages. Only loopback is served; a ``POST`` from another origin (a web site the browser
has open) is refused, as is a request whose ``Host`` is not this machine's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

import structlog
from aiohttp import BodyPartReader, web

from bot.sandbox.emulator import FakeTelegramServer, FakeUser, SentMessage, ServerEvent

log = structlog.get_logger("bot.sandbox")

STATIC = Path(__file__).with_name("static")
#: What a person may send from the page: Telegram's text limit and the Bot API's download limit.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
UPLOAD_LIMIT = 20 * 1024 * 1024
#: Events a page may fall behind by before it is dropped (it reconnects and gets a snapshot).
QUEUE_SIZE = 2000
#: Seconds between keep-alive comments on the event stream.
PING_SECONDS = 15.0
#: Images a browser may show inline; every other file is served as an attachment.
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

MONTHS = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip

JSONDict = dict[str, Any]


@dataclass(frozen=True)
class Tab:
    """A person of the page: their Telegram id and names, role and the tab's Russian label."""

    user_id: int
    first_name: str
    last_name: str
    role: str
    label: str

    def to_json(self) -> JSONDict:
        """The tab as the page reads it."""
        return {
            "user_id": self.user_id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "role": self.role,
            "label": self.label,
        }


class BusyError(Exception):
    """The time machine is already moving the clock (the bot is restarting)."""


class Control(Protocol):
    """What the page asks of the sandbox's supervisor."""

    def bot_now(self) -> datetime:
        """The bot's clock now (aware)."""

    async def travel(self, moment: datetime) -> None:
        """Start moving the bot's clock to ``moment`` (aware); returns once it has begun.

        Raises:
            BusyError: a move is in progress.
        """


STATUS_LABELS = {
    "starting": "Бот запускается…",
    "running": "Бот работает",
    "restarting": "Бот перезапускается…",
    "stopped": "Бот остановлен",
}


class Hub:
    """The page's view of the chats and the fan-out of changes to the open pages.

    Args:
        server: the emulator; the hub listens to it from construction on.
        zone: the zone message times are shown in.
        clock: the bot's clock (times of messages are the bot's, e.g. after a time travel).
    """

    def __init__(
        self, server: FakeTelegramServer, zone: ZoneInfo, clock: Callable[[], datetime]
    ) -> None:
        self.server = server
        self.zone = zone
        self.clock = clock
        self.tabs: list[Tab] = []
        self._users: dict[int, FakeUser] = {}
        self.status = "starting"
        self.status_detail = ""
        self._chats: dict[int, dict[int, JSONDict]] = {}
        self._keyboards: dict[int, JSONDict | None] = {}
        self._commands: dict[int, list[JSONDict]] = {}
        self._queues: set[asyncio.Queue[JSONDict | None]] = set()
        self._remove_listener = server.add_listener(self._on_event)

    # ------------------------------------------------------------------ state

    def set_tabs(self, tabs: list[Tab]) -> None:
        """Show these people as the page's tabs (in this order)."""
        self.tabs = list(tabs)
        self._users = {
            t.user_id: self.server.user(t.user_id, t.first_name, last_name=t.last_name or None)
            for t in self.tabs
        }
        for tab in self.tabs:
            self._commands[tab.user_id] = self.server.visible_commands(tab.user_id)
        self._publish({"type": "tabs", "tabs": [t.to_json() for t in self.tabs]})
        for tab in self.tabs:
            self._publish_commands(tab.user_id)

    def set_status(self, status: str, detail: str = "") -> None:
        """The bot's state as the page shows it: ``starting``, ``running``, ``restarting``
        or ``stopped`` (``detail``: a Russian line shown after the label)."""
        self.status, self.status_detail = status, detail
        self._publish(self._status_event())

    def user(self, user_id: int) -> FakeUser:
        """The emulator's user of a tab.

        Raises:
            KeyError: ``user_id`` is not a tab.
        """
        return self._users[user_id]

    def snapshot(self) -> JSONDict:
        """Everything the page shows, as one event."""
        return {
            "type": "snapshot",
            "bot": {
                "username": self.server.bot_username,
                "name": self.server.bot_first_name,
            },
            "zone": self.zone.key,
            "tabs": [t.to_json() for t in self.tabs],
            "status": self._status_event(),
            "chats": {
                str(tab.user_id): list(self._chats.get(tab.user_id, {}).values())
                for tab in self.tabs
            },
            "keyboards": {str(t.user_id): self._keyboards.get(t.user_id) for t in self.tabs},
            "commands": {str(t.user_id): self._commands.get(t.user_id, []) for t in self.tabs},
        }

    def _status_event(self) -> JSONDict:
        now = self.clock().astimezone(self.zone)
        return {
            "type": "status",
            "status": self.status,
            "label": STATUS_LABELS.get(self.status, self.status),
            "detail": self.status_detail,
            "clock": now.isoformat(timespec="seconds"),
            "clock_label": f"{now.day} {MONTHS[now.month - 1]} {now.year}, {now:%H:%M}",
        }

    # ------------------------------------------------------------------ subscribers

    def subscribe(self) -> asyncio.Queue[JSONDict | None]:
        """A queue that gets every event from now on (``None``: the stream must end)."""
        queue: asyncio.Queue[JSONDict | None] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JSONDict | None]) -> None:
        """Stop feeding ``queue``."""
        self._queues.discard(queue)

    def close(self) -> None:
        """End every event stream and stop listening to the emulator."""
        self._remove_listener()
        for queue in list(self._queues):
            self._end(queue)
        self._queues.clear()

    def _publish(self, event: JSONDict) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # the page fell behind: it is dropped, reconnects and gets a snapshot
                self._queues.discard(queue)
                self._end(queue)

    @staticmethod
    def _end(queue: asyncio.Queue[JSONDict | None]) -> None:
        while True:
            try:
                queue.put_nowait(None)
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            else:
                return

    # ------------------------------------------------------------------ emulator events

    def _on_event(self, event: ServerEvent) -> None:
        chat_id = event.chat_id
        if event.kind == "commands":
            for tab in self.tabs:
                self._publish_commands(tab.user_id)
            return
        if chat_id is None:
            return
        if event.kind == "user_message":
            self._store(chat_id, self._user_view(event.payload))
        elif event.kind == "bot_message" and event.sent is not None:
            self._store(chat_id, self._bot_view(event.sent))
            self._keyboard_from(chat_id, event.sent.reply_markup)
        elif event.kind == "edit" and event.sent is not None:
            view = self._bot_view(event.sent)
            known = self._chats.get(chat_id, {}).get(view["message_id"])
            if known is not None:
                view["time"], view["day"] = known["time"], known["day"]
                self._chats[chat_id][view["message_id"]] = view
            self._publish({"type": "edit", "message": view})
        elif event.kind == "delete" and event.message_id is not None:
            self._chats.get(chat_id, {}).pop(event.message_id, None)
            self._publish({"type": "delete", "chat_id": chat_id, "message_id": event.message_id})
        elif event.kind == "callback_answer":
            text = event.payload.get("text")
            if text:
                self._publish(
                    {
                        "type": "alert",
                        "user_id": event.payload.get("user_id", chat_id),
                        "text": text,
                        "show_alert": bool(event.payload.get("show_alert")),
                    }
                )
        elif event.kind == "chat_action":
            self._publish(
                {"type": "typing", "user_id": chat_id, "action": event.payload.get("action")}
            )

    def _store(self, chat_id: int, view: JSONDict) -> None:
        self._chats.setdefault(chat_id, {})[view["message_id"]] = view
        self._publish({"type": "message", "message": view})

    def _publish_commands(self, user_id: int) -> None:
        commands = self.server.visible_commands(user_id)
        self._commands[user_id] = commands
        self._publish({"type": "commands", "user_id": user_id, "commands": commands})

    def _keyboard_from(self, chat_id: int, markup: JSONDict | None) -> None:
        if not markup or "inline_keyboard" in markup:
            return
        keyboard: JSONDict | None = None
        if isinstance(markup.get("keyboard"), list):
            keyboard = {
                "rows": [
                    [b if isinstance(b, str) else str(b.get("text", "")) for b in row]
                    for row in markup["keyboard"]
                    if isinstance(row, list)
                ],
                "one_time": bool(markup.get("one_time_keyboard")),
                "placeholder": markup.get("input_field_placeholder") or "",
            }
        elif not markup.get("remove_keyboard"):
            return  # force_reply: the keyboard stays as it was
        self._keyboards[chat_id] = keyboard
        self._publish({"type": "keyboard", "user_id": chat_id, "keyboard": keyboard})

    def hide_one_time_keyboard(self, chat_id: int) -> None:
        """A button of a one-time reply keyboard was pressed: Telegram hides that keyboard."""
        keyboard = self._keyboards.get(chat_id)
        if keyboard is not None and keyboard.get("one_time"):
            self._keyboards[chat_id] = None
            self._publish({"type": "keyboard", "user_id": chat_id, "keyboard": None})

    def _stamp(self) -> tuple[str, str]:
        now = self.clock().astimezone(self.zone)
        return f"{now:%H:%M}", f"{now.day} {MONTHS[now.month - 1]} {now.year}"

    def _bot_view(self, sent: SentMessage) -> JSONDict:
        time_label, day = self._stamp()
        media: JSONDict | None = None
        if sent.file is not None:
            media = {
                "kind": sent.file.kind,
                "file_id": sent.file.file_id,
                "file_name": sent.file.file_name or _default_name(sent.file.kind, sent.file),
                "size": sent.file.file_size,
                "mime": sent.file.mime_type,
            }
        buttons: list[list[JSONDict]] = []
        markup = sent.reply_markup or {}
        if isinstance(markup.get("inline_keyboard"), list):
            for row in markup["inline_keyboard"]:
                out: list[JSONDict] = []
                for button in row:
                    entry: JSONDict = {"text": str(button.get("text", ""))}
                    if "callback_data" in button:
                        entry["kind"] = "callback"
                    elif isinstance(button.get("url"), str):
                        entry["kind"], entry["url"] = "url", button["url"]
                    else:
                        entry["kind"] = "other"
                    out.append(entry)
                buttons.append(out)
        return {
            "chat_id": sent.chat_id,
            "message_id": sent.message_id,
            "from": "bot",
            "text": sent.text or "",
            "html": sent.raw_text if sent.parse_mode == "HTML" else None,
            "media": media,
            "buttons": buttons,
            "edited": sent.edited,
            "reply_to": sent.reply_to_message_id,
            "time": time_label,
            "day": day,
        }

    def _user_view(self, message: JSONDict) -> JSONDict:
        time_label, day = self._stamp()
        media: JSONDict | None = None
        if isinstance(message.get("photo"), list) and message["photo"]:
            largest = message["photo"][-1]
            media = {
                "kind": "photo",
                "file_id": largest["file_id"],
                "file_name": "photo.jpg",
                "size": largest.get("file_size"),
                "mime": "image/jpeg",
            }
        elif isinstance(message.get("document"), dict):
            doc = message["document"]
            media = {
                "kind": "document",
                "file_id": doc["file_id"],
                "file_name": doc.get("file_name") or "file",
                "size": doc.get("file_size"),
                "mime": doc.get("mime_type"),
            }
        return {
            "chat_id": message["chat"]["id"],
            "message_id": message["message_id"],
            "from": "user",
            "text": message.get("text", message.get("caption", "")),
            "html": None,
            "media": media,
            "buttons": [],
            "edited": False,
            "reply_to": (message.get("reply_to_message") or {}).get("message_id"),
            "time": time_label,
            "day": day,
        }


def _default_name(kind: str, file: Any) -> str:
    suffix = Path(str(file.file_path)).suffix or ".bin"
    return f"{kind}{suffix}"


# --------------------------------------------------------------------------- the HTTP side


def build_app(hub: Hub, control: Control) -> web.Application:
    """The page's aiohttp application.

    Args:
        hub: the chats' view and event fan-out.
        control: the supervisor (the bot's clock and the time machine).

    Returns:
        The application; serve it on loopback only.
    """
    app = web.Application(
        client_max_size=UPLOAD_LIMIT + 64 * 1024, middlewares=[_same_origin, _headers]
    )
    handlers = _Handlers(hub, control)
    app.router.add_get("/", handlers.index)
    app.router.add_get("/api/state", handlers.state)
    app.router.add_get("/api/events", handlers.events)
    app.router.add_post("/api/chats/{user_id}/text", handlers.text)
    app.router.add_post("/api/chats/{user_id}/file", handlers.file)
    app.router.add_post("/api/chats/{user_id}/press", handlers.press)
    app.router.add_post("/api/time-machine", handlers.time_machine)
    app.router.add_get("/api/files/{file_id}", handlers.download)
    app.router.add_static("/static/", STATIC, append_version=False)
    return app


_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@web.middleware
async def _same_origin(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse a request for another host name (DNS rebinding) and a ``POST`` from a page of
    another origin (any web site open in the same browser could otherwise post here)."""
    try:
        host = urlsplit(f"//{request.host}").hostname or ""
    except ValueError:
        host = ""
    if host not in _LOCAL_HOSTS:
        raise web.HTTPForbidden(text="the sandbox answers only on 127.0.0.1 / localhost")
    if request.method == "POST":
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="cross-origin request refused")
    response: web.StreamResponse = await handler(request)
    return response


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.path == "/" or request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-cache"
        # no inline script and no eval can run, whatever a message contains (the browser
        # tests' Playwright evaluates its predicates with the context's bypass_csp)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
            "script-src 'self'; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'"
        )
    return response


def _error(status: int, text: str) -> web.Response:
    """A JSON error the page shows as a toast (``text`` is Russian)."""
    return web.json_response({"ok": False, "error": text}, status=status, dumps=_dumps)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


class _Handlers:
    def __init__(self, hub: Hub, control: Control) -> None:
        self.hub = hub
        self.control = control

    async def index(self, _request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def state(self, _request: web.Request) -> web.Response:
        return web.json_response(self.hub.snapshot(), dumps=_dumps)

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        # subscribed and snapshot taken in one step: no event falls between them
        queue = self.hub.subscribe()
        snapshot = self.hub.snapshot()
        try:
            await response.write(_sse(snapshot))
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), PING_SECONDS)
                except TimeoutError:
                    await response.write(b": ping\n\n")
                    continue
                if event is None:
                    break
                await response.write(_sse(event))
        except (ConnectionResetError, ConnectionError):
            pass  # the page was closed
        finally:
            self.hub.unsubscribe(queue)
        return response

    def _user(self, request: web.Request) -> FakeUser:
        try:
            return self.hub.user(int(request.match_info["user_id"]))
        except (KeyError, ValueError):
            raise web.HTTPNotFound(text="no such tab") from None

    async def _json(self, request: web.Request) -> JSONDict:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="a JSON object is expected") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="a JSON object is expected")
        return body

    async def text(self, request: web.Request) -> web.Response:
        user = self._user(request)
        body = await self._json(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Пустое сообщение не отправляется.")
        if len(text) > TEXT_LIMIT:
            return _error(400, f"Сообщение длиннее {TEXT_LIMIT} символов.")
        update = self.hub.server.push_text(user, text)
        if body.get("keyboard"):
            self.hub.hide_one_time_keyboard(user.id)
        log.info("sandbox text", user_id=user.id, chars=len(text))
        return web.json_response({"ok": True, "message_id": update["message"]["message_id"]})

    async def file(self, request: web.Request) -> web.Response:
        user = self._user(request)
        if request.content_type != "multipart/form-data":
            return _error(400, "Файл отправляется формой multipart/form-data.")
        reader = await request.multipart()
        data: bytes | None = None
        name = "file"
        mime: str | None = None
        caption: str | None = None
        kind: str | None = None
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "file":
                name = _file_name(part.filename)
                mime = part.headers.get("Content-Type")
                chunks: list[bytes] = []
                size = 0
                while chunk := await part.read_chunk(256 * 1024):
                    size += len(chunk)
                    if size > UPLOAD_LIMIT:
                        return _error(413, "Файл больше 20 МБ: бот такой не скачает.")
                    chunks.append(chunk)
                data = b"".join(chunks)
            elif part.name == "caption":
                caption = (await part.text()).strip() or None
            elif part.name == "kind":
                kind = (await part.text()).strip()
        if data is None:
            return _error(400, "Нет файла.")
        if not data:
            return _error(400, "Файл пустой.")
        if caption is not None and len(caption) > CAPTION_LIMIT:
            return _error(400, f"Подпись длиннее {CAPTION_LIMIT} символов.")
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind is None:
            kind = "photo" if mime in {"image/jpeg", "image/png", "image/webp"} else "document"
        if kind == "photo":
            update = self.hub.server.push_photo(user, caption, content=data)
        else:
            update = self.hub.server.push_document(user, name, mime, caption, content=data)
        log.info("sandbox file", user_id=user.id, kind=kind, size=len(data))
        return web.json_response({"ok": True, "message_id": update["message"]["message_id"]})

    async def press(self, request: web.Request) -> web.Response:
        user = self._user(request)
        body = await self._json(request)
        try:
            message_id, row, column = (int(body[k]) for k in ("message_id", "row", "column"))
        except (KeyError, TypeError, ValueError):
            raise web.HTTPBadRequest(text="message_id, row and column are expected") from None
        sent = next(
            (m for m in self.hub.server.messages_to(user) if m.message_id == message_id), None
        )
        if sent is None or sent.deleted:
            return _error(404, "Этого сообщения уже нет.")
        rows = (sent.reply_markup or {}).get("inline_keyboard") or []
        try:
            button = rows[row][column]
        except (IndexError, TypeError):
            return _error(404, "Этой кнопки уже нет.")
        data = button.get("callback_data") if isinstance(button, dict) else None
        if not isinstance(data, str):
            return _error(400, "Это не кнопка с действием.")
        self.hub.server.push_callback(user, message_id, data)
        log.info("sandbox press", user_id=user.id, message_id=message_id)
        return web.json_response({"ok": True})

    async def time_machine(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        value = body.get("at")
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return _error(400, "Дата и время в виде ГГГГ-ММ-ДДTЧЧ:ММ.")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.hub.zone)
        if not 2000 <= moment.year <= 2100:
            return _error(400, "Год между 2000 и 2100.")
        try:
            await self.control.travel(moment)
        except BusyError:
            return _error(409, "Бот уже перезапускается; подождите.")
        return web.json_response(
            {"ok": True, "at": moment.isoformat(timespec="minutes")}, status=202
        )

    async def download(self, request: web.Request) -> web.StreamResponse:
        try:
            file = self.hub.server.file(request.match_info["file_id"])
        except KeyError:
            raise web.HTTPNotFound(text="no such file") from None
        name = file.file_name or _default_name(file.kind, file)
        mime = file.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        inline = mime in INLINE_IMAGES and request.query.get("download") != "1"
        ascii_name = name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "")
        disposition = (
            f'{"inline" if inline else "attachment"}; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(name)}"
        )
        return web.Response(
            body=file.data,
            content_type=mime if inline or not mime.startswith("text/") else "text/plain",
            headers={"Content-Disposition": disposition},
        )


def _file_name(raw: str | None) -> str:
    """The file name of an upload: browsers send it as UTF-8, some clients (aiohttp's)
    percent-encoded; without folders or control characters, at most 255 characters."""
    name = raw or ""
    if name.isascii() and re.search(r"%[0-9A-Fa-f]{2}", name):
        name = unquote(name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:255] or "file"


def _sse(event: JSONDict) -> bytes:
    """One server-sent event: ``data:`` with the JSON (no newlines in compact JSON)."""
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode()
