"""The bot process: migrations, start-up data, scheduler, long polling, clean shutdown."""

from __future__ import annotations

import asyncio

import structlog

from bot.app import create_dispatcher, digest_service, prepare_database, reminder_service
from bot.broadcast_telegram import TelegramBroadcastTransport, progress_editor
from bot.config import Settings
from bot.services.broadcast import BroadcastService
from bot.services.delivery import RateLimiter
from bot.telegram import TelegramNotifier, create_bot
from handlers.commands import set_default_commands, set_user_commands
from handlers.notify import TelegramDigestNotifier
from scheduler.jobs import create_scheduler
from storage.db import Database
from storage.models import Role

log = structlog.get_logger("bot")


async def run(settings: Settings) -> int:
    """Run until SIGINT/SIGTERM; returns the exit code.

    Order: migrate → default roadmap → officers → command menus → scheduler → resumption of
    broadcasts left running → polling. On a signal aiogram stops polling; then broadcasts
    finish the sends in flight, the scheduler is shut down and sessions closed.
    """
    db = Database(settings.database_url)
    await prepare_database(settings, db)
    limiter = RateLimiter()
    bot = create_bot(settings, limiter)
    dp = create_dispatcher(settings, db)
    reminders = reminder_service(settings, db, TelegramNotifier(bot))
    digests = digest_service(settings, db, TelegramDigestNotifier(bot))
    scheduler = create_scheduler(settings, db, reminders, digests)
    broadcasts = BroadcastService(db, TelegramBroadcastTransport(bot), limiter)
    dp["broadcasts"] = broadcasts
    resuming: asyncio.Task[object] | None = None
    try:
        me = await bot.get_me()
        log.info("bot starting", username=me.username, database=db.dialect)
        await bot.delete_webhook(drop_pending_updates=False)
        await set_default_commands(bot)
        for officer_id in settings.officer_ids:
            await set_user_commands(bot, officer_id, Role.OFFICER)
        scheduler.start()
        resuming = asyncio.create_task(
            broadcasts.resume_unfinished(lambda b: progress_editor(bot, b)),
            name="broadcasts.resume",
        )
        await dp.start_polling(bot, handle_signals=True, close_bot_session=False)
    finally:
        await broadcasts.shutdown()  # the sends in flight finish; the rest resume next start
        if resuming is not None:
            await asyncio.wait({resuming}, timeout=1.0)
            resuming.cancel()
            for outcome in await asyncio.gather(resuming, return_exceptions=True):
                if isinstance(outcome, Exception):
                    log.error("resuming broadcasts failed", exc_info=outcome)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await bot.session.close()
        await db.dispose()
        log.info("bot stopped")
    return 0
