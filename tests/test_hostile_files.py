"""Hostile files officers may send (issue 8, item 6), through the handlers: people lists
(.xlsx / .csv) and roadmaps (.docx / .txt) are refused over the size, unpacked size, row,
column and cell limits with one sentence naming the limit; the declared sheet dimension is never
trusted; parsing runs off the event loop under a time limit, so other users are answered
meanwhile. Every hostile file is built here, small on disk."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import Chat, Document, Message, Update
from aiogram.types import User as TgUser
from openpyxl import Workbook
from sqlalchemy import func, select

import bot.services.file_limits as file_limits
from storage.db import Database
from storage.models import Activity, User
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, texts_of
from tests.test_handlers_mentoring import register_as

RES = 2001
HEADER = ["ФИО", "Организация", "Должность", "Муниципалитет", "Роль"]
ROADMAP_HEAD = "Мероприятия\tСроки\tОтветственные\tРезультаты\n"
_ids = itertools.count(900_000)


@pytest.fixture
async def world(harness: Harness, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await register_as(harness, RES, "reservist", "Иванова Мария Петровна")
    return harness


def person_row(n: int) -> list[str]:
    letters = "абвгдежзиклмнопрстуфхцчшэюя"
    suffix = ""
    while True:  # n in letters: Петров-а, Петров-б, … (names have no digits)
        n, digit = divmod(n, len(letters))
        suffix += letters[digit]
        if not n:
            break
    name = f"Петров{suffix} Пётр Петрович"
    return [name, "МБОУ СОШ № 1", "Учитель", "Петровский район", "резервист"]


def xlsx(rows: list[list[str]], extra: Callable[[Any], None] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if extra is not None:
        extra(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewrite_member(data: bytes, name: str, change: Callable[[bytes], bytes]) -> bytes:
    """The zip ``data`` with member ``name`` changed."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info.filename, change(body) if info.filename == name else body)
    return out.getvalue()


