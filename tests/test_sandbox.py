"""The sandbox (``python -m bot sandbox``): the emulator's listener hook, the page's web API
(aiohttp's test client in front of the emulator, the bot played by aiogram's real client),
the refusal of a foreign DATABASE_URL, and the whole thing from the command line with the real
bot process: /start from a tab answered on the event stream, an inline button, a document, the
time machine's restart and a clean SIGTERM. Every wait has a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp.test_utils import TestClient, TestServer

from bot.config import settings_env_names
from bot.sandbox.app import Sandbox, SandboxError, _lock, check_database_url, own_database_url
from bot.sandbox.emulator import FakeTelegramServer, ServerEvent
from bot.sandbox.web import BusyError, Hub, Tab, build_app

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:AAFakeTokenForSandboxTests_0123456789"
MSK = ZoneInfo("Europe/Moscow")
OFFICER, RESERVIST = 501, 502
WAIT = 15.0
#: A bot process start: imports take seconds, more on a loaded shared machine.
START_WAIT = 120.0


# --------------------------------------------------------------------------- helpers


class EventStream:
    """The page's server-sent event stream, read as JSON events."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.seen: list[dict[str, Any]] = []

    async def next(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[str, Any]:
        """The first event from now on that matches ``predicate``."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = await self.response.content.readline()
                    if not line:
                        raise AssertionError("the event stream ended")
                    if not line.startswith(b"data: "):
                        continue
                    event = json.loads(line[6:])
                    self.seen.append(event)
                    if predicate(event):
                        return event
        except TimeoutError:
            kinds = [e.get("type") for e in self.seen[-20:]]
            raise AssertionError(f"no matching event in {timeout:g} s; last: {kinds}") from None


def is_type(kind: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    def check(event: dict[str, Any]) -> bool:
        return event.get("type") == kind and all(event.get(k) == v for k, v in fields.items())

    return check


def bot_message(chat_id: int, contains: str = "") -> Callable[[dict[str, Any]], bool]:
    def check(event: dict[str, Any]) -> bool:
        message = event.get("message") or {}
        return (
            event.get("type") == "message"
            and message.get("from") == "bot"
            and message.get("chat_id") == chat_id
            and contains.casefold() in (message.get("text") or "").casefold()
        )

    return check


class FakeControl:
    """The supervisor's side of the page, recorded."""

    def __init__(self) -> None:
        self.moments: list[datetime] = []
        self.busy = False

    def bot_now(self) -> datetime:
        return datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

    async def travel(self, moment: datetime) -> None:
        if self.busy:
            raise BusyError
        self.moments.append(moment)


@pytest.fixture
async def emulator() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(TOKEN, bot_username="sandbox_test_bot") as server:
        yield server


@pytest.fixture
async def bot(emulator: FakeTelegramServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()


@pytest.fixture
def control() -> FakeControl:
    return FakeControl()


@pytest.fixture
async def page(
    emulator: FakeTelegramServer, control: FakeControl
) -> AsyncIterator[tuple[TestClient[Any, Any], Hub]]:
    hub = Hub(emulator, MSK, control.bot_now)
    hub.set_tabs(
        [
            Tab(OFFICER, "Елена", "Чеботарева", "officer", "Офицер · Е. Чеботарева"),
            Tab(RESERVIST, "Мария", "Иванова", "reservist", "Резервист · М. Иванова"),
        ]
    )
    hub.set_status("running")
    async with TestClient(TestServer(build_app(hub, control))) as client:
        yield client, hub
    hub.close()


@contextlib.asynccontextmanager
async def events(client: TestClient[Any, Any]) -> AsyncIterator[EventStream]:
    response = await client.get("/api/events")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    try:
        yield EventStream(response)
    finally:
        response.close()


# --------------------------------------------------------------------------- the emulator's hook


async def test_listener_sees_what_the_bot_does(emulator: FakeTelegramServer, bot: Bot) -> None:
    seen: list[ServerEvent] = []
    texts: list[str | None] = []  # a SentMessage changes with later edits: its text then

    def listen(event: ServerEvent) -> None:
        seen.append(event)
        texts.append(event.sent.raw_text if event.sent else None)

    remove = emulator.add_listener(listen)
    user = emulator.user(OFFICER, "Елена")
    emulator.push_text(user, "/start")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Да", callback_data="yes")]]
    )
    sent = await bot.send_message(OFFICER, "<b>Вопрос</b>", parse_mode="HTML", reply_markup=markup)
    await bot.edit_message_text("Ответ", chat_id=OFFICER, message_id=sent.message_id)
    query = emulator.push_callback(user, sent.message_id, "yes")["callback_query"]
    await bot.answer_callback_query(query["id"], text="Готово", show_alert=True)
    await bot.send_chat_action(OFFICER, "typing")
    await bot.set_my_commands(
        [BotCommand(command="plan", description="План")],
        scope=BotCommandScopeChat(chat_id=OFFICER),
    )
    await bot.delete_message(OFFICER, sent.message_id)
    remove()
    await bot.send_message(OFFICER, "после")  # no listener any more

    kinds = [e.kind for e in seen]
    assert kinds == [
        "user_message",
        "bot_message",
        "edit",
        "callback_answer",
        "chat_action",
        "commands",
        "delete",
    ]
    assert seen[0].payload["text"] == "/start" and seen[0].chat_id == OFFICER
    assert texts[1] == "<b>Вопрос</b>" and texts[2] == "Ответ"
    assert seen[1].sent is seen[2].sent
    assert seen[3].payload == {
        "user_id": OFFICER,
        "message_id": sent.message_id,
        "text": "Готово",
        "show_alert": True,
        "url": None,
    }
    assert seen[4].payload == {"action": "typing"}
    assert seen[5].chat_id == OFFICER
    assert seen[6].message_id == sent.message_id
    assert emulator.visible_commands(OFFICER) == [{"command": "plan", "description": "План"}]
    assert emulator.visible_commands(RESERVIST) == []


async def test_a_failing_listener_does_not_fail_the_call(
    emulator: FakeTelegramServer, bot: Bot
) -> None:
    def broken(event: ServerEvent) -> None:
        raise RuntimeError("listener bug")

    emulator.add_listener(broken)
    emulator.user(OFFICER, "Елена")
    sent = await bot.send_message(OFFICER, "всё равно дошло")
    assert emulator.messages_to(OFFICER)[-1].message_id == sent.message_id
    assert not emulator.internal_errors


# --------------------------------------------------------------------------- the page's API


async def test_page_and_its_files_are_served(
    page: tuple[TestClient[Any, Any], Hub],
) -> None:
    client, _hub = page
    index = await client.get("/")
    assert index.status == 200
    html = await index.text()
    for marker in ('id="sandbox-banner"', 'id="messages"', 'id="composer-input"'):
        assert marker in html
    assert "script-src 'self';" in index.headers["Content-Security-Policy"]  # no eval, no inline
    script = await client.get("/static/app.js")
    assert script.status == 200
    assert "button.tab[data-user-id" in await script.text()  # the DOM contract is documented
    assert (await client.get("/static/app.css")).status == 200


async def test_text_from_a_tab_reaches_the_bot_and_the_answer_reaches_the_page(
    page: tuple[TestClient[Any, Any], Hub], emulator: FakeTelegramServer, bot: Bot
) -> None:
    client, _hub = page
    async with events(client) as stream:
        snapshot = await stream.next(is_type("snapshot"))
        assert [t["user_id"] for t in snapshot["tabs"]] == [OFFICER, RESERVIST]
        assert snapshot["status"]["label"] == "Бот работает"

        answer = await client.post(f"/api/chats/{OFFICER}/text", json={"text": "/start"})
        assert answer.status == 200
        update = emulator.pending_updates()[-1]
        assert update["message"]["text"] == "/start"
        assert update["message"]["from"]["id"] == OFFICER
        mine = await stream.next(is_type("message"))
        assert mine["message"]["from"] == "user" and mine["message"]["text"] == "/start"

        await bot.send_message(
            OFFICER,
            "<b>Здравствуйте</b>, откройте /plan",
            parse_mode="HTML",
            reply_markup=ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Сегодня")]]),
        )
        reply = await stream.next(bot_message(OFFICER, "Здравствуйте"))
        assert reply["message"]["html"] == "<b>Здравствуйте</b>, откройте /plan"
        assert reply["message"]["text"] == "Здравствуйте, откройте /plan"
        assert reply["message"]["time"] == "12:00"  # the bot's clock, in Moscow
        keyboard = await stream.next(is_type("keyboard", user_id=OFFICER))
        assert keyboard["keyboard"]["rows"] == [["Сегодня"]]
        await bot.send_message(OFFICER, "Убрано", reply_markup=ReplyKeyboardRemove())
        removed = await stream.next(is_type("keyboard", user_id=OFFICER))
        assert removed["keyboard"] is None

    # a page opened later gets the conversation in its snapshot
    async with events(client) as stream:
        snapshot = await stream.next(is_type("snapshot"))
        texts = [m["text"] for m in snapshot["chats"][str(OFFICER)]]
        assert texts == ["/start", "Здравствуйте, откройте /plan", "Убрано"]
        assert snapshot["chats"][str(RESERVIST)] == []


async def test_inline_button_press_edit_and_alert(
    page: tuple[TestClient[Any, Any], Hub], emulator: FakeTelegramServer, bot: Bot
) -> None:
    client, _hub = page
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Сайт", url="https://example.org")],
            [
                InlineKeyboardButton(text="Нет", callback_data="no"),
                InlineKeyboardButton(text="Да", callback_data="item:7:yes"),
            ],
        ]
    )
    async with events(client) as stream:
        await stream.next(is_type("snapshot"))
        sent = await bot.send_message(RESERVIST, "Отметить?", reply_markup=markup)
        shown = await stream.next(bot_message(RESERVIST, "Отметить"))
        assert shown["message"]["buttons"] == [
            [{"text": "Сайт", "kind": "url", "url": "https://example.org"}],
            [{"text": "Нет", "kind": "callback"}, {"text": "Да", "kind": "callback"}],
        ]
        press = {"message_id": sent.message_id, "row": 1, "column": 1}
        assert (await client.post(f"/api/chats/{RESERVIST}/press", json=press)).status == 200
        query = emulator.pending_updates()[-1]["callback_query"]
        assert query["data"] == "item:7:yes" and query["from"]["id"] == RESERVIST

        await bot.answer_callback_query(query["id"], text="Отмечено", show_alert=True)
        alert = await stream.next(is_type("alert"))
        assert alert == {
            "type": "alert",
            "user_id": RESERVIST,
            "text": "Отмечено",
            "show_alert": True,
        }
        await bot.edit_message_text("Отмечено ✅", chat_id=RESERVIST, message_id=sent.message_id)
        edit = await stream.next(is_type("edit"))
        assert edit["message"]["text"] == "Отмечено ✅" and edit["message"]["edited"]
        assert edit["message"]["buttons"] == []

    url_press = {"message_id": sent.message_id, "row": 0, "column": 0}
    gone = await client.post(f"/api/chats/{RESERVIST}/press", json=url_press)
    assert gone.status == 404  # the edit took the keyboard away, as in Telegram
    stranger = await client.post("/api/chats/999/press", json=url_press)
    assert stranger.status == 404


