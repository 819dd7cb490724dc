"""The sandbox's demo district (bot.sandbox.demo): what it loads, read back through the
services the bot's commands use (/kpi, /export, /report, /pairs, /mentees, /broadcasts),
determinism, the refusal of a database with people, and the cast the sandbox's tabs show."""

from __future__ import annotations

import io
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from openpyxl import load_workbook

from bot.app import prepare_database
from bot.config import Settings, load_settings
from bot.sandbox.demo import (
    DISTRICT,
    ID_BASE,
    DemoCast,
    DemoNotEmptyError,
    cast,
    load_demo,
)
from bot.services.broadcast import BroadcastService
from bot.services.delivery import RateLimiter
from bot.services.exports import ExportService
from bot.services.indicators import IndicatorService
from bot.services.mentoring import MentoringService
from bot.services.people import PeopleService
from bot.services.plans import PlanService
from bot.services.year_report import YearReportService, build_year_report
from storage.broadcast_models import BroadcastStatus
from storage.db import Database
from storage.models import Consultation, ConsultationStatus, ReserveStatus, Role

ZONE = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # 12:30 in Moscow, the interviews have begun
TODAY = date(2026, 12, 2)
YEAR = 2026


@pytest.fixture
def demo_settings(database_url: str) -> Settings:
    """The sandbox's settings: no OFFICER_IDS (the demo's officer is a registered user)."""
    return load_settings(
        _env_file=None,
        bot_token="123456:TEST-token-for-the-test-suite-only",
        database_url=database_url,
    )


@pytest.fixture(scope="session")
def demo_kept() -> dict[str, tuple[Path, DemoCast]]:
    """The worker's first SQLite load of the demo, once :func:`demo` has made it: a copy of the
    file and its cast, under the key "demo" (a load costs about 3 s of CPU)."""
    return {}


@pytest.fixture
async def demo(
    db: Database,
    demo_settings: Settings,
    demo_kept: dict[str, tuple[Path, DemoCast]],
    tmp_path_factory: pytest.TempPathFactory,
) -> DemoCast:
    """The demo loaded at :data:`NOW` with the default seed into the test's database. On
    SQLite only the worker's first test loads it; the others get a copy of that file."""
    target = demo_settings.sqlite_path()
    if target is None:  # PostgreSQL
        return await load_demo(db, demo_settings, now=NOW)
    kept = demo_kept.get("demo")
    if kept is None:
        loaded = await load_demo(db, demo_settings, now=NOW)
        await db.dispose()  # the file whole on disk (no connection, nothing left in a journal)
        path = tmp_path_factory.mktemp("demo") / "demo.db"
        shutil.copyfile(target, path)
        demo_kept["demo"] = (path, loaded)
        return loaded
    path, loaded = kept
    await db.dispose()  # no connection open while the file is replaced
    shutil.copyfile(path, target)
    return loaded


async def test_counts(db: Database, demo: DemoCast) -> None:
    async with db.session() as repo:
        reservists = await repo.users.by_role(Role.RESERVIST)
        mentors = await repo.users.by_role(Role.MENTOR)
        officers = await repo.users.by_role(Role.OFFICER)
        assert len(reservists) == 30
        assert len(mentors) == 5
        assert len(officers) == 2
        areas = {r.municipality for r in reservists}
        assert areas == {name for name, _schools in DISTRICT}
        for area in areas:
            schools = {r.organisation for r in reservists if r.municipality == area}
            assert len(schools) == 4
            assert sum(r.municipality == area for r in reservists) == 10
        for reservist in reservists:  # included by the list's import or the invite
            history = await repo.users.status_history(reservist.id)
            assert reservist.reserve_status == ReserveStatus.INCLUDED or history
        statuses = [r.reserve_status for r in reservists]
        assert statuses.count(ReserveStatus.APPOINTED) == 2
        assert statuses.count(ReserveStatus.EXCLUDED) == 1
        assert statuses.count(ReserveStatus.TRAINING) == 6
        # every one registered with the consent in the journal, so the bot asks nothing again
        for user in [*reservists, *mentors, *officers]:
            assert user.telegram_id is not None
            assert ID_BASE < user.telegram_id < ID_BASE + 1000
            assert user.registered_at is not None and user.registered_at < NOW
            consent = await PeopleService(repo).consent(user)
            assert consent is not None and consent[1] <= user.registered_at
        assert sum(o.municipality is None for o in officers) == 1  # one regional officer

        pairs = await MentoringService(repo).pairs(TODAY)
        assert len(pairs) == 17
        assert len(await repo.mentoring.assignments_of(pairs[0].reservist.id)) >= 1
        histories = [len(await repo.mentoring.assignments_of(r.id)) for r in reservists]
        assert histories.count(2) == 1  # one reservist's mentor was changed

        done = overdue = 0
        for reservist in reservists:
            view = await PlanService(repo).view(reservist, YEAR, TODAY)
            assert view.total >= 8
            done += view.done
            overdue += view.overdue
        assert done >= 150
        assert 20 <= overdue <= done

        consultations: list[Consultation] = []
        for reservist in reservists:
            consultations += await repo.mentoring.consultations_of(reservist.id)
        states = [c.status for c in consultations]
        assert len(consultations) >= 60
        assert states.count(ConsultationStatus.CONFIRMED) >= 40
        assert states.count(ConsultationStatus.DECLINED) >= 1
        assert states.count(ConsultationStatus.PENDING) >= 3
        assert all(c.held_on <= TODAY and c.created_at < NOW for c in consultations)

        broadcasts = repo.broadcasts
        (finished,) = await broadcasts.with_status(BroadcastStatus.DONE)
        (running,) = await broadcasts.with_status(BroadcastStatus.RUNNING)
        done_counts = await broadcasts.counts(finished.id)
        assert finished.total == 30 and finished.rsvp
        assert done_counts["sent"] == 29 and done_counts["failed"] == 1
        answers = await broadcasts.answer_counts(finished.id)
        assert answers["yes"] > 5 and answers["no"] > 0
        running_counts = await broadcasts.counts(running.id)
        assert running_counts["pending"] == 4
        assert running_counts["sent"] == running.total - 4 > 0
    service = BroadcastService(db, None, RateLimiter())  # type: ignore[arg-type]
    results = await service.results(finished.id)
    assert results.sent == 29 and results.yes == answers["yes"]


