"""The broadcast service (:class:`BroadcastService`): creates, launches, runs, stops and
resumes broadcasts, reads their progress and results and records RSVP answers; it sends through
a :class:`BroadcastTransport`. The rules of the durable queue are in the package docstring
(:mod:`bot.services.broadcast`)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import Context
from datetime import datetime
from typing import Any, Protocol

import structlog

from bot.services.broadcast.content import ContentPart, content_json, parts_of, validate_parts
from bot.services.broadcast.progress import (
    BroadcastProgress,
    BroadcastResults,
    ProgressCallback,
    ProgressFactory,
)
from bot.services.broadcast.run import BroadcastRun
from bot.services.broadcast.writer import QueueWriter
from bot.services.clock import utcnow
from bot.services.delivery import (
    DeliveryError,
    Lane,
    RateLimiter,
    RecipientBlockedError,
    RetryAfterError,
    send_lane,
)
from bot.services.errors import NotFoundError
from storage.broadcast_models import Broadcast, BroadcastStatus, DeliveryState, RsvpAnswer
from storage.broadcast_repo import ClaimedDelivery, DeliveryResult
from storage.db import Database

__all__ = ["MAX_PAUSE", "BroadcastService", "BroadcastTransport", "DuplicateDraftError"]

log = structlog.get_logger(__name__)

#: The longest pause (s) before a recipient whose send failed transiently is put back in the
#: queue: the pauses double with each transient failure in a row of a run, up to this.
MAX_PAUSE = 60.0


class DuplicateDraftError(Exception):
    """A broadcast was already created from this draft (its idempotency key is taken)."""


class BroadcastTransport(Protocol):
    """Sends a broadcast's messages to one chat.

    Both methods raise :class:`~bot.services.delivery.RecipientBlockedError` on a 403,
    :class:`~bot.services.delivery.RetryAfterError` on a 429 the request middleware gave up on,
    and :class:`~bot.services.delivery.DeliveryError` otherwise (``retryable`` False for a
    400). ``rsvp`` is the broadcast id whose «Буду» / «Не смогу» buttons go under the message,
    or None for no buttons.
    """

    async def send_part(self, chat_id: int, part: ContentPart, *, rsvp: int | None = None) -> None:
        """Send one message."""
        ...

    async def send_content(
        self, chat_id: int, parts: Sequence[ContentPart], *, rsvp: int | None = None
    ) -> None:
        """Send every part as consecutive messages, the RSVP buttons under the last one."""
        ...


class BroadcastService:
    """Creates, runs, stops and resumes broadcasts; records and counts RSVP answers.

    ``db``: the database; ``transport``: sends the messages; ``limiter``: the bot's one
    :class:`RateLimiter` (the service pauses it on a 429 and sizes its workers by it);
    ``clock``: aware UTC now, for the timestamps. ``backoff``: seconds before a recipient
    whose send failed transiently is put back in the queue (doubling with each transient
    failure in a row, at most ``max_pause``, by default ``MAX_PAUSE``);
    ``progress_interval`` seconds between progress snapshots; ``latency``: the expected time
    of one Bot API request, which with the limits sizes the pool of workers
    (:meth:`concurrency_for`) unless ``concurrency`` fixes it; ``linger``: how long the queue
    writer waits to gather more outcomes into one transaction (fewer, larger commits at high
    rates; each recipient's outcome still commits before its worker takes the next).
    """

    def __init__(
        self,
        db: Database,
        transport: BroadcastTransport,
        limiter: RateLimiter,
        clock: Callable[[], datetime] = utcnow,
        *,
        backoff: float = 1.0,
        max_pause: float = MAX_PAUSE,
        progress_interval: float = 2.0,
        latency: float = 0.25,
        concurrency: int | None = None,
        max_concurrency: int = 64,
        linger: float = 0.02,
    ) -> None:
        self.db = db
        self.transport = transport
        self.limiter = limiter
        self.clock = clock
        self.backoff = backoff
        self.max_pause = max_pause
        self.progress_interval = progress_interval
        self.latency = latency
        self.concurrency = concurrency
        self.max_concurrency = max_concurrency
        self.linger = linger
        self._writer = QueueWriter(db, linger=linger)
        self._runs: dict[int, BroadcastRun] = {}
        self._closing = False
        #: Whether this process sends broadcasts (False: a standby, see :meth:`lead`).
        self.leading = True
        self._starting: dict[int, asyncio.Lock] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._picked: set[asyncio.Task[BroadcastProgress]] = set()

    # ------------------------------------------------------------------ creating

    async def create(
        self,
        *,
        created_by: int | None,
        parts: Sequence[ContentPart],
        user_ids: Iterable[int],
        audience: Mapping[str, Any] | None = None,
        rsvp: bool = False,
        draft_key: str | None = None,
    ) -> Broadcast:
        """Store a draft broadcast of ``parts`` to those of ``user_ids`` it can reach (active
        users with a Telegram id; the others are left out), every recipient ``pending``.

        ``audience`` describes the recipients for display (e.g. ``{"role": "reservist",
        "label": "Все резервисты"}``). ``draft_key`` is the idempotency key of the officer's
        draft (unique, see :meth:`storage.broadcast_repo.BroadcastRepo.create_once`). Returns the
        broadcast; ``total`` is the recipient count.

        Raises:
            InputError: the content is not acceptable (:func:`validate_parts`).
            DuplicateDraftError: a broadcast was already created with ``draft_key`` (a second
                press of «Отправить», here or in another process); nothing is stored.
        """
        validate_parts(parts)
        async with self.db.session() as repo:
            broadcasts = repo.broadcasts
            fields: dict[str, Any] = {
                "created_by": created_by,
                "content": content_json(parts),
                "audience": dict(audience or {}),
                "rsvp": rsvp,
                "at": self.clock(),
            }
            if draft_key is None:
                broadcast = await broadcasts.create(**fields)
            else:
                once = await broadcasts.create_once(draft_key=draft_key, **fields)
                if once is None:
                    raise DuplicateDraftError(draft_key)
                broadcast = once
            recipients = await broadcasts.recipients_of(user_ids)
            await broadcasts.add_recipients(broadcast.id, recipients)
            stored = await broadcasts.get(broadcast.id)
            assert stored is not None
        log.info("broadcast created", broadcast_id=stored.id, total=stored.total, rsvp=rsvp)
        return stored

    async def launch(
        self,
        broadcast_id: int,
        *,
        progress_chat_id: int | None = None,
        progress_message_id: int | None = None,
    ) -> bool:
        """Make a draft or stopped broadcast ``running`` (it is then sent by :meth:`run`, and
        resumed at start-up should the process stop first); remember the progress message when
        given. Returns False when it was not a draft or stopped one.

        Raises:
            NotFoundError: no such broadcast.
        """
        async with self.db.session() as repo:
            broadcasts = repo.broadcasts
            if await broadcasts.status(broadcast_id) is None:
                raise NotFoundError(broadcast_id)
            if progress_chat_id is not None:
                await broadcasts.set_progress_message(
                    broadcast_id, progress_chat_id, progress_message_id
                )
            return await broadcasts.set_status(
                broadcast_id,
                BroadcastStatus.RUNNING,
                only_from=[BroadcastStatus.DRAFT, BroadcastStatus.STOPPED],
                started_at=self.clock(),
            )

    async def set_progress_message(
        self, broadcast_id: int, chat_id: int | None, message_id: int | None
    ) -> None:
        """Remember (or forget, with None) the officer's progress message of a broadcast."""
        async with self.db.session() as repo:
            await repo.broadcasts.set_progress_message(broadcast_id, chat_id, message_id)

    async def by_draft_key(self, draft_key: str) -> Broadcast | None:
        """The broadcast created from the draft with this idempotency key, or None."""
        async with self.db.session() as repo:
            return await repo.broadcasts.by_draft_key(draft_key)

    async def resend_failed(self, broadcast_id: int) -> int:
        """The officer's «Отправить повторно»: put the ``failed`` recipients of a ``done`` or
        ``running`` broadcast back in the queue and make it ``running`` (then :meth:`run` sends
        them). Returns how many; 0 when none failed (a second press) or the broadcast is a
        draft or stopped (resume it instead).

        Raises:
            NotFoundError: no such broadcast.
        """
        async with self.db.session() as repo:
            broadcasts = repo.broadcasts
            if await broadcasts.status(broadcast_id) is None:
                raise NotFoundError(broadcast_id)
            count = await broadcasts.requeue_failed(broadcast_id)
        if count:
            log.info("broadcast resend queued", broadcast_id=broadcast_id, recipients=count)
        return count

    # ------------------------------------------------------------------ running

    def concurrency_for(self, parts: int) -> int:
        """Workers for a broadcast of ``parts`` messages, i.e. the most recipients in flight.

        Little's law: to use the whole budget of ``per_second`` messages, ``per_second / parts``
        recipients must finish per second, each taking ``parts`` requests of ``latency`` s,
        ``parts - 1`` waits of the per-chat interval and one commit (``linger``). So 9 workers
        for one message at 30/s and 0.25 s (the in-flight window), 30 for three messages;
        clamped to 1..``max_concurrency``. A Bot API round trip is often shorter; then some
        workers wait for the limiter's slots, which costs nothing but a larger window.
        """
        if self.concurrency is not None:
            return max(1, self.concurrency)
        parts = max(1, parts)
        per_recipient = (
            parts * self.latency + (parts - 1) * self.limiter.chat_interval + self.linger
        )
        need = math.ceil(self.limiter.per_second / parts * per_recipient)
        return max(1, min(self.max_concurrency, need))

    async def run(
        self, broadcast_id: int, on_progress: ProgressCallback | None = None
    ) -> BroadcastProgress:
        """Send a broadcast until nobody is pending, it is stopped, or :meth:`shutdown`.

        A draft is launched first; a stopped or done broadcast is not sent (launch it again to
        resume a stopped one). Deliveries left ``sending`` by a process that died are sent
        again. ``on_progress`` gets a snapshot every ``progress_interval`` s and a final one
        (the final one also when there was nothing to send); its errors are logged and
        ignored. If the broadcast is already running in this
        process, waits for that run first, then sends whatever it left pending (recipients
        queued again while it ended). After :meth:`shutdown` nothing is sent. Returns the final
        snapshot.

        Raises:
            NotFoundError: no such broadcast.
        """
        if not self.leading:
            # a standby process: the leader's watcher (:meth:`lead`) picks it up within
            # seconds and edits the stored progress message
            log.info("broadcast left to the leading instance", broadcast_id=broadcast_id)
            return await self.progress(broadcast_id)
        # one start at a time per broadcast: two runs of one broadcast in this process (the
        # watcher and a handler's press) would release each other's rows in flight
        starting = self._starting.setdefault(broadcast_id, asyncio.Lock())
        async with starting:
            started = await self._start(broadcast_id)
        if isinstance(started, BroadcastProgress):
            # nothing (left) to send here: another run of it, e.g. the leader's watcher that
            # picked the broadcast up between its launch and the caller's progress message,
            # may have sent it all; the caller's progress message still shows how it ended
            if on_progress is not None:
                await _emit(on_progress, started)
            return started
        run = started
        workers = self.concurrency_for(len(run.parts))
        log.info(
            "broadcast running", broadcast_id=broadcast_id, pending=run.pending, workers=workers
        )
        try:
            run.tasks = [
                asyncio.create_task(self._worker(run), name=f"broadcast-{broadcast_id}-{n}")
                for n in range(workers)
            ]
            reporter = asyncio.create_task(self._report(run, on_progress))
            try:
                await asyncio.gather(*run.tasks)
            finally:
                run.halt()
                for task in run.tasks:
                    task.cancel()
                await asyncio.gather(*run.tasks, return_exceptions=True)
                run.sending_done.set()
                await reporter
            run.final = await self._finish(run)
        finally:
            if run.final is None:
                run.final = run.snapshot(final=True)
            run.finished.set()
            self._runs.pop(broadcast_id, None)
        if on_progress is not None:
            await _emit(on_progress, run.final)
        log.info(
            "broadcast run ended",
            broadcast_id=broadcast_id,
            status=run.final.status,
            sent=run.final.sent,
            blocked=run.final.blocked,
            failed=run.final.failed,
            pending=run.final.pending,
        )
        return run.final

    async def _start(self, broadcast_id: int) -> BroadcastRun | BroadcastProgress:
        """Register the run of a broadcast in this process after the one still going (if
        any); or the final snapshot when there is nothing to send (not running, or
        closing). Rows left ``sending`` are released for sending again: only this process
        sends this broadcast now (it is the only one, or the leader), so they are a dead
        process's, or a run of this process that ended before its sends were recorded."""
        current = self._runs.get(broadcast_id)
        while current is not None:
            await current.finished.wait()
            assert current.final is not None
            if self._closing:
                return current.final
            current = self._runs.get(broadcast_id)
        async with self.db.session() as repo:
            broadcasts = repo.broadcasts
            broadcast = await broadcasts.get(broadcast_id)
            if broadcast is None:
                raise NotFoundError(broadcast_id)
            if broadcast.status == BroadcastStatus.DRAFT:
                await broadcasts.set_status(
                    broadcast_id, BroadcastStatus.RUNNING, started_at=self.clock()
                )
                broadcast.status = BroadcastStatus.RUNNING
            released = 0
            if broadcast.status == BroadcastStatus.RUNNING and not self._closing:
                released = await broadcasts.release_in_flight(broadcast_id)
            counts = await broadcasts.counts(broadcast_id)
        run = BroadcastRun(broadcast, parts_of(broadcast), counts)
        if broadcast.status != BroadcastStatus.RUNNING or self._closing:
            run.status = broadcast.status
            run.final = run.snapshot(final=True)
            return run.final
        if released:
            log.warning("resending deliveries in doubt", broadcast_id=broadcast_id, n=released)
        self._runs[broadcast_id] = run
        return run

    async def _finish(self, run: BroadcastRun) -> BroadcastProgress:
        """Mark the broadcast done when nobody is left; the final snapshot from the database."""
        async with self.db.session() as repo:
            broadcasts = repo.broadcasts
            counts = await broadcasts.counts(run.id)
            left = counts[DeliveryState.PENDING] + counts[DeliveryState.SENDING]
            if left == 0:
                await broadcasts.finish_if_settled(run.id, self.clock())
            run.status = await broadcasts.status(run.id) or run.status
        run.sent = counts[DeliveryState.SENT]
        run.blocked = counts[DeliveryState.BLOCKED]
        run.failed = counts[DeliveryState.FAILED]
        run.pending = left
        return run.snapshot(final=True)

    async def _worker(self, run: BroadcastRun) -> None:
        """Take a recipient, send, record and take the next, until none is left."""
        send_lane.set(Lane.BROADCAST)  # this task's own context: its sends queue as bulk
        try:
            claimed = await self._writer.submit(run.id, None, claim=run.active)
            while claimed is not None:
                result = await self._deliver(run, claimed)
                blocked = claimed.user_id if result.state == DeliveryState.BLOCKED else None
                claimed = await self._writer.submit(
                    run.id, result, blocked_user=blocked, claim=run.active
                )
                run.account(result.state)
        except asyncio.CancelledError:
            raise
        except Exception:
            # the database failed repeatedly: stop this run; the broadcast stays running and
            # its rows in doubt are sent again when it is resumed
            log.exception("broadcast worker failed", broadcast_id=run.id)
            run.halt()

    async def _deliver(self, run: BroadcastRun, delivery: ClaimedDelivery) -> DeliveryResult:
        """Send every part to one recipient; never raises (but for cancellation).

        403 -> ``blocked``; a 400 or an unexpected exception -> ``failed``; a transient failure
        -> back to ``pending`` after a pause (see the package doc), unless some parts already
        went out: then the rest is retried in place, so nobody gets a part twice.
        """
        last = len(run.parts) - 1
        done_parts = 0
        tries = 0
        while True:
            tries += 1
            try:
                while done_parts <= last:
                    rsvp = run.id if run.rsvp and done_parts == last else None
                    part = run.parts[done_parts]
                    await self.transport.send_part(delivery.chat_id, part, rsvp=rsvp)
                    done_parts += 1
            except RecipientBlockedError as exc:
                log.info(
                    "recipient blocked the bot", broadcast_id=run.id, user_id=delivery.user_id
                )
                return DeliveryResult(delivery.id, DeliveryState.BLOCKED, tries, str(exc))
            except DeliveryError as exc:
                error = str(exc) or type(exc).__name__
                if isinstance(exc, RetryAfterError):
                    self.limiter.pause(exc.seconds)
                elif not exc.retryable:
                    log.warning(
                        "broadcast delivery failed",
                        broadcast_id=run.id,
                        user_id=delivery.user_id,
                        error=error,
                    )
                    return DeliveryResult(delivery.id, DeliveryState.FAILED, tries, error)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("broadcast send raised", broadcast_id=run.id)
                error = f"{type(exc).__name__}: {exc}"
                return DeliveryResult(delivery.id, DeliveryState.FAILED, tries, error)
            else:
                run.transient_streak = 0
                return DeliveryResult(delivery.id, DeliveryState.SENT, tries, None, self.clock())
            # a transient failure that outlived the transport's retry policy
            run.transient_streak += 1
            pause = min(self.max_pause, self.backoff * 2 ** min(run.transient_streak - 1, 16))
            log.warning(
                "broadcast delivery deferred",
                broadcast_id=run.id,
                user_id=delivery.user_id,
                error=error,
                pause=pause,
            )
            await run.pause(pause)
            if done_parts == 0 or not run.active:
                return DeliveryResult(delivery.id, DeliveryState.PENDING, tries, error)

    async def _report(self, run: BroadcastRun, on_progress: ProgressCallback | None) -> None:
        """Progress snapshots every ``progress_interval`` s until the run ends."""
        if on_progress is None:
            return
        while not run.sending_done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.sending_done.wait(), self.progress_interval)
            if not run.sending_done.is_set():
                await _emit(on_progress, run.snapshot())

    async def stop(self, broadcast_id: int) -> bool:
        """The officer's «Остановить»: the broadcast becomes ``stopped``; sends in flight
        finish, pending recipients stay pending until :meth:`launch`. Returns False when it
        was not a draft or running broadcast.
        """
        async with self.db.session() as repo:
            changed = await repo.broadcasts.set_status(
                broadcast_id,
                BroadcastStatus.STOPPED,
                only_from=[BroadcastStatus.DRAFT, BroadcastStatus.RUNNING],
            )
        run = self._runs.get(broadcast_id)
        if run is not None:
            run.halt(BroadcastStatus.STOPPED)
        if changed:
            log.info("broadcast stopped", broadcast_id=broadcast_id)
        return changed

    def lead(self, progress: ProgressFactory | None = None, interval: float = 3.0) -> None:
        """Make this process the broadcast runner (the leader among processes on one
        database): every broadcast ``running`` in the database and not sent here yet is run,
        now and then every ``interval`` s. That resumes what a previous (or a dead leader)
        process left running, and runs what an officer started on a standby process, whose
        :meth:`run` leaves it to the leader. ``progress`` makes each one's progress callback
        (e.g. editing its stored progress message)."""
        self.leading = True
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(
                self._watch(progress, interval), name="broadcasts.watch", context=Context()
            )

    async def _watch(self, progress: ProgressFactory | None, interval: float) -> None:
        while not self._closing:
            try:
                await self._pick_up(progress)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be back at the next look
                log.exception("looking for running broadcasts failed")
            await asyncio.sleep(interval)

    async def _pick_up(self, progress: ProgressFactory | None) -> None:
        async with self.db.session() as repo:
            unfinished = await repo.broadcasts.unfinished()
        busy = set(self._runs) | set(self._starting_now())
        new = [b for b in unfinished if b.id not in busy]
        if not new or self._closing:
            return
        log.info("resuming broadcasts", ids=[b.id for b in new])
        for broadcast in new:
            task = asyncio.create_task(
                self.run(broadcast.id, progress(broadcast) if progress else None),
                name=f"broadcast-{broadcast.id}-picked",
            )
            self._picked.add(task)
            task.add_done_callback(self._picked_done)

    def _starting_now(self) -> list[int]:
        return [i for i, lock in self._starting.items() if lock.locked()]

    def _picked_done(self, task: asyncio.Task[BroadcastProgress]) -> None:
        self._picked.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("broadcast run failed", exc_info=task.exception())

    async def shutdown(self, grace: float = 10.0) -> None:
        """Let the sends in flight finish and record them, take no new recipients; after
        ``grace`` s cancel what is left. Running broadcasts stay ``running`` in the database
        and are resumed at the next start (or by the instance that leads next)."""
        self._closing = True
        self.leading = False
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        await self._halt_runs(grace)
        picked = list(self._picked)
        if picked:
            _done, late = await asyncio.wait(picked, timeout=max(grace, 0.1))
            for task in late:
                task.cancel()
            await asyncio.gather(*picked, return_exceptions=True)

    async def _halt_runs(self, grace: float) -> None:
        runs = list(self._runs.values())
        for run in runs:
            run.halt()
        waits = [asyncio.create_task(run.finished.wait()) for run in runs]
        if not waits:
            return
        _done, late = await asyncio.wait(waits, timeout=grace)
        for waiting in late:
            waiting.cancel()
        for run in runs:
            if not run.finished.is_set():
                for task in run.tasks:
                    task.cancel()

    # ------------------------------------------------------------------ reading

    def running(self) -> list[int]:
        """Ids of the broadcasts this process is sending now."""
        return list(self._runs)

    async def progress(self, broadcast_id: int) -> BroadcastProgress:
        """The current progress of a broadcast (live when it runs here).

        Raises:
            NotFoundError: no such broadcast.
        """
        run = self._runs.get(broadcast_id)
        if run is not None:
            return run.snapshot()
        results = await self.results(broadcast_id)
        return BroadcastProgress(
            broadcast_id=broadcast_id,
            status=results.status,
            total=results.total,
            sent=results.sent,
            blocked=results.blocked,
            failed=results.failed,
            pending=results.pending,
            eta_seconds=None if results.pending else 0.0,
            final=True,
        )

    async def results(self, broadcast_id: int) -> BroadcastResults:
        """Counts by outcome and RSVP answers of a broadcast.

        Raises:
            NotFoundError: no such broadcast.
        """
        async with self.db.session() as repo:
            broadcasts = repo.broadcasts
            broadcast = await broadcasts.get(broadcast_id)
            if broadcast is None:
                raise NotFoundError(broadcast_id)
            counts = await broadcasts.counts(broadcast_id)
            answers = await broadcasts.answer_counts(broadcast_id)
        return BroadcastResults(
            broadcast=broadcast,
            sent=counts[DeliveryState.SENT],
            blocked=counts[DeliveryState.BLOCKED],
            failed=counts[DeliveryState.FAILED],
            pending=counts[DeliveryState.PENDING] + counts[DeliveryState.SENDING],
            yes=answers.get(RsvpAnswer.YES, 0),
            no=answers.get(RsvpAnswer.NO, 0),
        )

    # ------------------------------------------------------------------ RSVP

    async def answer(self, broadcast_id: int, user_id: int, answer: str) -> bool:
        """Store a recipient's «Буду» (``yes``) / «Не смогу» (``no``); answering again replaces
        the answer. Returns whether the stored answer changed.

        Raises:
            NotFoundError: no such RSVP broadcast, or the user is not one of its recipients
                (a forged or stale button).
            ValueError: ``answer`` is neither ``yes`` nor ``no``.
        """
        value = RsvpAnswer(answer)
        async with self.db.session() as repo:
            broadcasts = repo.broadcasts
            broadcast = await broadcasts.get(broadcast_id)
            if broadcast is None or not broadcast.rsvp:
                raise NotFoundError(broadcast_id)
            if await broadcasts.delivery_of(broadcast_id, user_id) is None:
                raise NotFoundError(broadcast_id)
            return await broadcasts.set_answer(broadcast_id, user_id, value, self.clock())


async def _emit(callback: ProgressCallback, snapshot: BroadcastProgress) -> None:
    try:
        await callback(snapshot)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("broadcast progress callback failed", broadcast_id=snapshot.broadcast_id)
