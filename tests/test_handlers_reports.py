"""Officers' reports through Dispatcher.feed_update: /export (xlsx, csv; a failed build), /kpi
(text and chart), /report with the conclusion dialogue, the officer's scope, and the refusals
for other roles."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from datetime import UTC, datetime

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.services import export_process
from bot.texts import reports as tr
from storage.db import Database
from storage.models import AuditEntry, FsmState, IndividualPlan
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.mocked_bot import Call
from tests.sql_counter import counting
from tests.test_exports import export_children
from tests.test_handlers_registration import invite_code

RES, RES2, RES3, MENTOR, MUNI_OFFICER = 2001, 2002, 2003, 3001, 4001
KAMYSHIN = "Камышинский район"


async def register_as(
    h: Harness, tg_id: int, role: str, name: str, municipality: str | None = None
) -> None:
    """Register through an invite; ``municipality`` set on the invite (not asked) or typed."""
    code = await invite_code(h, role, f"1 {municipality}" if municipality else "")
    calls = await h.send(tg_id, f"/start {code}")
    await h.press(tg_id, last_with_buttons(calls).button("Согласен"))
    await h.send(tg_id, name)
    await h.send(tg_id, "МБОУ СОШ № 2" if role != "officer" else "Отдел образования")
    calls = await h.send(
        tg_id, {"mentor": "Директор", "officer": "Специалист"}.get(role, "Учитель")
    )
    if municipality is None:
        calls = await h.send(tg_id, "Петровский район")
    assert "зарегистрированы" in texts_of(calls), texts_of(calls)


@pytest.fixture
async def world(harness: Harness, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await register_as(harness, RES, "reservist", "Иванова Мария Петровна")
    await register_as(harness, RES2, "reservist", "Смирнов Олег Игоревич")
    await register_as(harness, RES3, "reservist", "Волкова Вера Викторовна", KAMYSHIN)
    await register_as(harness, MENTOR, "mentor", "Кузнецова Анна Сергеевна")
    await register_as(harness, MUNI_OFFICER, "officer", "Орлов Пётр Андреевич", KAMYSHIN)
    # Иванова logs the March training
    calls = await harness.send(RES, "/log")
    calls = await harness.press(RES, last_with_buttons(calls).button("Психологические тренинги"))
    calls = await harness.press(RES, last_with_buttons(calls).button("Сегодня"))
    calls = await harness.press(RES, last_with_buttons(calls).button("Пропустить"))
    await harness.send_document(RES, "Сертификат.pdf")
    return harness


def document_of(calls: list[Call], method: str = "sendDocument") -> tuple[str, bytes, Call]:
    """(file name, bytes, call) of the file the bot sent."""
    call = next(c for c in calls if c.method == method)
    key = "document" if method == "sendDocument" else "photo"
    upload = call.params[key]
    return upload.filename, upload.data, call


def docx_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


async def test_a_one_shot_command_outside_a_dialogue_writes_nothing(
    world: Harness, db: Database
) -> None:
    """/kpi ends the dialogue in progress; with none, ending it writes nothing (a write would
    hold SQLite's write lock until the update commits)."""
    with counting(db) as statements:
        await world.send(OFFICER_TG, "/kpi")
    assert statements and not [
        s for s in statements if not s.lstrip().upper().startswith("SELECT")
    ]


@pytest.mark.parametrize("command", ["/kpi", "/report Иванова"])
async def test_a_dialogue_ends_after_the_reading_not_before(
    world: Harness, db: Database, command: str
) -> None:
    """/kpi and /report (one match) leave a dialogue in progress (here /report's list) after
    they have read what they show: ending it writes, and the update's write transaction
    (SQLite's one write lock) would otherwise stay open through the queries and the build."""
    await world.send(OFFICER_TG, "/report")  # a dialogue in progress: picking a reservist
    with counting(db) as statements:
        calls = await world.send(OFFICER_TG, command)
    assert any(c.method in ("sendMessage", "sendDocument") for c in calls)
    first_write = next(
        n for n, s in enumerate(statements) if not s.lstrip().upper().startswith("SELECT")
    )
    read_after = [s for s in statements[first_write:] if s.lstrip().upper().startswith("SELECT")]
    assert all("fsm_states" in s for s in read_after), read_after
    async with db.session() as repo:
        assert await repo.session.scalar(select(func.count()).select_from(FsmState)) == 0


async def test_other_users_write_while_an_export_builds(world: Harness, db: Database) -> None:
    """An officer in a dialogue (/report's list) sends /export: the dialogue's end is written
    after the file is built, so SQLite's one write lock is free for other users meanwhile."""
    if db.dialect != "sqlite":
        pytest.skip("SQLite's single write lock")
    await world.send(OFFICER_TG, "/report")  # a dialogue in progress: picking a reservist
    async with db.session() as repo:
        assert await repo.session.scalar(select(func.count()).select_from(FsmState)) == 1
    export = asyncio.ensure_future(world.send(OFFICER_TG, "/export"))
    while not export_children():
        assert not export.done()
        await asyncio.sleep(0.005)
    with sqlite3.connect(db.url.split("///", 1)[1], timeout=0.2) as other:
        other.execute("UPDATE users SET muted = muted")  # another user's write, meanwhile
    assert export_children()  # it was written while the export's child was running
    name, _, _ = document_of(await export)
    assert name == "reserve-2026.xlsx"
    async with db.session() as repo:  # and the dialogue has ended
        assert await repo.session.scalar(select(func.count()).select_from(FsmState)) == 0


async def test_export_xlsx_csv_and_a_failed_build(
    world: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, data, call = document_of(await world.send(OFFICER_TG, "/export"))
    assert name == "reserve-2026.xlsx"
    assert "Резервистов: 3" in call.text
    wb = load_workbook(io.BytesIO(data))
    ws = wb["Резервисты"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:M4"
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {
        "Иванова Мария Петровна", "Смирнов Олег Игоревич", "Волкова Вера Викторовна",
    }  # fmt: skip
    assert rows["Иванова Мария Петровна"][8] == 1  # done
    assert rows["Волкова Вера Викторовна"][3] == KAMYSHIN
    training = next(n for n in wb.sheetnames if "Психологические тренинги" in n)
    did = list(wb[training].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[3], r[5]) for r in did] == [
        ("Иванова Мария Петровна", datetime(2026, 3, 2), "Сертификат.pdf")
    ]

    name, data, _ = document_of(await world.send(OFFICER_TG, "/export csv 2026"))
    assert name == "reserve-2026.csv"
    rows_csv = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows_csv[0][0] == "ФИО" and len(rows_csv) == 4

    calls = await world.send(OFFICER_TG, "/export pdf")
    assert "Использование: /export" in texts_of(calls)
    assert not any(c.method == "sendDocument" for c in calls)
    calls = await world.send(OFFICER_TG, "/export 1999")
    assert "Использование" in texts_of(calls)
    async with db.session() as repo:
        audit = (
            await repo.session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
        ).all()
    assert [(a.target, a.details["format"]) for a in audit] == [
        ("region", "xlsx"), ("region", "csv"),
    ]  # fmt: skip

    # the export's child process fails (here: it cannot even start its module): the officer
    # is told so, and no export is recorded
    monkeypatch.setattr(export_process, "CHILD_MODULE", "bot.services.no_such_module")
    calls = await world.send(OFFICER_TG, "/export")
    assert texts_of(calls) == tr.EXPORT_FAILED
    assert not any(c.method == "sendDocument" for c in calls)
    async with db.session() as repo:
        actions = [e.action for e in await repo.audit.entries()]
    assert actions.count("export") == 2


async def test_kpi_text_and_chart(world: Harness) -> None:
    calls = await world.send(OFFICER_TG, "/kpi")
    text = texts_of([c for c in calls if c.method == "sendMessage"])
    assert "Показатели кадрового резерва за 2026 год" in text
    assert "1. Охват методическим сопровождением: <b>33,3 %</b> — 1 из 3" in text
    assert "3. Обеспеченность наставниками: <b>0,0 %</b> — 0 из 3" in text
    assert "цель — не менее 10,0 %" in text
    name, png, photo = document_of(calls, "sendPhoto")
    assert name == "kpi-2026.png" and png.startswith(b"\x89PNG")
    assert "по муниципалитетам" in photo.text
    calls = await world.send(OFFICER_TG, "/kpi 2026г")
    assert "четырьмя цифрами" in texts_of(calls)
    # a municipal officer: only Kamyshin, by organisation
    calls = await world.send(MUNI_OFFICER, "/kpi")
    assert "Охват: Камышинский район" in texts_of(calls)
    assert "— 0 из 1" in texts_of(calls)
    _, _, photo = document_of(calls, "sendPhoto")
    assert "по образовательным организациям" in photo.text


async def test_report_pick_and_conclusion_dialogue(world: Harness, db: Database) -> None:
    calls = await world.send(OFFICER_TG, "/report")
    listing = last_with_buttons(calls)
    assert "Найдено: 3" in listing.text
    calls = await world.send(OFFICER_TG, "смирн")
    listing = last_with_buttons(calls)
    assert "Найдено: 1" in listing.text and "Смирнов" in listing.buttons()[0][0]
    calls = await world.send(OFFICER_TG, "Иванова")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Иванова"))
    name, data, sent = document_of(calls)
    assert name == "plan-report-2026-ivanova.docx"
    text = docx_text(data)
    assert "Анализ результативности исполнения индивидуального плана" in text
    assert "Психологические тренинги" in text and "Сертификат.pdf" in text
    assert "Заключение ещё не внесено" in text

    # the conclusion: too short, then /cancel leaves it
    calls = await world.press(OFFICER_TG, sent.button("Заключение"))
    assert "Напишите заключение" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "Хорошо")
    assert "от 10 до 3000" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "/cancel")
    assert "отменено" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "Рекомендована к назначению на должность директора.")
    assert not any(c.method == "sendDocument" for c in calls)
    async with db.session() as repo:
        plan = await repo.session.scalar(select(IndividualPlan).order_by(IndividualPlan.id))
        assert plan is not None and plan.interview_conclusion is None

    # and again, to the end: the updated report comes back
    calls = await world.press(OFFICER_TG, sent.button("Заключение"))
    calls = await world.send(
        OFFICER_TG, "Рекомендована к назначению\nна должность директора.   План выполнен."
    )
    assert "Заключение сохранено" in texts_of(calls)
    _, data, _ = document_of(calls)
    text = docx_text(data)
    assert "на должность директора. План выполнен." in text
    assert "Заключение ещё не внесено" not in text
    async with db.session() as repo:
        res = await repo.users.by_telegram(RES)
        officer = await repo.users.by_telegram(OFFICER_TG)
        assert res is not None and officer is not None
        plan = await repo.plans.plan(res.id, 2026)
        assert plan is not None
        assert plan.interview_conclusion == (
            "Рекомендована к назначению\nна должность директора. План выполнен."
        )
        assert plan.concluded_by == officer.id and plan.concluded_at is not None
        actions = [a.action for a in await repo.audit.entries()]
    assert actions.count("conclusion") == 1 and actions.count("export") == 2

    # the stored conclusion is shown when asked again
    calls = await world.press(OFFICER_TG, sent.button("Заключение"))
    assert "Сейчас записано" in texts_of(calls)
    await world.send(OFFICER_TG, "/cancel")


