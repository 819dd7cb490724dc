"""The demo's loader: :func:`load_demo` fills an empty, migrated database with the demo district
(see :mod:`bot.sandbox.demo`) in one transaction, through the program's own services.

``_Loader`` does it step by step, each a section: the people (registration by invite links and
imported lists, status changes, pairs), the plans (items logged done, mentors' confirmations
and comments, interview conclusions), consultations, broadcasts, and at the end the moments
the services stamped with the real clock set to the demo's own. It reads the roster of
:mod:`~bot.sandbox.demo.roster`, the calendar of :mod:`~bot.sandbox.demo.timeline` and the words
of :mod:`~bot.sandbox.demo.writing`.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot import texts
from bot.config import Settings
from bot.sandbox.demo.roster import DISTRICT, DemoCast, _cast_of, _Person, _Roster, _roster
from bot.sandbox.demo.timeline import _Timeline
from bot.sandbox.demo.writing import (
    _CONCLUSIONS,
    _DECLINE_REASONS,
    _FINISHED_BROADCAST,
    _ITEM_COMMENTS,
    _MENTOR_COMMENTS,
    _RUNNING_BROADCAST,
    _TOPICS,
)
from bot.services.audience import Audience, AudienceKind, recipients
from bot.services.broadcast import BroadcastService, ContentPart
from bot.services.delivery import RateLimiter
from bot.services.lifecycle import LifecycleService, StatusStep
from bot.services.mentoring import MentoringService
from bot.services.people import PeopleService, Profile
from bot.services.people_import import PeopleImportService, read_table
from bot.services.plans import PlanService, new_plan_rows
from bot.services.roadmap_import import ensure_default_roadmap
from bot.services.scope import roadmap_for
from bot.services.time_policy import TimePolicy
from bot.services.year_report import YearReportService
from scheduler.jobs import ensure_plans
from storage.broadcast_models import Broadcast, DeliveryState, RsvpAnswer
from storage.broadcast_repo import DeliveryResult
from storage.db import Database, current_session
from storage.models import ItemStatus, PlanItem, ReserveStatus, Role, User
from storage.repo import Repo

#: The bot's username in the links of the imported lists (the links are not kept, only codes).
BOT_USERNAME = "reserve_demo_bot"

#: How diligent the reservists of each municipality are on average (share of items logged).
_DILIGENCE = (0.86, 0.68, 0.48)
#: Reservists of each municipality who log everything (the plan's indicator has someone).
_BEST = (2, 1, 1)
#: Reservists of each municipality who never log anything (and have no mentor).
_IDLE = (0, 1, 2)


class DemoNotEmptyError(Exception):
    """The database already has people: the demo is loaded only into an empty one."""


class _NoTransport:
    """The broadcast service's transport while the demo is loaded: nothing is sent then (the
    running broadcast is sent by the bot once it starts)."""

    async def send_part(
        self,
        chat_id: int,  # noqa: ARG002
        part: ContentPart,  # noqa: ARG002
        *,
        rsvp: int | None = None,  # noqa: ARG002
    ) -> None:
        raise RuntimeError("the demo loader sends nothing")

    async def send_content(
        self,
        chat_id: int,  # noqa: ARG002
        parts: Sequence[ContentPart],  # noqa: ARG002
        *,
        rsvp: int | None = None,  # noqa: ARG002
    ) -> None:
        raise RuntimeError("the demo loader sends nothing")


async def load_demo(
    db: Database, settings: Settings, *, now: datetime, seed: int = 2026
) -> DemoCast:
    """Fill an empty, migrated database with the demo district (see the module docstring) in
    one transaction, through the program's services.

    Args:
        db: the database, migrated to head, with no user (the default roadmap may be loaded;
            it is loaded when missing).
        settings: the bot's settings (the default zone dates everything; the invite TTL).
        now: the bot's clock, aware UTC: the plan year is its year in the default zone, and
            everything logged happened before it.
        seed: the random generator's seed; the same seed and ``now`` give the same rows.

    Returns:
        The cast (as :func:`cast` with ``seed``).

    Raises:
        DemoNotEmptyError: a user exists in the database; nothing is changed.
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        msg = "naive datetime"
        raise ValueError(msg)
    now = now.astimezone(UTC)
    roster = _roster(seed)
    async with db.raw_session() as session, session.begin():
        token = current_session.set(session)  # the services join this one transaction
        try:
            repo = Repo(session)
            if await repo.demo.has_users():
                raise DemoNotEmptyError
            await _Loader(db, settings, repo, roster, now, seed).load()
        finally:
            current_session.reset(token)
    return _cast_of(roster)


