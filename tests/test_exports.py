"""The export files: the workbook (sheets, headers, frozen header, autofilter, values), the CSV
(BOM, «;»), sheet names, formula-looking text, built in the export's child process (the audit
row after it, nothing on a failure, no child left behind); the year-end .docx and the chart
PNG."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import event, select, update
from structlog.testing import capture_logs

from bot.services import export_process, exports
from bot.services.charts import indicators_chart
from bot.services.errors import InputError, NotFoundError
from bot.services.export_process import ExportError
from bot.services.exports import ExportService, sheet_title
from bot.services.indicators import IndicatorService
from bot.services.mentoring import Pool, search_people
from bot.services.year_report import (
    YearReportService,
    build_year_report,
    clean_conclusion,
    report_filename,
)
from bot.texts import reports as tr
from storage import migrate
from storage.db import Database
from storage.models import AuditEntry, IndividualPlan, ItemComment, PlanItem, Role, User
from tests.conftest import bot_processes
from tests.fresh_python import fresh_python
from tests.test_indicators import KAMYSHIN, NOW, PETROVSKY, TODAY, YEAR, build_world

ZONE = ZoneInfo("Europe/Moscow")
ROOT = Path(__file__).resolve().parent.parent


async def export(db: Database, area: str | None, *, as_csv: bool = False) -> bytes:
    async with db.session() as repo:
        built = await ExportService(repo).export(
            None, area, YEAR, today=TODAY, zone=ZONE, now=NOW, csv_format=as_csv,
        )  # fmt: skip
    return built.content


async def test_workbook_sheets_headers_and_values(db: Database) -> None:
    world = await build_world(db)
    wb = load_workbook(io.BytesIO(await export(db, None)))
    names = wb.sheetnames
    assert names[:3] == ["Резервисты", "Показатели", "По муниципалитетам"]
    assert len(names) == len({n.casefold() for n in names})
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) for n in names)

    ws = wb["Резервисты"]
    assert [c.value for c in ws[1]] == list(tr.RESERVIST_HEADERS)
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:M9"  # 8 reservists
    assert ws[1][0].font.b
    assert 6 <= ws.column_dimensions["A"].width <= 60
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 8
    ivanova = rows["Иванова Мария Петровна"]
    assert ivanova[:7] == (
        "Иванова Мария Петровна", "СОШ № 1", "Учитель", PETROVSKY, "включён в резерв", 2025,
        "Кузнецова Анна Сергеевна",
    )  # fmt: skip
    assert ivanova[7:12] == (4, 3, 0, 0, 0)  # total, done, confirmed, overdue, consultations
    assert ivanova[12] == datetime(2026, 11, 22, 12, 0)  # 09:00 UTC in Moscow
    smirnov = rows["Смирнов Олег Игоревич"]
    assert smirnov[4] == "проходит подготовку"
    assert smirnov[7:12] == (2, 1, 0, 1, 1)  # the training is overdue; one consultation
    assert rows["(данные удалены)"][3] == PETROVSKY
    assert rows["Белов Борис Борисович"][4] == "кандидат"

    ind = wb["Показатели"]
    assert [c.value for c in ind[1]] == list(tr.INDICATOR_HEADERS)
    assert ind.freeze_panes == "A2" and ind.auto_filter.ref == "A1:H7"
    assert "Охват: все муниципалитеты" in str(ind["B9"].value)
    first = [c.value for c in ind[2]]
    assert first[:5] == [1, "Охват методическим сопровождением", 3, 5, 60.0]
    assert str(first[6]).startswith("D = K / O × 100 %")
    assert [c.value for c in ind[7]][4:6] == [40.0, 10.0]

    groups = wb["По муниципалитетам"]
    values = [[c.value for c in row] for row in groups.iter_rows(min_row=2)]
    assert [v[:2] for v in values] == [[PETROVSKY, 6], [KAMYSHIN, 2]]
    assert values[0][2:5] == [3, 4, 75.0]

    # an activity sheet: full title on top, then who did it and when
    diagnostics = next(n for n in names if "Психолого-педагогическая" in n)
    sheet = wb[diagnostics]
    assert sheet["A1"].value == "Психолого-педагогическая диагностика"
    assert [c.value for c in sheet[2]] == list(tr.ACTIVITY_HEADERS)
    assert sheet.freeze_panes == "A3"
    did = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert set(did) == {"Иванова Мария Петровна", "Смирнов Олег Игоревич", "(данные удалены)"}
    assert did["Иванова Мария Петровна"][3] == datetime(2026, 1, 31)
    assert len(did) == 3 and world.ids["r1"]


async def test_municipal_export_has_only_its_people(db: Database) -> None:
    await build_world(db)
    wb = load_workbook(io.BytesIO(await export(db, "петровский район")))
    assert "По организациям" in wb.sheetnames
    municipalities = {r[3] for r in wb["Резервисты"].iter_rows(min_row=2, values_only=True)}
    assert {m.casefold().replace("  ", " ") for m in municipalities} == {"петровский район"}
    empty = load_workbook(io.BytesIO(await export(db, "Нет такого района")))
    assert empty["Резервисты"].max_row == 1
    assert [c.value for c in empty["Показатели"][2]][4] == "нет данных"


async def test_csv_has_bom_semicolons_and_is_audited(db: Database) -> None:
    await build_world(db)
    data = await export(db, KAMYSHIN, as_csv=True)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == list(tr.RESERVIST_HEADERS)
    assert sorted(r[0] for r in rows[1:]) == ["Волков Виктор Викторович", "Зайцева Зоя Захаровна"]
    assert "\r\n" in text
    async with db.session() as repo:
        audit = (await repo.session.scalars(select(AuditEntry))).all()
    assert [(a.action, a.target, a.details["format"]) for a in audit] == [
        ("export", f"municipality:{KAMYSHIN}", "csv")
    ]


async def test_formula_looking_text_stays_text(db: Database) -> None:
    world = await build_world(db)
    async with db.session() as repo:
        await repo.session.execute(
            update(User)
            .where(User.id == world.ids["r5"])
            .values(organisation='=HYPERLINK("http://x","y")', position="#N/A")
        )
    wb = load_workbook(io.BytesIO(await export(db, KAMYSHIN)))
    row = next(r for r in wb["Резервисты"].iter_rows(min_row=2) if r[0].value.startswith("Волков"))
    assert row[1].value == '=HYPERLINK("http://x","y")' and row[1].data_type == "s"
    assert row[2].value == "#N/A" and row[2].data_type == "s"
    text = (await export(db, KAMYSHIN, as_csv=True)).decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_sheet_titles_are_valid_and_unique() -> None:
    taken = {"резервисты"}
    long = "Психологические тренинги для педагогов, планирующих вертикальный карьерный рост"
    first = sheet_title(long, taken)
    second = sheet_title(long, taken)
    assert len(first) <= 31 and first.endswith("…")
    assert second != first and second.endswith("(2)") and len(second) <= 31
    assert sheet_title("Резервисты", taken) == "Резервисты (2)"
    odd = sheet_title("Итоги: [план]/отчёт * 2023?\\", taken)
    assert not re.search(r"[\[\]:*?/\\]", odd) and odd == "Итоги план отчёт 2023"
    assert sheet_title("''", taken) == "Лист"


async def test_year_report_docx(db: Database) -> None:
    world = await build_world(db)
    r1 = world.ids["r1"]
    async with db.session() as repo:
        plan = await repo.plans.plan(r1, YEAR)
        assert plan is not None
        items = list(await repo.plans.items(plan.id))
        training = next(i for i in items if i.kind == "training")
        training.confirmed_at = NOW
        training.confirmed_by = world.mentor
        training.evidence_kind, training.evidence_name = "document", "Сертификат.pdf"
        training.comment = "Прошла все три дня"
        repo.session.add(
            ItemComment(item_id=training.id, author_id=world.mentor, text="Отлично!",
                        created_at=NOW)
        )  # fmt: skip
        await repo.flush()
        service = YearReportService(repo)
        blank = await service.collect(None, r1, YEAR, TODAY, ZONE)
        await service.save_conclusion(
            world.officer, None, r1, YEAR, "  Рекомендована  к назначению.\n\n\n\nПлан выполнен. ",
            NOW,
        )  # fmt: skip
        filled = await service.collect(PETROVSKY, r1, YEAR, TODAY, ZONE)
    assert blank.conclusion is None and blank.mentor == "Кузнецова Анна Сергеевна"
    assert filled.conclusion == "Рекомендована к назначению.\n\nПлан выполнен."
    assert filled.concluded_by == "Сидоров Иван Ильич" and filled.concluded_on == TODAY

    def text_of(content: bytes) -> str:
        doc = Document(io.BytesIO(content))
        cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
        return "\n".join([p.text for p in doc.paragraphs] + cells)

    empty = text_of(build_year_report(blank))
    assert tr.REPORT_TITLE in empty and "за 2026 год" in empty
    assert "Заключение ещё не внесено" in empty and tr.REPORT_BLANK_LINE in empty
    full = text_of(build_year_report(filled))
    for expected in (
        "Иванова Мария Петровна", "СОШ № 1", PETROVSKY, "включён в резерв",
        "Психологические тренинги", "Психолого-педагогическая диагностика",
        "Курсы переподготовки", "по мере необходимости", "выполнено", "Сертификат.pdf",
        "подтверждено 22.11.2026 (Кузнецова Анна Сергеевна)", "Отлично!", "Прошла все три дня",
        "Рекомендована к назначению.", "План выполнен.", "Сидоров Иван Ильич",
        "Выполнено 3 из 4, подтверждено наставником: 1, просрочено: 0",
    ):  # fmt: skip
        assert expected in full, expected
    assert "Заключение ещё не внесено" not in full


async def test_year_report_consultations_and_scope(db: Database) -> None:
    world = await build_world(db)
    async with db.session() as repo:
        service = YearReportService(repo)
        data = await service.collect(None, world.ids["r3"], YEAR, TODAY, ZONE)
        # /report's list for a municipal officer: the registered reservists of their area
        officer = User(role=Role.OFFICER, municipality=KAMYSHIN)
        listed = await search_people(repo, officer, Pool(Role.RESERVIST), None, 1)
        assert [p.full_name for p in listed.people] == [
            "Волков Виктор Викторович", "Зайцева Зоя Захаровна",
        ]  # fmt: skip
        for area, user_id in ((KAMYSHIN, world.ids["r3"]), (None, world.ids["r8"])):
            with pytest.raises(NotFoundError):
                await service.collect(area, user_id, YEAR, TODAY, ZONE)
    # only the consultation held this year, whatever its status
    assert [(c.held_on, c.status) for c in data.consultations] == [(date(2026, 4, 10), "pending")]
    doc = Document(io.BytesIO(build_year_report(data)))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert "ждёт подтверждения" in cells and "онлайн" in cells and "10.04.2026" in cells


def test_conclusion_validation_and_filename() -> None:
    assert clean_conclusion("  Выполнил   план.  ") == "Выполнил план."
    for bad in (None, "", "   ", "коротко", "/cancel это", "я" * 3001):
        with pytest.raises(InputError):
            clean_conclusion(bad)
    assert report_filename("Иванова Мария Петровна", 2026) == "plan-report-2026-ivanova.docx"
    assert report_filename("Щукин Ёж", 2026) == "plan-report-2026-shchukin.docx"
    assert report_filename(None, 2026) == "plan-report-2026.docx"


async def test_chart_png(db: Database) -> None:
    await build_world(db)
    async with db.session() as repo:
        report = await IndicatorService(repo).report(None, YEAR, TODAY, group_limit=12)
    png = indicators_chart(report.groups, tr.chart_title(YEAR, None))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    empty = indicators_chart([], "Нет данных")
    assert empty.startswith(b"\x89PNG")
    subset = indicators_chart(report.groups, "x", codes=["support", "mentor"])
    assert subset.startswith(b"\x89PNG")


async def run_cli(db_url: str, cwd: Path, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    env.pop("BOT_TOKEN", None)
    env.pop("OFFICER_IDS", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_export(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    db = Database(db_url)
    await migrate.upgrade(db.engine)
    await build_world(db)
    await db.dispose()

    code, out, err = await run_cli(
        db_url, tmp_path, "export", "--out", str(tmp_path / "r.xlsx"), "--year", "2026"
    )
    assert code == 0, err
    assert "exported 8 reservist(s)" in out
    wb = load_workbook(tmp_path / "r.xlsx")
    assert wb["Резервисты"].max_row == 9

    code, out, err = await run_cli(
        db_url, tmp_path, "export", "--out", str(tmp_path / "k.csv"),
        "--municipality", "камышинский район",
    )  # fmt: skip
    assert code == 0, err
    text = (tmp_path / "k.csv").read_bytes().decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 3 and ";" in text

    code, _, err = await run_cli(db_url, tmp_path, "export", "--out", "/no/such/dir/x.xlsx")
    assert code == 1 and "no folder" in err
    db = Database(db_url)
    async with db.session() as repo:
        audit = (await repo.session.scalars(select(AuditEntry))).all()
    await db.dispose()
    assert [(a.actor_id, a.target) for a in audit] == [
        (None, "region"), (None, "municipality:камышинский район"),
    ]  # fmt: skip


def _widths(ws: object) -> dict[int, float]:
    """Column number → stored width (a <col> element may cover several columns)."""
    found = {}
    for dim in ws.column_dimensions.values():  # type: ignore[attr-defined]
        if dim.min and dim.width:
            found.update(dict.fromkeys(range(dim.min, dim.max + 1), dim.width))
    return found


async def test_workbook_cells_formats_and_widths(db: Database) -> None:
    """What the writer (XlsxWriter) stores, read back cell by cell: number formats of dates
    and shares, bold headers and captions, text cells, widths fitted to the longest value,
    control characters dropped, the note under the indicators outside the filter."""
    world = await build_world(db)
    async with db.session() as repo:
        await repo.session.execute(
            update(User).where(User.id == world.ids["r3"]).values(position="Завуч\x07 по УВР")
        )
    wb = load_workbook(io.BytesIO(await export(db, None)))
    ws = wb["Резервисты"]
    assert all(c.font.b for c in ws[1]) and not any(c.font.b for c in ws[2])
    rows = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    ivanova = rows["Иванова Мария Петровна"]
    assert ivanova[12].number_format == "DD.MM.YYYY HH:MM" and ivanova[12].is_date
    assert [c.data_type for c in ivanova[:12]] == ["s"] * 5 + ["n", "s"] + ["n"] * 5
    assert rows["Петров Пётр Петрович"][2].value == "Завуч по УВР"
    widths = _widths(ws)
    assert sorted(widths) == list(range(1, 14))
    longest = max(len(str(r[0].value)) for r in ws.iter_rows())
    assert widths[1] == min(max(longest + 2, 6), 60)
    assert all(6 <= w <= 60 for w in widths.values())

    ind = wb["Показатели"]
    assert ind["E2"].value == 60.0 and ind["E2"].number_format == "0.0"
    assert ind["B9"].row > 7 and ind.auto_filter.ref == "A1:H7"  # the note: below the filter
    assert not ind["B9"].font.b

    sheet = wb[next(n for n in wb.sheetnames if "Психолого-педагогическая" in n)]
    assert sheet["A1"].font.b and sheet["A2"].font.b and not sheet["A3"].font.b
    assert sheet["D3"].number_format == "DD.MM.YYYY" and sheet["D3"].is_date
    assert sheet.auto_filter.ref == "A2:F5"


async def test_export_statements_do_not_grow_with_reservists(db: Database) -> None:
    """The export's reading (``collect``, which its child process runs) takes a fixed number
    of SQL statements, whatever the number of reservists and of their done items (fetched in
    batches of one query)."""
    await build_world(db)

    async def statements() -> int:
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            async with db.session() as repo:
                await ExportService(repo).collect(None, YEAR, TODAY, ZONE, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = await statements()
    async with db.session() as repo:
        activity = (await repo.activities.active())[0]
        for n in range(25):
            user = User(
                role=Role.RESERVIST,
                full_name=f"Новиков {n}",
                organisation="СОШ № 9",
                municipality=PETROVSKY,
                reserve_status="included",
                registered_at=NOW,
            )
            repo.session.add(user)
            await repo.session.flush()
            plan = IndividualPlan(user_id=user.id, year=YEAR)
            repo.session.add(plan)
            await repo.session.flush()
            repo.session.add_all(
                PlanItem(plan_id=plan.id, own_title=activity.title, kind=activity.kind,
                         occurrence=k, activity_id=activity.id, status="done",
                         done_on=TODAY)
                for k in range(3)
            )  # fmt: skip
    assert await statements() == few


def export_children() -> set[int]:
    """The pids of this process's live descendants that run the export's child module."""
    return {pid for pid, cmd in bot_processes().items() if export_process.CHILD_MODULE in cmd}


def running(pid: int) -> bool:
    """Whether ``pid`` is a process, running or ended and not reaped yet."""
    return Path(f"/proc/{pid}").exists()


async def test_audit_row_is_written_after_the_child_built_the_file(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child reads the committed rows through its own connection; when its file is done,
    the caller's transaction holds no audit row yet (and, on SQLite, no write lock: another
    connection writes meanwhile); the row comes after, with the child's count of rows. The
    build is logged with counts only."""
    await build_world(db)
    seen: list[int] = []
    async with db.session() as repo:
        run = exports.run_export

        async def spy(request: export_process.ExportRequest) -> tuple[bytes, int]:
            built = await run(request)
            seen.append(len(await repo.audit.entries()))
            if db.dialect == "sqlite":  # a user's write, meanwhile
                path = db.url.split("///", 1)[1]
                with sqlite3.connect(path, timeout=0.5) as other:
                    other.execute("UPDATE users SET muted = muted")
            return built

        monkeypatch.setattr(exports, "run_export", spy)
        with capture_logs() as logs:
            built = await ExportService(repo).export(
                None, None, YEAR, today=TODAY, zone=ZONE, now=NOW
            )
    assert seen == [0] and built.rows == 8 and built.content.startswith(b"PK")
    (logged,) = logs  # the count, the time and the child's memory, no values read
    assert logged["event"] == "export built" and logged["rows"] == 8
    assert set(logged) == {"event", "rows", "seconds", "child_peak_mib", "log_level"}
    async with db.session() as repo:
        entries = await repo.audit.entries()
    assert [(e.action, e.details["rows"]) for e in entries] == [("export", 8)]