async def test_report_by_name_and_paging(world: Harness, db: Database) -> None:
    calls = await world.send(OFFICER_TG, "/report смирнов")
    name, _, _ = document_of(calls)
    assert name == "plan-report-2026-smirnov.docx"
    calls = await world.send(OFFICER_TG, "/report 2026 никого такого")
    assert "Никого не нашлось" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "/report")
    calls = await world.send_photo(OFFICER_TG)
    assert "обычным текстовым сообщением" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "/pairs")  # other commands still work here
    assert "закреплённых пар" in texts_of(calls)
    # a page button of this list (one page only, so a forged one is simply re-shown)
    calls = await world.press(OFFICER_TG, "ppl:rp:page:2")
    assert any(c.method == "editMessageText" and "Найдено: 3" in c.text for c in calls)


async def test_other_roles_are_refused(world: Harness, db: Database) -> None:
    async with db.session() as repo:
        res = await repo.users.by_telegram(RES)
        assert res is not None
    for who in (RES, MENTOR):
        for command in ("/export", "/export csv", "/kpi", "/report", "/report Иванова"):
            calls = await world.send(who, command)
            assert "недоступна" in texts_of(calls), (who, command)
            assert not any(c.method in {"sendDocument", "sendPhoto"} for c in calls)
        for data in (f"ppl:rp:pick:{res.id}", f"rpt:conclude:{res.id}:2026"):
            calls = await world.press(who, data)
            assert alert_of(calls) and not any(c.method == "sendDocument" for c in calls)


