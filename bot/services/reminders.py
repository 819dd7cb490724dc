"""Reminder rules and the scan that applies them (APScheduler calls :meth:`ReminderService.scan`).

Rules are computed from the database on every scan, not kept as one job per reminder, so they
survive restarts and follow plan changes. Each notice is recorded once per
(user, item, kind, occasion) as ``pending``, and marked ``sent`` only after Telegram accepted
the message that carried it: a notice whose message failed (an outage, a 502 that outlived the
retry policy) stays pending and goes out at the next scan, and one that fell due while the bot
was down goes out after it starts again. (A crash between Telegram's answer and the record
would send that message again: at least once, never lost.)

Delivery: the notices due for one user in one scan go as one message listing them, with a row
of buttons per item (:func:`gather_notices`; split when over 4096 characters or
``NOTICES_PER_MESSAGE``). Users are served concurrently (``concurrency``), so the scan runs at
the shared budget of about 30 messages/s of the bot's rate limiter, in the reminders' lane:
after replies, before broadcasts.

Notices (defaults from the settings):
- ``window``: an activity's window opens in ``days_before`` days (7 and 1); only the latest
  applicable one is sent, and none for whole-year or undated items;
- ``due``: a planned item is due in at most ``due_soon_days`` days (3);
- ``overdue``: a planned item is past due, while its year lasts: in its first and second week
  past due, then every four weeks (:func:`overdue_slot`: weeks 0, 1, 2, 6, 10…; about 14 a year
  at most instead of 52);
- ``snoozed``: the user pressed «Напомнить позже» (comes back the next day).
Nothing is sent in the user's quiet hours (21:00-09:00 local by default; the shared
:class:`~bot.services.time_policy.TimePolicy`): notices wait.

Cost: a scan reads only the items that may owe a notice now (:class:`storage.repo.OwingFilter`,
computed in SQL), and the pending notices a page of users at a time (:data:`PENDING_PAGE`);
old notices are deleted by the daily retention job (:data:`NOTICE_RETENTION`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import structlog

from bot import texts
from bot.config import Settings
from bot.services.clock import utcnow
from bot.services.delivery import DeliveryError, Notifier, RecipientBlockedError, mark_blocked
from bot.services.time_policy import TimePolicy
from storage.db import Database
from storage.models import ItemStatus, PlanItem, User
from storage.repo import NoticeRow, OwingFilter, Repo

log = structlog.get_logger(__name__)

SNOOZE = timedelta(days=1)
#: Bot API limit of a message text (characters): a gathered reminder is split to keep within it.
TEXT_LIMIT = 4096
#: At most this many notices in one gathered message (two buttons each).
NOTICES_PER_MESSAGE = 10
#: Users whose pending notices one page of the sending part of a scan reads.
PENDING_PAGE = 500
#: Notices older than this are deleted (``notices.purge``). A recorded notice only keeps its
#: (user, item, kind, occasion) from being owed twice, and the rules owe the same occasion for a
#: few weeks at most: a ``window`` one up to the window's start (7 days), a ``due`` one 4 days,
#: an ``overdue`` repeat the 4 weeks of its slot (:func:`overdue_slot`); a day more for the
#: zones. Past 35 days none can be owed again (``tests/test_notice_retention.py``), and the
#: table holds about five weeks of notices instead of a year's (bytes per reservist).
NOTICE_RETENTION = timedelta(days=35)
#: Weeks past due with an ``overdue`` notice of their own; later ones share the slot of
#: :data:`OVERDUE_MONTHLY` weeks.
OVERDUE_WEEKLY = 2
OVERDUE_MONTHLY = 4


def overdue_slot(week: int) -> int:
    """The repeat an ``overdue`` notice in ``week`` past due (0-based) belongs to: weeks 0 and 1
    their own, then every :data:`OVERDUE_MONTHLY` weeks (2, 6, 10…)."""
    if week < OVERDUE_WEEKLY:
        return week
    return week - (week - OVERDUE_WEEKLY) % OVERDUE_MONTHLY


@dataclass(frozen=True, slots=True)
class ReminderRules:
    """When notices fall due (the rules of the module doc).

    Attributes:
        days_before: the days before a window opens that a ``window`` notice is owed
            (REMINDER_DAYS_BEFORE).
        due_soon_days: a ``due`` notice is owed at most this many days before the due date
            (DUE_SOON_DAYS).
        time_policy: the users' zones and quiet hours.
    """

    days_before: tuple[int, ...]
    due_soon_days: int
    time_policy: TimePolicy

    @classmethod
    def from_settings(
        cls, settings: Settings, time_policy: TimePolicy | None = None
    ) -> ReminderRules:
        """The rules configured by ``settings``, with the shared ``time_policy`` (None: the one
        of ``settings``, :meth:`TimePolicy.from_settings`)."""
        return cls(
            days_before=settings.reminder_days_before,
            due_soon_days=settings.due_soon_days,
            time_policy=time_policy or TimePolicy.from_settings(settings),
        )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A notice a rule says is owed now."""

    user_id: int
    item_id: int
    kind: str
    occasion: str