async def test_documents_and_photos_go_up_and_come_down(
    page: tuple[TestClient[Any, Any], Hub], emulator: FakeTelegramServer, bot: Bot
) -> None:
    client, _hub = page
    async with events(client) as stream:
        await stream.next(is_type("snapshot"))
        form = aiohttp.FormData()
        form.add_field("file", b"a,b\n1,2\n", filename="люди.csv", content_type="text/csv")
        form.add_field("caption", "список")
        assert (await client.post(f"/api/chats/{OFFICER}/file", data=form)).status == 200
        document = emulator.pending_updates()[-1]["message"]["document"]
        assert document["file_name"] == "люди.csv" and document["mime_type"] == "text/csv"
        assert emulator.file(document["file_id"]).data == b"a,b\n1,2\n"
        assert emulator.pending_updates()[-1]["message"]["caption"] == "список"
        shown = await stream.next(is_type("message"))
        assert shown["message"]["media"]["file_name"] == "люди.csv"

        photo = aiohttp.FormData()
        photo.add_field("file", b"\x89PNG fake", filename="p.png", content_type="image/png")
        assert (await client.post(f"/api/chats/{OFFICER}/file", data=photo)).status == 200
        assert "photo" in emulator.pending_updates()[-1]["message"]

        content = b"PK\x03\x04 an xlsx, as far as the page cares"
        await bot.send_document(OFFICER, BufferedInputFile(content, filename="reserve-2027.xlsx"))
        sent = await stream.next(bot_message(OFFICER))
        media = sent["message"]["media"]
        assert media["kind"] == "document" and media["file_name"] == "reserve-2027.xlsx"

    download = await client.get(f"/api/files/{media['file_id']}", params={"download": "1"})
    assert download.status == 200
    assert await download.read() == content
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "reserve-2027.xlsx" in download.headers["Content-Disposition"]
    assert (await client.get("/api/files/no-such-file")).status == 404


