"""Reminder rules and the scan that applies them (APScheduler calls :meth:`ReminderService.scan`).

Rules are computed from the database on every scan, not kept as one job per reminder, so they
survive restarts and follow plan changes. Each notice is recorded once per
(user, item, kind, occasion) before it is sent, so it goes out at most once, and one that fell
due while the bot was down goes out after it starts again.

Notices (defaults from the settings):
- ``window``: an activity's window opens in ``days_before`` days (7 and 1); only the latest
  applicable one is sent, and none for whole-year or undated items;
- ``due``: a planned item is due in at most ``due_soon_days`` days (3);
- ``overdue``: a planned item is past due, at most once a week per item, while its year lasts;
- ``snoozed``: the user pressed «Напомнить позже» (comes back the next day).
Nothing is sent in the user's quiet hours (21:00-09:00 local by default): notices wait.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import structlog

from bot import texts
from bot.services.clock import in_quiet_hours, local_today, zone_of
from bot.services.delivery import DeliveryError, Notifier, RecipientBlockedError
from storage.db import Database
from storage.models import ItemStatus, PlanItem, User
from storage.repo import NoticeRow, Repo

log = structlog.get_logger(__name__)

SNOOZE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ReminderRules:
    """When notices fall due. Rules from the issue: 7/1 days before, due in ≤ 3 days, weekly."""

    days_before: tuple[int, ...] = (7, 1)
    due_soon_days: int = 3
    quiet_start: int = 21
    quiet_end: int = 9
    default_timezone: str = "Europe/Moscow"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A notice a rule says is owed now."""

    user_id: int
    item_id: int
    kind: str
    occasion: str


@dataclass(slots=True)
class ScanReport:
    """What one scan did. ``planned`` lists (user, item title, kind) for a dry run."""

    recorded: int = 0
    sent: int = 0
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
    zone = zone_of(user.timezone, rules.default_timezone)
    today = local_today(now, zone)
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
        week = (-left - 1) // 7
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
    """Scans plans for owed notices, records them, and sends what may be sent now."""

    def __init__(
        self,
        db: Database,
        rules: ReminderRules,
        notifier: Notifier | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.rules = rules
        self.notifier = notifier
        self.clock = clock

    async def scan(self, now: datetime | None = None, *, dry_run: bool = False) -> ScanReport:
        """Record the notices owed at ``now`` (default: the clock) and send the pending ones.

        With ``dry_run`` nothing is written or sent; ``report.planned`` lists who would get what.
        """
        now = now or self.clock()
        report = ScanReport()
        years = [now.year - 1, now.year, now.year + 1]
        async with self.db.session() as repo:
            rows = await repo.plans.open_items_of_years(years)
            candidates: list[Candidate] = []
            by_id = {row.id: row for row in rows}
            for row in rows:
                owner = _Owner(row.user_id, row.timezone)
                candidates.extend(owed_notices(row, owner, now, self.rules))
            if dry_run:
                for c in candidates:
                    if not await repo.notices.exists(c.user_id, c.item_id, c.kind, c.occasion):
                        row = by_id[c.item_id]
                        who = row.full_name or str(row.user_id)
                        report.planned.append((who, row.title, c.kind, c.occasion))
                await repo.session.rollback()
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

    async def _send_pending(self, now: datetime, report: ScanReport) -> None:
        async with self.db.session() as repo:
            pending = await repo.notices.pending(now)
        superseded = _superseded_window_notices(pending)
        for row in pending:
            user, item, notice = row.user, row.item, row.notice
            zone = zone_of(user.timezone, self.rules.default_timezone)
            stale = (
                notice.id in superseded
                or item.status != ItemStatus.PLANNED
                or item.archived
                or not user.active
                or user.muted
                or user.telegram_id is None
            )
            if stale:
                async with self.db.session() as repo:
                    await repo.notices.set_status(notice.id, "skipped")
                report.skipped += 1
                continue
            if in_quiet_hours(now, zone, self.rules.quiet_start, self.rules.quiet_end):
                report.deferred += 1
                continue
            if self.notifier is None:
                report.deferred += 1
                continue
            assert user.telegram_id is not None
            text = render(notice.kind, item, local_today(now, zone))
            try:
                await self.notifier.send_reminder(user.telegram_id, text, item.id)
            except RecipientBlockedError:
                async with self.db.session() as repo:
                    await repo.users.set_active(user.id, False)
                    await repo.notices.skip_for_user(user.id)
                report.blocked += 1
                log.info("user blocked the bot", user_id=user.id)
                continue
            except DeliveryError as exc:
                report.failed += 1
                log.warning("reminder not delivered", notice_id=notice.id, error=str(exc))
                continue
            async with self.db.session() as repo:
                await repo.notices.set_status(notice.id, "sent", now)
            report.sent += 1


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


async def snooze(repo: Repo, user: User, item_id: int, now: datetime) -> bool:
    """Ask for the reminder about ``item_id`` again in a day (``SNOOZE``) after ``now``.

    Returns False when the item is not the user's or is no longer planned (nothing recorded).
    """
    item = await repo.plans.item_of_user(item_id, user.id)
    if item is None or item.status != ItemStatus.PLANNED:
        return False
    data: dict[str, Any] = {
        "user_id": user.id,
        "item_id": item.id,
        "kind": "snoozed",
        "occasion": now.isoformat(timespec="seconds"),
        "not_before": now + SNOOZE,
    }
    await repo.notices.record([data])
    return True
