"""Two bot processes on one database.

PostgreSQL (``TEST_DATABASE_URL``; skipped otherwise): two ``python -m bot run --webhook``
processes against one database and the fake Bot API. The first leads (scheduler and broadcast
runner), the second stands by and still answers its users: an officer's whole /broadcast
dialogue, «Отправить» included, goes to the standby, and the leader sends it, with Telegram
answering slowly. The leader is killed with SIGKILL mid-broadcast (the standby held still
with SIGSTOP meanwhile, so that the rows left in doubt can be read before anyone touches them);
the standby takes over within 30 s of the kill, resolves the rows left ``sending`` and
finishes. Each recipient got the message;
only those in flight at the kill (at most the leader's workers) may have got it twice. The
reminder scan ran in the leader only, and in the standby only once it took over.

SQLite: a second process on the same database file refuses to start with one line, exit 1.

Every wait has a timeout; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.metrics import Metrics
from bot.sandbox.emulator import FakeTelegramServer, SentMessage
from bot.services.broadcast import BroadcastService, ContentPart
from bot.services.delivery import RateLimiter
from bot.telegram import create_bot
from bot.web import Health
from storage.broadcast_models import BroadcastStatus, DeliveryState
from storage.db import Database
from storage.leader import AnotherInstanceError, FileLock, Leadership
from storage.models import Role, User
from tests.e2e_support import (
    START_WAIT,
    TOKEN,
    Bot,
    bot_env,
    buttons_with,
    has,
    start,
    wait_until,
)

SECRET = "two-instances-secret"
URL = "https://bot.example.test/tg/webhook"
OFFICER = 1001
FIRST = 5_000
RECIPIENTS = 50
MARKER = "Совещание резерва двух экземпляров"
WAIT = 30.0
#: The standby must lead within this many seconds of the leader's death (the issue's bound).
TAKEOVER = 30.0
#: Telegram's answers to sendMessage come this late (s): the broadcast takes several seconds.
SLOW = 1.0


class WebhookBot(Bot):
    """``python -m bot run --webhook`` as a child process (JSON log lines in a file)."""

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--webhook",
            env=self.env, cwd=self.log_path.parent, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()

    def events(self, event: str) -> list[dict[str, object]]:
        """The JSON log lines whose ``event`` starts with ``event``."""
        found = []
        for line in self.log().splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and str(record.get("event", "")).startswith(event):
                    found.append(record)
        return found

    def port(self) -> int | None:
        listening = self.events("web server listening")
        return int(str(listening[0]["port"])) if listening else None


class Pump:
    """Posts the updates pushed into the fake server to one instance's webhook, in order
    (the test plays Telegram's part in webhook mode); :attr:`port` chooses the instance."""

    def __init__(self, server: FakeTelegramServer, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http
        self.port: int | None = None
        self.posted: set[int] = set()
        self.statuses: list[int] = []

    async def run(self) -> None:
        while True:
            for update in self.server.pending_updates():
                update_id = int(update["update_id"])
                if update_id in self.posted or self.port is None:
                    continue
                headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                async with (
                    asyncio.timeout(WAIT),
                    self.http.post(
                        f"http://127.0.0.1:{self.port}/tg/webhook", json=update, headers=headers
                    ) as response,
                ):
                    self.statuses.append(response.status)
                self.posted.add(update_id)
            await asyncio.sleep(0.02)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(TOKEN) as server:
        yield server


def delivered(server: FakeTelegramServer) -> dict[int, int]:
    """Messages of the broadcast each recipient's chat received."""
    return {
        chat: sum(1 for m in server.messages_to(chat) if MARKER in (m.text or ""))
        for chat in range(FIRST, FIRST + RECIPIENTS)
    }


async def healthz(http: aiohttp.ClientSession, port: int) -> tuple[int, dict[str, object]]:
    async with asyncio.timeout(WAIT), http.get(f"http://127.0.0.1:{port}/healthz") as response:
        return response.status, await response.json()


async def answer(
    server: FakeTelegramServer, predicate: Callable[[SentMessage], bool]
) -> SentMessage:
    return await server.wait_for_message(OFFICER, predicate, timeout=WAIT)


async def broadcast_on(server: FakeTelegramServer) -> SentMessage:
    """The officer's /broadcast to «Наставникам», up to «Отправить» pressed; returns the
    «Рассылка запускается» message."""
    officer = server.user(OFFICER, "Ольга")
    seen = len(server.messages_to(officer))
    server.push_text(officer, "/broadcast")
    await server.wait_for_message(officer, lambda m: True, timeout=WAIT, after=seen)
    server.push_text(officer, f"<b>{MARKER}</b> в пятницу в 15:00")
    added = await answer(server, lambda m: bool(buttons_with(m, "Готово")))
    server.press(officer, added, "Готово")
    pick = await answer(server, lambda m: bool(buttons_with(m, "Наставникам")))
    server.press(officer, pick, buttons_with(pick, "Наставникам")[0][0])
    rsvp = await answer(server, lambda m: bool(buttons_with(m, "Без кнопок")))
    server.press(officer, rsvp, "Без кнопок")
    confirm = await answer(server, lambda m: bool(buttons_with(m, "Отправить")))
    assert f"{RECIPIENTS}" in (confirm.text or ""), confirm.describe()
    seen = len(server.messages_to(officer))
    server.press(officer, confirm, buttons_with(confirm, "Отправить")[0][0])
    return await server.wait_for_message(officer, has("рассылк"), timeout=WAIT, after=seen)


async def wait_log(bot: WebhookBot, event: str, timeout: float = WAIT) -> None:
    def logged() -> bool:
        if not bot.running:
            raise AssertionError(f"the bot exited:\n{bot.log()}")
        return bool(bot.events(event))

    await wait_until(logged, f"{event!r} in {bot.log_path.name}", timeout)


@pytest.mark.e2e
async def test_two_instances_one_leader_the_standby_takes_over_a_broadcast(
    fake: FakeTelegramServer, database_url: str, db: Database, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("two instances share a database only on PostgreSQL (TEST_DATABASE_URL)")
    registered = datetime(2027, 2, 1, tzinfo=UTC)
    async with db.session() as repo:
        repo.session.add_all(
            User(
                telegram_id=FIRST + n,
                role=Role.MENTOR,
                full_name=f"Наставник {n}",
                registered_at=registered,
            )
            for n in range(RECIPIENTS)
        )
    for n in range(RECIPIENTS):
        fake.user(FIRST + n)
    workers = BroadcastService(db, _NoTransport(), RateLimiter()).concurrency_for(1)
    env = bot_env(
        fake,
        database_url,
        tmp_path,
        WEBHOOK_URL=URL,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1:0",
        LOG_FORMAT="json",
        # Telegram's real clock: the broadcast must still be running at the kill, and the
        # senders at once (``workers`` above) are those of RateLimiter() (at K = 10 the bot ran
        # more: 50 sends were in doubt at the kill)
        TELEGRAM_CLOCK_SPEED="1",
    )
    first = WebhookBot(env, tmp_path / "first.log")
    second = WebhookBot(env, tmp_path / "second.log")
    async with aiohttp.ClientSession() as http:
        pump = Pump(fake, http)
        pumping = asyncio.create_task(pump.run())
        try:
            await first.start()
            await wait_log(first, "leader:", START_WAIT)
            await wait_log(first, "web server listening")
            await second.start()
            await wait_log(second, "standby:", START_WAIT)
            await wait_log(second, "web server listening")
            first_port, second_port = first.port(), second.port()
            assert first_port is not None and second_port is not None
            await wait_log(first, "reminder scan")  # the scan runs once at the start

            status, body = await healthz(http, second_port)
            assert (status, body["role"]) == (200, "standby"), body
            assert body["checks"] == {"database": "ok", "telegram": "ok"}
            status, body = await healthz(http, first_port)
            assert (status, body["role"]) == (200, "leader"), body
            checks = body["checks"]
            assert isinstance(checks, dict)
            assert set(checks) == {"database", "scheduler", "telegram"}

            # the officer talks to the standby only; the leader sends the broadcast
            fake.delay_answers(None, SLOW, methods=["sendMessage"])
            pump.port = second_port
            await broadcast_on(fake)
            await wait_log(second, "broadcast left to the leading instance")
            await wait_until(
                lambda: sum(delivered(fake).values()) >= 10, "the first 10 messages", WAIT
            )
            assert not second.events("reminder scan"), "the standby ran the reminder scan"
            assert not second.events("broadcast running"), "the standby sent the broadcast"

            # the standby is held still while the test records what the leader left (else it
            # could take over, and resend the rows in doubt, before they are read); the time
            # to take over is counted from the kill all the same
            assert second.proc is not None
            second.proc.send_signal(signal.SIGSTOP)
            try:
                await first.kill()
                killed_at = time.monotonic()
                await asyncio.sleep(SLOW + 0.5)  # requests on the wire are still answered
                at_kill = delivered(fake)
                async with db.session() as repo:
                    broadcasts = repo.broadcasts
                    (broadcast,) = await broadcasts.recent(limit=1)
                    rows = await broadcasts.deliveries(broadcast.id)
            finally:
                second.proc.send_signal(signal.SIGCONT)
            in_doubt = {d.chat_id for d in rows if d.state == DeliveryState.SENDING}
            assert sum(at_kill.values()) < RECIPIENTS, "the broadcast ended before the kill"
            assert len(in_doubt) <= workers, in_doubt
            for row in rows:  # the queue matches what really happened
                if row.state == DeliveryState.SENT:
                    assert at_kill[row.chat_id] == 1, row.chat_id
                elif row.state == DeliveryState.PENDING:
                    assert at_kill[row.chat_id] == 0, row.chat_id

            await wait_log(second, "leader:", TAKEOVER)
            took_over = time.monotonic() - killed_at
            assert took_over <= TAKEOVER
            await wait_until(lambda: all(delivered(fake).values()), "every recipient", 60)

            async def finished() -> bool:
                async with db.session() as repo:
                    status = await repo.broadcasts.status(broadcast.id)
                    return status == BroadcastStatus.DONE

            deadline = time.monotonic() + WAIT
            while not await finished():
                assert time.monotonic() < deadline, "the broadcast was not marked done"
                await asyncio.sleep(0.1)
            await wait_log(second, "reminder scan")  # the new leader scans
            status, body = await healthz(http, second_port)
            assert (status, body["role"]) == (200, "leader"), body
            assert not first.events("broadcast left to the leading instance")
            assert await second.terminate() == 0, second.log()
        except BaseException:
            print("--- first\n" + first.log() + "\n--- second\n" + second.log())
            raise
        finally:
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pumping
            await first.ensure_stopped()
            await second.ensure_stopped()

    final = delivered(fake)
    twice = {chat for chat, n in final.items() if n > 1}
    assert all(n >= 1 for n in final.values()), final
    assert max(final.values()) <= 2, final
    assert twice <= in_doubt, (twice, in_doubt)  # duplicates only among those in flight
    assert all(code == 200 for code in pump.statuses), pump.statuses
    sent = [r for r in second.events("broadcast run ended") if r.get("status") == "done"]
    assert sent, second.log()
    print(
        f"leader killed after {sum(at_kill.values())} of {RECIPIENTS} with {len(in_doubt)} in "
        f"flight; the standby led {took_over:.1f} s later; {len(twice)} got it twice"
    )


class _NoTransport:
    async def send_part(self, chat_id: int, part: ContentPart, *, rsvp: int | None = None) -> None:
        raise AssertionError("the test process must not send")

    async def send_content(self, chat_id: int, parts: object, *, rsvp: int | None = None) -> None:
        raise AssertionError("the test process must not send")


# --------------------------------------------------------------------------- SQLite


@pytest.mark.e2e
async def test_a_second_instance_on_one_sqlite_file_refuses_to_start(
    fake: FakeTelegramServer, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the lock file guards SQLite databases only")
    env = bot_env(fake, database_url, tmp_path)
    first = Bot(env, tmp_path / "first.log")
    second = Bot(env, tmp_path / "second.log")
    try:
        await start(fake, first)
        await second.start()
        assert await second.exit_code(START_WAIT) == 1, second.log()
        lines = second.log().strip().splitlines()
        assert len(lines) == 1, lines
        assert "another bot process uses this database" in lines[0]
        assert first.running
        assert await first.terminate() == 0, first.log()
        await second.start()  # the lock went with the first process
        await wait_until(lambda: "bot starting" in second.log(), "the second start", START_WAIT)
        assert await second.terminate() == 0, second.log()
    finally:
        await first.ensure_stopped()
        await second.ensure_stopped()


def test_the_lock_file_is_taken_once(tmp_path: Path) -> None:
    path = tmp_path / "reserve.db.lock"
    one, two = FileLock(path), FileLock(path)
    one.acquire()
    with pytest.raises(AnotherInstanceError):
        two.acquire()
    one.release()
    two.acquire()
    two.release()


# --------------------------------------------------------------------------- in-process


async def test_a_standby_reports_its_role_and_is_not_checked_for_the_scheduler(
    db: Database, settings: Settings
) -> None:
    limiter = RateLimiter()
    bot = create_bot(settings, limiter)
    try:
        leadership = Leadership(db)
        health = Health(
            db, bot, Metrics(limiter), scan_interval=0.001, started=0.0, leadership=leadership
        )
        assert health.role == "standby"
        checks = await _checks_without_telegram(health)
        assert "scheduler" not in checks
        leadership.leading = True  # a leader that has not scanned for two intervals
        assert health.role == "leader"
        checks = await _checks_without_telegram(health)
        assert checks["scheduler"] != "ok"
    finally:
        await bot.session.close()


async def _checks_without_telegram(health: Health) -> dict[str, str]:
    async def reachable() -> str:
        return "ok"

    health._telegram = reachable  # type: ignore[method-assign]
    return await health.check()


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[int] = []

    async def send_part(self, chat_id: int, part: ContentPart, *, rsvp: int | None = None) -> None:
        self.sent.append(chat_id)

    async def send_content(self, chat_id: int, parts: object, *, rsvp: int | None = None) -> None:
        self.sent.append(chat_id)


async def test_a_standby_leaves_a_broadcast_to_the_leader_which_picks_it_up(
    db: Database,
) -> None:
    async with db.session() as repo:
        users = [
            User(telegram_id=FIRST + n, role=Role.MENTOR, full_name=f"Наставник {n}")
            for n in range(5)
        ]
        repo.session.add_all(users)
        await repo.flush()
    standby_transport, leader_transport = _Recorder(), _Recorder()
    standby = BroadcastService(db, standby_transport, RateLimiter(), backoff=0.01)
    standby.leading = False
    broadcast = await standby.create(
        created_by=None, parts=[ContentPart.of_text(MARKER)], user_ids=[u.id for u in users]
    )
    assert await standby.launch(broadcast.id)
    left = await standby.run(broadcast.id)  # «Отправить» pressed on the standby
    assert (left.status, left.pending, standby_transport.sent) == ("running", 5, [])

    leader = BroadcastService(db, leader_transport, RateLimiter(), backoff=0.01)
    leader.leading = False
    leader.lead(interval=0.05)
    try:

        async def done() -> bool:
            return (await leader.results(broadcast.id)).status == BroadcastStatus.DONE

        deadline = time.monotonic() + WAIT
        while not await done():
            assert time.monotonic() < deadline, "the leader did not send the broadcast"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # a few more looks of the watcher send nothing again
    finally:
        await leader.shutdown(1.0)
    assert sorted(leader_transport.sent) == [FIRST + n for n in range(5)]


async def test_the_advisory_lock_has_one_holder_and_a_lost_one_is_noticed(
    database_url: str, db: Database
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's")
    one_db, two_db = Database(database_url), Database(database_url)
    one = Leadership(one_db, retry=0.05, check=0.05)
    two = Leadership(two_db, retry=0.05, check=0.05)
    stop = asyncio.Event()
    elected: list[str] = []
    first = asyncio.create_task(one.campaign(stop, lambda: elected.append("one")))
    try:
        await wait_until(lambda: one.leading, "the first to lead", WAIT)
        second = asyncio.create_task(two.campaign(stop, lambda: elected.append("two")))
        await asyncio.sleep(0.5)  # ten tries of the standby
        assert (one.role, two.role, elected) == ("leader", "standby", ["one"])

        # the leader's lock connection is cut (as when PostgreSQL drops it): it notices and
        # steps down, and the standby leads (only this database's lock holders: the server
        # may serve other tests' databases, e.g. other pytest-xdist workers' bot processes)
        async with db.session() as repo:
            await repo.session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
                    "AND database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database())"
                )
            )
        async with asyncio.timeout(WAIT):
            await first
        assert one.lost and one.role == "standby"
        await wait_until(lambda: two.leading, "the standby to lead", WAIT)
        assert elected == ["one", "two"]
        stop.set()
        async with asyncio.timeout(WAIT):
            await second
    finally:
        stop.set()
        await one.close()
        await two.close()
        await one_db.dispose()
        await two_db.dispose()
