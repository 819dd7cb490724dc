"""Odd input through Dispatcher.feed_update (issue 8, item 8), on SQLite and PostgreSQL:
numbers are ASCII digits, ids in buttons are range-checked, free text is checked against its
column (the dialogue stays so that the user can type again), NUL bytes are refused, and a
command typed while composing a broadcast acts as that command with the draft kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import PlanItem, ReserveStatusChange, User
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.test_handlers_mentoring import assign, register_as
from tests.test_handlers_registration import invite_code

RES, MENTOR, NEWCOMER = 2001, 3001, 2005
HUGE = "9" * 20  # beyond a signed 64-bit integer


@pytest.fixture
async def world(harness: Harness, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await register_as(harness, RES, "reservist", "Иванова Мария Петровна")
    await register_as(harness, MENTOR, "mentor", "Кузнецова Анна Сергеевна")
    return harness


async def test_superscript_digits_get_the_usual_answer(world: Harness) -> None:
    calls = await world.send(RES, "/plan ²")
    assert "Можно посмотреть план на 2025, 2026 или 2027 год" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "/export ²⁰²⁶")
    assert "Использование: /export" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "/kpi ²⁰²⁶")
    assert "Что-то пошло не так" not in texts_of(calls) and texts_of(calls)
    calls = await world.send(OFFICER_TG, "/invite reservist ² Петровский район")
    assert "Ссылка-приглашение" in texts_of(calls)  # «²» is not a count: part of the place

    await assign(world, "Иванова", "Кузнецова")
    calls = await world.send(RES, "/consult")
    calls = await world.press(RES, last_with_buttons(calls).button("Сегодня"))
    calls = await world.press(RES, last_with_buttons(calls).button("онлайн"))
    await world.send(RES, "Подготовка к собеседованию")
    calls = await world.send(RES, "²")
    assert "целое число от 5 до 480" in texts_of(calls)
    calls = await world.send(RES, "4⁵")
    assert "целое число от 5 до 480" in texts_of(calls)
    calls = await world.send(RES, "45")  # the dialogue went on waiting for the duration
    assert "Заметка" in texts_of(calls)


@pytest.mark.parametrize(
    ("who", "data"),
    [
        (RES, f"item:open:{HUGE}:1"),
        (RES, f"item:done:{HUGE}:1"),
        (RES, f"plan:1:{HUGE}"),
        (RES, f"month:{HUGE}:3"),
        (RES, "item:open:²:1"),
        (MENTOR, f"mnt:open:{HUGE}"),
        (MENTOR, f"mnt:item:{HUGE}"),
        (MENTOR, f"cns:yes:{HUGE}"),
        (OFFICER_TG, f"psn:open:{HUGE}:"),
        (OFFICER_TG, f"ppl:ar:pick:{HUGE}"),
        (OFFICER_TG, f"asg:end:{HUGE}"),
        (OFFICER_TG, f"rpt:conclude:{HUGE}:2026"),
        (OFFICER_TG, f"bctl:stop:{HUGE}"),
        (OFFICER_TG, f"act:open:{HUGE}"),
        (RES, f"bcast:{HUGE}:yes"),
        # within 64 bits, beyond PostgreSQL's INTEGER id and year columns
        (RES, f"item:open:{2**63 - 1}:1"),
        (RES, f"item:done:{2**31}:1"),
        (MENTOR, f"mnt:item:{2**63 - 1}"),
        (OFFICER_TG, f"psn:open:{2**31}:"),
        (OFFICER_TG, f"ppl:fd:pick:{2**40}"),
        (OFFICER_TG, f"rpt:conclude:{2**31}:{2**40}"),
        (OFFICER_TG, f"bctl:stop:{2**63 - 1}"),
        (RES, f"bcast:{2**31}:yes"),
    ],
)
async def test_ids_out_of_range_are_stale_buttons(world: Harness, who: int, data: str) -> None:
    calls = await world.press(who, data)
    assert alert_of(calls) == "Кнопка устарела или относится не к вам. Ничего не изменено."


async def test_consultation_item_id_out_of_range(world: Harness) -> None:
    await assign(world, "Иванова", "Кузнецова")
    calls = await world.send(RES, "/consult")
    calls = await world.press(RES, last_with_buttons(calls).button("Сегодня"))
    calls = await world.press(RES, last_with_buttons(calls).button("онлайн"))
    await world.send(RES, "Подготовка к собеседованию")
    calls = await world.send(RES, "45")
    calls = await world.press(RES, last_with_buttons(calls).button("Пропустить"))
    calls = await world.press(RES, f"cpk:item:{HUGE}")
    assert "Кнопка устарела" in alert_of(calls)
    calls = await world.press(RES, "cpk:item:0")
    assert "Консультация записана" in texts_of(calls)


async def test_lifecycle_fields_are_checked_against_their_columns(
    world: Harness, db: Database
) -> None:
    calls = await world.send(OFFICER_TG, "/find иванова")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Иванова"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Назначен"))
    await world.send(OFFICER_TG, "02.03.2026")
    calls = await world.send(OFFICER_TG, "Д" * 250)
    assert "от 1 до 200 символов" in texts_of(calls)
    assert "Что-то пошло не так" not in texts_of(calls)
    calls = await world.send(OFFICER_TG, "Директор\x00")
    assert "недопустимый символ" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "Директор")  # the dialogue waited
    assert "В какую организацию?" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "Ш" * 301)
    assert "от 1 до 300 символов" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "МБОУ СОШ № 7")
    assert "назначен на должность" in texts_of(calls)
    async with db.session() as repo:
        change = (await repo.session.scalars(select(ReserveStatusChange))).one()
        assert (change.post, change.organisation) == ("Директор", "МБОУ СОШ № 7")


async def test_order_number_longer_than_its_column(world: Harness, db: Database) -> None:
    # a candidate: imported-like, moved to «включён в резерв» with an order number
    calls = await world.send(OFFICER_TG, "/find иванова")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Иванова"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Исключить"))
    await world.send(OFFICER_TG, "02.03.2026")
    await world.send(OFFICER_TG, "Переезд")
    calls = await world.send(OFFICER_TG, "/find иванова")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Иванова"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Включить"))
    await world.send(OFFICER_TG, "02.03.2026")
    calls = await world.send(OFFICER_TG, "1" * 100)
    assert "от 1 до 64 символов" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "17-к")
    assert "включён в резерв" in texts_of(calls)
    async with db.session() as repo:
        orders = (await repo.session.scalars(select(ReserveStatusChange.order_number))).all()
        assert "17-к" in orders


async def test_nul_in_registration_is_refused_and_asked_again(
    world: Harness, db: Database
) -> None:
    code = await invite_code(world, "reservist")
    calls = await world.send(NEWCOMER, f"/start {code}")
    await world.press(NEWCOMER, last_with_buttons(calls).button("Согласен"))
    await world.send(NEWCOMER, "Петров Пётр Петрович")
    calls = await world.send(NEWCOMER, "МБОУ СОШ\x00 № 3")
    assert "недопустимый символ" in texts_of(calls)
    assert "образовательная организация" in texts_of(calls)
    calls = await world.send(NEWCOMER, "Ш" * 301)
    assert "от 2 до 300 символов" in texts_of(calls)
    await world.send(NEWCOMER, "МБОУ СОШ № 3")
    calls = await world.send(NEWCOMER, "Учитель")
    calls = await world.send(NEWCOMER, "Петровский район")
    assert "зарегистрированы" in texts_of(calls)
    async with db.session() as repo:
        user = await repo.session.scalar(select(User).where(User.telegram_id == NEWCOMER))
        assert user is not None and user.organisation == "МБОУ СОШ № 3"


async def test_command_while_composing_a_broadcast_acts_and_keeps_the_draft(
    world: Harness,
) -> None:
    calls = await world.send(OFFICER_TG, "/broadcast")
    calls = await world.send(OFFICER_TG, "Семинар 5 марта")
    assert "Добавлено сообщений: 1" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "/kpi")
    assert "Показатели кадрового резерва" in texts_of(calls)
    assert "Добавлено" not in texts_of(calls)
    calls = await world.send(OFFICER_TG, "/pairs")
    assert "Добавлено" not in texts_of(calls)
    calls = await world.send(OFFICER_TG, "/KPI@reserve_test_bot")
    assert "Добавлено" not in texts_of(calls)
    calls = await world.send(OFFICER_TG, "/unknown")  # not a command of the bot: content
    assert "Добавлено сообщений: 2" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "Ещё строка")
    assert "Добавлено сообщений: 3" in texts_of(calls)
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Готово"))
    assert "Кому отправить?" in texts_of(calls)


async def test_evidence_file_name_fits_its_column(world: Harness, db: Database) -> None:
    calls = await world.send(RES, "/log")
    calls = await world.press(RES, last_with_buttons(calls).button("Психологические тренинги"))
    calls = await world.press(RES, last_with_buttons(calls).button("Сегодня"))
    calls = await world.send(RES, "Комментарий\x00")
    assert "недопустимый символ" in texts_of(calls)
    calls = await world.send(RES, "Тренинг пройден")
    calls = await world.send_document(RES, "Сертификат\x00" + "ы" * 400 + ".pdf")
    assert "Отмечено" in texts_of(calls)
    async with db.session() as repo:
        names = (await repo.session.scalars(select(PlanItem.evidence_name))).all()
        saved = [n for n in names if n]
        assert len(saved) == 1 and len(saved[0]) <= 256 and "\x00" not in saved[0]
