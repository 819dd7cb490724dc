"""Stopping the scheduler (``scheduler.jobs.stop_scheduler``, the bot's shutdown): a job run in
progress, such as a reminder scan waiting out a 429, gets the grace period to finish; one that
outlasts it is cancelled; no new run starts meanwhile."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.services.clock import utcnow
from scheduler.jobs import RUNNING_JOBS, _logged, stop_scheduler


async def _scheduler_running(seconds: float) -> tuple[AsyncIOScheduler, list[str]]:
    """A scheduler whose job, started at once and every 0.1 s after, takes ``seconds``; returned
    once a run is in progress, with the list the runs write "started" and "finished" to."""
    events: list[str] = []

    async def job() -> None:
        events.append("started")
        await asyncio.sleep(seconds)
        events.append("finished")

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        _logged("test.job", job),
        "interval",
        seconds=0.1,
        next_run_time=utcnow() + timedelta(milliseconds=10),
        max_instances=5,
    )
    scheduler.start()
    async with asyncio.timeout(10):
        while not RUNNING_JOBS:  # noqa: ASYNC110 - the job's own registry, no event to wait on
            await asyncio.sleep(0.01)
    return scheduler, events


async def test_a_run_in_progress_finishes_within_the_grace_period() -> None:
    scheduler, events = await _scheduler_running(0.5)
    await stop_scheduler(scheduler, grace=10.0)
    assert not scheduler.running
    # the run in progress finished, and none started while it was let finish (every 0.1 s)
    assert events == ["started", "finished"], events
    assert not RUNNING_JOBS


async def test_a_run_longer_than_the_grace_period_is_cancelled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scheduler, events = await _scheduler_running(30.0)
    with caplog.at_level(logging.INFO):
        async with asyncio.timeout(5):
            await stop_scheduler(scheduler, grace=0.2)
    assert not scheduler.running
    assert events == ["started"], events
    assert not RUNNING_JOBS
    # the cut is our warning, not an error with a traceback from APScheduler's executor
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]
