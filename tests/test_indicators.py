"""Indicators (D = K / O × 100 %) on a small constructed world: exact K, O and D for the
region and for one municipality, names compared case- and space-insensitively, O = 0, and the
breakdown by group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, update

from bot.services.indicators import (
    CODES,
    IndicatorReport,
    IndicatorService,
    compute_indicators,
    group_indicators,
    share,
)
from storage.db import Database
from storage.models import (
    Activity,
    Consultation,
    IndividualPlan,
    MentorAssignment,
    PlanItem,
    PlanItemEvent,
    Role,
    User,
)

YEAR = 2026
TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
PETROVSKY = "Петровский район"
KAMYSHIN = "Камышинский район"


@dataclass
class World:
    """Ids of the people of :func:`build_world`."""

    ids: dict[str, int]
    officer: int
    mentor: int


async def build_world(db: Database) -> World:
    """Eight reservists, a mentor and an officer (see the comments for what each one did)."""
    ids: dict[str, int] = {}
    async with db.session() as repo:
        s = repo.session
        mentor = User(
            role=Role.MENTOR,
            full_name="Кузнецова Анна Сергеевна",
            organisation="СОШ № 5",
            municipality=PETROVSKY,
            registered_at=NOW,
        )
        officer = User(role=Role.OFFICER, full_name="Сидоров Иван Ильич", registered_at=NOW)
        s.add_all([mentor, officer])

        def person(
            key: str, name: str | None, org: str | None, muni: str | None, status: str
        ) -> User:
            user = User(
                role=Role.RESERVIST,
                full_name=name,
                organisation=org,
                position="Учитель",
                municipality=muni,
                reserve_status=status,
                cohort_year=2025,
                registered_at=NOW,
                telegram_id=None,
            )
            s.add(user)
            return user

        people = {
            # included, every dated item done (a training among them), a mentor
            "r1": person("r1", "Иванова Мария Петровна", "СОШ № 1", PETROVSKY, "included"),
            # in training, one item done, a confirmed consultation, a training overdue
            "r2": person(
                "r2", "Смирнов Олег Игоревич", "сош  № 1", "петровский  район", "training"
            ),
            # included, nothing done, only a pending consultation
            "r3": person("r3", "Петров Пётр Петрович", "СОШ № 2", PETROVSKY, "included"),
            # appointed; a training done; a mentor
            "r4": person("r4", "Орлова Ольга Олеговна", "СОШ № 3", PETROVSKY, "appointed"),
            # excluded, no plan
            "r5": person("r5", "Волков Виктор Викторович", "Гимназия", KAMYSHIN, "excluded"),
            # included, no plan, an ended mentorship, a declined consultation
            "r6": person("r6", "Зайцева Зоя Захаровна", "Лицей", KAMYSHIN, "included"),
            # a candidate (not yet included)
            "r7": person("r7", "Белов Борис Борисович", "СОШ № 2", PETROVSKY, "candidate"),
            # included, deleted their data (/delete_me): one of two dated items done
            "r8": person("r8", None, None, PETROVSKY, "included"),
        }
        await s.flush()
        ids = {k: u.id for k, u in people.items()}
        people["r8"].anonymised_at = NOW

        activities: dict[str, Activity] = {}
        for n, (title, kind) in enumerate([
            ("Психолого-педагогическая диагностика", "diagnostics"),
            ("Психологические тренинги", "training"),
            ("День самоуправления", "self_government_day"),
            ("Курсы переподготовки", "courses"),
        ]):  # fmt: skip
            activities[title] = Activity(key=f"a{n}", title=title, kind=kind, schedule={},
                                         position=n, for_reservists=True)  # fmt: skip
        s.add_all(activities.values())
        await s.flush()

        async def plan(key: str, items: list[tuple[str, str, date | None, bool]]) -> None:
            p = IndividualPlan(user_id=ids[key], year=YEAR)
            s.add(p)
            await s.flush()
            for title, kind, due, done in items:
                item = PlanItem(
                    plan_id=p.id,
                    own_title=title,
                    kind=kind,
                    occurrence=0,
                    activity_id=activities[title].id,
                    starts_on=due.replace(day=1) if due else None,
                    due_on=due,
                    status="done" if done else "planned",
                    done_on=(due or TODAY) if done else None,
                )
                s.add(item)
                await s.flush()
                if done:
                    s.add(
                        PlanItemEvent(
                            item_id=item.id, actor_id=ids[key], action="done", data={}, at=NOW
                        )
                    )

        await plan("r1", [
            ("Психолого-педагогическая диагностика", "diagnostics", date(2026, 1, 31), True),
            ("Психологические тренинги", "training", date(2026, 3, 31), True),
            ("День самоуправления", "self_government_day", date(2026, 10, 31), True),
            ("Курсы переподготовки", "courses", None, False),
        ])  # fmt: skip
        await plan("r2", [
            ("Психолого-педагогическая диагностика", "diagnostics", date(2026, 1, 31), True),
            ("Психологические тренинги", "training", date(2026, 3, 31), False),
        ])  # fmt: skip
        await plan("r3", [("Психологические тренинги", "other", date(2026, 12, 31), False)])
        await plan("r4", [("Психологические тренинги", "training", date(2026, 3, 31), True)])
        await plan("r8", [
            ("Психолого-педагогическая диагностика", "diagnostics", date(2026, 1, 31), True),
            ("День самоуправления", "self_government_day", date(2026, 10, 31), False),
        ])  # fmt: skip
        # an item archived by a roadmap change counts for nothing
        r3_plan = await repo.plans.plan(ids["r3"], YEAR)
        assert r3_plan is not None
        s.add(
            PlanItem(
                plan_id=r3_plan.id,
                own_title="Старое",
                kind="training",
                occurrence=1,
                due_on=date(2026, 2, 28),
                status="planned",
                archived=True,
            )
        )
        # last year's plan of r6 does not count this year
        old = IndividualPlan(user_id=ids["r6"], year=YEAR - 1)
        s.add(old)
        await s.flush()
        s.add(
            PlanItem(
                plan_id=old.id,
                own_title="Тренинг",
                kind="training",
                occurrence=0,
                due_on=date(2025, 3, 31),
                status="done",
                done_on=date(2025, 3, 3),
            )
        )

        s.add_all([
            MentorAssignment(reservist_id=ids["r1"], mentor_id=mentor.id, started_at=NOW),
            MentorAssignment(reservist_id=ids["r4"], mentor_id=mentor.id, started_at=NOW),
            MentorAssignment(reservist_id=ids["r6"], mentor_id=mentor.id, started_at=NOW,
                             ended_at=NOW),
        ])  # fmt: skip

        def consultation(key: str, status: str, held_on: date) -> Consultation:
            return Consultation(
                reservist_id=ids[key],
                mentor_id=mentor.id,
                logged_by=mentor.id,
                held_on=held_on,
                format="online",
                topic="Подготовка",
                minutes=45,
                status=status,
            )

        s.add_all([
            consultation("r2", "confirmed", date(2026, 4, 10)),
            consultation("r3", "pending", date(2026, 4, 10)),
            consultation("r6", "declined", date(2026, 4, 10)),
            consultation("r3", "confirmed", date(2025, 12, 20)),  # last year: not counted
        ])  # fmt: skip
        await s.flush()
        return World(ids=ids, officer=officer.id, mentor=mentor.id)


def kod(indicators: list[object]) -> dict[str, tuple[int, int, float | None]]:
    """{code: (K, O, D)}."""
    return {i.code: (i.k, i.o, i.d) for i in indicators}  # type: ignore[attr-defined]


def test_share_rounds_half_up_and_handles_zero() -> None:
    assert share(1, 8) == 12.5
    assert share(2, 3) == 66.7
    assert share(1, 400) == 0.3  # 0.25 rounds up, not to even
    assert share(1, 7) == 14.3
    assert share(0, 5) == 0.0
    assert share(5, 5) == 100.0
    assert share(0, 0) is None
    with pytest.raises(ValueError, match="bad share"):
        share(3, 2)


async def test_region_exact_values(db: Database) -> None:
    await build_world(db)
    async with db.session() as repo:
        report = await IndicatorService(repo).report(None, YEAR, TODAY)
    assert report.people == 8 and report.by == "municipality" and report.area is None
    assert [i.code for i in report.indicators] == list(CODES)
    assert kod(report.indicators) == {
        "support": (3, 5, 60.0),  # r1, r2 (consultation too), r8 of r1 r2 r3 r6 r8
        "plan": (1, 5, 20.0),  # r1 only
        "mentor": (1, 5, 20.0),  # r1 (r4 appointed, r6's ended)
        "appointed": (1, 7, 14.3),  # r4 of everyone but the candidate
        "training": (2, 3, 66.7),  # r1, r4 of r1 r2 r4
        "organisations": (2, 5, 40.0),  # СОШ 1, СОШ 3 of СОШ 1/2/3, Гимназия, Лицей
    }
    organisations = report.indicators[-1]
    assert organisations.target == 10.0
    assert "Камышинского" in organisations.source
    support = report.indicators[0]
    assert support.title == "Охват методическим сопровождением"
    assert support.formula.startswith("D = K / O × 100 %")
    assert "основной показатель 1" in support.source
    assert "2.14" in report.indicators[2].source
    assert "трек 2, показатель 3" in report.indicators[3].source


async def test_municipal_scope_is_case_and_space_insensitive(db: Database) -> None:
    await build_world(db)
    async with db.session() as repo:
        report = await IndicatorService(repo).report("  ПЕТРОВСКИЙ район ", YEAR, TODAY)
        people = await IndicatorService(repo).people(PETROVSKY, YEAR, TODAY)
    assert report.people == 6 and report.by == "organisation"
    assert {p.municipality for p in people} == {PETROVSKY, "петровский  район"}
    assert kod(report.indicators) == {
        "support": (3, 4, 75.0),
        "plan": (1, 4, 25.0),
        "mentor": (1, 4, 25.0),
        "appointed": (1, 5, 20.0),
        "training": (2, 3, 66.7),
        "organisations": (2, 3, 66.7),
    }


async def test_empty_scope_gives_no_data_not_zero(db: Database) -> None:
    await build_world(db)
    async with db.session() as repo:
        report = await IndicatorService(repo).report("Нет такого района", YEAR, TODAY)
        next_year = await IndicatorService(repo).report(KAMYSHIN, YEAR + 1, TODAY)
    assert report.people == 0 and report.groups == []
    assert all(i.k == 0 and i.o == 0 and i.d is None for i in report.indicators)
    # Kamyshin next year: no plans, so no plan-based data; statuses still count
    values = kod(next_year.indicators)
    assert values["training"] == (0, 0, None)
    assert values["plan"] == (0, 1, 0.0)
    assert values["appointed"] == (0, 2, 0.0)


async def test_breakdown_by_municipality_and_organisation(db: Database) -> None:
    await build_world(db)
    async with db.session() as repo:
        service = IndicatorService(repo)
        region = await service.report(None, YEAR, TODAY)
        people = await service.people(PETROVSKY, YEAR, TODAY)
    assert [(g.label, g.people) for g in region.groups] == [(PETROVSKY, 6), (KAMYSHIN, 2)]
    petrovsky = region.groups[0]
    assert kod(petrovsky.indicators)["support"] == (3, 4, 75.0)
    assert kod(region.groups[1].indicators)["mentor"] == (0, 1, 0.0)

    by_org = group_indicators(people, YEAR, "organisation")
    labels = [(g.label, g.people) for g in by_org]
    assert labels[0] == ("СОШ № 1", 2)  # «сош  № 1» is the same school
    assert ("организация не указана", 1) in labels  # the anonymised reservist
    merged = group_indicators(people, YEAR, "organisation", limit=2)
    assert [g.label for g in merged][-1] == "Прочие"
    assert sum(g.people for g in merged) == 6
    assert kod(compute_indicators(people, YEAR)) == kod(
        group_indicators(people, YEAR, "organisation", limit=1)[0].indicators
    )
    with pytest.raises(ValueError, match="unknown grouping"):
        group_indicators(people, YEAR, "school")


def _summary(report: IndicatorReport) -> list[object]:
    return [
        report.people,
        kod(report.indicators),
        [(g.label, g.people, kod(g.indicators)) for g in report.groups],
    ]


async def test_counts_aggregated_in_sql_match_the_people(db: Database) -> None:
    """/kpi aggregates in the database (ReportsRepo.group_counts); the export counts the
    people it read: the same figures for every scope, grouping and limit, a mentor who deleted
    their data included."""
    world = await build_world(db)
    for step in ("as built", "mentor deleted"):
        if step == "mentor deleted":
            async with db.session() as repo:
                await repo.session.execute(
                    update(User).where(User.id == world.mentor).values(full_name=None)
                )
        async with db.session() as repo:
            service = IndicatorService(repo)
            for area in (None, PETROVSKY, " камышинский  РАЙОН", "Нет такого района"):
                people = await service.people(area, YEAR, TODAY)
                for limit in (None, 1, 2, 12):
                    in_sql = await service.report(area, YEAR, TODAY, group_limit=limit)
                    in_python = await service.report(
                        area, YEAR, TODAY, group_limit=limit, people=people
                    )
                    assert _summary(in_sql) == _summary(in_python), (step, area, limit)
    assert kod(in_sql.indicators)["mentor"] == (0, 0, None)


async def test_kpi_reads_a_fixed_number_of_rows(db: Database) -> None:
    """The indicators read the same number of statements, and one row per spelling of
    municipality and organisation (not one per reservist), whatever the number of people."""
    await build_world(db)

    async def measure() -> tuple[int, int]:
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            async with db.session() as repo:
                rows = await repo.reports.group_counts(
                    YEAR,
                    None,
                    in_reserve=["included", "training"],
                    ever_included=["included", "training", "appointed", "excluded"],
                    appointed="appointed",
                )
                await IndicatorService(repo).report(PETROVSKY, YEAR, TODAY, group_limit=12)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements), len(rows)

    small = await measure()
    async with db.session() as repo:
        repo.session.add_all(
            User(role=Role.RESERVIST, full_name=f"Новиков {n}", organisation="СОШ № 1",
                 municipality=PETROVSKY, reserve_status="included", registered_at=NOW)
            for n in range(30)
        )  # fmt: skip
    assert await measure() == small
