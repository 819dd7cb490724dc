"""The bot's web server (aiohttp): ``/healthz``, ``/metrics`` and, in webhook mode, the webhook.

- ``GET /healthz``: 200 ``{"status": "ok", "role": "leader", "checks": {...}}`` when the
  database answers ``SELECT 1``, the reminder scan ran within two intervals
  (``REMINDER_SCAN_MINUTES``) and Telegram answered in the last minute (else a ``getMe`` must
  answer now); otherwise 503 with ``"failing"``: the names of the failed checks. Each check is
  bounded by a few seconds. ``role`` is ``leader`` or ``standby`` (:mod:`storage.leader`); a
  standby runs no scheduler, so its ``checks`` have no ``scheduler``.
- ``GET /metrics``: Prometheus' text format (:mod:`bot.metrics`).
- ``POST <path of WEBHOOK_URL>`` (webhook mode): aiogram's
  :class:`~aiogram.webhook.aiohttp_server.SimpleRequestHandler`, which answers 401 to a request
  whose ``X-Telegram-Bot-Api-Secret-Token`` is not ``WEBHOOK_SECRET`` before reading it.

The server binds ``WEBHOOK_LISTEN`` in webhook mode and ``HEALTH_LISTEN`` (if set) in polling
mode; it is plain HTTP: put a TLS-terminating reverse proxy in front of the webhook and expose
only its path.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import structlog
from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.config import Settings, parse_listen
from bot.metrics import CONTENT_TYPE_LATEST, Metrics
from storage.db import Database
from storage.leader import Leadership
from storage.monitoring import ping

log = structlog.get_logger("bot.web")

#: Seconds one health check (the database ping, a getMe) may take.
CHECK_TIMEOUT = 3.0
#: Telegram counts as reachable when it answered a call this recently (seconds); else getMe.
TELEGRAM_FRESH = 60.0


@dataclass
class Health:
    """The checks of ``/healthz``. ``scan_interval``: seconds between reminder scans;
    ``started``: ``time.monotonic()`` at start, the reference before the first scan ends."""

    db: Database
    bot: Bot
    metrics: Metrics
    scan_interval: float
    started: float = field(default_factory=time.monotonic)
    leadership: Leadership | None = None

    @property
    def role(self) -> str:
        """``leader`` or ``standby`` (always ``leader`` without a :class:`Leadership`)."""
        return self.leadership.role if self.leadership is not None else "leader"

    async def check(self) -> dict[str, str]:
        """Each check's result: ``"ok"`` or why it failed (one line). The scheduler runs only
        in the leader, so a standby is not checked for it."""
        database, telegram = await asyncio.gather(self._database(), self._telegram())
        if self.role != "leader":
            return {"database": database, "telegram": telegram}
        return {"database": database, "scheduler": self._scheduler(), "telegram": telegram}

    async def _database(self) -> str:
        try:
            await asyncio.wait_for(ping(self.db.engine), CHECK_TIMEOUT)
        except Exception as exc:  # any failure is the answer
            return _failure(exc)
        return "ok"

    def _scheduler(self) -> str:
        last = self.metrics.scan_ran_at
        reference = self.started
        if self.leadership is not None and self.leadership.since is not None:
            reference = max(reference, self.leadership.since)  # a standby that took over
        age = time.monotonic() - (last if last is not None else reference)
        if age > 2 * self.scan_interval:
            since = "ended" if last is not None else "started (no scan yet)"
            return f"the reminder scan last {since} {age:.0f} s ago"
        return "ok"

    async def _telegram(self) -> str:
        last = self.metrics.telegram_ok_at
        if last is not None and time.monotonic() - last <= TELEGRAM_FRESH:
            return "ok"
        try:
            timeout = int(CHECK_TIMEOUT)
            await asyncio.wait_for(self.bot.get_me(request_timeout=timeout), CHECK_TIMEOUT)
        except Exception as exc:  # any failure is the answer
            return _failure(exc)
        return "ok"


def _failure(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def create_app(
    health: Health, metrics: Metrics, db: Database, clock: Callable[[], datetime]
) -> web.Application:
    """The application with ``/healthz`` and ``/metrics``; ``clock`` is the bot's (the moment
    reminders fall due by)."""

    async def healthz(_request: web.Request) -> web.Response:
        checks = await health.check()
        failing = [name for name, result in checks.items() if result != "ok"]
        body: dict[str, object] = {
            "status": "failing" if failing else "ok",
            "role": health.role,
            "checks": checks,
        }
        if failing:
            body["failing"] = failing
            log.warning("health check failed", failing=failing)
        return web.json_response(body, status=503 if failing else 200, dumps=_dumps)

    async def metrics_page(_request: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(metrics.refresh(db, clock()), CHECK_TIMEOUT)
        except Exception as exc:  # the other metrics are still worth it
            log.warning("queue lengths not read", error=_failure(exc))
        headers = {"Content-Type": CONTENT_TYPE_LATEST}
        return web.Response(body=metrics.exposition(), headers=headers)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def webhook_path(url: str) -> str:
    """The path Telegram posts to: that of ``WEBHOOK_URL`` (``/`` when it has none)."""
    return urlsplit(url).path or "/"


def add_webhook(app: web.Application, dp: Dispatcher, bot: Bot, path: str, secret: str) -> None:
    """Serve Telegram's webhook at ``path`` with aiogram's request handler.

    ``handle_in_background=False``: Telegram gets its 200 only after the update was handled,
    i.e. after its unit of work (:class:`bot.middlewares.DatabaseMiddleware`) was committed.
    An update whose handling is cut (a crash, a ``kill -9``, the shutdown grace running out)
    was not acknowledged, so Telegram delivers it again; answering first and handling in the
    background would lose it. Updates in flight at a stop finish before the server closes
    (:meth:`WebServer.stop`).

    The route is added directly rather than by ``SimpleRequestHandler.register``, whose
    shutdown hook closes the bot's session while broadcasts may still be sending through it
    (the bot process closes the session last).
    """
    handler = SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token=secret)
    app.router.add_post(path, handler.handle)
    setup_application(app, dp, bot=bot)


class WebServer:
    """An aiohttp application served on ``host:port`` (port 0: a free one, see :attr:`port`),
    without access logs and without signal handling (the bot process has its own)."""

    def __init__(self, app: web.Application, host: str, port: int, grace: float) -> None:
        self.host = host
        self.port = port
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=grace
        )
        self._started = False

    async def start(self) -> None:
        """Start listening; :attr:`port` is then the bound port."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            raise
        self._started = True
        address = self._runner.addresses[0]
        self.port = int(address[1])
        log.info("web server listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Stop accepting connections, let the requests being handled (webhook updates) finish
        for up to the grace period, cancel the rest, close. Does nothing if not started."""
        if self._started:
            self._started = False
            await self._runner.cleanup()


def build_server(
    settings: Settings,
    db: Database,
    bot: Bot,
    dp: Dispatcher,
    metrics: Metrics,
    clock: Callable[[], datetime],
    *,
    webhook: bool,
    leadership: Leadership | None = None,
) -> WebServer | None:
    """The bot process's web server: on ``WEBHOOK_LISTEN`` with the webhook in webhook mode,
    on ``HEALTH_LISTEN`` in polling mode (None when that is unset).

    Raises:
        SettingsError: webhook mode without WEBHOOK_URL or WEBHOOK_SECRET.
    """
    listen = settings.web_listen(webhook)
    if listen is None:
        return None
    health = Health(
        db,
        bot,
        metrics,
        scan_interval=settings.reminder_scan_minutes * 60.0,
        leadership=leadership,
    )
    app = create_app(health, metrics, db, clock)
    if webhook:
        url, secret = settings.require_webhook()
        add_webhook(app, dp, bot, webhook_path(url), secret)
    host, port = parse_listen(listen)
    return WebServer(app, host, port, settings.shutdown_grace_seconds)


async def set_webhook(bot: Bot, dp: Dispatcher, settings: Settings) -> None:
    """Tell Telegram to post updates to ``WEBHOOK_URL`` with ``WEBHOOK_SECRET``: only the
    update types the routers handle, and the updates that waited while the bot was down are
    kept (``drop_pending_updates=False``)."""
    url, secret = settings.require_webhook()
    await bot.set_webhook(
        url,
        secret_token=secret,
        allowed_updates=dp.resolve_used_update_types(),
        drop_pending_updates=False,
    )
    log.info("webhook set", url=url)