async def test_municipal_officer_sees_only_their_municipality(
    world: Harness, db: Database
) -> None:
    _, data, call = document_of(await world.send(MUNI_OFFICER, "/export"))
    assert "Охват: Камышинский район. Резервистов: 1." in call.text
    wb = load_workbook(io.BytesIO(data))
    names = [r[0] for r in wb["Резервисты"].iter_rows(min_row=2, values_only=True)]
    assert names == ["Волкова Вера Викторовна"]
    assert "По организациям" in wb.sheetnames
    _, data, _ = document_of(await world.send(MUNI_OFFICER, "/export csv"))
    assert "Иванова" not in data.decode("utf-8-sig")

    calls = await world.send(MUNI_OFFICER, "/report")
    listing = last_with_buttons(calls)
    assert "Найдено: 1" in listing.text and "Волкова" in listing.buttons()[0][0]
    calls = await world.send(MUNI_OFFICER, "/report Иванова")
    assert "Никого не нашлось" in texts_of(calls)
    # forged buttons for someone out of scope
    async with db.session() as repo:
        res = await repo.users.by_telegram(RES)
        res3 = await repo.users.by_telegram(RES3)
        assert res is not None and res3 is not None
    calls = await world.press(MUNI_OFFICER, f"ppl:rp:pick:{res.id}")
    assert "устарела" in alert_of(calls)
    calls = await world.press(MUNI_OFFICER, f"rpt:conclude:{res.id}:2026")
    assert "устарела" in alert_of(calls)
    calls = await world.press(MUNI_OFFICER, f"rpt:conclude:{res3.id}:2025")
    assert "нет индивидуального плана" in alert_of(calls)
    async with db.session() as repo:
        audit = (
            await repo.session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
        ).all()
    assert {a.target for a in audit} == {f"municipality:{KAMYSHIN}"}


async def test_kpi_of_an_empty_scope_sends_no_chart(world: Harness, db: Database) -> None:
    """No reservists in the officer's scope: the text says so and no chart is drawn (its import
    started alongside the queries is left to finish for the next /kpi)."""
    async with db.session() as repo:
        res3 = await repo.users.by_telegram(RES3)
        assert res3 is not None
        res3.municipality = "Петровский район"
    calls = await world.send(MUNI_OFFICER, "/kpi")
    assert "пока нет резервистов" in texts_of(calls)
    assert not any(c.method == "sendPhoto" for c in calls)
    calls = await world.send(OFFICER_TG, "/kpi")
    _, png, _ = document_of(calls, "sendPhoto")
    assert png.startswith(b"\x89PNG")