async def test_tabs(db: Database, demo: DemoCast) -> None:
    officer, a, b, mentor = demo.tabs
    assert [t.role for t in demo.tabs] == ["officer", "reservist", "newcomer", "mentor"]
    assert set(demo.tabs) <= set(demo.people)
    assert len({p.user_id for p in demo.people}) == len(demo.people) == 38
    assert officer.label.startswith("Офицер · ") and a.label.startswith("Резервист · ")
    assert b.label.startswith("Новичок · ") and mentor.label.startswith("Наставник · ")
    async with db.session() as repo:
        assert await repo.users.by_telegram(b.user_id) is None
        officer_user = await repo.users.by_telegram(officer.user_id)
        a_user = await repo.users.by_telegram(a.user_id)
        mentor_user = await repo.users.by_telegram(mentor.user_id)
        assert officer_user is not None and a_user is not None and mentor_user is not None
        assert officer_user.role == Role.OFFICER and officer_user.municipality is None
        for person in demo.people:
            user = await repo.users.by_telegram(person.user_id)
            if person.role == "newcomer":
                continue
            assert user is not None and user.role == person.role
            assert user.full_name is not None
            assert user.full_name.startswith(f"{person.last_name} {person.first_name} ")
        mentoring = MentoringService(repo)
        assert await mentoring.current_mentor(a_user) == mentor_user
        awaiting = await mentoring.awaiting(mentor_user)
        assert any(c.reservist_id == a_user.id and c.logged_by == a_user.id for c in awaiting)
        # and one the mentor logged awaits A
        assert any(c.logged_by == mentor_user.id for c in await mentoring.awaiting(a_user))
        view = await PlanService(repo).view(a_user, YEAR, TODAY)
        assert view.done >= 5 and view.total > view.done
        # the running broadcast waits to reach A and the mentor when the bot starts
        (running,) = await repo.broadcasts.with_status(BroadcastStatus.RUNNING)
        pending = await repo.broadcasts.deliveries(running.id, "pending")
        assert {a_user.id, mentor_user.id} <= {d.user_id for d in pending}


async def test_cast_matches_load(demo: DemoCast) -> None:
    assert cast() == demo
    assert cast(2026) == cast(2026)
    other = cast(7)
    assert [p.user_id for p in other.people] == [p.user_id for p in demo.people]
    assert [p.last_name for p in other.people] != [p.last_name for p in demo.people]