class _Loader:
    """One load of the demo into ``repo``'s transaction."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        repo: Repo,
        roster: _Roster,
        now: datetime,
        seed: int,
    ) -> None:
        self.db = db
        self.settings = settings
        self.repo = repo
        self.demo = repo.demo
        self.roster = roster
        self.now = now
        self.rng = random.Random(f"reserve-demo-{seed}")
        self.t = _Timeline(now, TimePolicy.from_settings(settings), self.rng)
        self.year = self.t.today.year
        self.year_start = datetime.combine(
            date(self.year, 1, 1), time(0), tzinfo=self.t.zone
        ).astimezone(UTC)
        self.users: dict[int, User] = {}  # by Telegram id
        self.registered: dict[int, datetime] = {}  # by Telegram id
        self.status_on: dict[int, date] = {}  # reservists who left the reserve: since when
        self.pair_start: dict[int, datetime] = {}  # reservist tg -> current pair's start
        self.invite_codes: list[tuple[int, str]] = []
        self.seed = seed
        #: the reassigned reservist: (tg, first mentor's tg, first pair's start, change moment)
        self.first_pair: tuple[int, int, datetime, datetime] = (0, 0, now, now)
        #: the reservist of a stalled pair (nothing logged, no consultation) and since when
        self.quiet = 0
        self.quiet_since = self.t.today
        #: what each reservist logged done: tg -> [(item id, moment, with evidence)]
        self.done: dict[int, list[tuple[int, datetime, bool]]] = {}

    # ------------------------------------------------------------------ the whole load

    async def load(self) -> None:
        await ensure_default_roadmap(self.db, self.settings)
        await self.demo.retime_roadmap(self.year_start)
        await self.register_people()
        await self.move_statuses()
        await self.assign_pairs()
        await self.log_items()
        await self.consult()
        await self.review_items()
        await self.conclude()
        await self.broadcasts()
        await ensure_plans(self.db, self.settings, self.now)  # next year's plans in December
        await self.retime()

    def campaign_day(self, fraction: float) -> date:
        """A day of the registration campaign: ``fraction`` of the way from 1 January to the
        earlier of 15 February and a quarter of the year so far."""
        end = min(
            datetime.combine(date(self.year, 2, 15), time(12), tzinfo=self.t.zone).astimezone(UTC),
            self.year_start + (self.now - self.year_start) / 4,
        )
        return self.t.day_of(self.year_start + (end - self.year_start) * fraction)

    def year_day(self, fraction: float) -> date:
        """The local date ``fraction`` of the way from 1 January to ``now``."""
        return self.t.day_of(self.year_start + (self.now - self.year_start) * fraction)

    async def stamp_audit(self, at: datetime) -> None:
        await self.demo.stamp_last_audit(at)

    # ------------------------------------------------------------------ people

    async def register_people(self) -> None:
        """The regional officer (an OFFICER_IDS officer who filled in a profile and gave the
        consent), then everyone else by personal invite links, as the bot registers them."""
        roster = self.roster
        officer = roster.officer
        at = self.t.moment(self.campaign_day(0.05), after=self.year_start)
        await self.repo.users.ensure_officers([officer.user_id])
        user = await self.repo.users.by_telegram(officer.user_id)
        assert user is not None
        consent_at = at - timedelta(minutes=2)
        await self.repo.users.update(
            user,
            full_name=officer.full_name,
            organisation=officer.organisation,
            position=officer.position,
            consent_version=texts.CONSENT_VERSION,
            consent_at=consent_at,
            registered_at=at,
        )
        await PeopleService(self.repo).journal_consent(user, texts.CONSENT_VERSION, consent_at)
        self.users[officer.user_id] = user
        self.registered[officer.user_id] = at
        area1 = roster.municipal_officer.municipality
        await self.register(roster.municipal_officer, self.campaign_day(0.06), officer)
        mentor_days = {
            m.user_id: self.campaign_day(self.rng.uniform(0.08, 0.2)) for m in roster.mentors
        }
        for mentor in sorted(roster.mentors, key=lambda m: (mentor_days[m.user_id], m.user_id)):
            await self.register(mentor, mentor_days[mentor.user_id], officer)
        # the reserve's lists, one a municipality, imported by its officer; the people open
        # their personal links within the links' validity
        for index, (area, _schools) in enumerate(DISTRICT):
            importer = roster.municipal_officer if area == area1 else officer
            listed = [
                r
                for r in roster.reservists
                if r.municipality == area and r.user_id not in roster.late
            ]
            await self.import_list(importer, listed, self.campaign_day(0.25 + 0.1 * index))
        for tg in roster.late:  # two joined later with an ordinary invite link
            person = next(r for r in roster.reservists if r.user_id == tg)
            inviter = roster.municipal_officer if person.municipality == area1 else officer
            await self.register(person, self.year_day(self.rng.uniform(0.35, 0.45)), inviter)

    async def import_list(self, importer: _Person, listed: Sequence[_Person], day: date) -> None:
        """``importer`` sends the bot a list of reservists (a .csv) on ``day``; each person
        opens their personal link and confirms the stored profile."""
        at = self.t.moment(day, after=self.registered[importer.user_id])
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(["ФИО", "Организация", "Должность", "Муниципалитет"])
        for person in listed:
            writer.writerow(
                [person.full_name, person.organisation, person.position, person.municipality]
            )
        table = read_table("Кадровый резерв.csv", buffer.getvalue().encode("utf-8-sig"))
        ttl = timedelta(days=self.settings.invite_ttl_days)
        result = await PeopleImportService(self.repo).import_people(
            table,
            actor=self.users[importer.user_id],
            bot_username=BOT_USERNAME,
            now=at,
            today=self.t.day_of(at),
            ttl=ttl,
        )
        if result.errors:  # the demo's own list: a mistake of this module
            msg = f"the demo's list was refused: {result.errors}"
            raise RuntimeError(msg)
        await self.stamp_audit(at)
        ids = {p.user_id: o.person_id for p, o in zip(listed, result.outcomes, strict=True)}
        invites = await self.repo.people.personal_invites(ids.values())
        window = min(ttl, (self.now - at) / 2)
        moments = {
            tg: self.t.moment(self.t.day_of(at + window * self.rng.uniform(0.02, 0.85)), after=at)
            for tg in ids
        }
        await self.prepare_plans(
            [(ids[p.user_id], p.municipality, self.t.day_of(moments[p.user_id])) for p in listed]
        )
        for tg in sorted(ids, key=lambda tg: (moments[tg], tg)):
            registered_at = moments[tg]
            consent_at = registered_at - (registered_at - at) * self.rng.uniform(0.001, 0.01)
            invite = invites[ids[tg]]
            user = await PeopleService(self.repo).register(
                tg,
                invite.code,
                None,  # «Всё верно»: the profile of the list
                consent_version=texts.CONSENT_VERSION,
                consent_at=consent_at,
                now=registered_at,
                today=self.t.day_of(registered_at),
            )
            self.users[tg] = user
            self.registered[tg] = registered_at
            self.invite_codes.append((invite.id, self.invite_code()))

    async def prepare_plans(self, owners: Sequence[tuple[int, str | None, date]]) -> None:
        """Make the plans of the year that the registrations of ``owners`` (user id,
        municipality, registration day) would make, in bulk, as the daily upkeep
        (:meth:`PlanService.create_missing_batch`) does: the items of the roadmap whose windows
        are not closed on the day. ``PeopleService.register`` then finds them made."""
        activities = list(await self.repo.activities.active())
        created = await self.repo.plans.create_plans([o[0] for o in owners], self.year)
        rows: list[dict[str, Any]] = []
        for user_id, municipality, day in owners:
            template = new_plan_rows(roadmap_for(activities, municipality), self.year, day)
            rows.extend({**row, "plan_id": created[user_id]} for row in template)
        await self.demo.insert_plan_items(rows, source="roadmap")

    def invite_code(self) -> str:
        """A fixed invite code for the next invite (the service's are random)."""
        return f"demo{self.seed}x{len(self.invite_codes) + 1:03d}"

    async def register(self, person: _Person, day: date, inviter: _Person) -> None:
        """``inviter`` makes a personal invite link; ``person`` opens it, consents and answers
        the questions."""
        after = self.registered[inviter.user_id]
        invited_at = self.t.moment(day, after=after)
        ttl = timedelta(days=self.settings.invite_ttl_days)
        invite = await PeopleService(self.repo).create_invite(
            self.users[inviter.user_id],
            Role(person.role),
            now=invited_at,
            ttl=ttl,
            municipality=person.municipality,
        )
        await self.stamp_audit(invited_at)
        self.invite_codes.append((invite.id, self.invite_code()))
        registered_at = invited_at + timedelta(minutes=self.rng.randint(20, 600))
        registered_at = min(registered_at, invited_at + (self.now - invited_at) / 2)
        consent_at = registered_at - timedelta(minutes=self.rng.randint(2, 6))
        consent_at = max(consent_at, invited_at + (registered_at - invited_at) / 2)
        user = await PeopleService(self.repo).register(
            person.user_id,
            invite.code,
            Profile(person.full_name, person.organisation, person.position, person.municipality),
            consent_version=texts.CONSENT_VERSION,
            consent_at=consent_at,
            now=registered_at,
            today=self.t.day_of(registered_at),
        )
        self.users[person.user_id] = user
        self.registered[person.user_id] = registered_at

    async def move_statuses(self) -> None:
        """Some reservists move to «проходит подготовку»; two are appointed, one excluded."""
        roster = self.roster
        lifecycle = LifecycleService(self.repo)
        officer = self.users[roster.officer.user_id]
        steps: list[tuple[int, StatusStep]] = []
        for tg in roster.training:
            day = max(self.year_day(0.3), self.t.day_of(self.registered[tg]))
            steps.append((tg, StatusStep(ReserveStatus.TRAINING, day)))
        schools = {area: list(s) for area, s in DISTRICT}
        for tg in roster.appointed:
            person = next(r for r in roster.reservists if r.user_id == tg)
            assert person.municipality is not None
            day = max(self.year_day(0.6), self.t.day_of(self.registered[tg]))
            post = (
                "заместитель директора по УВР"
                if person.position.startswith("учитель")
                else ("директор")
            )
            school = next(s for s in schools[person.municipality] if s != person.organisation)
            steps.append(
                (tg, StatusStep(ReserveStatus.APPOINTED, day, post=post, organisation=school))
            )
            self.status_on[tg] = day
        for tg in roster.excluded:
            day = max(self.year_day(0.5), self.t.day_of(self.registered[tg]))
            reason = "Личное заявление об исключении из резерва (смена места работы)."
            steps.append((tg, StatusStep(ReserveStatus.EXCLUDED, day, reason=reason)))
            self.status_on[tg] = day
        for tg, step in steps:
            at = self.t.moment(step.effective_on, after=self.registered[tg])
            await lifecycle.change(officer, self.users[tg].id, step, at)
            await self.stamp_audit(at)

    async def assign_pairs(self) -> None:
        """The officer assigns the mentors (one reservist's mentor is changed later)."""
        roster = self.roster
        mentoring = MentoringService(self.repo)
        officer = self.users[roster.officer.user_id]
        changed, first_mentor = roster.reassigned
        for tg in sorted(roster.mentor_of):
            mentor_tg = first_mentor if tg == changed else roster.mentor_of[tg]
            ready = max(self.registered[tg], self.registered[mentor_tg])
            at = self.t.moment(self.t.day_of(ready) + timedelta(days=self.rng.randint(3, 20)),
                               after=ready)  # fmt: skip
            await mentoring.assign(officer, self.users[tg].id, self.users[mentor_tg].id, at)
            await self.stamp_audit(at)
            self.pair_start[tg] = at
        # the change: after a few consultations with the first mentor (see consult())
        at = self.t.moment(self.year_day(0.55), after=self.pair_start[changed])
        self.first_pair = (changed, first_mentor, self.pair_start[changed], at)

    async def change_mentor(self) -> None:
        roster = self.roster
        changed, _first, _start, at = self.first_pair
        await MentoringService(self.repo).assign(
            self.users[roster.officer.user_id],
            self.users[changed].id,
            self.users[roster.mentor_of[changed]].id,
            at,
        )
        await self.stamp_audit(at)
        self.pair_start[changed] = at

    # ------------------------------------------------------------------ plans

    def diligence(self, person: _Person) -> float:
        area = next(i for i, (name, _s) in enumerate(DISTRICT) if name == person.municipality)
        value = self.rng.gauss(_DILIGENCE[area], 0.12)
        return min(0.98, max(0.15, value))

    async def log_items(self) -> None:
        """Each reservist logs the items of their plan whose windows have come: most of the
        past ones (by how diligent they are), some of the current ones, a few on-demand ones.
        The most diligent (:data:`_BEST`) log everything that has started, and
        :data:`_IDLE` people of a municipality log nothing."""
        roster = self.roster
        plans = PlanService(self.repo)
        today = self.t.today
        diligence = {r.user_id: self.diligence(r) for r in roster.reservists}
        for area_index, (area, _schools) in enumerate(DISTRICT):
            here = [
                r.user_id
                for r in roster.reservists
                if r.municipality == area
                and r.user_id in roster.mentor_of
                and r != roster.reservist_a  # A's plan shows every status
            ]
            here.sort(key=lambda tg: (-diligence[tg], tg))
            for tg in here[: _BEST[area_index]]:
                diligence[tg] = 1.0
        diligence[roster.reservist_a.user_id] = max(diligence[roster.reservist_a.user_id], 0.8)
        last_area = DISTRICT[-1][0]
        quiet = [
            r.user_id
            for r in roster.reservists
            if r.municipality == last_area and r.user_id in roster.mentor_of
        ]
        self.quiet = min(quiet, key=lambda tg: (diligence[tg], tg))
        self.quiet_since = self.year_day(0.7)
        for area_index, (area, _schools) in enumerate(DISTRICT):
            idle = [
                r.user_id
                for r in roster.reservists
                if r.municipality == area
                and r.user_id not in roster.mentor_of
                and r.user_id not in self.status_on
            ]
            for tg in self.rng.sample(idle, min(len(idle), _IDLE[area_index])):
                diligence[tg] = 0.0  # registered and never logged anything
        for reservist in roster.reservists:
            tg = reservist.user_id
            user = self.users[tg]
            plan = await self.repo.plans.plan(user.id, self.year)
            if plan is None:
                continue
            joined = self.t.day_of(self.registered[tg])
            last_day = min(today, self.status_on.get(tg, today))
            if tg == self.quiet:  # a stalled pair: nothing since
                last_day = min(last_day, self.quiet_since)
            chance = diligence[tg]
            items = await self.repo.plans.items(plan.id)
            passed = [i.id for i in items if i.due_on is not None and i.due_on < today]
            missed = passed[-1] if tg == roster.reservist_a.user_id and passed else None
            for item in items:
                done_on = self.done_day(item, tg, joined, last_day, chance)
                if done_on is None or item.id == missed:  # A has one overdue item at least
                    continue
                evidence = None
                if self.rng.random() < 0.35:
                    evidence = self.evidence(item, len(self.t.events))
                comment = self.rng.choice(_ITEM_COMMENTS) if self.rng.random() < 0.4 else None
                await plans.mark_done(
                    user, item.id, done_on=done_on, comment=comment, evidence=evidence, today=today
                )
                at = self.t.moment(done_on, after=self.registered[tg])
                self.t.events[(item.id, "done")] = at
                self.done.setdefault(tg, []).append((item.id, at, evidence is not None))

    def done_day(
        self, item: PlanItem, tg: int, joined: date, last_day: date, chance: float
    ) -> date | None:
        """The day the reservist ``tg`` logged ``item`` done, or None (not logged)."""
        first = max(joined, item.starts_on) if item.starts_on else joined
        if item.activity_id is not None and item.kind == "consultation":
            start = self.pair_start.get(tg)
            if start is None:
                return None  # «Подбор наставника»: done once a mentor is assigned
            first = max(first, self.t.day_of(start))
            wanted = chance > 0.99 or self.rng.random() < 0.9
            return first if first <= last_day and wanted else None
        if item.due_on is None:  # on demand: a competition, the courses
            wanted = chance > 0.99 or self.rng.random() < 0.3 * chance
            return self.t.between(first, last_day) if wanted and first <= last_day else None
        if item.starts_on is not None and item.starts_on > last_day:
            return None  # its window has not come
        last = min(item.due_on, last_day)
        if first > last:
            return None
        if item.due_on <= last_day:  # the window has passed
            return self.t.between(first, last) if self.rng.random() < chance else None
        # the window is open: the longer it has been open, the likelier it is done
        opened = item.starts_on or first
        share = (last_day - opened).days / max(1, (item.due_on - opened).days)
        if chance > 0.99 or self.rng.random() < chance * share:
            return self.t.between(first, last)
        return None

    def evidence(self, item: PlanItem, n: int) -> tuple[str, str, str | None]:
        """A Telegram file of the evidence: (file_id, kind, name). The ids are URLs, which the
        Bot API accepts where a file_id goes (the sandbox's emulator makes an empty file)."""
        if self.rng.random() < 0.4:
            return f"https://sandbox.invalid/demo/photo-{n:04d}.jpg", "photo", None
        name = {
            "training": "Сертификат участника тренинга.pdf",
            "diagnostics": "Результаты диагностики.pdf",
            "seminar": "Программа секции.pdf",
            "self_government_day": "Отчёт о Дне самоуправления.docx",
            "planning": "Индивидуальный план.docx",
            "interview": "Справка по итогам собеседования.pdf",
            "competition": "Диплом участника конкурса.pdf",
            "courses": "Диплом о переподготовке.pdf",
        }.get(item.kind, "Отчёт.docx")
        suffix = name.rsplit(".", 1)[1]
        return f"https://sandbox.invalid/demo/document-{n:04d}.{suffix}", "document", name

    async def review_items(self) -> None:
        """Mentors confirm most items logged with evidence and comment on some."""
        mentoring = MentoringService(self.repo)
        for tg in sorted(self.roster.mentor_of):
            mentor = self.users[self.roster.mentor_of[tg]]
            start = self.pair_start[tg]
            for item_id, done_at, has_evidence in self.done.get(tg, []):
                base = max(done_at, start)
                day = self.t.day_of(base) + timedelta(days=self.rng.randint(1, 6))
                if day > self.t.today:
                    continue
                at = self.t.moment(day, after=base)
                if has_evidence and self.rng.random() < 0.7:
                    await mentoring.confirm_item(mentor, item_id, at)
                    self.t.events[(item_id, "confirmed")] = at
                if self.rng.random() < 0.15:
                    at += timedelta(minutes=self.rng.randint(1, 30))
                    if at < self.now:
                        text = self.rng.choice(_MENTOR_COMMENTS)
                        await mentoring.comment_item(mentor, item_id, text, at)
                        self.t.events[(item_id, "commented")] = at

    async def conclude(self) -> None:
        """In December the officer writes the interview's conclusion of those interviewed."""
        reports = YearReportService(self.repo)
        officer = self.users[self.roster.officer.user_id]
        written = 0
        for reservist in self.roster.reservists:
            if written == len(_CONCLUSIONS):
                break
            user = self.users[reservist.user_id]
            plan = await self.repo.plans.plan(user.id, self.year)
            if plan is None:
                continue
            items = await self.repo.plans.items(plan.id)
            interview = [i for i in items if i.kind == "interview" and i.status == ItemStatus.DONE]
            if not interview:
                continue
            done_at = self.t.events[(interview[0].id, "done")]
            at = done_at + timedelta(hours=self.rng.randint(1, 20))
            if at >= self.now:
                continue
            await reports.save_conclusion(
                officer.id, None, user.id, self.year, _CONCLUSIONS[written], at
            )
            await self.stamp_audit(at)
            written += 1

    # ------------------------------------------------------------------ consultations

    async def consult(self) -> None:
        """Each pair meets every three to six weeks; most consultations are confirmed, a few
        declined, the ones of the last days await the other side. Reservist A has one awaiting
        the mentor's confirmation (and one logged by the mentor awaiting A's)."""
        changed, first_mentor, first_start, change_at = self.first_pair
        # the reassigned reservist's consultations with the first mentor come first
        await self.consult_pair(changed, first_mentor, first_start, change_at, recent=False)
        await self.change_mentor()
        a = self.roster.reservist_a.user_id
        for tg in sorted(self.roster.mentor_of):
            mentor_tg = self.roster.mentor_of[tg]
            await self.consult_pair(tg, mentor_tg, self.pair_start[tg], self.now, recent=tg != a)
        await self.awaiting_for_tabs(a, self.roster.mentor_of[a])

    async def consult_pair(
        self, tg: int, mentor_tg: int, start: datetime, end: datetime, *, recent: bool
    ) -> None:
        """Consultations of the pair held from ``start`` to ``end``."""
        if tg in self.status_on:
            end = min(end, self.t.moment(self.status_on[tg]))
        if tg == self.quiet:
            end, recent = min(end, self.t.moment(self.quiet_since)), False
        area = next(i for i, (n, _s) in enumerate(DISTRICT) if n == self.users[tg].municipality)
        gap = (28, 42, 56)[area]
        day = self.t.day_of(start) + timedelta(days=self.rng.randint(2, 12))
        last = self.t.day_of(end) - timedelta(days=1)
        while day <= last:
            pending = (self.t.today - day).days <= 6
            if pending and not recent:
                break
            held = self.t.weekday(day, self.t.day_of(start))
            await self.consultation(tg, mentor_tg, held, pending=pending)
            day += timedelta(days=self.rng.randint(gap - 7, gap + 7))
        if recent and day > last and self.rng.random() < 0.3:
            # one of the last days, still awaiting the other side
            day = max(self.t.day_of(start), self.t.today - timedelta(days=self.rng.randint(1, 5)))
            await self.consultation(tg, mentor_tg, day, pending=True)

    async def consultation(
        self, tg: int, mentor_tg: int, day: date, *, pending: bool, by_mentor: bool | None = None
    ) -> None:
        """One consultation held on ``day``, logged by one side and, unless ``pending``,
        decided by the other."""
        mentoring = MentoringService(self.repo)
        reservist, mentor = self.users[tg], self.users[mentor_tg]
        if by_mentor is None:
            by_mentor = self.rng.random() < 0.3
        actor, other = (mentor, reservist) if by_mentor else (reservist, mentor)
        logged_at = self.t.moment(day + timedelta(days=self.rng.randint(0, 1)),
                                  after=self.t.moment(day))  # fmt: skip
        consultation, _ = await mentoring.log_consultation(
            actor,
            reservist_id=reservist.id,
            held_on=day,
            fmt=self.rng.choice(("in_person", "in_person", "online", "phone")),
            topic=self.rng.choice(_TOPICS),
            minutes=self.rng.choice((30, 45, 45, 60, 60, 90)),
            note="Договорились о следующей встрече." if self.rng.random() < 0.2 else None,
            item_id=None,
            today=self.t.today,
        )
        self.t.consultations.append((consultation.id, logged_at))
        if pending:
            return
        decided_on = self.t.day_of(logged_at) + timedelta(days=self.rng.randint(0, 2))
        if decided_on > self.t.today:
            return
        decided_at = self.t.moment(decided_on, after=logged_at)
        confirm = self.rng.random() < 0.92
        await mentoring.decide(
            other,
            consultation.id,
            confirm=confirm,
            reason=None if confirm else self.rng.choice(_DECLINE_REASONS),
            now=decided_at,
        )

    async def awaiting_for_tabs(self, a: int, mentor_tg: int) -> None:
        """Reservist A logged a consultation of the last days that awaits the mentor's
        confirmation, and the mentor one that awaits A's."""
        start = self.t.day_of(self.pair_start[a])
        first = max(start, self.t.today - timedelta(days=9))
        second = max(start, self.t.today - timedelta(days=2))
        await self.consultation(a, mentor_tg, first, pending=True, by_mentor=True)
        await self.consultation(a, mentor_tg, second, pending=True, by_mentor=False)

    # ------------------------------------------------------------------ broadcasts

    async def broadcasts(self) -> None:
        """A finished broadcast to every reservist with «Буду» / «Не смогу» (one recipient
        failed), and one to reservist A's municipality still running: a few recipients (A
        and the mentor among them) are pending, for the bot to send when it starts."""
        officer = self.users[self.roster.officer.user_id]
        clock = [self.now]
        service = BroadcastService(self.db, _NoTransport(), RateLimiter(), lambda: clock[0])
        broadcasts = self.repo.broadcasts

        # the finished one
        created = self.t.moment(self.year_day(0.8), after=max(self.registered.values()))
        clock[0] = created
        audience = Audience(AudienceKind.RESERVISTS)
        people = await recipients(self.repo, officer, audience, self.t.day_of(created))
        first = await self.create_broadcast(service, officer, audience, people, True, created)
        claimed = await broadcasts.claim(first.id, first.total)
        failed = self.rng.choice(
            [d for d in claimed if d.user_id != self.users[self.roster.reservist_a.user_id].id]
        )
        at = created + timedelta(seconds=2)
        results = []
        for n, delivery in enumerate(claimed):
            moment = at + timedelta(milliseconds=40 * n)
            if delivery is failed:
                error = "Telegram server says - Bad Request: chat not found"
                results.append(DeliveryResult(delivery.id, DeliveryState.FAILED, 1, error, moment))
            else:
                results.append(DeliveryResult(delivery.id, DeliveryState.SENT, 1, None, moment))
        await broadcasts.finish(results)
        await broadcasts.finish_if_settled(first.id, at + timedelta(seconds=3))
        reached = [d.user_id for d in claimed if d is not failed]
        self.rng.shuffle(reached)
        yes, no = round(len(reached) * 0.6), max(1, round(len(reached) * 0.15))
        answers = [RsvpAnswer.YES] * yes + [RsvpAnswer.NO] * no  # the rest did not answer
        for user_id, answer in zip(reached, answers, strict=False):
            clock[0] = min(at + timedelta(minutes=self.rng.randint(2, 3000)), self.now)
            await service.answer(first.id, user_id, answer)

        # the running one
        created = self.now - timedelta(minutes=3)
        clock[0] = created
        area = self.roster.reservist_a.municipality
        audience = Audience(AudienceKind.MUNICIPALITY, area)
        people = await recipients(self.repo, officer, audience, self.t.today)
        second = await self.create_broadcast(service, officer, audience, people, False, created)
        claimed = await broadcasts.claim(second.id, second.total)
        keep = {
            self.users[self.roster.reservist_a.user_id].id,
            self.users[self.roster.mentor_of[self.roster.reservist_a.user_id]].id,
        }
        others = [d.user_id for d in claimed if d.user_id not in keep]
        keep |= set(self.rng.sample(others, min(2, len(others))))
        results = []
        for n, delivery in enumerate(claimed):
            if delivery.user_id in keep:
                results.append(DeliveryResult(delivery.id, DeliveryState.PENDING, 0))
            else:
                moment = created + timedelta(seconds=1, milliseconds=40 * n)
                results.append(DeliveryResult(delivery.id, DeliveryState.SENT, 1, None, moment))
        await broadcasts.finish(results)

    async def create_broadcast(
        self,
        service: BroadcastService,
        officer: User,
        audience: Audience,
        people: Sequence[User],
        rsvp: bool,
        at: datetime,
    ) -> Broadcast:
        """Store and launch a broadcast as the officer's «Отправить» does."""
        text = _FINISHED_BROADCAST if rsvp else _RUNNING_BROADCAST
        parts = [ContentPart.of_text(text)]
        broadcast = await service.create(
            created_by=officer.id,
            parts=parts,
            user_ids=[p.id for p in people],
            audience={
                **audience.to_json(),
                "label": texts.audience_label(audience.kind, audience.value),
                "scope": officer.municipality or None,
            },
            rsvp=rsvp,
        )
        await self.repo.audit.record(
            officer.id,
            "broadcast",
            f"broadcast:{broadcast.id}",
            {"audience": audience.to_json(), "recipients": broadcast.total, "parts": len(parts)},
        )
        await self.stamp_audit(at)
        await service.launch(broadcast.id)
        return broadcast

    # ------------------------------------------------------------------ moments

    async def retime(self) -> None:
        """Set the moments the services stamped with the real clock to the demo's ones."""
        created_of_plan: dict[tuple[int, int], datetime] = {}
        by_user = {u.id: tg for tg, u in self.users.items()}
        plan_rows = []
        for plan_id, user_id, year in await self.demo.plans():
            registered = self.registered[by_user[user_id]]
            made = registered if self.t.day_of(registered).year == year else self.now
            created_of_plan[(user_id, year)] = made
            plan_rows.append((plan_id, made))
        await self.demo.retime_plans(plan_rows)
        item_rows = []
        event_rows = []
        for item_id, user_id, year in await self.demo.plan_items():
            created = created_of_plan[(user_id, year)]
            event_rows.append((item_id, "created", created))
            updated = created
            for action in ("done", "confirmed", "commented"):
                at = self.t.events.get((item_id, action))
                if at is not None:
                    event_rows.append((item_id, action, at))
                    updated = max(updated, at)
            item_rows.append((item_id, created, updated))
        await self.demo.retime_events(event_rows)
        await self.demo.retime_items(item_rows)
        await self.demo.retime_consultations(self.t.consultations)
        await self.demo.users_created_at_registration()
        await self.demo.set_invite_codes(self.invite_codes)
