"""Webhook mode: aiogram's request handler behind the secret token, the real dispatcher, and a
bot that talks to the fake Bot API server.

In-process: the web application of :mod:`bot.web` on 127.0.0.1 (a free port) with the
dispatcher of the program; a post with a wrong or missing secret gets 401 and changes nothing,
one with the secret is handled (the reply reaches the fake server) and is committed before the
post is answered. End to end: ``python -m bot run --webhook`` calls ``setWebhook`` with the
secret, the update types and ``drop_pending_updates=False``, takes posts, serves ``/healthz``
and ``/metrics``, and exits 0 on SIGTERM. Every wait has a timeout; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.filters import Command
from aiogram.types import Message
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select

from bot.app import create_dispatcher, prepare_database
from bot.config import Settings
from bot.metrics import Metrics
from bot.runner import _observe
from bot.sandbox.emulator import FakeTelegramServer
from bot.services.clock import utcnow
from bot.services.delivery import RateLimiter
from bot.telegram import create_bot
from bot.web import Health, WebServer, add_webhook, create_app, webhook_path
from storage.db import Database
from storage.models import FsmState, Invite
from tests.e2e_support import START_WAIT, bot_env, has, stopped_before_it_started, wait_until
from tests.e2e_support import Bot as BotProcess

SECRET = "s3cret_TOKEN-for-tests"
URL = "https://bot.example.test/tg/webhook"
OFFICER = 1001
WAIT = 20.0
GRACE = 3.0


@dataclass
class Site:
    """The webhook application served in-process."""

    server: FakeTelegramServer
    db: Database
    dp: Dispatcher
    bot: Bot
    metrics: Metrics
    web: WebServer
    base: str
    http: aiohttp.ClientSession

    async def post(self, update: dict[str, object], secret: str | None) -> aiohttp.ClientResponse:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with asyncio.timeout(WAIT):
            response = await self.http.post(
                self.base + webhook_path(URL), json=update, headers=headers
            )
            await response.read()
        return response

    async def get(self, path: str) -> tuple[int, str]:
        async with asyncio.timeout(WAIT), self.http.get(self.base + path) as response:
            return response.status, await response.text()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as server:
        yield server


@pytest.fixture
async def site(fake: FakeTelegramServer, settings: Settings, db: Database) -> AsyncIterator[Site]:
    settings = settings.model_copy(update={"telegram_api_url": fake.base_url})
    await prepare_database(settings, db)
    dp = create_dispatcher(settings, db)
    limiter = RateLimiter()
    bot = create_bot(settings, limiter)
    metrics = _observe(dp, bot, AsyncIOScheduler(), limiter)
    app = create_app(Health(db, bot, metrics, scan_interval=300.0), metrics, db, utcnow)
    add_webhook(app, dp, bot, webhook_path(URL), SECRET)
    web = WebServer(app, "127.0.0.1", 0, grace=GRACE)
    await web.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Site(fake, db, dp, bot, metrics, web, f"http://127.0.0.1:{web.port}", http)
    finally:
        await web.stop()
        await bot.session.close()


async def _count(db: Database, model: type) -> int:
    async with db.session() as repo:
        return int(await repo.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
async def test_a_post_without_the_secret_gets_401_and_changes_nothing(
    site: Site, secret: str | None
) -> None:
    officer = site.server.user(OFFICER, "Ольга")
    update = site.server.push_text(officer, "/invite reservist")
    calls = len(site.server.calls)

    response = await site.post(update, secret)

    assert response.status == 401
    await asyncio.sleep(0.2)  # nothing is handled in the background either
    assert await _count(site.db, Invite) == 0
    assert await _count(site.db, FsmState) == 0
    assert site.server.messages_to(officer) == []
    assert len(site.server.calls) == calls
    assert "reserve_bot_updates_total{" not in (await site.get("/metrics"))[1]


async def test_a_post_with_the_secret_is_handled_and_committed_before_the_answer(
    site: Site,
) -> None:
    officer = site.server.user(OFFICER, "Ольга")
    update = site.server.push_text(officer, "/invite reservist")

    response = await site.post(update, SECRET)

    assert response.status == 200
    # the unit of work was committed before Telegram got its 200
    assert await _count(site.db, Invite) == 1
    answer = await site.server.wait_for_message(officer, has("start="), timeout=WAIT)
    assert "start=" in (answer.text or "")


async def test_metrics_count_the_update_and_the_reply(site: Site) -> None:
    officer = site.server.user(OFFICER, "Ольга")
    assert (
        await site.post(site.server.push_text(officer, "/invite reservist"), SECRET)
    ).status == 200
    await site.server.wait_for_message(officer, has("start="), timeout=WAIT)

    status, page = await site.get("/metrics")

    assert status == 200
    assert 'reserve_bot_updates_total{type="message"} 1.0' in page
    assert 'reserve_bot_messages_sent_total{kind="reply"} 1.0' in page
    assert "reserve_bot_update_seconds_count 1.0" in page
    assert 'reserve_bot_send_waiting{lane="broadcast"} 0.0' in page
    assert "reserve_bot_reminders_due 0.0" in page
    assert "reserve_bot_broadcast_pending 0.0" in page
    assert "reserve_bot_handler_errors_total{" not in page


async def test_a_failing_handler_is_counted(site: Site) -> None:
    async def boom(_message: Message) -> None:
        raise RuntimeError("boom")

    site.dp.message.register(boom, Command("boom"))  # the root router's handlers go first
    officer = site.server.user(OFFICER, "Ольга")

    response = await site.post(site.server.push_text(officer, "/boom"), SECRET)

    assert response.status == 200  # the error handler apologised; Telegram gets its 200
    await site.server.wait_for_message(officer, timeout=WAIT)
    page = (await site.get("/metrics"))[1]
    assert 'reserve_bot_handler_errors_total{type="message"} 1.0' in page
    assert 'reserve_bot_updates_total{type="message"} 1.0' in page


async def test_a_stop_lets_the_update_in_flight_finish(site: Site) -> None:
    officer = site.server.user(OFFICER, "Ольга")
    hang = site.server.hang("sendMessage", officer)  # the reply is held at "Telegram"
    update = site.server.push_text(officer, "/invite reservist")
    posting = asyncio.create_task(site.post(update, SECRET))
    await hang.wait_held(timeout=WAIT)

    stopping = asyncio.create_task(site.web.stop())
    await asyncio.sleep(0.3)
    assert not posting.done()
    async with aiohttp.ClientSession() as other:  # no new connections are taken
        with pytest.raises(aiohttp.ClientConnectionError):
            async with asyncio.timeout(WAIT):
                await other.get(site.base + "/healthz")
    hang.release()

    async with asyncio.timeout(WAIT):
        assert (await posting).status == 200
        await stopping
    await site.server.wait_for_message(officer, has("start="), timeout=WAIT)


async def test_an_update_cut_by_the_grace_period_is_not_acknowledged(site: Site) -> None:
    officer = site.server.user(OFFICER, "Ольга")
    hang = site.server.hang("sendMessage", officer)
    update = site.server.push_text(officer, "/invite reservist")
    posting = asyncio.create_task(site.post(update, SECRET))
    await hang.wait_held(timeout=WAIT)
    started = asyncio.get_running_loop().time()

    async with asyncio.timeout(WAIT):
        await site.web.stop()  # the handler is cancelled after GRACE seconds
        with pytest.raises(aiohttp.ClientError):
            await posting  # no 200: Telegram would deliver the update again
    assert asyncio.get_running_loop().time() - started >= GRACE - 0.5
    hang.release()


# --------------------------------------------------------------------------- end to end


class WebhookBot(BotProcess):
    """``python -m bot run --webhook`` as a child process."""

    ARGS = ("run", "--webhook")

    @classmethod
    def made(
        cls, fake: FakeTelegramServer, database_url: str, home: Path, **extra: str
    ) -> WebhookBot:
        """The process (not started) with the webhook's settings (:data:`URL`, :data:`SECRET`,
        a free port on 127.0.0.1, JSON log lines) and ``extra``; its log in ``home``."""
        env = bot_env(
            fake,
            database_url,
            home,
            BOT_TOKEN="123456:WEBHOOK-token-for-the-fake-server-only",
            WEBHOOK_URL=URL,
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN="127.0.0.1:0",
            LOG_FORMAT="json",
            **extra,
        )
        return cls(env, home / "bot.log")

    def port(self) -> int | None:
        """The port the web server bound (from its JSON log line), or None yet."""
        for line in self.log().splitlines():
            if '"web server listening"' in line:
                return int(json.loads(line)["port"])
        return None

    async def post(self, update: dict[str, object], secret: str | None = SECRET) -> int:
        """Post ``update`` to the webhook as Telegram does (with ``secret`` unless None), once
        the web server listens; the answer's HTTP status."""
        await wait_until(lambda: self.port() is not None, "the web server's port", WAIT)
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with (
            aiohttp.ClientSession() as http,
            asyncio.timeout(WAIT),
            http.post(
                f"http://127.0.0.1:{self.port()}{webhook_path(URL)}", json=update, headers=headers
            ) as response,
        ):
            return response.status