async def test_indicators_export_report_pairs(db: Database, demo: DemoCast) -> None:
    async with db.session() as repo:
        report = await IndicatorService(repo).report(None, YEAR, TODAY)
        assert report.people == 30
        for indicator in report.indicators:
            assert indicator.o > 0, indicator.code
            assert 0 < indicator.k <= indicator.o, indicator.code
        assert [g.people for g in report.groups] == [10, 10, 10]
        for code in ("support", "mentor", "plan"):
            shares = {next(i.d for i in g.indicators if i.code == code) for g in report.groups}
            assert len(shares) >= 2, code  # the municipalities differ
        assert min(g.indicators[0].d or 0.0 for g in report.groups) < 100.0

        area = DISTRICT[1][0]
        local = await IndicatorService(repo).report(area, YEAR, TODAY)
        assert local.people == 10 and local.by == "organisation" and len(local.groups) == 4

        built = await ExportService(repo).export(None, None, YEAR, today=TODAY, zone=ZONE, now=NOW)
        assert built.rows == 30
        book = load_workbook(io.BytesIO(built.content))
        sheet = book["Резервисты"]
        assert sheet.max_row == 31
        mentors = [row[6] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert sum(1 for m in mentors if m) >= 17
        assert any(ws.max_row > 10 for ws in book.worksheets[3:])  # activities done by many
        csv_file = await ExportService(repo).export(
            None, None, YEAR, today=TODAY, zone=ZONE, now=NOW, csv_format=True
        )
        assert len(csv_file.content.decode("utf-8-sig").splitlines()) == 31

        a = await repo.users.by_telegram(demo.tabs[1].user_id)
        assert a is not None
        data = await YearReportService(repo).collect(None, a.id, YEAR, TODAY, ZONE)
        assert data.has_plan and data.mentor is not None
        assert len(data.items) >= 8
        assert {i.status for i in data.items} >= {"done"}
        assert any(c.status == ConsultationStatus.CONFIRMED for c in data.consultations)
        document = Document(io.BytesIO(build_year_report(data)))
        assert len(document.tables) >= 2
        concluded = 0
        for reservist in await repo.users.by_role(Role.RESERVIST):
            plan = await repo.plans.plan(reservist.id, YEAR)
            concluded += plan is not None and plan.interview_conclusion is not None
        assert concluded >= 1

        pairs = await MentoringService(repo).pairs(TODAY)
        assert sum(p.confirmed for p in pairs) >= 40
        assert any(p.pending for p in pairs)
        assert 1 <= sum(p.progress.stalled(NOW) for p in pairs) < len(pairs)  # «застой»
        a_pair = next(p for p in pairs if p.reservist.id == a.id)
        assert a_pair.mentor.telegram_id == demo.tabs[3].user_id
        assert a_pair.confirmed >= 2 and a_pair.pending >= 1


async def _dump(db: Database) -> dict[str, list[tuple[object, ...]]]:
    async with db.session() as repo:
        return await repo.demo.dump()


async def test_same_seed_same_rows(
    sqlite_template: Path, tmp_path: Path, demo_settings: Settings
) -> None:
    """Fresh SQLite files, as the sandbox's ``--fresh`` makes (copies of the migrated
    template): the same seed gives the same rows, another seed other people."""
    dumps = []
    for name, seed in (("one", 2026), ("two", 2026), ("other", 7)):  # 2026: the default
        path = tmp_path / f"{name}.db"
        shutil.copyfile(sqlite_template, path)
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await load_demo(db, demo_settings, now=NOW, seed=seed)
            dumps.append(await _dump(db))
        finally:
            await db.dispose()
    first, second, other = dumps
    assert second == first
    assert len(first["users"]) == 37 and len(first["plan_items"]) > 300
    assert other != first
    assert other["users"] != first["users"]


async def test_refuses_a_database_with_people(db: Database, demo_settings: Settings) -> None:
    officers = load_settings(
        _env_file=None, database_url=demo_settings.database_url, officer_ids=(1001,)
    )
    await prepare_database(officers, db)  # an OFFICER_IDS officer is a user
    with pytest.raises(DemoNotEmptyError):
        await load_demo(db, demo_settings, now=NOW)
    dump = await _dump(db)
    assert len(dump["users"]) == 1 and not dump["plan_items"] and not dump["consents"]


async def test_refuses_a_second_load(
    db: Database, demo_settings: Settings, demo: DemoCast
) -> None:
    before = await _dump(db)
    with pytest.raises(DemoNotEmptyError):
        await load_demo(db, demo_settings, now=NOW)
    assert await _dump(db) == before


@pytest.mark.parametrize(
    "now",
    [
        datetime(2027, 1, 2, 8, 0, tzinfo=UTC),  # two days into the year
        datetime(2027, 3, 15, 7, 0, tzinfo=UTC),
        datetime(2027, 7, 1, 20, 59, tzinfo=UTC),  # 23:59 in Moscow
    ],
)
async def test_any_moment_of_the_year(
    db: Database, demo_settings: Settings, now: datetime
) -> None:
    loaded = await load_demo(db, demo_settings, now=now)
    today = now.astimezone(ZONE).date()
    _officer, a, _b, mentor = loaded.tabs
    async with db.session() as repo:
        assert len(await repo.users.by_role(Role.RESERVIST)) == 30
        a_user = await repo.users.by_telegram(a.user_id)
        mentor_user = await repo.users.by_telegram(mentor.user_id)
        assert a_user is not None and mentor_user is not None
        awaiting = await MentoringService(repo).awaiting(mentor_user)
        assert any(c.reservist_id == a_user.id for c in awaiting)
        assert len(await MentoringService(repo).pairs(today)) == 17
        report = await IndicatorService(repo).report(None, today.year, today)
        assert all(i.o > 0 for i in report.indicators if i.code != "training")
        dump = await repo.demo.dump()
    moments = [
        value
        for table, rows in dump.items()
        if table != "invites"  # invites expire later, and only they are dated after now
        for row in rows
        for value in row
        if isinstance(value, datetime)
    ]
    assert moments and all(m <= now for m in moments)
