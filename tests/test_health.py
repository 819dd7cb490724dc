"""``/healthz`` and ``/metrics`` (bot/web.py, bot/metrics.py) and the settings of the web server.

The application is served in-process on 127.0.0.1 (a free port) with a bot that talks to the
fake Bot API server; "the database is gone" is a PostgreSQL URL on a closed local port, and
"Telegram is gone" a bot pointed at another. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import create_dispatcher
from bot.cli import main
from bot.config import Settings, SettingsError, load_settings, parse_listen
from bot.metrics import SCAN_JOB, Metrics, message_kind, watch_scheduler
from bot.sandbox.emulator import FakeTelegramServer
from bot.services.clock import utcnow
from bot.services.delivery import Lane, RateLimiter, sending_in
from bot.telegram import RetryMiddleware, count_requests, create_bot
from bot.web import Health, WebServer, build_server, create_app
from storage.db import Database

WAIT = 20.0


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as server:
        yield server


@asynccontextmanager
async def serving(
    settings: Settings,
    db: Database,
    api_url: str,
    prepare: Callable[[Health], None] | None = None,
) -> AsyncIterator[tuple[Callable[[str], Any], Metrics]]:
    """The health and metrics application for ``db`` and a bot talking to ``api_url``; yields
    a GET function (path -> (status, JSON or text)) and the metrics."""
    limiter = RateLimiter()
    bot = create_bot(
        settings.model_copy(update={"telegram_api_url": api_url}),
        limiter,
        retry=RetryMiddleware(budget=0.0),
    )
    metrics = Metrics(limiter)
    count_requests(bot, metrics)
    health = Health(db, bot, metrics, scan_interval=300.0)
    if prepare is not None:
        prepare(health)
    web = WebServer(create_app(health, metrics, db, utcnow), "127.0.0.1", 0, grace=2.0)
    await web.start()
    try:
        async with aiohttp.ClientSession() as http:

            async def get(path: str) -> tuple[int, Any]:
                async with (
                    asyncio.timeout(WAIT),
                    http.get(f"http://127.0.0.1:{web.port}{path}") as r,
                ):
                    if r.content_type == "application/json":
                        return r.status, await r.json()
                    return r.status, await r.text()

            yield get, metrics
    finally:
        await web.stop()
        await bot.session.close()


async def test_healthy(settings: Settings, db: Database, fake: FakeTelegramServer) -> None:
    async with serving(settings, db, fake.base_url) as (get, metrics):
        status, body = await get("/healthz")
        assert status == 200, body
        assert body == {
            "status": "ok",
            "role": "leader",
            "checks": {"database": "ok", "scheduler": "ok", "telegram": "ok"},
        }
        assert [c.method for c in fake.calls] == ["getMe"]  # nobody had heard from Telegram
        assert metrics.telegram_ok_at is not None
        await get("/healthz")
        assert [c.method for c in fake.calls] == ["getMe"]  # a recent answer is enough


async def test_503_when_the_database_is_gone(settings: Settings, fake: FakeTelegramServer) -> None:
    gone = Database(f"postgresql+asyncpg://bot:pw@127.0.0.1:{closed_port()}/reserve")
    try:
        async with serving(settings, gone, fake.base_url) as (get, _metrics):
            started = time.monotonic()
            status, body = await get("/healthz")
            assert status == 503, body
            assert body["status"] == "failing"
            assert body["failing"] == ["database"]
            assert body["checks"]["telegram"] == "ok"
            assert time.monotonic() - started < 10
            # /metrics still answers, without the queue lengths it could not read
            status, page = await get("/metrics")
            assert status == 200
            assert "# TYPE reserve_bot_updates_total counter" in page
    finally:
        await gone.dispose()


async def test_503_when_the_database_was_disposed_and_its_file_removed(
    settings: Settings, db: Database, fake: FakeTelegramServer, tmp_path: Path
) -> None:
    if db.dialect != "sqlite":
        pytest.skip("a SQLite file")
    async with serving(settings, db, fake.base_url) as (get, _metrics):
        assert (await get("/healthz"))[0] == 200
        await db.dispose()
        folder = tmp_path / "test.db"
        folder.unlink()
        folder.mkdir()  # a folder where the file was: SQLite cannot open it
        status, body = await get("/healthz")
        assert status == 503, body
        assert body["failing"] == ["database"]
        folder.rmdir()


async def test_503_when_telegram_does_not_answer(settings: Settings, db: Database) -> None:
    async with serving(settings, db, f"http://127.0.0.1:{closed_port()}") as (get, metrics):
        status, body = await get("/healthz")
        assert status == 503, body
        assert body["failing"] == ["telegram"]
        metrics.telegram_answered()  # an answer a moment ago (e.g. a poll) is enough
        assert (await get("/healthz"))[0] == 200


async def test_503_when_the_reminder_scan_is_late(
    settings: Settings, db: Database, fake: FakeTelegramServer
) -> None:
    def long_ago(health: Health) -> None:
        health.started = time.monotonic() - 601  # two intervals of 300 s and a second

    async with serving(settings, db, fake.base_url, long_ago) as (get, metrics):
        status, body = await get("/healthz")
        assert status == 503, body
        assert body["failing"] == ["scheduler"]
        assert "no scan yet" in body["checks"]["scheduler"]
        metrics.scan_ran()
        assert (await get("/healthz"))[0] == 200
        metrics.scan_ran_at = time.monotonic() - 700
        status, body = await get("/healthz")
        assert status == 503
        assert "ended 700 s ago" in body["checks"]["scheduler"]


async def test_the_scheduler_listener_notes_the_scans_end() -> None:
    metrics = Metrics()
    scheduler = AsyncIOScheduler(timezone="UTC")
    ran = asyncio.Event()

    async def scan() -> None:
        ran.set()

    scheduler.add_job(scan, "interval", minutes=5, id=SCAN_JOB, next_run_time=utcnow())
    scheduler.add_job(scan, "interval", minutes=5, id="other", next_run_time=utcnow())
    watch_scheduler(scheduler, metrics)
    scheduler.start()
    try:
        await asyncio.wait_for(ran.wait(), WAIT)
        deadline = time.monotonic() + WAIT
        while metrics.scan_ran_at is None:
            assert time.monotonic() < deadline, "the scan's end was not noted"
            await asyncio.sleep(0.02)
        assert "reserve_bot_reminder_scan_last_run_timestamp_seconds" in (
            metrics.exposition().decode()
        )
    finally:
        scheduler.shutdown(wait=False)


async def test_metrics_queue_gauges_read_the_database(db: Database) -> None:
    metrics = Metrics(RateLimiter())
    await metrics.refresh(db, utcnow())
    page = metrics.exposition().decode()
    assert "reserve_bot_reminders_due 0.0" in page
    assert "reserve_bot_broadcast_pending 0.0" in page
    for lane in ("reply", "reminder", "broadcast"):
        assert f'reserve_bot_send_waiting{{lane="{lane}"}} 0.0' in page


async def test_messages_and_429s_are_counted_by_kind(
    fake: FakeTelegramServer, settings: Settings
) -> None:
    limiter = RateLimiter()
    bot = create_bot(settings.model_copy(update={"telegram_api_url": fake.base_url}), limiter)
    metrics = Metrics(limiter)
    count_requests(bot, metrics)
    user = fake.user(2001, "Мария")
    try:
        await bot.send_message(user.id, "ответ")
        with sending_in(Lane.REMINDER):
            assert message_kind() == "reminder"
            await bot.send_message(user.id, "напоминание")
        with sending_in(Lane.BROADCAST):
            await bot.send_message(user.id, "рассылка")
        fake.fail_next("sendMessage", 429, retry_after=1)
        with sending_in(Lane.BROADCAST):
            await bot.send_message(user.id, "рассылка 2")
    finally:
        await bot.session.close()
    page = metrics.exposition().decode()
    assert 'reserve_bot_messages_sent_total{kind="reply"} 1.0' in page
    assert 'reserve_bot_messages_sent_total{kind="reminder"} 1.0' in page
    assert 'reserve_bot_messages_sent_total{kind="broadcast"} 2.0' in page
    assert 'reserve_bot_telegram_429_total{kind="broadcast"} 1.0' in page


def test_digest_sends_are_told_from_reminders() -> None:
    import structlog  # noqa: PLC0415

    with (
        sending_in(Lane.REMINDER),
        structlog.contextvars.bound_contextvars(job="mentoring.digests"),
    ):
        assert message_kind() == "digest"
    assert message_kind() == "reply"


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"webhook_url": "http://bot.example.org/tg"}, "WEBHOOK_URL"),
        ({"webhook_url": "bot.example.org"}, "WEBHOOK_URL"),
        ({"webhook_secret": "has space"}, "WEBHOOK_SECRET"),
        ({"webhook_secret": "x" * 257}, "WEBHOOK_SECRET"),
        ({"webhook_secret": "ключ"}, "WEBHOOK_SECRET"),
        ({"webhook_listen": "8080"}, "WEBHOOK_LISTEN"),
        ({"webhook_listen": "0.0.0.0:70000"}, "WEBHOOK_LISTEN"),
        ({"health_listen": "localhost"}, "HEALTH_LISTEN"),
    ],
)
def test_malformed_web_settings_name_their_variable(
    overrides: dict[str, object], variable: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, **overrides)
    assert caught.value.variable == variable
    assert "\n" not in str(caught.value)


def test_web_settings() -> None:
    settings = load_settings(
        _env_file=None,
        webhook_url="https://bot.example.org/tg/hook",
        webhook_secret="A-z_09" * 40,
        health_listen="",
    )
    assert settings.webhook_listen == "127.0.0.1:8080"
    assert settings.health_listen is None
    assert settings.require_webhook() == ("https://bot.example.org/tg/hook", "A-z_09" * 40)
    assert "A-z_09" not in repr(settings)  # the secret is a SecretStr
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "https://bot.example.org/tg"}, "WEBHOOK_SECRET"),
    ],
)
def test_run_webhook_without_its_settings_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    variable: str,
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:TEST-token-for-the-test-suite-only")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["run", "--webhook"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {variable} ")
    assert "\n" not in err


async def test_polling_mode_serves_health_only_on_health_listen(
    settings: Settings, db: Database, fake: FakeTelegramServer
) -> None:
    settings = settings.model_copy(update={"telegram_api_url": fake.base_url})
    dp = create_dispatcher(settings, db)
    limiter = RateLimiter()
    bot = create_bot(settings, limiter)
    metrics = Metrics(limiter)
    try:
        assert build_server(settings, db, bot, dp, metrics, utcnow, webhook=False) is None
        on = settings.model_copy(update={"health_listen": "127.0.0.1:0"})
        server = build_server(on, db, bot, dp, metrics, utcnow, webhook=False)
        assert server is not None
        await server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with aiohttp.ClientSession() as http, asyncio.timeout(WAIT):
                async with http.get(base + "/healthz") as response:
                    assert response.status == 200
                async with http.post(base + "/webhook", json={"update_id": 1}) as response:
                    assert response.status in (404, 405)
        finally:
            await server.stop()
    finally:
        await bot.session.close()


async def test_a_busy_address_fails_the_start_with_one_line(
    settings: Settings, db: Database, fake: FakeTelegramServer
) -> None:
    from bot.runner import _listen  # noqa: PLC0415

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        metrics = Metrics()
        limiter = RateLimiter()
        bot = create_bot(settings.model_copy(update={"telegram_api_url": fake.base_url}), limiter)
        health = Health(db, bot, metrics, scan_interval=300.0)
        server = WebServer(create_app(health, metrics, db, utcnow), "127.0.0.1", port, grace=1.0)
        try:
            assert await _listen(server) is False
            await server.stop()  # nothing to stop; no error
        finally:
            await bot.session.close()


@pytest.mark.e2e
async def test_the_bot_process_in_polling_mode_serves_health_on_health_listen(
    fake: FakeTelegramServer, database_url: str, db: Database, tmp_path: Path
) -> None:
    from tests.e2e_support import Bot as BotProcess  # noqa: PLC0415
    from tests.e2e_support import bot_env, has, start, wait_until  # noqa: PLC0415

    env = bot_env(
        fake,
        database_url,
        tmp_path,
        BOT_TOKEN="123456:HEALTH-token-for-the-fake-server-only",
        HEALTH_LISTEN="127.0.0.1:0",
        LOG_FORMAT="json",
    )
    bot = BotProcess(env, tmp_path / "bot.log")

    def port() -> int | None:
        for line in bot.log().splitlines():
            if '"web server listening"' in line:
                return int(json.loads(line)["port"])
        return None

    try:
        await start(fake, bot)
        await wait_until(lambda: port() is not None, "the web server's port", WAIT)
        base = f"http://127.0.0.1:{port()}"
        officer = fake.user(1001, "Ольга")
        fake.push_text(officer, "/invite reservist")
        await fake.wait_for_message(officer, has("start="), timeout=WAIT)
        async with aiohttp.ClientSession() as http, asyncio.timeout(WAIT):
            async with http.get(base + "/healthz") as response:
                body = await response.json()
                assert response.status == 200, body
            async with http.get(base + "/metrics") as response:
                page = await response.text()
            async with http.post(base + "/webhook", json={"update_id": 1}) as response:
                assert response.status in (404, 405)  # no webhook in polling mode
        assert 'reserve_bot_updates_total{type="message"} 1.0' in page
        assert 'reserve_bot_messages_sent_total{kind="reply"} 1.0' in page
        assert not any(c.method == "setWebhook" for c in fake.calls)
        assert await bot.terminate() == 0, bot.log()
    finally:
        await bot.ensure_stopped()