async def test_what_the_page_refuses(
    page: tuple[TestClient[Any, Any], Hub], emulator: FakeTelegramServer
) -> None:
    client, _hub = page
    url = f"/api/chats/{OFFICER}/text"
    too_long = await client.post(url, json={"text": "я" * 4097})
    assert too_long.status == 400
    assert "4096" in (await too_long.json())["error"]
    assert (await client.post(url, json={"text": "   "})).status == 400
    foreign = await client.post(
        url, json={"text": "/start"}, headers={"Origin": "http://evil.example"}
    )
    assert foreign.status == 403
    rebound = await client.get("/api/state", headers={"Host": "evil.example:8080"})
    assert rebound.status == 403
    assert emulator.pending_updates() == []  # nothing of it reached the bot
    same = await client.post(
        url, json={"text": "/start"}, headers={"Origin": str(client.make_url("")).rstrip("/")}
    )
    assert same.status == 200


async def test_time_machine_takes_local_time(
    page: tuple[TestClient[Any, Any], Hub], control: FakeControl
) -> None:
    client, _hub = page
    answer = await client.post("/api/time-machine", json={"at": "2027-02-22T10:00"})
    assert answer.status == 202
    assert control.moments == [datetime(2027, 2, 22, 10, 0, tzinfo=MSK)]
    assert (await client.post("/api/time-machine", json={"at": "22.02.2027"})).status == 400
    control.busy = True
    busy = await client.post("/api/time-machine", json={"at": "2027-02-23T10:00"})
    assert busy.status == 409


