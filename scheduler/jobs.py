"""APScheduler jobs of the bot process: the reminder scan, the daily plan upkeep, the daily
purge of old notices and the hourly purge of unfinished dialogues.

Jobs keep no state of their own: each run reads the database, so nothing is lost on restart.
The first run of each is at start-up, which sends what fell due while the bot was down.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Settings
from bot.services.clock import utcnow
from bot.services.digests import DigestService
from bot.services.plans import PlanService
from bot.services.reminders import NOTICE_RETENTION, ReminderService
from bot.services.time_policy import TimePolicy
from storage.db import Database
from storage.fsm import purge_stale

log = structlog.get_logger(__name__)

#: The job runs in progress (their tasks), so that a stop can let them finish
#: (:func:`finish_running_jobs`).
RUNNING_JOBS: set[asyncio.Task[object]] = set()
#: The job runs :func:`finish_running_jobs` cancelled: their end is its warning, not an error.
_CUT_JOBS: set[asyncio.Task[object]] = set()


def _logged(job: str, func: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    """``func`` as a job: its run is registered in :data:`RUNNING_JOBS`, its log lines carry
    ``job``, an error is logged (one line with its traceback) and not raised. A run the
    shutdown's grace period cuts ends quietly: APScheduler's executor would log the
    cancellation as "Job … raised an exception" with a traceback, beside our one warning."""

    async def run() -> None:
        task = asyncio.current_task()
        if task is not None:
            RUNNING_JOBS.add(task)
        with structlog.contextvars.bound_contextvars(job=job):
            try:
                await func()
            except Exception:
                log.exception("job failed")
            except asyncio.CancelledError:
                if task not in _CUT_JOBS:
                    raise  # a cancellation that is not the grace period's
            finally:
                RUNNING_JOBS.discard(task)
                _CUT_JOBS.discard(task)

    return run


async def stop_scheduler(scheduler: AsyncIOScheduler, grace: float) -> None:
    """Stop ``scheduler``: no new job run starts, the runs in progress get up to ``grace``
    seconds to finish (:func:`finish_running_jobs`), then the scheduler is shut down.

    In this order because APScheduler 3's AsyncIOExecutor cancels the tasks of the runs in
    progress when it is shut down (its ``shutdown`` cannot wait, being no coroutine): shut down
    first, a reminder scan waiting out a 429's ``retry_after`` was cut at once, whatever the
    grace."""
    if scheduler.running:
        scheduler.pause()  # the runs in progress go on; no new one starts
    await finish_running_jobs(grace)
    if scheduler.running:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a callback of the event loop


async def finish_running_jobs(grace: float) -> None:
    """Wait up to ``grace`` seconds for the job runs in progress (a reminder scan sending), then
    cancel the rest. Call it once no new run can start (:func:`stop_scheduler`). A cut scan
    loses nothing: a notice is marked sent only once Telegram accepted it, and the next start
    sends what is left."""
    running = {t for t in RUNNING_JOBS if not t.done()}
    if not running:
        return
    log.info("finishing jobs in flight", count=len(running), grace_seconds=grace)
    _done, pending = await asyncio.wait(running, timeout=grace)
    for task in pending:
        _CUT_JOBS.add(task)
        task.cancel()
    if pending:
        log.warning("jobs cut by the shutdown grace period", count=len(pending))
        await asyncio.gather(*pending, return_exceptions=True)


#: Reservists whose plans the first transaction of :func:`ensure_plans` creates; later ones are
#: sized to last about :data:`PLAN_BATCH_SECONDS` (between :data:`PLAN_BATCH_MIN` and
#: :data:`PLAN_BATCH_MAX`), so SQLite's write lock is held about that long whatever the machine.
PLAN_BATCH = 500
PLAN_BATCH_MIN = 50
PLAN_BATCH_MAX = 4000
#: How long one transaction of :func:`ensure_plans` should hold the write lock: a user's write
#: waiting behind it waits about this long (the target: never more than 0.5 s).
PLAN_BATCH_SECONDS = 0.2
#: The pause between two batches on SQLite: a writer waiting on the lock sleeps in SQLite's
#: busy handler (1, 2, 5 … 100 ms steps); without a gap longer than its longest step the next
#: batch would take the lock again before the writer wakes, and the writer would wait for all.
SQLITE_BATCH_PAUSE = 0.1


def next_batch(size: int, seconds: float) -> int:
    """The size of the next batch of :func:`ensure_plans` after one of ``size`` reservists took
    ``seconds``: aimed at :data:`PLAN_BATCH_SECONDS`, at most twice the last, within bounds."""
    aimed = size * PLAN_BATCH_SECONDS / max(seconds, 1e-3)
    return int(max(PLAN_BATCH_MIN, min(PLAN_BATCH_MAX, 2 * size, aimed)))


async def ensure_plans(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    *,
    batch: int | None = None,
    time_policy: TimePolicy | None = None,
) -> int:
    """Create missing plans of every reservist for the current year (and next year's in
    December, when the drawing-up of the next plan begins). Returns how many were created.

    Bulk and in batches: each transaction creates the plans of a batch of reservists in a fixed
    handful of statements (the items made by the database, see
    :meth:`~bot.services.plans.PlanService.create_missing_batch`) and commits, and the event
    loop is yielded between batches, so a user's write waits at most one batch. The batches
    are sized to last about :data:`PLAN_BATCH_SECONDS` (``batch``: a fixed size instead); on
    SQLite a pause of :data:`SQLITE_BATCH_PAUSE` between two lets waiting writers in. The year
    is the district's at ``now`` (aware; default: real time) by ``time_policy`` (the shared one;
    None: the one of ``settings``)."""
    now = now or utcnow()
    today = (time_policy or TimePolicy.from_settings(settings)).today(now)
    years = [today.year] + ([today.year + 1] if today.month == 12 else [])
    async with db.session() as repo:
        activities = list(await repo.activities.active())
    pause = SQLITE_BATCH_PAUSE if db.dialect == "sqlite" else 0.0
    size = batch or PLAN_BATCH
    created = 0
    for year in years:
        after: int | None = 0
        while after is not None:
            started = time.perf_counter()
            async with db.session() as repo:
                made, after = await PlanService(repo).create_missing_batch(
                    year, today, activities, after_id=after, limit=size
                )
            if batch is None and made:
                size = next_batch(size, time.perf_counter() - started)
            created += made
            await asyncio.sleep(pause if after is not None else 0)
    if created:
        log.info("plans created", count=created)
    return created


async def purge_notices(db: Database, now: datetime | None = None) -> int:
    """Delete notices older than :data:`~bot.services.reminders.NOTICE_RETENTION` (none of them
    could be owed again), 5,000 a transaction. ``now`` is the bot's clock. Returns how many."""
    before = (now or utcnow()) - NOTICE_RETENTION
    purged = 0
    while True:
        async with db.session() as repo:
            count = await repo.notices.purge_older(before)
        purged += count
        if count == 0:
            break
        await asyncio.sleep(0)
    if purged:
        log.info("old notices purged", count=purged)
    return purged


