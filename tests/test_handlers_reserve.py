"""Officers: /find, the person card, the reserve lifecycle, and a municipal officer's scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.config import load_settings
from bot.services.reminders import ReminderRules, ReminderService
from storage.db import Database
from storage.models import AuditEntry, ReserveStatusChange
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.test_handlers_mentoring import register_as, to

RES, RES2, MUNI_OFFICER = 2001, 2002, 1002


@pytest.fixture
async def world(harness: Harness, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await register_as(harness, RES, "reservist", "Иванова Мария Петровна")
    return harness


async def open_card(h: Harness, who: int, query: str, button: str) -> list:  # type: ignore[type-arg]
    calls = await h.send(who, f"/find {query}")
    return await h.press(who, last_with_buttons(calls).button(button))


async def test_find_and_card(world: Harness) -> None:
    assert "Напишите после /find" in texts_of(await world.send(OFFICER_TG, "/find"))
    assert "Никого не нашлось" in texts_of(await world.send(OFFICER_TG, "/find Петров Пётр"))
    calls = await open_card(world, OFFICER_TG, "иванова", "Иванова")
    card = last_with_buttons(calls)
    assert "Статус: включён в резерв, год включения 2026" in card.text
    assert "Наставник: не назначен" in card.text
    assert [t for t, _ in card.buttons()] == [
        "Начало подготовки", "Назначен на должность", "Исключить из резерва",
    ]  # fmt: skip


async def test_lifecycle_appointed_stops_reminders(world: Harness, db: Database) -> None:
    calls = await open_card(world, OFFICER_TG, "иванова", "Иванова")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Начало подготовки"))
    calls = await world.send(OFFICER_TG, "01.04.2099")
    assert "в будущем" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "01.03.2026")
    assert "проходит подготовку" in to(calls, OFFICER_TG)
    assert "проходит подготовку" in to(calls, RES)

    calls = await open_card(world, OFFICER_TG, "иванова", "Иванова")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Назначен"))
    await world.send(OFFICER_TG, "02.03.2026")
    calls = await world.send(OFFICER_TG, "/plan")  # a command is not a post
    assert "не команда" in texts_of(calls)
    await world.send(OFFICER_TG, "Директор")
    calls = await world.send(OFFICER_TG, "МБОУ СОШ № 7")
    assert "назначен на должность" in to(calls, RES) and "Директор, МБОУ СОШ № 7" in to(calls, RES)

    calls = await open_card(world, OFFICER_TG, "иванова", "Иванова")
    card = calls[-1]
    assert "Движение в резерве" in card.text and "Директор, МБОУ СОШ № 7" in card.text
    assert not card.buttons()  # appointed is final

    async with db.session() as repo:
        changes = (await repo.session.scalars(select(ReserveStatusChange))).all()
        assert [c.status for c in changes] == ["training", "appointed"]
        audit = (await repo.session.scalars(select(AuditEntry))).all()
        assert [a.action for a in audit].count("status") == 2

    # no more reservist reminders: a scan at the March trainings' deadline finds nothing
    rules = ReminderRules.from_settings(load_settings())
    service = ReminderService(db, rules, None, lambda: datetime.now(UTC))
    report = await service.scan(datetime(2026, 3, 29, 10, 0, tzinfo=UTC), dry_run=True)
    assert report.planned == []


async def test_excluded_needs_a_reason_and_can_return(world: Harness, db: Database) -> None:
    calls = await open_card(world, OFFICER_TG, "иванова", "Иванова")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Исключить"))
    await world.send(OFFICER_TG, "02.03.2026")
    calls = await world.send(OFFICER_TG, "  ")
    assert "Причина" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "По собственному желанию")
    assert "исключён из резерва" in to(calls, RES)
    calls = await open_card(world, OFFICER_TG, "иванова", "Иванова")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Включить в резерв"))
    await world.send(OFFICER_TG, "02.03.2026")
    calls = await world.send(OFFICER_TG, "15-к")
    assert "включён в резерв" in to(calls, RES) and "приказ № 15-к" in to(calls, RES)


async def test_roles_and_forged_status_buttons(world: Harness, db: Database) -> None:
    assert "недоступна" in texts_of(await world.send(RES, "/find Иванова"))
    async with db.session() as repo:
        res = await repo.users.by_telegram(RES)
        assert res is not None
    calls = await world.press(RES, f"psn:status:{res.id}:appointed")
    assert alert_of(calls)
    calls = await world.press(OFFICER_TG, f"psn:status:{res.id}:candidate")
    assert "невозможен" in alert_of(calls)
    calls = await world.press(OFFICER_TG, f"psn:status:{res.id}:boss")
    assert "устарела" in alert_of(calls)
    async with db.session() as repo:
        assert (await repo.session.scalars(select(ReserveStatusChange))).all() == []


async def test_municipal_officer_sees_only_their_municipality(
    world: Harness, db: Database
) -> None:
    await register_as(world, MUNI_OFFICER, "officer", "Фролова Нина Ивановна")
    async with db.session() as repo:
        officer = await repo.users.by_telegram(MUNI_OFFICER)
        assert officer is not None and officer.municipality == "Петровский район"
        other = await repo.users.by_telegram(RES)
        assert other is not None
        await repo.users.update(other, municipality="Камышинский район")
    calls = await world.send(MUNI_OFFICER, "/find Иванова")
    assert "Никого не нашлось" in texts_of(calls)
    calls = await world.press(MUNI_OFFICER, f"psn:open:{other.id}")
    assert "устарела" in alert_of(calls)
    calls = await world.press(MUNI_OFFICER, f"psn:status:{other.id}:training")
    assert "устарела" in alert_of(calls)
    calls = await world.send(MUNI_OFFICER, "/assign")
    assert "нет резервистов" in texts_of(calls)
    calls = await world.send(MUNI_OFFICER, "/invite reservist 2 Камышинский район")
    assert "только в свой муниципалитет" in texts_of(calls)
    calls = await world.send(MUNI_OFFICER, "/invite reservist")
    assert "Муниципалитет: Петровский район" in texts_of(calls)
    # the regional officer sees everyone
    assert "Иванова" in texts_of(await world.send(OFFICER_TG, "/find Иванова"))


OFFICER_COMMANDS = [
    "/invite reservist", "/assign", "/pairs", "/find Иванова", "/roadmap", "/broadcast",
    "/broadcasts", "/export", "/export csv", "/kpi", "/report", "/report Иванова",
]  # fmt: skip


@pytest.mark.parametrize("command", OFFICER_COMMANDS)
async def test_every_officer_command_is_refused_to_others(world: Harness, command: str) -> None:
    await register_as(world, 3001, "mentor", "Кузнецова Анна Сергеевна")
    for who in (RES, 3001):
        calls = await world.send(who, command)
        assert "недоступна" in texts_of(calls), (who, command)
    calls = await world.send(4444, command)  # a stranger
    assert "приглашению" in texts_of(calls), command