@dataclass(slots=True)
class ScanReport:
    """What one scan did, in notices (``messages``: how many messages carried the ``sent``
    ones). ``failed`` notices stay pending for the next scan. ``planned`` lists (user, item
    title, kind) for a dry run."""

    recorded: int = 0
    sent: int = 0
    messages: int = 0
    deferred: int = 0
    skipped: int = 0
    blocked: int = 0
    failed: int = 0
    planned: list[tuple[str, str, str, str]] = field(default_factory=list)


class ItemDates(Protocol):
    """What the rules read of a plan item (a PlanItem or a storage OpenItem)."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def starts_on(self) -> date | None: ...
    @property
    def due_on(self) -> date | None: ...


class Owner(Protocol):
    """What the rules read of the item's owner."""

    @property
    def id(self) -> int: ...
    @property
    def timezone(self) -> str | None: ...


def owed_notices(
    item: ItemDates, user: Owner, now: datetime, rules: ReminderRules
) -> list[Candidate]:
    """The notices ``item`` owes ``user`` at ``now`` (aware), by the rules in the module doc."""
    if item.status != ItemStatus.PLANNED or item.due_on is None:
        return []
    today = rules.time_policy.today(now, user)
    found: list[Candidate] = []
    starts = item.starts_on
    whole_year = starts is not None and starts == date(item.due_on.year, 1, 1)
    if starts is not None and not whole_year and today <= starts:
        applicable = [d for d in rules.days_before if today >= starts - timedelta(days=d)]
        if applicable:
            days = min(applicable)
            found.append(Candidate(user.id, item.id, "window", f"{starts.isoformat()}/{days}d"))
    left = (item.due_on - today).days
    if 0 <= left <= rules.due_soon_days and not (starts is not None and today < starts):
        found.append(Candidate(user.id, item.id, "due", item.due_on.isoformat()))
    if left < 0 and today.year == item.due_on.year:
        week = overdue_slot((-left - 1) // 7)
        found.append(Candidate(user.id, item.id, "overdue", f"{item.due_on.isoformat()}/w{week}"))
    return found


def render(kind: str, item: PlanItem, today: date) -> str:
    """The Russian text of a notice of ``kind`` about ``item`` on the user's ``today``."""
    if kind == "window" and item.starts_on is not None:
        return texts.notice_window(item.title, item.starts_on, (item.starts_on - today).days)
    if kind == "due" and item.due_on is not None:
        return texts.notice_due(item.title, item.due_on, (item.due_on - today).days)
    if kind == "overdue" and item.due_on is not None:
        return texts.notice_overdue(item.title, item.due_on)
    return texts.notice_snoozed(item.title)


@dataclass(frozen=True, slots=True)
class _Owner:
    id: int
    timezone: str | None


class ReminderService:
    """Scans plans for owed notices, records them, and sends what may be sent now.

    ``concurrency``: how many users' messages are in flight at once. The rate itself is kept by
    the transport (the bot's shared :class:`~bot.services.delivery.RateLimiter`, reminders'
    lane); the workers only have to keep it fed: at 30 messages/s and a round trip of about
    0.25 s, 8 would do, and 16 leave room for slower answers.
    """

    def __init__(
        self,
        db: Database,
        rules: ReminderRules,
        notifier: Notifier | None,
        clock: Callable[[], datetime],
        *,
        concurrency: int = 16,
    ) -> None:
        self.db = db
        self.rules = rules
        self.notifier = notifier
        self.clock = clock
        self.concurrency = max(1, concurrency)
        #: the moment (the bot's clock) of the last scan that recorded its notices, and the
        #: real time it began reading (None: none since the start)
        self._last_scan: tuple[datetime | None, datetime | None] = (None, None)

    async def scan(self, now: datetime | None = None, *, dry_run: bool = False) -> ScanReport:
        """Record the notices owed at ``now`` (default: the clock) and send the pending ones.

        With ``dry_run`` nothing is written or sent; ``report.planned`` lists who would get what.
        """
        now = now or self.clock()
        report = ScanReport()
        years = [now.year - 1, now.year, now.year + 1]
        async with self.db.session() as repo:
            since, changed = (None, None) if dry_run else self._last_scan
            started = utcnow()
            rows = await repo.plans.open_items_of_years(years, self.owing(now, since, changed))
            candidates: list[Candidate] = []
            by_id = {row.id: row for row in rows}
            for row in rows:
                owner = _Owner(row.user_id, row.timezone)
                candidates.extend(owed_notices(row, owner, now, self.rules))
            if dry_run:
                known = await repo.notices.recorded_keys(c.item_id for c in candidates)
                for c in candidates:
                    if (c.user_id, c.item_id, c.kind, c.occasion) not in known:
                        row = by_id[c.item_id]
                        who = row.full_name or str(row.user_id)
                        report.planned.append((who, row.title, c.kind, c.occasion))
                await repo.rollback()
                return report
            report.recorded = await repo.notices.record(
                [
                    {
                        "user_id": c.user_id,
                        "item_id": c.item_id,
                        "kind": c.kind,
                        "occasion": c.occasion,
                        "not_before": now,
                    }
                    for c in candidates
                ]
            )
        self._last_scan = (now, started - timedelta(seconds=1))
        await self._send_pending(now, report)
        log.info(
            "reminder scan",
            recorded=report.recorded,
            sent=report.sent,
            deferred=report.deferred,
            skipped=report.skipped,
            blocked=report.blocked,
            failed=report.failed,
        )
        return report

    def owing(
        self, now: datetime, since: datetime | None = None, changed_since: datetime | None = None
    ) -> OwingFilter:
        """The SQL prefilter of the items that may owe a notice at ``now`` (a day wide of
        every zone's date; :func:`owed_notices` decides).

        Without ``since`` (the first scan after a start, a dry run): every item in a window's
        lead time, due soon, or overdue this year. With ``since`` (the previous scan's moment)
        only the items for which a rule's date was crossed since then — a window's lead of
        ``d`` days began, the due-soon days began, the window opened, the next overdue repeat
        (:func:`overdue_slot`) began — and those changed since ``changed_since`` (real time: a
        new or edited item). Between two scans nothing else can start to owe a notice, so the
        steady state reads a handful of rows, not every open item."""
        day = now.astimezone(UTC).date()
        first, last = day - timedelta(days=1), day + timedelta(days=1)
        lead = max(self.rules.days_before, default=0)
        soon = timedelta(days=self.rules.due_soon_days)
        year_start, one = date(first.year, 1, 1), timedelta(days=1)
        if since is None or since > now:
            return OwingFilter(
                year_start=year_start,
                last_overdue=last,
                starts_ranges=((first, last + timedelta(days=lead)),),
                due_ranges=((first, last + soon),),
            )
        low = since.astimezone(UTC).date() - one
        leads = (*self.rules.days_before, 0)
        slots = sorted({overdue_slot(w) for w in range(54)})
        return OwingFilter(
            year_start=year_start,
            last_overdue=last,
            starts_ranges=tuple(
                (low + timedelta(days=d), last + timedelta(days=d)) for d in leads
            ),
            due_ranges=((low + soon, last + soon),),
            # slot s repeats from due + 1 + 7 s on: the due dates whose repeat began in [low, last]
            overdue_ranges=tuple(
                (low - timedelta(days=1 + 7 * s), last - timedelta(days=1 + 7 * s)) for s in slots
            ),
            changed_since=changed_since,
        )

    async def _send_pending(self, now: datetime, report: ScanReport) -> None:
        """Send the pending notices whose moment has come, :data:`PENDING_PAGE` users at a
        time (memory stays flat however many wait, in quiet hours)."""
        after = 0
        while True:
            async with self.db.session() as repo:
                users = await repo.notices.pending_users(now, after_id=after, limit=PENDING_PAGE)
                pending = await repo.notices.pending_of(users, now) if users else []
            if not users:
                return
            after = users[-1]
            await self._send_page(pending, now, report)

    async def _send_page(
        self, pending: Sequence[NoticeRow], now: datetime, report: ScanReport
    ) -> None:
        superseded = _superseded_window_notices(pending)
        stale_ids: list[int] = []
        due: dict[int, list[NoticeRow]] = {}
        for row in pending:
            user, item, notice = row.user, row.item, row.notice
            stale = (
                notice.id in superseded
                or item.status != ItemStatus.PLANNED
                or item.archived
                or not user.active
                or user.muted
                or user.telegram_id is None
            )
            if stale:
                stale_ids.append(notice.id)
                continue
            if self.notifier is None or self.rules.time_policy.is_quiet(now, user):
                report.deferred += 1
                continue
            due.setdefault(user.id, []).append(row)
        if stale_ids:
            async with self.db.session() as repo:
                await repo.notices.set_status_many(stale_ids, "skipped")
            report.skipped += len(stale_ids)
        if not due or self.notifier is None:
            return
        gate = asyncio.Semaphore(self.concurrency)
        sent_log = _SentLog(self.db, now)
        await asyncio.gather(
            *(
                self._deliver_to(rows, now, report, gate, self.notifier, sent_log)
                for rows in due.values()
            )
        )

    async def _deliver_to(
        self,
        rows: Sequence[NoticeRow],
        now: datetime,
        report: ScanReport,
        gate: asyncio.Semaphore,
        notifier: Notifier,
        sent_log: _SentLog,
    ) -> None:
        """Send one user's due notices, gathered into as few messages as :func:`gather_notices`
        allows, and record each message's notices as sent once Telegram accepted it."""
        user = rows[0].user
        assert user.telegram_id is not None
        today = self.rules.time_policy.today(now, user)
        messages = gather_notices(rows, today)
        async with gate:
            for index, message in enumerate(messages):
                ids = [row.notice.id for row in message.rows]
                try:
                    await notifier.send_notices(user.telegram_id, message.text, message.items)
                except RecipientBlockedError:
                    async with self.db.session() as repo:
                        await mark_blocked(repo, user.id)
                    report.blocked += 1
                    log.info("user blocked the bot", user_id=user.id)
                    return
                except DeliveryError as exc:
                    # left pending: the next scan sends them again
                    report.failed += sum(len(m.rows) for m in messages[index:])
                    log.warning(
                        "reminders not delivered", user_id=user.id, notices=ids, error=str(exc)
                    )
                    return
                await sent_log.record(ids)
                report.sent += len(ids)
                report.messages += 1


class _SentLog:
    """Marks notices ``sent`` for the workers of one scan. Each worker waits until its
    message's notices are committed; the ones that arrive while a transaction is being
    committed go into the next one together ("group commit"), so the database sees one writer
    and a commit per batch rather than per message."""

    def __init__(self, db: Database, at: datetime) -> None:
        self.db = db
        self.at = at
        self._waiting: list[tuple[list[int], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def record(self, notice_ids: list[int]) -> None:
        """Mark ``notice_ids`` sent; returns once committed.

        Raises:
            SQLAlchemyError: the database refused the write.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.append((notice_ids, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(), name="reminders-sent-log")
        await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            ids = [notice_id for notice_ids, _ in batch for notice_id in notice_ids]
            try:
                async with self.db.session() as repo:
                    await repo.notices.set_status_many(ids, "sent", self.at)
            except Exception as exc:  # handed to every waiting worker
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
        self._task = None


@dataclass(frozen=True, slots=True)
class NoticeMessage:
    """One reminder message: the notices it carries, its text and its buttons' items."""

    rows: list[NoticeRow]
    text: str
    items: list[tuple[int, str]]


def gather_notices(
    rows: Sequence[NoticeRow],
    today: date,
    *,
    limit: int = TEXT_LIMIT,
    per_message: int = NOTICES_PER_MESSAGE,
) -> list[NoticeMessage]:
    """One user's due notices as messages: a single notice as its own text, several as one
    numbered list under a heading, split so that no message is over ``limit`` characters (the
    Bot API's 4096 for a text message) or carries more than ``per_message`` notices (two
    buttons each, far within an inline keyboard's size).
    """
    rendered = [(row, render(row.notice.kind, row.item, today)) for row in rows]
    if len(rendered) == 1:
        row, text = rendered[0]
        return [NoticeMessage([row], text, [(row.item.id, row.item.title)])]
    chunks: list[list[tuple[NoticeRow, str]]] = [[]]
    size = 0
    for row, text in rendered:
        chunk = chunks[-1]
        line = len(texts.notice_numbered(len(chunk) + 1, text)) + 2
        head = len(texts.notices_digest(per_message))
        if chunk and (len(chunk) >= per_message or head + size + line > limit):
            chunks.append([])
            chunk, size = chunks[-1], 0
            line = len(texts.notice_numbered(1, text)) + 2
        chunk.append((row, text))
        size += line
    messages = []
    for chunk in chunks:
        if len(chunk) == 1:
            row, text = chunk[0]
            messages.append(NoticeMessage([row], text, [(row.item.id, row.item.title)]))
            continue
        body = "\n\n".join(texts.notice_numbered(n, text) for n, (_, text) in enumerate(chunk, 1))
        messages.append(
            NoticeMessage(
                [row for row, _ in chunk],
                f"{texts.notices_digest(len(chunk))}\n\n{body}",
                [(row.item.id, row.item.title) for row, _ in chunk],
            )
        )
    return messages


def _superseded_window_notices(pending: Sequence[NoticeRow]) -> set[int]:
    """Ids of pending ``window`` notices with a newer one pending for the same user and item
    (the 7-day notice still waiting when the 1-day one falls due): only the newest is sent."""
    newest: dict[tuple[int, int], NoticeRow] = {}
    older: set[int] = set()
    for row in pending:
        if row.notice.kind != "window":
            continue
        key = (row.notice.user_id, row.notice.item_id)
        days = _window_days(row.notice.occasion)
        current = newest.get(key)
        if current is None:
            newest[key] = row
        elif days < _window_days(current.notice.occasion):
            older.add(current.notice.id)
            newest[key] = row
        else:
            older.add(row.notice.id)
    return older


def _window_days(occasion: str) -> int:
    """Days before the window of a ``window`` occasion such as ``2026-03-01/7d``."""
    try:
        return int(occasion.rsplit("/", 1)[1].removesuffix("d"))
    except (IndexError, ValueError):
        return 0


async def snooze(
    repo: Repo, user: User, item_id: int, now: datetime, occasion: str
) -> bool | None:
    """Ask for the reminder about ``item_id`` again in a day (``SNOOZE``) after ``now``.

    ``occasion`` names the reminder whose «Напомнить позже» was pressed (e.g. its message id):
    pressing the same button again, however soon, records nothing more.

    Returns True when the snooze was recorded, False when this reminder was already snoozed,
    None when the item is not the user's or is no longer planned (nothing recorded).
    """
    item = await repo.plans.item_of_user(item_id, user.id)
    if item is None or item.status != ItemStatus.PLANNED:
        return None
    data: dict[str, Any] = {
        "user_id": user.id,
        "item_id": item.id,
        "kind": "snoozed",
        "occasion": occasion,
        "not_before": now + SNOOZE,
    }
    return await repo.notices.record([data]) == 1
