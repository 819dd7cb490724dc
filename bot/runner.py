"""The bot process: migrations, start-up data, scheduler, long polling or a webhook, clean
shutdown.

Start-up waits for what is not there yet instead of failing: an unreachable PostgreSQL or
Telegram (the network is not up after a reboot) is retried with back-off, one log line per
attempt, until it answers or a stop signal arrives. This holds for each of start-up's calls
to Telegram (getMe, deleteWebhook and the command menus, setWebhook) once the retry policy
has given up on it; a stop signal also cuts short a call the retry policy is retrying
(Telegram answering 502), and the process exits 0. A token Telegram rejects (401) ends the
process with one line naming ``BOT_TOKEN`` and exit code 2.

Stop (SIGTERM or SIGINT): no more updates are fetched, the updates being handled and the
broadcast sends in flight finish (for up to ``SHUTDOWN_GRACE_SECONDS``), then the scheduler
stops, connections close and the process exits 0. What was cut by the grace period, or by a
``kill -9``, was never reported to its user as saved: replies are sent only after the change
they report is committed (:class:`bot.middlewares.DatabaseMiddleware`).

Webhook mode (``run --webhook``): instead of polling, the web server (:mod:`bot.web`) takes
Telegram's posts on ``WEBHOOK_LISTEN`` and ``setWebhook`` is called once it listens; on a stop
the server takes no new posts and the updates being handled finish within the same grace. The
same server has ``/healthz`` and ``/metrics``; in polling mode they are served on
``HEALTH_LISTEN`` when it is set.

Several processes on one PostgreSQL (webhook mode behind a load balancer, or a standby): all
answer updates; only the leader, the holder of an advisory lock (:mod:`storage.leader`), runs
the scheduler and sends broadcasts, and a standby takes over within seconds of its death. On
SQLite a second process refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import structlog
from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import User as TelegramUser
from aiogram.utils.backoff import Backoff, BackoffConfig
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.app import create_dispatcher, digest_service, prepare_database, reminder_service
from bot.config import Settings
from bot.metrics import Metrics, watch_scheduler
from bot.middlewares import MetricsMiddleware
from bot.services.broadcast import BroadcastService
from bot.services.clock import make_clock
from bot.services.delivery import RateLimiter
from bot.services.export_process import remove_left_folders
from bot.services.time_policy import TimePolicy
from bot.telegram import (
    TelegramBroadcastTransport,
    TelegramDigestNotifier,
    TelegramNotifier,
    count_requests,
    create_bot,
    is_transient,
    progress_editor,
)
from handlers.commands import set_default_commands, set_user_commands
from scheduler.jobs import create_scheduler, stop_scheduler
from storage.db import Database
from storage.leader import AnotherInstanceError, Leadership, migration_lock, sqlite_lock
from storage.models import Role

if TYPE_CHECKING:
    from bot.web import WebServer

log = structlog.get_logger("bot")

T = TypeVar("T")

#: Back-off of start-up retries: 1 s, then ×2 up to a minute, with a little jitter.
STARTUP_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=60.0, factor=2.0, jitter=0.1)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SETTINGS = 2


class _StopRequestedError(Exception):
    """A stop signal arrived while start-up was waiting."""


async def _retrying(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    transient: Callable[[Exception], bool],
    stop: asyncio.Event,
) -> T:
    """``attempt()`` until it succeeds; an error for which ``transient`` is true is logged (one
    line) and retried after a back-off (:data:`STARTUP_BACKOFF`; a 429's ``retry_after`` when
    longer).

    Raises:
        _StopRequestedError: ``stop`` was set while waiting.
        Exception: any error that is not ``transient``.
    """
    backoff = Backoff(STARTUP_BACKOFF)
    while True:
        if stop.is_set():
            raise _StopRequestedError
        try:
            return await attempt()
        except Exception as exc:
            if not transient(exc):
                raise
            delay = backoff.next_delay
            if isinstance(exc, TelegramRetryAfter):
                delay = max(delay, float(exc.retry_after))
            log.warning(
                f"{what} unreachable, retrying",
                error=type(exc).__name__,
                attempt=backoff.counter + 1,
                retry_in=round(delay, 1),
            )
            next(backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)


def _install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if not stop.is_set():
            log.info("stop requested", signal=sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, on_signal, sig)


async def _prepare(settings: Settings, db: Database, stop: asyncio.Event) -> None:
    """Migrations and start-up data (PostgreSQL that does not answer yet is waited for); then
    the export folders a killed bot process left are deleted.

    Raises:
        _StopRequestedError: a stop signal arrived while PostgreSQL was waited for.
    """
    waited = (OSError, TimeoutError, OperationalError, InterfaceError)

    def transient(exc: Exception) -> bool:
        return db.dialect == "postgresql" and isinstance(exc, waited)

    async def attempt() -> None:
        async with migration_lock(db):  # PostgreSQL: instances starting together take turns
            await prepare_database(settings, db)

    async def until_stopped() -> None:
        # PostgreSQL: a stop cuts a connection that hangs or a wait for another instance's
        # migration; cut during the migration, its transaction is rolled back whole and the
        # lock freed with the connection. SQLite's start-up is local, and runs to its end.
        await _unless_stopped(attempt(), stop)

    await _retrying(
        "database", until_stopped if db.dialect == "postgresql" else attempt, transient, stop
    )
    remove_left_folders()  # an export's files left by a bot killed during it (personal data)


async def _until_telegram_answers(call: Callable[[], Awaitable[T]], stop: asyncio.Event) -> T:
    """A start-up call to Telegram (``call()``: getMe, deleteWebhook and the command menus,
    setWebhook), tried until Telegram answers: an error the Bot API calls' rule calls
    transient (:func:`bot.telegram.is_transient`) or a 429, still failing after the retry
    policy's budget (TELEGRAM_RETRY_SECONDS), is one log line and the call is made again
    after a back-off; a stop signal cuts the wait and the call in progress.

    Raises:
        _StopRequestedError: a stop signal arrived meanwhile.
        TelegramAPIError: any other error (e.g. 401: the token was rejected).
    """

    def transient(exc: Exception) -> bool:
        return isinstance(exc, TelegramRetryAfter) or is_transient(exc)

    async def attempt() -> T:
        return await _unless_stopped(call(), stop)

    return await _retrying("telegram", attempt, transient, stop)


async def _unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T:
    """``work``'s result, unless ``stop`` is set first: then ``work`` is cancelled and
    :class:`_StopRequestedError` raised at once.

    For start-up's waits, which a SIGTERM must not sit out: a Bot API call the retry policy
    (:mod:`bot.telegram.retry`) retries for up to TELEGRAM_RETRY_SECONDS (30 s by default)
    while Telegram is down; a PostgreSQL connection that hangs, or another instance's
    migration lock.
    """
    task = asyncio.ensure_future(work)
    stopped = asyncio.create_task(stop.wait())
    try:
        done, _pending = await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
    if task in done:
        return task.result()  # done first (or with the stop): its result or its error
    await asyncio.gather(task, return_exceptions=True)  # the cancelled call cleans up
    raise _StopRequestedError


async def _announce(bot: Bot, settings: Settings, *, webhook: bool) -> None:
    """Start-up's Bot API calls before updates are taken: polling deletes a webhook left set
    (pending updates are kept), then the command menus (everyone's, and each officer's; a
    menu Telegram refuses is a warning, as the commands work without it)."""
    if not webhook:
        await bot.delete_webhook(drop_pending_updates=False)
    await set_default_commands(bot)
    for officer_id in settings.officer_ids:
        await set_user_commands(bot, officer_id, Role.OFFICER)


async def _finish_updates(dp: Dispatcher, grace: float) -> None:
    """Let the updates still being handled finish, for up to ``grace`` seconds; then cancel
    the rest (their users were told nothing that was not committed)."""
    # aiogram keeps the tasks of updates in flight here (polling with handle_as_tasks)
    in_flight = {t for t in getattr(dp, "_handle_update_tasks", set()) if not t.done()}
    if not in_flight:
        return
    log.info("finishing updates in flight", count=len(in_flight), grace_seconds=grace)
    _done, pending = await asyncio.wait(in_flight, timeout=grace)
    if pending:
        log.warning("updates cut by the shutdown grace period", count=len(pending))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


async def _listen(server: WebServer) -> bool:
    """Start the web server; False (logged in one line) when its address cannot be bound."""
    try:
        await server.start()
    except OSError as exc:
        log.error("cannot listen", host=server.host, port=server.port, error=str(exc))
        return False
    return True


async def _webhook_accepted(bot: Bot, dp: Dispatcher, settings: Settings) -> bool:
    """``setWebhook``; False (logged in one line) when Telegram refuses WEBHOOK_URL (a 400
    such as "bad webhook: Failed to resolve host": a restart would not help)."""
    from bot.web import set_webhook  # noqa: PLC0415  (webhook mode only, see _serve)

    try:
        await set_webhook(bot, dp, settings)
    except TelegramBadRequest as exc:
        log.error("WEBHOOK_URL was refused by Telegram; check it", error=exc.message)
        return False
    return True


async def run(settings: Settings, *, webhook: bool = False) -> int:
    """Run until SIGINT/SIGTERM; returns the exit code (0, or 2 when Telegram rejects the
    token or WEBHOOK_URL, 1 when the database cannot be prepared or the web server cannot
    listen).

    Order: (SQLite: the database's lock file, or exit 1 when another process holds it) →
    migrate (PostgreSQL: one process at a time) → default roadmap → officers → getMe →
    command menus → the leader election (:mod:`storage.leader`; the leader starts the
    scheduler and the broadcast runner, which resumes broadcasts left running) → web server
    (if any) → polling, or ``setWebhook`` with ``webhook``. On a signal polling (or the web
    server) stops, updates and broadcast sends in flight finish, the scheduler is shut down,
    the leader lock released and sessions closed. A leader that loses its lock stops leading
    at once and exits 1.
    """
    instance_lock = sqlite_lock(settings.database_url)
    if instance_lock is not None:
        try:
            instance_lock.acquire()
        except AnotherInstanceError as exc:
            log.error("another bot process uses this database; not starting", lock=str(exc))
            return EXIT_FAILED
    try:
        return await _run(settings, webhook=webhook)
    finally:
        if instance_lock is not None:
            instance_lock.release()


async def _run(settings: Settings, *, webhook: bool) -> int:
    stop = asyncio.Event()
    _install_stop_signals(stop)
    db = Database(settings.database_url, pool_size=settings.database_pool_size)
    limiter = RateLimiter.for_telegram(settings.telegram_clock_speed)
    bot = create_bot(settings, limiter)
    try:
        await _prepare(settings, db, stop)
        me = await _until_telegram_answers(bot.get_me, stop)
    except _StopRequestedError:
        log.info("bot stopped before it started")
        await bot.session.close()
        await db.dispose()
        return EXIT_OK
    except (TelegramUnauthorizedError, TelegramNotFound) as exc:
        log.error("BOT_TOKEN was rejected by Telegram; check the token", error=exc.message)
        await bot.session.close()
        await db.dispose()
        return EXIT_SETTINGS
    except Exception as exc:
        log.error("start-up failed", error=type(exc).__name__, detail=str(exc).splitlines()[0])
        await bot.session.close()
        await db.dispose()
        return EXIT_FAILED
    return await _serve(settings, db, bot, limiter, me, stop, webhook=webhook)


def _observe(
    dp: Dispatcher, bot: Bot, scheduler: AsyncIOScheduler, limiter: RateLimiter
) -> Metrics:
    """The process's metrics, counted by the dispatcher, the bot's session and the scheduler."""
    metrics = Metrics(limiter)
    dp["metrics"] = metrics  # the error handler counts failures
    dp.update.outer_middleware(MetricsMiddleware(metrics))
    count_requests(bot, metrics)
    watch_scheduler(scheduler, metrics)
    return metrics


async def _serve(
    settings: Settings,
    db: Database,
    bot: Bot,
    limiter: RateLimiter,
    me: TelegramUser,
    stop: asyncio.Event,
    *,
    webhook: bool = False,
) -> int:
    clock = make_clock(settings.clock_start)
    time_policy = TimePolicy.from_settings(settings)  # one for the updates, reminders, digests
    dp = create_dispatcher(settings, db, clock=clock, time_policy=time_policy)
    reminders = reminder_service(
        settings, db, TelegramNotifier(bot), clock=clock, time_policy=time_policy
    )
    digests = digest_service(
        settings, db, TelegramDigestNotifier(bot), clock=clock, time_policy=time_policy
    )
    scheduler = create_scheduler(settings, db, reminders, digests)
    broadcasts = BroadcastService(db, TelegramBroadcastTransport(bot), limiter)
    dp["broadcasts"] = broadcasts
    metrics = _observe(dp, bot, scheduler, limiter)
    # several processes on one PostgreSQL: replies everywhere, the scheduler and the broadcast
    # runner only in the leader (storage.leader); on SQLite this process leads at once
    leadership = Leadership(db)
    broadcasts.leading = False  # until elected: a press of «Отправить» is left to the leader
    server: WebServer | None = None
    if settings.web_listen(webhook) is not None:
        # aiohttp's server and aiogram's webhook modules: 1.7 MiB of a polling bot's memory
        # without HEALTH_LISTEN (bench.memory), so imported only when a server is configured
        from bot.web import build_server  # noqa: PLC0415

        server = build_server(
            settings, db, bot, dp, metrics, clock, webhook=webhook, leadership=leadership
        )
    campaign: asyncio.Task[None] | None = None
    stopper: asyncio.Task[None] | None = None

    def lead() -> None:
        scheduler.start()
        # resumes the broadcasts left running, then runs those started on other instances
        broadcasts.lead(lambda b: progress_editor(bot, b))

    async def campaign_until_stop() -> None:
        await leadership.campaign(stop, lead)
        if leadership.lost:
            # the lock may be another instance's already: stop leading at once (only the
            # sends in flight may go out twice), then stop; a restart makes this a standby
            log.error("leader lock lost; stopping so that another instance leads")
            await stop_scheduler(scheduler, 0.0)
            await broadcasts.shutdown(0.0)
            stop.set()

    # What start-up built (aiogram's pydantic models, the routers, SQLAlchemy's mappers: about
    # 265,000 objects) lives as long as the process. Frozen out of the collector, it is not
    # walked by every full collection: 0.2-0.3 s pauses that /pairs and the digests at 1,000
    # pairs set off (bench.mentoring), under 1 ms once frozen.
    gc.collect()
    gc.freeze()
    try:
        mode = "webhook" if webhook else "polling"
        log.info(
            "bot starting",
            username=me.username,
            database=db.dialect,
            mode=mode,
            api=settings.telegram_api_url,  # the sandbox's emulator shows here, not Telegram
        )
        await _until_telegram_answers(lambda: _announce(bot, settings, webhook=webhook), stop)
        campaign = asyncio.create_task(campaign_until_stop(), name="leadership")
        if server is not None and not await _listen(server):
            return EXIT_FAILED
        if webhook:
            if not await _until_telegram_answers(
                lambda: _webhook_accepted(bot, dp, settings), stop
            ):
                return EXIT_SETTINGS
            await stop.wait()
            return EXIT_FAILED if leadership.lost else EXIT_OK

        async def stop_polling_on_signal() -> None:
            await stop.wait()
            while True:
                try:
                    await dp.stop_polling()
                except RuntimeError:  # polling is not started yet
                    await asyncio.sleep(0.05)
                else:
                    return

        stopper = asyncio.create_task(stop_polling_on_signal(), name="stop-polling")
        if not stop.is_set():
            await dp.start_polling(bot, handle_signals=False, close_bot_session=False)
        if leadership.lost:
            return EXIT_FAILED
    except _StopRequestedError:  # during start-up's Bot API calls, Telegram failing
        log.info("bot stopped before it started")
        if leadership.lost:  # the stop was the lost leader lock's, not a signal
            return EXIT_FAILED
    finally:
        if server is not None:
            await server.stop()  # webhook mode: the updates in flight finish here
        await _finish_updates(dp, settings.shutdown_grace_seconds)
        # the sends in flight finish; the rest resume at the next start or on the next leader
        await broadcasts.shutdown()
        for task in (campaign, stopper):
            if task is not None and not task.done():
                task.cancel()
        for outcome in await asyncio.gather(
            *(t for t in (campaign, stopper) if t is not None), return_exceptions=True
        ):
            if isinstance(outcome, Exception):
                log.error("leader election failed", exc_info=outcome)
        await stop_scheduler(scheduler, settings.shutdown_grace_seconds)
        await leadership.close()  # another instance may lead from now on
        await bot.session.close()
        await db.dispose()
        log.info("bot stopped")
    return EXIT_OK
