"""Prometheus metrics of the bot process (prometheus-client), served at ``/metrics`` by
:mod:`bot.web`.

Where they are counted:

- updates handled, by type, and how long they took: :class:`bot.middlewares.MetricsMiddleware`
  (a dispatcher middleware);
- handler errors, by update type: the error handler (:func:`handlers.errors.on_error`);
- messages sent, by kind (``reply``, ``reminder``, ``digest``, ``broadcast``: :func:`message_kind`)
  and 429 answers: :class:`bot.telegram.RequestMetricsMiddleware` on the bot's session, which
  also notes when Telegram last answered (for ``/healthz``);
- the reminder scan's last run: :func:`watch_scheduler` (an APScheduler listener);
- queue lengths: sends waiting for a rate-limiter slot, by lane (read from the
  :class:`~bot.services.delivery.RateLimiter` at scrape time), and the durable queues in the
  database, due reminders and broadcast recipients still to send to (:meth:`Metrics.refresh`,
  two cheap counts before each scrape).

Every instance has its own registry, so that tests can build several.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

import structlog
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.services.delivery import Lane, RateLimiter, send_lane
from storage.db import Database

__all__ = ["CONTENT_TYPE_LATEST", "SCAN_JOB", "Metrics", "message_kind", "watch_scheduler"]

#: The scheduler job whose runs ``/healthz`` watches (scheduler/jobs.py).
SCAN_JOB = "reminders.scan"
#: The digest job (scheduler/jobs.py); its sends go in the reminder lane too.
DIGEST_JOB = "mentoring.digests"

_LANE_KIND = {Lane.INTERACTIVE: "reply", Lane.REMINDER: "reminder", Lane.BROADCAST: "broadcast"}


def message_kind() -> str:
    """What the send being made in this context is: ``reply`` (the interactive lane),
    ``broadcast``, ``digest`` (the reminder lane inside the digest job: the job name that
    scheduler/jobs.py binds to the log context) or ``reminder``."""
    lane = send_lane.get()
    if lane is Lane.REMINDER and structlog.contextvars.get_contextvars().get("job") == DIGEST_JOB:
        return "digest"
    return _LANE_KIND[lane]


class Metrics:
    """The process's metrics and the times ``/healthz`` looks at.

    ``telegram_ok_at`` / ``scan_ran_at``: ``time.monotonic()`` of Telegram's last answer and of
    the end of the last reminder scan (None: not yet).
    """

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.updates = Counter(
            "reserve_bot_updates", "Updates handled, by update type", ["type"], registry=reg
        )
        self.update_seconds = Histogram(
            "reserve_bot_update_seconds", "Time to handle an update", registry=reg
        )
        self.handler_errors = Counter(
            "reserve_bot_handler_errors",
            "Updates whose handler raised, by update type",
            ["type"],
            registry=reg,
        )
        self.messages_sent = Counter(
            "reserve_bot_messages_sent",
            "Messages Telegram accepted, by kind (reply, reminder, digest, broadcast)",
            ["kind"],
            registry=reg,
        )
        self.too_many_requests = Counter(
            "reserve_bot_telegram_429",
            "429 Too Many Requests answers from Telegram, by kind of send",
            ["kind"],
            registry=reg,
        )
        self.send_waiting = Gauge(
            "reserve_bot_send_waiting",
            "Sends waiting for a rate-limiter slot, by lane",
            ["lane"],
            registry=reg,
        )
        if limiter is not None:
            for lane, kind in _LANE_KIND.items():
                self.send_waiting.labels(kind).set_function(_waiting(limiter, lane))
        self.reminders_due = Gauge(
            "reserve_bot_reminders_due",
            "Reminders due and not yet sent (read from the database at scrape time)",
            registry=reg,
        )
        self.broadcast_pending = Gauge(
            "reserve_bot_broadcast_pending",
            "Recipients of running broadcasts not yet sent to (read at scrape time)",
            registry=reg,
        )
        self.scan_last_run = Gauge(
            "reserve_bot_reminder_scan_last_run_timestamp_seconds",
            "When the last reminder scan ended (Unix time)",
            registry=reg,
        )
        self.telegram_ok_at: float | None = None
        self.scan_ran_at: float | None = None

    def update_handled(self, update_type: str, seconds: float) -> None:
        """An update of ``update_type`` was handled (successfully or not) in ``seconds``."""
        self.updates.labels(update_type).inc()
        self.update_seconds.observe(seconds)

    def handler_failed(self, update_type: str) -> None:
        """A handler raised while handling an update of ``update_type``."""
        self.handler_errors.labels(update_type).inc()

    def telegram_answered(self) -> None:
        """Telegram answered a Bot API call (with a result or with a verdict on it)."""
        self.telegram_ok_at = time.monotonic()

    def message_sent(self, kind: str) -> None:
        """Telegram accepted a message of ``kind``."""
        self.messages_sent.labels(kind).inc()

    def rate_limited(self, kind: str) -> None:
        """Telegram answered 429 to a send of ``kind``."""
        self.too_many_requests.labels(kind).inc()

    def scan_ran(self) -> None:
        """The reminder scan has just ended."""
        self.scan_ran_at = time.monotonic()
        self.scan_last_run.set(time.time())

    async def refresh(self, db: Database, now: datetime) -> None:
        """Read the durable queues' lengths (at ``now``, the bot's clock) into their gauges."""
        async with db.session() as repo:
            lengths = await repo.monitoring.queue_lengths(now)
        self.reminders_due.set(lengths.reminders)
        self.broadcast_pending.set(lengths.broadcast)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format (:data:`CONTENT_TYPE_LATEST`)."""
        return generate_latest(self.registry)


def _waiting(limiter: RateLimiter, lane: Lane) -> Callable[[], float]:
    return lambda: float(limiter.waiting(lane))


def watch_scheduler(scheduler: BaseScheduler, metrics: Metrics) -> None:
    """Note in ``metrics`` the end of every run of the reminder scan (:data:`SCAN_JOB`)."""

    def on_event(event: JobExecutionEvent) -> None:
        if event.job_id == SCAN_JOB:
            metrics.scan_ran()

    scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