def bomb(data: bytes, name: str, megabytes: int) -> bytes:
    """The zip ``data`` plus a member ``name`` of ``megabytes`` MB of one letter (a few
    hundred KB compressed), written in chunks."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info.filename, source.read(info.filename))
        with target.open(name, "w", force_zip64=True) as member:
            chunk = b"a" * 2**20
            for _ in range(megabytes):
                member.write(chunk)
    return out.getvalue()


async def people_count(db: Database) -> int:
    async with db.session() as repo:
        return int(await repo.session.scalar(select(func.count()).select_from(User)) or 0)


async def roadmap_count(db: Database) -> int:
    async with db.session() as repo:
        stmt = select(func.count()).select_from(Activity).where(Activity.archived.is_(False))
        return int(await repo.session.scalar(stmt) or 0)


async def send_declared(
    h: Harness, name: str, size: int | None, content: bytes = b"never downloaded"
) -> str:
    """A document Telegram says is ``size`` bytes (None: Telegram gave no size)."""
    file_id = f"BIG{next(_ids)}"
    h.bot.session.files[file_id] = content
    message = Message(
        message_id=next(_ids),
        date=datetime.now(UTC),
        chat=Chat(id=OFFICER_TG, type="private"),
        from_user=TgUser(id=OFFICER_TG, is_bot=False, first_name="O"),
        document=Document(file_id=file_id, file_unique_id=file_id, file_name=name, file_size=size),
    )
    before = len(h.bot.calls)
    await h.dp.feed_update(h.bot, Update(update_id=next(_ids), message=message))
    return texts_of(h.bot.calls[before:])


# --- size ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["people.xlsx", "people.csv", "roadmap.docx", "roadmap.txt"])
async def test_over_10_mb_refused_before_download(world: Harness, name: str) -> None:
    answer = await send_declared(world, name, 10 * 2**20 + 1)
    assert "больше 10 МБ" in answer
    assert not any(c.method == "getFile" for c in world.bot.calls)


@pytest.mark.parametrize("name", ["people.csv", "roadmap.txt"])
async def test_over_10_mb_without_declared_size(world: Harness, db: Database, name: str) -> None:
    """No size from Telegram: the downloaded bytes are checked before any parsing."""
    big = b"a;b\tc\n" * (10 * 2**20 // 6 + 10)
    assert len(big) > 10 * 2**20
    people, roadmap = await people_count(db), await roadmap_count(db)
    answer = await send_declared(world, name, None, big)
    assert "больше 10 МБ" in answer
    assert await people_count(db) == people and await roadmap_count(db) == roadmap


# --- unpacked size (zip bombs) --------------------------------------------------------------
async def test_400_mb_shared_string_refused_by_the_archive(world: Harness, db: Database) -> None:
    data = bomb(xlsx([HEADER, person_row(1)]), "xl/sharedStrings.xml", 400)
    assert len(data) < 2 * 2**20  # small on disk
    people = await people_count(db)
    started = time.monotonic()
    answer = texts_of(await world.send_document(OFFICER_TG, "people.xlsx", data))
    assert "после распаковки больше 30 МБ" in answer
    assert time.monotonic() - started < 5
    assert await people_count(db) == people


async def test_docx_bomb_refused(world: Harness, db: Database) -> None:
    import docx  # noqa: PLC0415

    document = docx.Document()
    document.add_paragraph("Дорожная карта")
    out = io.BytesIO()
    document.save(out)
    data = bomb(out.getvalue(), "word/media/image1.png", 400)
    before = await roadmap_count(db)
    answer = texts_of(await world.send_document(OFFICER_TG, "roadmap.docx", data))
    assert "после распаковки больше 30 МБ" in answer
    assert await roadmap_count(db) == before


# --- the declared dimension ------------------------------------------------------------------
async def test_lone_cell_at_xfd1048576(world: Harness, db: Database) -> None:
    """The 4-KiB workbook whose one far cell made the bot grow to 3 GB: read row by row, it
    stops at the row limit in well under a second or two."""

    def far(sheet: Any) -> None:
        sheet["XFD1048576"] = "x"

    data = xlsx([HEADER, person_row(1)], far)
    assert len(data) < 8 * 1024
    people = await people_count(db)
    started = time.monotonic()
    answer = texts_of(await world.send_document(OFFICER_TG, "people.xlsx", data))
    assert "больше 10 000 строк" in answer
    assert time.monotonic() - started < 10
    assert await people_count(db) == people


async def test_far_column_refused(world: Harness, db: Database) -> None:
    def far(sheet: Any) -> None:
        sheet["XFD2"] = "x"

    answer = texts_of(
        await world.send_document(OFFICER_TG, "people.xlsx", xlsx([HEADER, person_row(1)], far))
    )
    assert "больше 50 столбцов" in answer


async def test_declared_dimension_is_not_trusted(world: Harness, db: Database) -> None:
    """A workbook that declares A1:XFD1048576 but holds three rows imports them quickly."""
    data = xlsx([HEADER, person_row(1), person_row(2)])
    data = rewrite_member(
        data,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b'<dimension ref="A1:E3"/>', b'<dimension ref="A1:XFD1048576"/>'),
    )
    assert b"XFD1048576" in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    people = await people_count(db)
    started = time.monotonic()
    calls = await world.send_document(OFFICER_TG, "people.xlsx", data)
    assert time.monotonic() - started < 10
    assert any(c.method == "sendDocument" for c in calls), texts_of(calls)
    assert await people_count(db) == people + 2


# --- rows, columns, cells ---------------------------------------------------------------------
async def test_people_rows_columns_cells(world: Harness, db: Database) -> None:
    people = await people_count(db)
    rows = "\n".join(";".join(r) for r in [HEADER] + [person_row(n) for n in range(5001)])
    answer = texts_of(await world.send_document(OFFICER_TG, "people.csv", rows.encode()))
    assert "не больше 5000" in answer

    wide = ";".join(HEADER + [f"c{n}" for n in range(60)]) + "\n" + ";".join(person_row(1))
    answer = texts_of(await world.send_document(OFFICER_TG, "people.csv", wide.encode()))
    assert "больше 50 столбцов" in answer

    long_cell = ";".join(HEADER) + "\n" + ";".join([*person_row(1)[:4], "р" * 1001])
    answer = texts_of(await world.send_document(OFFICER_TG, "people.csv", long_cell.encode()))
    assert "больше 1 000 символов" in answer

    huge_cell = ";".join(HEADER) + "\n" + ";".join([*person_row(1)[:4], "р" * 200_000])
    answer = texts_of(await world.send_document(OFFICER_TG, "people.csv", huge_cell.encode()))
    assert "больше 1 000 символов" in answer
    assert await people_count(db) == people


async def test_filled_cells_counted_on_every_sheet(world: Harness, db: Database) -> None:
    """A valid first sheet and a second one of 105,000 filled cells: refused (the answer would
    be written from the whole workbook)."""
    book = Workbook(write_only=True)
    first = book.create_sheet("Люди")
    for row in (HEADER, person_row(1)):
        first.append(row)
    second = book.create_sheet("Прочее")
    for _ in range(2100):
        second.append(["x"] * 50)
    out = io.BytesIO()
    book.save(out)
    people = await people_count(db)
    answer = texts_of(await world.send_document(OFFICER_TG, "people.xlsx", out.getvalue()))
    assert "больше 100 000 заполненных ячеек" in answer
    assert await people_count(db) == people


async def test_roadmap_rows_columns_cells(world: Harness, db: Database) -> None:
    before = await roadmap_count(db)
    many = ROADMAP_HEAD + "".join(
        f"Семинар для резервистов {n}\tапрель\tОтдел\tУчастие\n" for n in range(501)
    )
    answer = texts_of(await world.send_document(OFFICER_TG, "roadmap.txt", many.encode()))
    assert "больше 500 строк" in answer

    wide = ROADMAP_HEAD + "Семинар\tапрель" + "\tx" * 40 + "\n"
    answer = texts_of(await world.send_document(OFFICER_TG, "roadmap.txt", wide.encode()))
    assert "больше 30 столбцов" in answer

    long_cell = ROADMAP_HEAD + "Семинар " + "о" * 5001 + "\tапрель\tОтдел\tУчастие\n"
    answer = texts_of(await world.send_document(OFFICER_TG, "roadmap.txt", long_cell.encode()))
    assert "больше 5 000 символов" in answer
    assert await roadmap_count(db) == before


async def test_docx_grid_before_is_not_expanded(world: Harness, db: Database) -> None:
    """A .docx row claiming 100 million grid columns before its cells: refused by its width
    before python-docx would build a list that long."""
    import docx  # noqa: PLC0415

    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Мероприятия", "Сроки"
    table.cell(1, 0).text, table.cell(1, 1).text = "Семинар для резервистов", "апрель"
    out = io.BytesIO()
    document.save(out)
    data = rewrite_member(
        out.getvalue(),
        "word/document.xml",
        lambda xml: xml.replace(
            b"<w:tr>", b'<w:tr><w:trPr><w:gridBefore w:val="100000000"/></w:trPr>', 1
        ),
    )
    before = await roadmap_count(db)
    started = time.monotonic()
    answer = texts_of(await world.send_document(OFFICER_TG, "roadmap.docx", data))
    assert "больше 30 столбцов" in answer
    assert time.monotonic() - started < 5
    assert await roadmap_count(db) == before


# --- off the event loop, with a time limit -----------------------------------------------------
def _slow_roadmap(text: str, limits: Any = None) -> Any:
    """A parse that takes 1.5 s of blocking work (on the event loop it would stall everyone)."""
    time.sleep(1.5)
    from bot.services.roadmap import parse_roadmap_text  # noqa: PLC0415

    return parse_roadmap_text(text, limits)


def _slow_people(*args: Any) -> Any:
    time.sleep(1.5)
    from bot.services.people_import import read_table  # noqa: PLC0415

    return read_table(*args)


@pytest.mark.parametrize("kind", ["roadmap", "people"])
async def test_others_answered_while_a_file_is_parsed(
    world: Harness, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    if kind == "roadmap":
        monkeypatch.setattr("bot.services.roadmap_admin.parse_roadmap_text", _slow_roadmap)
        name = "roadmap.txt"
        data = (ROADMAP_HEAD + "Семинар для резервистов\tапрель\tОтдел\tУчастие\n").encode()
    else:
        monkeypatch.setattr("handlers.people_import.read_table", _slow_people)
        name = "people.csv"
        data = ("\n".join(";".join(r) for r in [HEADER, person_row(1)])).encode()
    parse = asyncio.create_task(world.send_document(OFFICER_TG, name, data))
    await asyncio.sleep(0.2)  # the parse is under way
    assert not parse.done()
    started = time.monotonic()
    calls = await world.send(RES, "/help")
    assert time.monotonic() - started < 0.5
    assert any(c.chat_id == RES and c.text for c in calls)
    assert not parse.done()
    answer = texts_of(await parse)
    assert "Загружена" in answer or "загружен" in answer


async def test_parse_time_limit(
    world: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def endless(text: str, limits: Any = None) -> Any:
        while True:  # a parse that never ends on its own: stopped by its deadline
            limits.check_time()
            time.sleep(0.01)

    monkeypatch.setattr(file_limits, "PARSE_SECONDS", 1.0)
    monkeypatch.setattr("bot.services.roadmap_admin.parse_roadmap_text", endless)
    before = await roadmap_count(db)
    started = time.monotonic()
    answer = texts_of(
        await world.send_document(OFFICER_TG, "roadmap.txt", ROADMAP_HEAD.encode() * 2)
    )
    assert "не удалось прочитать за 1 секунду" in answer
    assert time.monotonic() - started < 3
    assert await roadmap_count(db) == before


def test_text_files_are_read_in_the_encodings_officers_save() -> None:
    """One decoder for every text file (people lists as CSV, roadmaps as .txt): UTF-16 by its
    byte-order mark (Excel's «Текст Юникод»), UTF-8 with or without BOM, Windows-1251."""
    line = "Иванова Мария Петровна;Петровский район"
    assert file_limits.decode_text(line.encode("utf-16")) == line
    assert file_limits.decode_text(line.encode("utf-8-sig")) == line
    assert file_limits.decode_text(line.encode("utf-8")) == line
    assert file_limits.decode_text(line.encode("cp1251")) == line
    with pytest.raises(UnicodeDecodeError):
        file_limits.decode_text(b"\x98\xff")  # neither UTF-8 nor Windows-1251