# --------------------------------------------------------------------------- foreign databases


def test_command_menus_are_kept_across_starts(tmp_path: Path) -> None:
    """A new demo district gets each person's role menu, as the bot sets it at registration;
    the menus the bot set are kept in the sandbox's folder for the next start (Telegram keeps
    them, the emulator starts empty)."""
    from bot import texts  # noqa: PLC0415
    from bot.sandbox.demo import cast  # noqa: PLC0415

    folder = tmp_path / "data" / "sandbox"
    folder.mkdir(parents=True)
    demo = cast()
    officer, reservist, newcomer, mentor = demo.tabs
    first = Sandbox(port=0, folder=folder, environ={})
    first._restore_menus(demo)

    def menu(sandbox: Sandbox, chat_id: int) -> list[str]:
        return [c["command"] for c in sandbox.emulator.visible_commands(chat_id)]

    assert menu(first, officer.user_id) == list(texts.COMMANDS_OFFICER)
    assert menu(first, reservist.user_id) == list(texts.COMMANDS_RESERVIST)
    assert menu(first, mentor.user_id) == list(texts.COMMANDS_MENTOR)
    assert menu(first, newcomer.user_id) == []  # not registered: the bot's default menu
    # the newcomer registers in this start: the bot sets their menu; kept at the stop
    first.emulator.set_chat_menu(newcomer.user_id, texts.COMMANDS_RESERVIST.items())
    first._keep_menus()

    second = Sandbox(port=0, folder=folder, environ={})
    second._restore_menus(demo)
    assert menu(second, newcomer.user_id) == list(texts.COMMANDS_RESERVIST)
    assert menu(second, mentor.user_id) == list(texts.COMMANDS_MENTOR)
    assert second.emulator.menus() == first.emulator.menus()


