"""Importing roadmaps into the database: from the command line and as a service; re-imports
change nothing or update in place, and never delete what reservists logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import prepare_database
from bot.config import Settings
from bot.services.plans import PlanService, windows_in_year
from bot.services.roadmap import parse_roadmap_text
from bot.services.roadmap_import import import_roadmap
from storage.db import Database
from storage.models import Activity, PlanItem, Role, User

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "tests" / "data"


def cli(args: list[str], db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    env.pop("BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("seed", "count"),
    [
        ("petrovsky-roadmap-2022.txt", 11),
        ("kamyshin-program-2022.txt", 16),
        ("khabarovsk-project-2023.txt", 34),
    ],
)
def test_cli_json_prints_only_the_activities(seed: str, count: int, tmp_path: Path) -> None:
    result = cli(
        ["roadmap", "import", str(SEEDS / seed), "--json", "--dry-run"],
        f"sqlite+aiosqlite:///{tmp_path}/x.db",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data) == count
    assert set(data[0]) == {
        "title", "kind", "schedule", "responsible", "result", "section", "source_line",
        "kind_reason", "for_reservists", "audience_reason",
    }  # fmt: skip
    assert set(data[0]["schedule"]) == {"months", "years", "recurrence", "text"}
    assert not (tmp_path / "x.db").exists()  # --dry-run wrote nothing


def test_cli_summary_import_and_reimport(database_url: str, tmp_path: Path) -> None:
    seed = SEEDS / "khabarovsk-project-2023.txt"
    result = cli(["roadmap", "import", str(seed)], database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "34 activities" in result.stdout
    assert "line 212" in result.stdout  # the row with no schedule is reported
    assert "for reservists' plans: 8" in result.stdout
    assert "department's work (not in plans): 26" in result.stdout
    assert "imported: 34 new" in result.stdout
    again = cli(["roadmap", "import", str(seed)], database_url, tmp_path)
    assert "imported: 0 new, 0 updated, 34 unchanged, 0 archived" in again.stdout


def test_cli_file_without_table_fails_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "letter.txt"
    bad.write_text("Уважаемые коллеги!\nПросим направить списки.\n", encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    result = cli(["roadmap", "import", str(bad)], url, tmp_path)
    assert result.returncode == 1
    assert "error:" in result.stderr
    assert not (tmp_path / "x.db").exists()
    missing = cli(["roadmap", "import", str(tmp_path / "nope.docx")], url, tmp_path)
    assert missing.returncode == 1 and "cannot read" in missing.stderr


TABLE = (
    "№\tМероприятия\tСроки\tОтветственные\n"
    "1\tПсихолого-педагогическая диагностика\tянварь\tРЦОСОК\n"
    "2\tПсихологические тренинги для резерва\tМарт июнь октябрь\tРЦОСОК\n"
    "3\tСобеседование по итогам выполнения индивидуального плана\tдекабрь\tОтдел\n"
)


async def test_changed_roadmap_updates_in_place_and_keeps_logged_work(
    settings: Settings, db: Database
) -> None:
    await prepare_database(settings, db)
    today = date(2026, 1, 10)
    async with db.session() as repo:
        await import_roadmap(repo, parse_roadmap_text(TABLE), "v1.txt", b"v1", today)
        user = await repo.users.add(
            User(telegram_id=5, role=Role.RESERVIST, full_name="Иванов Иван", active=True)
        )
        view = await PlanService(repo).view(user, 2026, today)
        assert view.total == 5  # diagnostics, three trainings, interview
        plan = await repo.plans.plan(user.id, 2026)
        assert plan is not None
        items = await repo.plans.items(plan.id)
        diag = next(i for i in items if i.kind == "diagnostics")
        await PlanService(repo).mark_done(
            user, diag.id, done_on=today, comment="ok", evidence=None, today=today
        )
    # v2: diagnostics removed, trainings renamed (same key? no: a new title is a new key),
    # interview moved to November
    v2 = TABLE.replace("1\tПсихолого-педагогическая диагностика\tянварь\tРЦОСОК\n", "").replace(
        "декабрь\tОтдел", "ноябрь\tОтдел"
    )
    async with db.session() as repo:
        report = await import_roadmap(repo, parse_roadmap_text(v2), "v2.txt", b"v2", today)
        assert report.activities.archived >= 1
        assert report.activities.updated == 1  # the interview's schedule
        items = (await repo.session.scalars(select(PlanItem))).all()
        done = [i for i in items if i.status == "done"]
        assert len(done) == 1 and done[0].comment == "ok" and not done[0].archived
        interview = next(i for i in items if i.kind == "interview")
        assert interview.due_on == date(2026, 11, 30)
        activities = (await repo.session.scalars(select(Activity))).all()
        assert any(a.archived for a in activities)  # archived, not deleted
    # importing v2 again changes nothing
    async with db.session() as repo:
        report = await import_roadmap(repo, parse_roadmap_text(v2), "v2.txt", b"v2", today)
        assert (report.activities.created, report.activities.updated) == (0, 0)
        assert (report.plans.added, report.plans.updated, report.plans.archived) == (0, 0, 0)


def test_windows_in_year() -> None:
    plan = {"months": [12, 1], "years": [], "recurrence": "yearly", "windows": [[12, 1]]}
    assert [(w.starts_on, w.due_on) for w in windows_in_year(plan, 2027)] == [
        (date(2026, 12, 1), date(2027, 1, 31))
    ]
    once = {"months": [4], "years": [2023, 2024], "recurrence": "once", "windows": [[4, 4]]}
    assert windows_in_year(once, 2026) == []
    assert [w.due_on for w in windows_in_year(once, 2024)] == [date(2024, 4, 30)]
    quarterly = {"months": [], "years": [], "recurrence": "quarterly",
                 "windows": [[1, 3], [4, 6], [7, 9], [10, 12]]}  # fmt: skip
    assert [w.due_on.month for w in windows_in_year(quarterly, 2026) if w.due_on] == [3, 6, 9, 12]
    demand = {"months": [], "years": [], "recurrence": "on_demand", "windows": []}
    assert [(w.starts_on, w.due_on) for w in windows_in_year(demand, 2026)] == [(None, None)]
    # «Ежегодно (Апрель-май, 2027 г.)»: yearly from 2027, nothing in the plans before it
    from_2027 = {"months": [4, 5], "years": [], "recurrence": "yearly",
                 "windows": [[4, 5]], "first_year": 2027}  # fmt: skip
    assert windows_in_year(from_2027, 2026) == []
    assert [w.due_on for w in windows_in_year(from_2027, 2028)] == [date(2028, 5, 31)]
    assert datetime.now(UTC)  # keep the import honest


async def test_the_officers_word_on_plans_is_kept_on_reimport(
    settings: Settings, db: Database
) -> None:
    """An officer who moved an activity out of plans (or into them) in /roadmap keeps that when
    the same document is imported again; the report counts it and maps keys to ids."""
    from bot.services.roadmap_admin import RoadmapAdmin  # noqa: PLC0415

    await prepare_database(settings, db)
    today = date(2026, 1, 10)
    result = parse_roadmap_text(TABLE)
    async with db.session() as repo:
        first = await import_roadmap(repo, result, "v1.txt", b"v1", today)
        assert first.kept == 0
        assert set(first.ids) == {a.key for a in result.activities}
        officer = await repo.users.add(
            User(telegram_id=9, role=Role.OFFICER, full_name="Петрова Анна", active=True)
        )
        interview = next(a for a in result.activities if a.kind == "interview")
        assert interview.for_reservists
        toggled = await RoadmapAdmin(repo, officer).toggle(
            first.ids[interview.key], "for_reservists", today
        )
        assert not toggled.for_reservists
    async with db.session() as repo:
        again = await import_roadmap(repo, result, "v1.txt", b"v1", today)
        assert again.kept == 1
        assert (again.activities.created, again.activities.updated) == (0, 0)
        stored = await repo.activities.get(first.ids[interview.key])
        assert stored is not None and not stored.for_reservists


def test_half_yearly_and_quarter_schedules_give_plan_windows() -> None:
    from bot.services.roadmap import parse_schedule  # noqa: PLC0415

    half = parse_schedule("1 раз в полугодие")[0].to_storage()
    assert [(w.starts_on, w.due_on) for w in windows_in_year(half, 2026)] == [
        (date(2026, 1, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 12, 31)),
    ]
    quarter = parse_schedule("IV квартал")[0].to_storage()
    assert [(w.starts_on, w.due_on) for w in windows_in_year(quarter, 2026)] == [
        (date(2026, 10, 1), date(2026, 12, 31)),
    ]
    # "Ежегодно (Апрель-май, 2021 г.)" is in every year's plan, not only 2021's
    yearly = parse_schedule("Ежегодно (Апрель-май, 2021 г.)")[0].to_storage()
    assert [(w.starts_on, w.due_on) for w in windows_in_year(yearly, 2026)] == [
        (date(2026, 4, 1), date(2026, 5, 31)),
    ]