def set_webhook_accepted(fake: FakeTelegramServer) -> list[str]:
    """The URLs of the ``setWebhook`` calls the fake accepted."""
    return [str(c.params["url"]) for c in fake.calls if c.method == "setWebhook" and c.ok]


@pytest.mark.e2e
async def test_the_bot_process_in_webhook_mode(
    fake: FakeTelegramServer, database_url: str, db: Database, tmp_path: Path
) -> None:
    async with WebhookBot.made(fake, database_url, tmp_path) as bot:
        call = await fake.wait_for_call("setWebhook", timeout=START_WAIT)
        assert call.ok
        assert call.params["url"] == URL
        assert call.params["secret_token"] == SECRET
        assert call.params["drop_pending_updates"] in (False, "false", "False")
        allowed = call.params["allowed_updates"]
        assert {"message", "callback_query"} <= set(allowed)
        assert not any(c.method == "deleteWebhook" for c in fake.calls)
        officer = fake.user(OFFICER, "Ольга")
        update = fake.push_text(officer, "/invite reservist")
        assert await bot.post(update, secret=None) == 401
        assert await bot.post(update) == 200
        await fake.wait_for_message(officer, has("start="), timeout=WAIT)
        base = f"http://127.0.0.1:{bot.port()}"
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(WAIT), http.get(base + "/healthz") as response:
                health = await response.json()
                assert response.status == 200, health
                assert health["checks"] == {"database": "ok", "scheduler": "ok", "telegram": "ok"}
            async with asyncio.timeout(WAIT), http.get(base + "/metrics") as response:
                page = await response.text()
                assert 'reserve_bot_updates_total{type="message"} 1.0' in page
                assert 'reserve_bot_messages_sent_total{kind="reply"} 1.0' in page
        assert await bot.terminate() == 0, bot.log()
        assert await _count(db, Invite) == 1