def test_only_its_own_database(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "sandbox"
    check_database_url(None, folder)
    check_database_url("", folder)
    check_database_url(own_database_url(folder), folder)
    for foreign in (
        "sqlite+aiosqlite:///data/reserve.db",
        f"sqlite+aiosqlite:///{tmp_path}/other.db",
        "postgresql+asyncpg://reserve:secret@db/reserve",
    ):
        with pytest.raises(SandboxError) as caught:
            check_database_url(foreign, folder)
        assert caught.value.code == 2
        assert "secret" not in str(caught.value)


async def test_a_taken_port_and_a_second_sandbox_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "sandbox"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sandbox = Sandbox(port=port, folder=folder, environ={})
        with pytest.raises(SandboxError, match=f"cannot listen on 127.0.0.1:{port}"):
            await asyncio.wait_for(sandbox.run(), WAIT)
    assert sandbox.emulator.polls_waiting == 0
    held = _lock(folder / "sandbox.lock")
    try:
        second = Sandbox(port=0, folder=folder, environ={})
        with pytest.raises(SandboxError, match="another sandbox runs"):
            await asyncio.wait_for(second.run(), WAIT)
    finally:
        os.close(held)
    # released on the way out: the next sandbox may take the folder
    os.close(_lock(folder / "sandbox.lock"))


def sandbox_env(home: Path, **extra: str) -> dict[str, str]:
    names = settings_env_names()
    return {
        **{k: v for k, v in os.environ.items() if k.upper() not in names},
        "HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "INFO",
        **extra,
    }


async def test_command_line_refuses_a_foreign_database(tmp_path: Path) -> None:
    env = sandbox_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/reserve.db")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--port", "0", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert "DATABASE_URL" in err.decode()
    assert not out
    assert not (tmp_path / "data").exists()  # nothing was created


# --------------------------------------------------------------------------- the bot process

#: A stand-in supervisor: starts the sandbox's bot process, prints its pid, and waits. The bot's
#: stdout is not the supervisor's pipe: the test's wait for the supervisor would also wait for
#: every process holding that pipe open.
SUPERVISOR = """
import os, subprocess, sys, time
env = dict(os.environ, SANDBOX_SUPERVISOR_PID=str(os.getpid()))
child = subprocess.Popen(
    [sys.executable, "-m", "bot.sandbox.child"], env=env, stdout=subprocess.DEVNULL
)
print(child.pid, flush=True)
time.sleep(600)
"""


async def test_the_bot_process_ends_with_its_supervisor(tmp_path: Path) -> None:
    env = sandbox_env(
        tmp_path,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL="http://127.0.0.1:9",  # nothing listens: the bot would retry forever
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db",
    )
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SUPERVISOR, env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert supervisor.stdout is not None
    pid = ""
    try:
        pid = (await asyncio.wait_for(supervisor.stdout.readline(), 60)).decode().strip()
        await asyncio.sleep(2)  # the bot process is importing, or retrying getMe, by now
        assert _alive(pid)
        supervisor.kill()  # kill -9: the supervisor has no chance to stop it
        await asyncio.wait_for(supervisor.wait(), WAIT)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while _alive(pid):
            assert loop.time() < deadline, "the bot process outlived its supervisor by 30 s"
            await asyncio.sleep(0.1)
    finally:  # nothing left running when the test failed
        if pid.isdigit() and _alive(pid):
            os.kill(int(pid), signal.SIGKILL)
        if supervisor.returncode is None:
            supervisor.kill()
            await supervisor.wait()


async def test_the_bot_process_does_not_start_without_its_supervisor(tmp_path: Path) -> None:
    env = sandbox_env(tmp_path, SANDBOX_SUPERVISOR_PID="1")  # not our parent
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.sandbox.child", env=env, cwd=tmp_path,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert "supervisor is gone" in err.decode()


# --------------------------------------------------------------------------- the whole sandbox


async def _read_address(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    async with asyncio.timeout(START_WAIT):
        while True:
            line = (await proc.stdout.readline()).decode()
            if not line:
                raise AssertionError("the sandbox ended before printing its address")
            found = re.search(r"http://127\.0\.0\.1:\d+", line)
            if found:
                return found.group(0)


@pytest.mark.e2e
async def test_whole_sandbox_from_the_command_line(tmp_path: Path) -> None:
    log_path = tmp_path / "sandbox.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "sandbox", "--fresh", "--port", "0",
            env=sandbox_env(tmp_path), cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=log,
        )  # fmt: skip
    try:
        address = await _read_address(proc)
        async with aiohttp.ClientSession(
            address, timeout=aiohttp.ClientTimeout(total=None, sock_read=WAIT * 2)
        ) as http:
            async with http.get("/") as index:
                assert index.status == 200
            async with http.get("/api/events") as response:
                stream = EventStream(response)
                try:
                    await _drive(http, stream)
                except AssertionError as exc:
                    tail = log_path.read_bytes()[-4000:].decode(errors="replace")
                    raise AssertionError(f"{exc}\n--- sandbox log (end):\n{tail}") from None
        assert (tmp_path / "data" / "sandbox" / "sandbox.db").is_file()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    assert "SANDBOX" in log_text
    pids = re.findall(r'event="sandbox bot polling" pid=(\d+)', log_text)
    assert len(pids) == 2, log_text[-3000:]  # the first start and the time machine's restart
    assert not [pid for pid in pids if _alive(pid)]  # no bot process is left behind
    assert "api.telegram.org" not in log_text


def _alive(pid: str) -> bool:
    """Whether process ``pid`` still runs (a zombie does not count)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in status


async def _drive(http: aiohttp.ClientSession, stream: EventStream) -> None:
    snapshot = await stream.next(is_type("snapshot"))
    tabs = snapshot["tabs"] or (await stream.next(is_type("tabs"), START_WAIT))["tabs"]
    assert [t["role"] for t in tabs] == ["officer", "reservist", "newcomer", "mentor"]
    officer, newcomer = tabs[0]["user_id"], tabs[2]["user_id"]
    await stream.next(is_type("status", status="running"), START_WAIT)

    async with http.post(f"/api/chats/{officer}/text", json={"text": "/invite reservist"}) as r:
        assert r.status == 200
    invite = await stream.next(bot_message(officer, "t.me/"), WAIT * 2)
    link = re.search(r"https://t\.me/(\w+)\?start=([\w-]+)", invite["message"]["text"])
    assert link is not None and link.group(1) == snapshot["bot"]["username"]

    # the newcomer opens the invite: the page sends "/start CODE", the consent comes with buttons
    start = {"text": f"/start {link.group(2)}"}
    async with http.post(f"/api/chats/{newcomer}/text", json=start) as r:
        assert r.status == 200
    consent = await stream.next(
        lambda e: bot_message(newcomer)(e) and bool(e["message"]["buttons"]), WAIT * 2
    )
    row, column = next(
        (r, c)
        for r, line in enumerate(consent["message"]["buttons"])
        for c, button in enumerate(line)
        if button["text"].startswith("Согласен")
    )
    press = {"message_id": consent["message"]["message_id"], "row": row, "column": column}
    async with http.post(f"/api/chats/{newcomer}/press", json=press) as r:
        assert r.status == 200
    await stream.next(
        lambda e: (
            (bot_message(newcomer)(e) or e.get("type") == "edit")
            and e["message"]["chat_id"] == newcomer
            and "фамилию" in e["message"]["text"].casefold()
        ),
        WAIT * 2,
    )

    # a document from the officer's tab reaches the bot, which answers about it
    form = aiohttp.FormData()
    form.add_field("file", b"not a table", filename="notes.xlsx", content_type="text/plain")
    async with http.post(f"/api/chats/{officer}/file", data=form) as r:
        assert r.status == 200
    await stream.next(bot_message(officer), WAIT * 2)

    # the time machine: the bot restarts on the chosen day
    async with http.post("/api/time-machine", json={"at": "2027-02-22T10:00"}) as r:
        assert r.status == 202
    await stream.next(is_type("status", status="restarting"))
    running = await stream.next(is_type("status", status="running"), START_WAIT)
    assert running["clock"].startswith("2027-02-22T10:0")
    async with http.post(f"/api/chats/{officer}/text", json={"text": "/start"}) as r:
        assert r.status == 200
    again = await stream.next(bot_message(officer), WAIT * 2)
    assert again["message"]["day"] == "22 февраля 2027"
