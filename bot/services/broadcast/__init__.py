"""Broadcasts (рассылки): officers' announcements to hundreds or thousands of users, sent as a
durable queue at Telegram's limits. No aiogram here: messages go out through a
:class:`BroadcastTransport` (the aiogram one is :mod:`bot.telegram.broadcast`).

Rules (from the issue "durable broadcasts at Telegram's limit"):

- Every recipient is a row of ``broadcast_deliveries`` (pending / sending / sent / blocked /
  failed). A worker marks a row ``sending`` in the same transaction that records the outcome of
  its previous row, sends, and records the outcome before it takes the next one. So a crash
  leaves at most one row ``sending`` per worker, and only those are in doubt: when the broadcast
  resumes they are sent again (at-least-once for them, exactly-once for everyone else). The
  in-flight window is therefore the number of workers, :meth:`BroadcastService.concurrency_for`
  (9 for a one-message broadcast at 30 messages/s; see there); an in-doubt recipient of a
  broadcast of several messages gets all of them again. A graceful shutdown
  (:meth:`BroadcastService.shutdown`) lets the sends in flight finish and leaves none in doubt.
  Rows left ``sending`` are taken for a dead process's when a run starts: only one process
  sends broadcasts, the leader among the processes on one database (:mod:`storage.leader`;
  on SQLite there is only one), so when a leader dies the next one resends its rows in flight
  and nothing else.
- Several processes: :meth:`BroadcastService.run` in a standby (``leading`` False) sends
  nothing and leaves the broadcast, ``running`` in the database, to the leader, whose watcher
  (:meth:`BroadcastService.lead`) runs every ``running`` broadcast it is not sending yet,
  every few seconds (at start that is the resumption of what was left running). Within one
  process one run of a broadcast starts at a time.
- Limits: every send waits for a :class:`~bot.services.delivery.RateLimiter` slot in the
  ``BROADCAST`` lane (the request middleware takes it), so replies and reminders go first and
  all broadcasts running at once share one budget: ≈30 messages/s in all, 1/s per chat.
- Errors. Every request goes through the bot's one retry policy first
  (:class:`bot.telegram.RetryMiddleware`: network errors, 5xx, 429 with ``retry_after``, within
  a bounded time). What outlives it is handled per recipient: a 403 makes the recipient
  ``blocked`` and the user inactive (:func:`bot.services.delivery.mark_blocked`, the rule the
  reminders follow too); a 400 Bad Request (``retryable`` False, or an unexpected exception)
  makes it ``failed`` at once, since repeating it cannot help; a transient failure (network,
  5xx, a 429 the policy gave up on) is not final: the recipient goes back to ``pending``
  after a pause (``backoff``, doubling with each transient failure in a row, at most
  ``MAX_PAUSE``) and is taken again later in the run, or when the broadcast resumes. (When
  some parts of a multi-message broadcast already reached that recipient, the rest is retried
  in place instead, so no part arrives twice.) The officer's «Отправить повторно»
  (:meth:`BroadcastService.resend_failed`) puts ``failed`` recipients back in the queue.
- A stop (:meth:`BroadcastService.stop`, the officer's «Остановить») makes the broadcast
  ``stopped``: the sends in flight finish, pending recipients stay pending and are sent only
  after an explicit :meth:`BroadcastService.launch`. At start-up the leading process resumes
  every broadcast left ``running`` (:meth:`BroadcastService.lead`).
- Writes of all running broadcasts go through one writer task that groups whatever is waiting
  into one transaction ("group commit"), so SQLite sees one writer and the queue costs about one
  commit per recipient at most.

The package, one module per seam:

- :mod:`~bot.services.broadcast.content`: what a broadcast says (:class:`ContentPart`), its
  stored form and the check of Telegram's limits (:func:`validate_parts`);
- :mod:`~bot.services.broadcast.progress`: the officer's view, :class:`BroadcastProgress`
  snapshots of a run and the :class:`BroadcastResults` report;
- :mod:`~bot.services.broadcast.writer`: the group-commit writer of the delivery queue;
- :mod:`~bot.services.broadcast.run`: the in-memory side of one broadcast being sent;
- :mod:`~bot.services.broadcast.service`: :class:`BroadcastService` (creating, running,
  stopping, resuming, reading, RSVP) and the :class:`BroadcastTransport` it sends through.
"""

from bot.services.broadcast.content import (
    ContentPart,
    PartKind,
    content_json,
    parts_of,
    validate_parts,
)
from bot.services.broadcast.progress import (
    BroadcastProgress,
    BroadcastResults,
    ProgressCallback,
    ProgressFactory,
)
from bot.services.broadcast.service import (
    MAX_PAUSE,
    BroadcastService,
    BroadcastTransport,
    DuplicateDraftError,
)

__all__ = [
    "MAX_PAUSE",
    "BroadcastProgress",
    "BroadcastResults",
    "BroadcastService",
    "BroadcastTransport",
    "ContentPart",
    "DuplicateDraftError",
    "PartKind",
    "ProgressCallback",
    "ProgressFactory",
    "content_json",
    "parts_of",
    "validate_parts",
]
