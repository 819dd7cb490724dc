"""Bulk import of people from .xlsx/.csv lists: the service (all or nothing, errors by row,
idempotent re-import, csv variants, the mentor column, scope), the officer's document handler,
registration by a personal link («Всё верно» and «Исправить»), and the command line."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.services.people import PeopleService, Profile
from bot.services.people_import import (
    ImportFormatError,
    ImportResult,
    PeopleImportService,
    PeopleTable,
    RowStatus,
    TableKind,
    header_field,
    mentor_matches,
    output_name,
    read_table,
    render_output,
    table_kind,
)
from bot.texts import people as tp
from storage.db import Database
from storage.models import (
    AuditEntry,
    IndividualPlan,
    Invite,
    MentorAssignment,
    ReserveStatusChange,
    Role,
    User,
)
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, last_with_buttons, texts_of

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
BOT = "reserve_test_bot"
LINK = re.compile(r"^https://t\.me/reserve_test_bot\?start=([\w-]+)$")

HEADER = ["№", "ФИО", "Организация", "Должность", "Муниципалитет", "Роль", "Наставник", "Год"]
ROWS = [
    [1, "Иванова Мария Петровна", "МБОУ СОШ № 1", "Заместитель директора", "Петровский район",
     "резервист", "Петров И.С.", 2025],
    [2, "Сидоров Олег Ильич", "МБОУ СОШ № 2", "Учитель истории", "Петровский район",
     "Резервист", "Петров Иван Сергеевич", None],
    [3, "Петров Иван Сергеевич", "МБОУ Лицей", "Директор", "Петровский район",
     "наставник", None, None],
    [4, "Кузнецова Анна Викторовна", "Отдел образования", "Специалист", "Петровский район",
     "специалист", None, None],
]  # fmt: skip


def xlsx(rows: Sequence[Sequence[object]], title: str | None = "Кадровый резерв 2026") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.append([])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(
    rows: Sequence[Sequence[object]], delimiter: str = ";", encoding: str = "utf-8-sig"
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode(encoding)


def xlsx_cells(data: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [list(r) for r in sheet.iter_rows(min_row=1, min_col=1, values_only=True)]


async def run_import(
    db: Database,
    table: PeopleTable,
    *,
    actor_tg: int | None = None,
    now: datetime = NOW,
) -> ImportResult:
    async with db.session() as repo:
        actor = await repo.users.by_telegram(actor_tg) if actor_tg is not None else None
        return await PeopleImportService(repo).import_people(
            table,
            actor=actor,
            bot_username=BOT,
            now=now,
            today=now.date(),
            ttl=timedelta(days=14),
        )


async def counts(db: Database) -> dict[str, int]:
    result = {}
    async with db.session() as repo:
        for model in (User, Invite, MentorAssignment, ReserveStatusChange, IndividualPlan):
            count = await repo.session.scalar(select(func.count()).select_from(model))
            result[model.__tablename__] = int(count or 0)
    return result


async def add_officer(db: Database, tg_id: int, municipality: str | None) -> None:
    async with db.session() as repo:
        await repo.users.add(
            User(telegram_id=tg_id, role=Role.OFFICER, municipality=municipality, active=True)
        )


# --- reading ------------------------------------------------------------------------------------
def test_header_synonyms_and_kinds() -> None:
    assert header_field("Фамилия, имя, отчество") == "full_name"
    assert header_field("  Ф.И.О. (полностью) ") == "full_name"
    assert header_field("ФИО наставника") == "mentor"
    assert header_field("Год включения в резерв") == "cohort_year"
    assert header_field("МУНИЦИПАЛЬНОЕ ОБРАЗОВАНИЕ") == "municipality"
    assert header_field("role") == "role"
    assert header_field(tp.LINK_HEADER) == "link"
    assert header_field("Телефон") is None
    assert table_kind("Список.XLSX", None) == TableKind.XLSX
    assert table_kind("list.csv", "application/vnd.ms-excel") == TableKind.CSV
    assert table_kind("list", "text/csv") == TableKind.CSV
    assert table_kind("list.xls", None) is None
    assert table_kind("scan.pdf", "application/pdf") is None
    assert output_name("резерв.xlsx") == "резерв_ссылки.xlsx"
    assert mentor_matches("Петров И.С.", "Петров Иван Сергеевич")
    assert mentor_matches("петров иван сергеевич", "Петров Иван Сергеевич")
    assert mentor_matches("Петров Иван", "Петров Иван Сергеевич")
    assert not mentor_matches("Петров А.С.", "Петров Иван Сергеевич")
    assert not mentor_matches("Петров Иван Семёнович", "Петров Иван Сергеевич")
    assert not mentor_matches("Петрова И.С.", "Петров Иван Сергеевич")


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(";", "utf-8-sig"), (",", "utf-8"), (";", "cp1251"), (",", "cp1251"), ("\t", "utf-16")],
)
def test_csv_variants_are_read(delimiter: str, encoding: str) -> None:
    table = read_table("list.csv", csv_bytes([HEADER, *ROWS], delimiter, encoding))
    assert table.kind == TableKind.CSV
    assert table.header_line == 1
    assert [r.line for r in table.rows] == [2, 3, 4, 5]
    assert table.rows[0].values["full_name"] == "Иванова Мария Петровна"
    assert table.rows[0].values["organisation"] == "МБОУ СОШ № 1"
    assert table.rows[0].values["cohort_year"] == "2025"


def test_file_level_problems() -> None:
    with pytest.raises(ImportFormatError) as exc:
        read_table("x.xlsx", b"not a workbook at all")
    assert exc.value.message == tp.FILE_BAD_XLSX
    with pytest.raises(ImportFormatError) as exc:
        read_table("x.csv", b"")
    assert exc.value.message == tp.FILE_EMPTY
    with pytest.raises(ImportFormatError) as exc:
        read_table("x.csv", csv_bytes([["Имя", "Школа"], ["a", "b"]]))
    assert exc.value.message == tp.NO_HEADER
    with pytest.raises(ImportFormatError) as exc:
        read_table("x.csv", csv_bytes([["ФИО", "Организация"], ["Иванов Иван", "Школа"]]))
    assert "«должность»" in exc.value.message
    with pytest.raises(ImportFormatError) as exc:
        read_table("x.csv", csv_bytes([["ФИО", "Школа", "Организация", "Должность"]]))
    assert "Два столбца" in exc.value.message
    with pytest.raises(ImportFormatError) as exc:
        read_table("x.csv", csv_bytes([HEADER]))
    assert exc.value.message == tp.NO_ROWS


# --- the service --------------------------------------------------------------------------------
async def test_good_xlsx_creates_people_awaiting_registration(db: Database) -> None:
    data = xlsx([HEADER, ROWS[0], [], *ROWS[1:]])
    table = read_table("резерв.xlsx", data)
    assert table.header_line == 3
    result = await run_import(db, table)
    assert result.ok, result.errors
    assert result.created == {"reservist": 2, "mentor": 1, "officer": 1}
    assert (result.existing, result.renewed, result.assigned) == (0, 0, 2)
    assert [o.line for o in result.outcomes] == [4, 6, 7, 8]
    assert all(o.status == RowStatus.CREATED for o in result.outcomes)

    async with db.session() as repo:
        people = {u.full_name: u for u in (await repo.session.scalars(select(User))).all()}
        maria = people["Иванова Мария Петровна"]
        oleg = people["Сидоров Олег Ильич"]
        mentor = people["Петров Иван Сергеевич"]
        officer = people["Кузнецова Анна Викторовна"]
        for person in (maria, oleg, mentor, officer):
            assert person.telegram_id is None and person.registered_at is None
            assert person.municipality == "Петровский район"
        assert (maria.role, maria.reserve_status, maria.cohort_year) == (
            "reservist",
            "included",
            2025,
        )
        assert (oleg.reserve_status, oleg.cohort_year) == ("included", 2026)
        assert (mentor.role, mentor.reserve_status) == ("mentor", None)
        assert officer.role == "officer"
        steps = (await repo.session.scalars(select(ReserveStatusChange))).all()
        assert sorted(s.user_id for s in steps) == sorted([maria.id, oleg.id])
        assert all(s.status == "included" for s in steps)
        invites = (await repo.session.scalars(select(Invite))).all()
        assert len(invites) == 4
        for invite in invites:
            assert invite.max_uses == 1 and invite.uses == 0
            assert invite.expires_at == NOW + timedelta(days=14)
        by_person = {i.person_id: i for i in invites}
        assert by_person[officer.id].role == "officer"
        pairs = (await repo.session.scalars(select(MentorAssignment))).all()
        assert {(a.reservist_id, a.mentor_id) for a in pairs} == {
            (maria.id, mentor.id),
            (oleg.id, mentor.id),
        }
        audit = (await repo.session.scalars(select(AuditEntry))).all()
        assert sorted(a.action for a in audit) == ["assign", "assign", "import"]

    cells = xlsx_cells(render_output(table, result))
    assert cells[0][0] == "Кадровый резерв 2026"  # the rest of the sheet is kept
    assert cells[2][len(HEADER)] == tp.LINK_HEADER
    assert cells[4] == [None] * (len(HEADER) + 1)
    links = {cells[line - 1][1]: cells[line - 1][len(HEADER)] for line in (4, 6, 7, 8)}
    for name, link in links.items():
        match = LINK.match(link)
        assert match, link
        assert by_person[people[name].id].code == match.group(1)


async def test_errors_are_reported_by_row_and_nothing_is_imported(db: Database) -> None:
    before = await counts(db)
    rows = [
        HEADER,
        ROWS[0],  # fine, but its mentor's row is broken below
        [2, "Маша", "МБОУ СОШ № 1", "Учитель", "Петровский район", "резервист", None, None],
        [3, "Орлов Пётр Ильич", "МБОУ СОШ № 1", "", "Петровский район", "завуч", None, "25"],
        [4, "Орлов Пётр Ильич", "МБОУ СОШ № 1", "Учитель", "", "наставник", "Иванов И.И.", None],
        [5, "Белова Ольга Игоревна", "x", "Учитель", "Петровский район", "резервист",
         "Никто Никтович", None],
        ROWS[2],
        [7, "ПЕТРОВ  иван сергеевич", "мбоу лицей", "Директор", "петровский район",
         "наставник", None, None],
    ]  # fmt: skip
    result = await run_import(db, read_table("list.xlsx", xlsx(rows, title=None)))
    assert not result.ok
    found = [(e.line, e.message) for e in result.errors]
    assert (3, tp.cell_problem("full_name", tp.BAD_NAME)) in found
    assert (4, tp.cell_problem("position", tp.CELL_EMPTY)) in found
    assert (4, tp.cell_problem("role", tp.BAD_ROLE)) in found
    assert (4, tp.BAD_YEAR) in found
    assert (5, tp.cell_problem("municipality", tp.CELL_EMPTY)) in found
    assert (5, tp.MENTOR_NOT_RESERVIST) in found
    assert (6, tp.cell_problem("organisation", tp.bad_length(2, 300))) in found
    assert (8, tp.duplicate_row(7)) in found
    assert [line for line, _ in found] == sorted(line for line, _ in found)
    assert await counts(db) == before


async def test_reimport_changes_nothing_and_keeps_the_links(db: Database) -> None:
    table = read_table("резерв.xlsx", xlsx([HEADER, *ROWS]))
    first = await run_import(db, table)
    assert first.ok
    after_first = await counts(db)

    again = await run_import(db, table, now=NOW + timedelta(days=3))
    assert again.ok, again.errors
    assert again.created == {}
    assert (again.existing, again.registered, again.renewed, again.assigned) == (4, 0, 0, 0)
    assert all(o.status == RowStatus.EXISTING for o in again.outcomes)
    assert [o.link for o in again.outcomes] == [o.link for o in first.outcomes]
    assert await counts(db) == after_first

    # the returned table itself can be imported again: its link column is reused
    output = render_output(table, first)
    reread = read_table("резерв_ссылки.xlsx", output)
    assert reread.link_column == len(HEADER)
    third = await run_import(db, reread)
    assert third.ok and third.created == {}
    cells = xlsx_cells(render_output(reread, third))
    assert cells[2][len(HEADER) :] == [tp.LINK_HEADER]
    assert await counts(db) == after_first


async def test_expired_links_are_renewed_and_registered_people_get_none(db: Database) -> None:
    table = read_table("list.csv", csv_bytes([HEADER, *ROWS]))
    first = await run_import(db, table)
    code = LINK.match(first.outcomes[1].link)
    assert code
    async with db.session() as repo:
        await PeopleService(repo).register(
            5001, code.group(1), None, consent_version="v", consent_at=NOW, now=NOW,
            today=NOW.date(),
        )  # fmt: skip

    later = NOW + timedelta(days=15)
    again = await run_import(db, table, now=later)
    assert again.ok
    assert (again.existing, again.registered, again.renewed) == (4, 1, 3)
    assert [o.status for o in again.outcomes] == [
        RowStatus.EXISTING,
        RowStatus.REGISTERED,
        RowStatus.EXISTING,
        RowStatus.EXISTING,
    ]
    assert again.outcomes[1].link == tp.LINK_REGISTERED
    for old, new in zip(first.outcomes, again.outcomes, strict=True):
        if new.status == RowStatus.EXISTING:
            assert new.renewed and new.link != old.link
    async with db.session() as repo:
        invites = (await repo.session.scalars(select(Invite))).all()
        assert len(invites) == 4 + 3  # expired invites stay (history); new ones added
    output = render_output(table, again).decode("utf-8-sig")
    assert output.startswith("№;ФИО;")
    lines = output.splitlines()
    assert lines[0].endswith(f";{tp.LINK_HEADER}")
    assert lines[2].endswith(f";{tp.LINK_REGISTERED}")


async def test_mentor_column_uses_existing_mentors(db: Database) -> None:
    mentors = [
        HEADER,
        [1, "Петров Иван Сергеевич", "МБОУ Лицей", "Директор", "Петровский район", "наставник"],
        [2, "Петров Игорь Семёнович", "МБОУ СОШ № 3", "Директор", "Петровский район", "наставник"],
        [3, "Петров Иван Сергеевич", "МБОУ СОШ № 9", "Директор", "Камышинский район",
         "наставник"],
    ]  # fmt: skip
    assert (await run_import(db, read_table("m.csv", csv_bytes(mentors)))).ok

    reservists = [
        HEADER,
        # initials fit both Petrovs of the district: ambiguous
        [1, "Орлова Анна Ильинична", "МБОУ СОШ № 1", "Учитель", "Петровский район",
         "резервист", "Петров И.С."],
        # the full name fits two mentors; the one of the same municipality wins
        [2, "Белов Олег Ильич", "МБОУ СОШ № 1", "Учитель", "Камышинский район", "резервист",
         "Петров Иван Сергеевич"],
    ]  # fmt: skip
    result = await run_import(db, read_table("r.csv", csv_bytes(reservists)))
    assert [(e.line, e.message) for e in result.errors] == [
        (2, tp.mentor_ambiguous("Петров И.С."))
    ]
    reservists[1][6] = "Петров Игорь Семёнович"
    result = await run_import(db, read_table("r.csv", csv_bytes(reservists)))
    assert result.ok and result.assigned == 2
    async with db.session() as repo:
        names = {u.id: u for u in (await repo.session.scalars(select(User))).all()}
        pairs = {
            (names[a.reservist_id].full_name, names[a.mentor_id].organisation)
            for a in (await repo.session.scalars(select(MentorAssignment))).all()
        }
    assert pairs == {
        ("Орлова Анна Ильинична", "МБОУ СОШ № 3"),
        ("Белов Олег Ильич", "МБОУ СОШ № 9"),
    }

    # another mentor for a reservist who has one: a warning, no change
    reservists[1][6] = "Петров Иван Сергеевич"
    before = await counts(db)
    result = await run_import(db, read_table("r.csv", csv_bytes(reservists)))
    assert result.ok and result.assigned == 0
    assert [w.line for w in result.warnings] == [2]
    assert "Петров Игорь Семёнович" in result.warnings[0].message
    assert await counts(db) == before

    # a person already stored with another role is an error
    clash = [HEADER, [1, *mentors[1][1:5], "резервист"]]
    result = await run_import(db, read_table("c.csv", csv_bytes(clash)))
    assert [e.message for e in result.errors] == [tp.role_conflict("mentor")]


async def test_municipal_officer_imports_only_their_municipality(db: Database) -> None:
    await add_officer(db, 9001, "Петровский район")
    header = ["ФИО", "Организация", "Должность", "Муниципалитет"]
    rows = [
        header,
        ["Орлова Анна Ильинична", "МБОУ СОШ № 1", "Учитель", ""],
        ["Белов Олег Ильич", "МБОУ СОШ № 1", "Учитель", "Камышинский район"],
    ]
    result = await run_import(db, read_table("a.csv", csv_bytes(rows)), actor_tg=9001)
    assert [(e.line, e.message) for e in result.errors] == [
        (3, tp.outside_scope("Камышинский район", "Петровский район"))
    ]
    # without the column every row is the officer's municipality; no role column: reservists
    rows = [[r[0], r[1], r[2]] for r in rows]
    result = await run_import(db, read_table("a.csv", csv_bytes(rows)), actor_tg=9001)
    assert result.ok and result.created == {"reservist": 2}
    async with db.session() as repo:
        officer = await repo.users.by_telegram(9001)
        assert officer is not None
        people = (await repo.session.scalars(select(User).where(User.role == "reservist"))).all()
        assert {p.municipality for p in people} == {"Петровский район"}
        audit = await repo.session.scalar(select(AuditEntry).where(AuditEntry.action == "import"))
        assert audit is not None and audit.actor_id == officer.id
        invite = await repo.session.scalar(select(Invite))
        assert invite is not None and invite.created_by == officer.id
    # a regional import needs the municipality column
    with pytest.raises(ImportFormatError):
        await run_import(db, read_table("a.csv", csv_bytes(rows)))


# --- the officer sends the file -----------------------------------------------------------------
def sent_document(calls: list[Any]) -> tuple[str, bytes, str]:
    for call in calls:
        if call.method == "sendDocument":
            document = call.params["document"]
            return document.filename, document.data, call.text
    msg = f"no document in {[c.method for c in calls]}"
    raise AssertionError(msg)


async def test_officer_sends_xlsx_and_gets_links_back(harness: Harness, db: Database) -> None:
    h = harness
    data = xlsx([HEADER, *ROWS])
    calls = await h.send_document(OFFICER_TG, "Резерв 2026.xlsx", data)
    name, output, caption = sent_document(calls)
    assert name == "Резерв 2026_ссылки.xlsx"
    assert "Новых людей: 4" in caption and "Закреплено наставников: 2" in caption
    cells = xlsx_cells(output)
    links = [cells[line][len(HEADER)] for line in range(3, 7)]
    assert all(LINK.match(link) for link in links), links

    calls = await h.send_document(OFFICER_TG, "Резерв 2026.xlsx", data)
    _, again, caption = sent_document(calls)
    assert "Новых людей нет" in caption and "Уже в базе: 4" in caption
    assert [xlsx_cells(again)[line][len(HEADER)] for line in range(3, 7)] == links


async def test_officer_file_with_errors_imports_nothing(harness: Harness, db: Database) -> None:
    h = harness
    before = await counts(db)
    data = csv_bytes([HEADER, ROWS[0], [2, "Маша", "Школа", "Учитель", "Район"]])
    calls = await h.send_document(OFFICER_TG, "list.csv", data)
    text = texts_of(calls)
    assert "не загружен" in text and "Строка 3: ФИО" in text
    assert not any(c.method == "sendDocument" for c in calls)
    assert await counts(db) == before

    calls = await h.send_document(OFFICER_TG, "list.xlsx", b"\x00garbage")
    assert tp.FILE_BAD_XLSX in texts_of(calls)
    calls = await h.send_document(OFFICER_TG, "scan.pdf")  # not a table: not ours
    assert "Не понимаю" in texts_of(calls)
    calls = await h.send(OFFICER_TG, "Здравствуйте")  # nor is a text message
    assert "Не понимаю" in texts_of(calls)
    # a table sent in the middle of a dialogue is left to that dialogue
    await h.send(OFFICER_TG, "/assign")
    calls = await h.send_document(OFFICER_TG, "list.xlsx", xlsx([HEADER, *ROWS]))
    assert not any(c.method == "sendDocument" for c in calls)
    assert await counts(db) == before


async def test_reservist_or_mentor_file_is_not_imported(harness: Harness, db: Database) -> None:
    h = harness
    for role, tg_id in (("reservist", 2001), ("mentor", 3001)):
        calls = await h.send(OFFICER_TG, f"/invite {role} Петровский район")
        code = re.search(r"start=([\w-]+)", texts_of(calls))
        assert code
        calls = await h.send(tg_id, f"/start {code.group(1)}")
        await h.press(tg_id, last_with_buttons(calls).button("Согласен"))
        await h.send(tg_id, "Иванова Мария Петровна")
        await h.send(tg_id, "МБОУ СОШ № 1")
        calls = await h.send(tg_id, "Учитель")
        assert "зарегистрированы" in texts_of(calls)
    before = await counts(db)
    for tg_id in (2001, 3001):
        calls = await h.send_document(tg_id, "list.xlsx", xlsx([HEADER, *ROWS]))
        assert not any(c.method == "sendDocument" for c in calls)
        assert "Не понимаю" in texts_of(calls)
    assert await counts(db) == before


# --- registration by a personal link ------------------------------------------------------------
async def personal_links(h: Harness) -> dict[str, str]:
    data = xlsx([HEADER, *ROWS], title=None)
    _, data, _ = sent_document(await h.send_document(OFFICER_TG, "list.xlsx", data))
    cells = xlsx_cells(data)
    result = {}
    for row in cells[1:]:
        match = LINK.match(row[len(HEADER)])
        assert match
        result[row[1]] = match.group(1)
    return result


async def test_personal_link_all_correct(harness: Harness, db: Database, clock: FakeClock) -> None:
    h = harness
    codes = await personal_links(h)
    before = await counts(db)
    calls = await h.send(2001, f"/start {codes['Иванова Мария Петровна']}")
    assert "152-ФЗ" in texts_of(calls)
    calls = await h.press(2001, last_with_buttons(calls).button("Согласен"))
    text = texts_of(calls)
    assert "Иванова Мария Петровна" in text and "МБОУ СОШ № 1" in text
    assert "Петровский район" in text and "резервист" in text
    calls = await h.send(2001, "да")  # typing shows the profile again
    assert "Проверьте ваши данные" in texts_of(calls)
    calls = await h.press(2001, last_with_buttons(calls).button(tp.BTN_PROFILE_OK))
    assert "зарегистрированы как участник кадрового резерва" in texts_of(calls)
    assert any(c.method == "setMyCommands" for c in calls)

    after = await counts(db)
    assert after["users"] == before["users"]  # the imported row was bound, not a new one
    assert after["individual_plans"] == before["individual_plans"] + 1
    async with db.session() as repo:
        user = await repo.users.by_telegram(2001)
        assert user is not None
        assert (
            user.full_name == "Иванова Мария Петровна" and user.position == "Заместитель директора"
        )
        assert user.registered_at == clock.now and user.active
        assert user.consent_version and user.consent_at is not None
        assert (user.reserve_status, user.cohort_year) == ("included", 2025)
        invite = await repo.invites.by_code(codes["Иванова Мария Петровна"])
        assert invite is not None and invite.uses == 1 and user.invite_id == invite.id

    calls = await h.send(2001, "/plan")
    assert "Индивидуальный план" in texts_of(calls)
    # the link again, by someone else: used; another personal link for a registered account
    calls = await h.send(2002, f"/start {codes['Иванова Мария Петровна']}")
    assert "уже использована" in texts_of(calls)
    calls = await h.send(2001, f"/start {codes['Сидоров Олег Ильич']}")
    assert "уже зарегистрированы" in texts_of(calls)


async def test_personal_link_with_corrections(harness: Harness, db: Database) -> None:
    h = harness
    codes = await personal_links(h)
    calls = await h.send(3001, f"/start {codes['Петров Иван Сергеевич']}")
    calls = await h.press(3001, last_with_buttons(calls).button("Согласен"))
    calls = await h.press(3001, last_with_buttons(calls).button(tp.BTN_PROFILE_FIX))
    assert "фамилию, имя и отчество" in texts_of(calls)
    calls = await h.send(3001, "Маша")
    assert "хотя бы два слова" in texts_of(calls)
    await h.send(3001, "Петров Иван Сергеевич")
    await h.send(3001, "МБОУ Лицей № 2")
    calls = await h.send(3001, "Директор лицея")  # the municipality is not asked
    assert "зарегистрированы (наставник)" in texts_of(calls)
    async with db.session() as repo:
        user = await repo.users.by_telegram(3001)
        assert user is not None
        assert (user.organisation, user.position, user.municipality) == (
            "МБОУ Лицей № 2",
            "Директор лицея",
            "Петровский район",
        )
        plans = await repo.session.scalar(
            select(func.count())
            .select_from(IndividualPlan)
            .where(IndividualPlan.user_id == user.id)
        )
        assert plans == 0
        # still the mentor of the reservists assigned at the import
        assert len(await repo.mentoring.mentees(user.id)) == 2


async def test_personal_link_refusing_consent_keeps_the_person_waiting(
    harness: Harness, db: Database
) -> None:
    h = harness
    codes = await personal_links(h)
    code = codes["Сидоров Олег Ильич"]
    calls = await h.send(2001, f"/start {code}")
    calls = await h.press(2001, last_with_buttons(calls).button("Не согласен"))
    assert "ничего о вас не сохранили" in texts_of(calls)
    async with db.session() as repo:
        assert await repo.users.by_telegram(2001) is None
        invite = await repo.invites.by_code(code)
        assert invite is not None and invite.uses == 0
        person = await repo.users.get(invite.person_id or 0)
        assert person is not None and person.registered_at is None
    # the link still works afterwards
    calls = await h.send(2001, f"/start {code}")
    calls = await h.press(2001, last_with_buttons(calls).button("Согласен"))
    calls = await h.press(2001, last_with_buttons(calls).button(tp.BTN_PROFILE_OK))
    assert "зарегистрированы" in texts_of(calls)


async def test_ordinary_invite_needs_a_profile(harness: Harness, db: Database) -> None:
    calls = await harness.send(OFFICER_TG, "/invite reservist")
    code = re.search(r"start=([\w-]+)", texts_of(calls))
    assert code
    async with db.session() as repo:
        service = PeopleService(repo)
        info = await service.invite_info(code.group(1), NOW)
        assert info.person is None
        with pytest.raises(TypeError):
            await service.register(
                2001, code.group(1), None, consent_version="v", consent_at=NOW, now=NOW,
                today=NOW.date(),
            )  # fmt: skip
        user = await service.register(
            2001, code.group(1), Profile("Орлова Анна", "Школа", "Учитель", "Район"),
            consent_version="v", consent_at=NOW, now=NOW, today=NOW.date(),
        )  # fmt: skip
        assert user.telegram_id == 2001


# --- the command line ---------------------------------------------------------------------------
def cli(args: list[str], db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    env.pop("BOT_TOKEN", None)
    env.pop("OFFICER_IDS", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_people_import(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    source = tmp_path / "резерв.xlsx"
    source.write_bytes(xlsx([HEADER, *ROWS]))

    result = cli(["people", "import", str(source)], db_url, tmp_path)
    assert result.returncode == 2
    assert "--bot-username" in result.stderr

    result = cli(["people", "import", str(source), "--bot-username", "@" + BOT], db_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4 new" in result.stdout
    output = tmp_path / "резерв_ссылки.xlsx"
    cells = xlsx_cells(output.read_bytes())
    links = [cells[line][len(HEADER)] for line in range(3, 7)]
    assert all(LINK.match(link) for link in links), links

    out = tmp_path / "again.xlsx"
    result = cli(
        ["people", "import", str(source), "--bot-username", BOT, "--out", str(out)],
        db_url,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "0 new" in result.stdout and "4 already in the database" in result.stdout
    assert [xlsx_cells(out.read_bytes())[line][len(HEADER)] for line in range(3, 7)] == links

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([HEADER, [1, "Маша", "Школа", "Учитель", "Район"]]))
    result = cli(["people", "import", str(bad), "--bot-username", BOT], db_url, tmp_path)
    assert result.returncode == 1
    assert "Строка 2: ФИО" in result.stderr and "nothing imported" in result.stderr
    assert not (tmp_path / "bad_ссылки.csv").exists()