@pytest.mark.e2e
async def test_a_webhook_url_telegram_refuses_exits_2_with_one_line(
    fake: FakeTelegramServer, database_url: str, db: Database, tmp_path: Path
) -> None:
    fake.fail_next("setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host")
    async with WebhookBot.made(fake, database_url, tmp_path) as bot:
        assert await bot.exit_code(START_WAIT) == 2, bot.log()
        refused = [line for line in bot.log().splitlines() if "WEBHOOK_URL was refused" in line]
        assert len(refused) == 1
        assert "Failed to resolve host" in refused[0]
        assert "Traceback" not in bot.log()


@pytest.mark.e2e
async def test_sigterm_while_set_webhook_is_retried(
    fake: FakeTelegramServer, database_url: str, db: Database, tmp_path: Path
) -> None:
    """``setWebhook`` answered 502 is retried for up to 30 s (the retry policy's budget);
    SIGTERM meanwhile ends the process at once, with exit code 0."""
    fake.fail_next("setWebhook", 502, html=True, for_seconds=120)
    async with WebhookBot.made(fake, database_url, tmp_path) as bot:
        await wait_until(
            lambda: "telegram call failed, retrying" in bot.log() or not bot.running,
            "a retried setWebhook",
            START_WAIT,
        )
        assert bot.running, bot.log()
        await stopped_before_it_started(bot)
        assert not set_webhook_accepted(fake)


@pytest.mark.e2e
async def test_set_webhook_is_waited_for_after_its_retry_budget(
    fake: FakeTelegramServer, database_url: str, db: Database, tmp_path: Path
) -> None:
    """``setWebhook`` still failing when the retry policy gives up (TELEGRAM_RETRY_SECONDS,
    1 s here) is made again after a back-off until Telegram answers; then posts are taken."""
    fake.fail_next("setWebhook", 502, html=True, for_seconds=6)
    async with WebhookBot.made(fake, database_url, tmp_path, TELEGRAM_RETRY_SECONDS="1") as bot:
        await wait_until(
            lambda: bool(set_webhook_accepted(fake)) or not bot.running,
            "an accepted setWebhook",
            START_WAIT,
        )
        assert bot.running, bot.log()
        assert set_webhook_accepted(fake) == [URL]
        officer = fake.user(OFFICER, "Ольга")
        assert await bot.post(fake.push_text(officer, "/invite reservist")) == 200
        await fake.wait_for_message(officer, has("start="), timeout=WAIT)
        log = bot.log()
        assert "telegram unreachable, retrying" in log, log
        assert "Traceback" not in log, log
        assert bot.running, log
        assert await bot.terminate() == 0, bot.log()