async def purge_dialogues(db: Database, settings: Settings, now: datetime | None = None) -> int:
    """Delete dialogues left unfinished for PENDING_DATA_DAYS (what a registration that was
    never completed typed: name, school, position; 152-ФЗ art. 5 part 7, kept no longer than
    needed). ``now`` is real time (aware UTC; dialogue states are stamped with it). Returns
    how many were deleted."""
    now = now or utcnow()
    purged = await purge_stale(db, now - timedelta(days=settings.pending_data_days))
    if purged:
        log.info("unfinished dialogues purged", count=purged)
    return purged


def create_scheduler(
    settings: Settings,
    db: Database,
    reminders: ReminderService,
    digests: DigestService | None = None,
) -> AsyncIOScheduler:
    """An AsyncIOScheduler (UTC) with the reminder scan (and the mentoring digests) every
    REMINDER_SCAN_MINUTES and the plan upkeep every day; all run once right after start.

    The jobs run on real time; what they do is dated by the bot's clock, the one of
    ``reminders`` (``CLOCK_START`` may set it apart from the real one), in the zones of its
    time policy.
    """
    scheduler = AsyncIOScheduler(timezone="UTC")
    clock = reminders.clock
    time_policy = reminders.rules.time_policy
    start = utcnow() + timedelta(seconds=1)
    scheduler.add_job(
        _logged(
            "plans.ensure",
            lambda: ensure_plans(db, settings, clock(), time_policy=time_policy),
        ),
        "interval",
        hours=24,
        id="plans.ensure",
        name="plans.ensure",
        next_run_time=start,
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _logged("reminders.scan", reminders.scan),
        "interval",
        minutes=settings.reminder_scan_minutes,
        id="reminders.scan",
        name="reminders.scan",
        next_run_time=start + timedelta(seconds=1),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    scheduler.add_job(
        _logged("dialogues.purge", lambda: purge_dialogues(db, settings)),
        "interval",
        hours=1,
        id="dialogues.purge",
        name="dialogues.purge",
        next_run_time=start + timedelta(seconds=2),
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        _logged("notices.purge", lambda: purge_notices(db, clock())),
        "interval",
        hours=24,
        id="notices.purge",
        name="notices.purge",
        next_run_time=start + timedelta(seconds=4),
        max_instances=1,
        coalesce=True,
    )
    if digests is not None:
        scheduler.add_job(
            _logged("mentoring.digests", digests.run),
            "interval",
            minutes=settings.reminder_scan_minutes,
            id="mentoring.digests",
            name="mentoring.digests",
            next_run_time=start + timedelta(seconds=3),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler
