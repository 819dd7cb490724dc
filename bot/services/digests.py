"""Digests for the pairs «резервист – наставник» (run by the scheduler with the reminder scan):

- ``confirm``: consultations waiting for someone's confirmation for a day or more are sent
  again, folded into one digest per person, at most once a day (the user's local date is the
  occasion), never in quiet hours;
- ``weekly``: a mentor's mentees with overdue items or no activity for 30 days, at most once
  per ISO week (local), only when there is someone to name.

Each digest is recorded in ``digest_log`` before it is sent (once per user, kind, occasion) and
the record is dropped again if delivery fails (after the transport's retry policy), so the next
scan retries it; a 403 follows the one rule (:func:`bot.services.delivery.mark_blocked`).
Digests go through the same transport path as reminders (the reminders' lane of the shared rate
limiter, the bot's retry policy); they are few (one per person and day at most), so they are
sent one after another.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Protocol

import structlog

from bot import texts
from bot.services.delivery import DeliveryError, RecipientBlockedError, mark_blocked
from bot.services.mentoring import MenteeProgress, MentoringService
from bot.services.time_policy import TimePolicy
from storage.db import Database
from storage.models import Consultation, Role, User
from storage.repo.mentoring import PairMember

log = structlog.get_logger(__name__)

RESEND_AFTER = timedelta(days=1)


class DigestNotifier(Protocol):
    """Sends digests."""

    async def send_confirmation_digest(
        self, chat_id: int, text: str, entries: Sequence[tuple[int, str]]
    ) -> None:
        """Send ``text`` with a confirm / decline row per (consultation id, label).

        Raises:
            RecipientBlockedError: 403. DeliveryError: anything else.
        """
        ...

    async def send_text(self, chat_id: int, text: str) -> None:
        """Send ``text`` (HTML). Raises as :meth:`send_confirmation_digest`."""
        ...


@dataclass(slots=True)
class DigestReport:
    """What one run sent."""

    confirm: int = 0
    weekly: int = 0
    deferred: int = 0
    failed: int = 0


class DigestService:
    """Builds and sends the digests of the module doc; ``time_policy`` (shared) gives the
    users' local dates and quiet hours."""

    def __init__(
        self,
        db: Database,
        time_policy: TimePolicy,
        notifier: DigestNotifier,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.time_policy = time_policy
        self.notifier = notifier
        self.clock = clock

    async def run(self, now: datetime | None = None) -> DigestReport:
        """Send the digests due at ``now`` (default: the clock)."""
        now = now or self.clock()
        report = DigestReport()
        await self._confirmations(now, report)
        await self._weekly(now, report)
        if report.confirm or report.weekly or report.failed:
            log.info("digests", confirm=report.confirm, weekly=report.weekly, failed=report.failed)
        return report

    async def _confirmations(self, now: datetime, report: DigestReport) -> None:
        async with self.db.session() as repo:
            waiting = await repo.mentoring.pending_before(now - RESEND_AFTER)
            by_user: dict[int, list[Consultation]] = defaultdict(list)
            for c in waiting:
                other = c.mentor_id if c.logged_by == c.reservist_id else c.reservist_id
                by_user[other].append(c)
            people = await repo.users.by_ids(
                [*by_user, *(c.logged_by for c in waiting if c.logged_by is not None)]
            )
        for user_id, consultations in by_user.items():
            user = people.get(user_id)
            if user is None or user.telegram_id is None or not user.active:
                continue
            if self.time_policy.is_quiet(now, user):
                report.deferred += 1
                continue
            occasion = self.time_policy.today(now, user)
            entries = []
            for c in consultations:
                author = people.get(c.logged_by) if c.logged_by is not None else None
                who = (author.full_name if author else None) or "—"
                entries.append((c.id, texts.digest_line(who, c.held_on, c.topic)))
            text = texts.confirm_digest(len(entries))
            await self._deliver(
                user,
                "confirm",
                occasion.isoformat(),
                report,
                partial(self.notifier.send_confirmation_digest, user.telegram_id, text, entries),
            )

    async def _weekly(self, now: datetime, report: DigestReport) -> None:
        async with self.db.session() as repo:
            mentors = await repo.users.by_role(Role.MENTOR)
            plans: list[tuple[User, list[str]]] = []
            service = MentoringService(repo)
            # a fixed number of queries: every active pair at once, the mentees' progress once
            # per distinct local date of the mentors (not the mentees and progress per mentor)
            mentees: dict[int, list[PairMember]] = {}
            for pair in await repo.mentoring.active_pairs():
                if not pair.reservist.anonymised:
                    mentees.setdefault(pair.mentor.id, []).append(pair.reservist)
            days: dict[int, date] = {}
            for mentor in mentors:
                if mentor.telegram_id is None or not mentor.active or mentor.muted:
                    continue
                days[mentor.id] = self.time_policy.today(now, mentor)
            progress: dict[tuple[date, int], MenteeProgress] = {}
            for day in set(days.values()):
                people = [r for m, d in days.items() if d == day for r in mentees.get(m, [])]
                for p in await service.progress(people, day):
                    progress[(day, p.user.id)] = p
            for mentor in mentors:
                if mentor.id not in days:
                    continue
                today = days[mentor.id]
                ordered = sorted(
                    mentees.get(mentor.id, []), key=lambda u: (u.full_name or "", u.id)
                )
                lines = [
                    texts.weekly_line(p.user.full_name or "—", p.overdue, p.stalled(now))
                    for p in (progress[(today, r.id)] for r in ordered)
                    if p.overdue or p.stalled(now)
                ]
                if lines:
                    plans.append((mentor, lines))
        for mentor, lines in plans:
            if self.time_policy.is_quiet(now, mentor):
                report.deferred += 1
                continue
            today = self.time_policy.today(now, mentor)
            year, week, _ = today.isocalendar()
            text = texts.mentor_weekly(lines)
            await self._deliver(
                mentor,
                "weekly",
                f"{year}-W{week:02d}",
                report,
                partial(self.notifier.send_text, mentor.telegram_id or 0, text),
            )

    async def _deliver(
        self,
        user: User,
        kind: str,
        occasion: str,
        report: DigestReport,
        send: Callable[[], Awaitable[None]],
    ) -> None:
        async with self.db.session() as repo:
            if not await repo.mentoring.record_digest(user.id, kind, occasion):
                return
        try:
            await send()
        except RecipientBlockedError:
            async with self.db.session() as repo:
                await mark_blocked(repo, user.id)
            report.failed += 1
            return
        except DeliveryError as exc:
            async with self.db.session() as repo:
                await repo.mentoring.forget_digest(user.id, kind, occasion)
            report.failed += 1
            log.warning("digest not delivered", user_id=user.id, kind=kind, error=str(exc))
            return
        if kind == "confirm":
            report.confirm += 1
        else:
            report.weekly += 1