async def test_a_failed_export_records_nothing_and_logs_no_values(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that cannot read its database exits with 1: :class:`ExportError`, logged with
    the exception's type and the exit code only, and no audit row. An in-memory database is
    refused before any child starts (a child cannot open it)."""
    broken = tmp_path / "broken.db"
    broken.write_bytes("Иванова Мария Петровна ".encode() * 200)  # not a database
    for url, error in (
        (f"sqlite+aiosqlite:///{broken}", "exit code 1"),
        ("sqlite+aiosqlite:///:memory:", "in-memory"),
    ):
        elsewhere = Database(url)
        try:
            async with elsewhere.session() as repo:
                with capture_logs() as logs, pytest.raises(ExportError, match=error):
                    await ExportService(repo).export(
                        None, None, YEAR, today=TODAY, zone=ZONE, now=NOW
                    )
        finally:
            await elsewhere.dispose()
        if url.endswith("broken.db"):
            assert logs == [
                {"event": "export failed", "error": "DatabaseError", "exit_code": 1,
                 "log_level": "error"},
            ]  # fmt: skip
    # and on a good database a failed child (here: its module cannot start) records nothing
    monkeypatch.setattr(export_process, "CHILD_MODULE", "bot.services.no_such_module")
    async with db.session() as repo:
        with pytest.raises(ExportError, match="exit code 1"):
            await ExportService(repo).export(None, None, YEAR, today=TODAY, zone=ZONE, now=NOW)
        assert await repo.audit.entries() == []


def test_the_request_carries_the_password_but_never_shows_it() -> None:
    """The child needs the database URL, password and all (on its standard input); the
    request's repr, which a log or a traceback could show, leaves it out."""
    url = "postgresql+asyncpg://reserve:s3cret@127.0.0.1/reserve"
    request = export_process.ExportRequest(url, KAMYSHIN, YEAR, TODAY, str(ZONE), NOW, True)
    assert "s3cret" not in repr(request)
    assert export_process.ExportRequest.from_json(request.to_json()) == request


def test_folders_left_by_a_killed_bot_are_removed(tmp_path: Path) -> None:
    """A bot killed during an export leaves its folder, maybe with the file of personal data
    in it; the next start deletes the folders of processes that no longer run, and only
    those."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    left = tmp_path / f"{export_process.FOLDER_PREFIX}{int(ended.stdout)}-x1"
    left.mkdir()
    (left / export_process.FILE_NAME).write_bytes(b"PK\x03\x04")
    ours = tmp_path / f"{export_process.FOLDER_PREFIX}{os.getpid()}-x2"  # a running export
    ours.mkdir()
    unrelated = tmp_path / "reserve-export-my-notes"
    unrelated.mkdir()
    assert export_process.remove_left_folders(tmp_path) == 1
    assert not left.exists() and ours.exists() and unrelated.exists()
    assert export_process.remove_left_folders(tmp_path) == 0


#: a stand-in for the bot: starts the export's child on the given pipe (the test holds its
#: other end, so the child waits for its request) and prints the child's pid
FAKE_BOT = (
    "import subprocess, sys, time; "
    "child = subprocess.Popen([sys.executable, '-m', 'bot.services.export_child', sys.argv[1]],"
    " stdin=int(sys.argv[2])); print(child.pid, flush=True); time.sleep(120)"
)


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="reads /proc/PID/wchan")
def test_the_child_dies_with_the_bot(tmp_path: Path) -> None:
    """The bot's process killed (SIGKILL, no chance to clean up) while its export's child is
    at work: the kernel kills the child too, rather than leave it building a file that
    nobody will read."""
    read_end, write_end = os.pipe()
    bot = subprocess.Popen(
        [sys.executable, "-c", FAKE_BOT, str(tmp_path / "export"), str(read_end)],
        pass_fds=(read_end,), stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    os.close(read_end)
    child = 0
    try:
        assert bot.stdout is not None
        child = int(bot.stdout.readline())
        wchan = Path(f"/proc/{child}/wchan")
        deadline = time.monotonic() + 60
        while "pipe" not in wchan.read_text():  # imported, and waiting for its request
            assert time.monotonic() < deadline, "the child never read its request"
            time.sleep(0.01)
        bot.kill()
        bot.wait()
        deadline = time.monotonic() + 10
        while ended_state(child) is None:
            assert time.monotonic() < deadline, "the child outlived the bot"
            time.sleep(0.01)
    finally:
        os.close(write_end)
        bot.kill()
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(child, signal.SIGKILL)


def ended_state(pid: int) -> str | None:
    """ "gone" or "zombie" when ``pid`` has ended (a zombie waits for its new parent to reap
    it), else None."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "gone"
    return "zombie" if state in ("Z", "X") else None


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the processes from /proc")
async def test_exports_at_once_take_turns(db: Database) -> None:
    """Two officers exporting at once: one child at a time (EXPORT_CHILDREN), and both get
    their file."""
    await build_world(db)
    both = asyncio.gather(export(db, None), export(db, KAMYSHIN, as_csv=True))
    most = 0
    while not both.done():
        most = max(most, len(export_children()))
        await asyncio.sleep(0.005)
    region, municipal = await both
    assert most == 1
    assert region.startswith(b"PK") and municipal.startswith(b"\xef\xbb\xbf")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the processes from /proc")
async def test_the_child_never_outlives_its_export(db: Database) -> None:
    """Cancelled (the bot stopping) or out of time, the export kills its child process and
    reaps it before it ends; nothing is recorded."""
    task = asyncio.ensure_future(export(db, None))
    deadline = asyncio.get_running_loop().time() + 30
    while not (children := export_children()):
        assert not task.done() and asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not any(map(running, children))

    request = export_process.ExportRequest(db.url, None, YEAR, TODAY, str(ZONE), NOW, False)
    with pytest.raises(ExportError, match="longer than"):
        await export_process.run_export(request, seconds=0.05)
    assert export_children() == set()
    async with db.session() as repo:
        assert await repo.audit.entries() == []


def test_chart_uses_no_pyplot_and_fits_telegram() -> None:
    """The chart is drawn on matplotlib's Agg canvas without pyplot (its global state and GUI
    backends), at most 1280 pixels wide (what Telegram sends)."""
    code = (
        "import struct, sys\n"
        "from bot.services.charts import indicators_chart\n"
        "from bot.services.indicators import GroupIndicators, Indicator\n"
        "ind = [Indicator(c, c, 1, 2, 50.0, '', '') for c in 'abcdef']\n"
        "png = indicators_chart([GroupIndicators(f'Г {n}', 2, ind) for n in range(12)], 'x')\n"
        "width = struct.unpack('>I', png[16:20])[0]\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "print(width)\n"
    )
    assert 1000 <= int(fresh_python(code)) <= 1280
