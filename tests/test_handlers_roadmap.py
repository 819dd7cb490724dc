"""Officers manage the roadmap in the bot: list, edit, add, remove, import a document; the
changes reach the reservists' plans."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Activity, AuditEntry, PlanItem
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.test_handlers_mentoring import register_as

RES = 2001
SEEDS = Path(__file__).resolve().parent / "data"


@pytest.fixture
async def world(harness: Harness, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await register_as(harness, RES, "reservist", "Иванова Мария Петровна")
    return harness


async def items(db: Database) -> list[PlanItem]:
    async with db.session() as repo:
        return list((await repo.session.scalars(select(PlanItem).order_by(PlanItem.id))).all())


async def open_activity(h: Harness, title: str) -> list:  # type: ignore[type-arg]
    calls = await h.send(OFFICER_TG, "/roadmap")
    listing = last_with_buttons(calls)
    assert "Дорожная карта: 11 мероприятий" in listing.text or "Дорожная карта" in listing.text
    for _ in range(3):
        try:
            return await h.press(OFFICER_TG, listing.button(title))
        except AssertionError:
            calls = await h.press(OFFICER_TG, listing.button("Далее"))
            listing = next(c for c in calls if c.method == "editMessageText")
    raise AssertionError(title)


async def test_edit_toggle_and_remove_reach_plans(world: Harness, db: Database) -> None:
    calls = await open_activity(world, "Психологические тренинги")
    card = last_with_buttons(calls)
    assert "Сроки: Март июнь октябрь" in card.text

    calls = await world.press(OFFICER_TG, card.button("Изменить сроки"))
    calls = await world.send(OFFICER_TG, "когда-нибудь")
    assert "Не удалось прочитать сроки" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "апрель, сентябрь")
    assert "Сохранено" in texts_of(calls)
    trainings = [i for i in await items(db) if i.kind == "training" and not i.archived]
    assert sorted(i.due_on.month for i in trainings if i.due_on) == [4, 9]

    calls = await world.press(OFFICER_TG, card.button("Требует подтверждения"))
    edited = next(c for c in calls if c.method == "editMessageText")
    assert "Требует подтверждения наставника: да" in edited.text
    live = [i for i in await items(db) if i.kind == "training" and not i.archived]
    assert live and all(i.needs_confirmation for i in live)

    calls = await world.press(OFFICER_TG, card.button("Удалить"))
    assert "убрано" in texts_of(calls)
    assert all(i.archived for i in await items(db) if i.kind == "training")
    calls = await world.press(OFFICER_TG, card.button("Изменить название"))
    assert "устарела" in alert_of(calls)

    async with db.session() as repo:
        actions = [a.action for a in (await repo.session.scalars(select(AuditEntry))).all()]
    assert actions.count("roadmap.edit") == 2 and "roadmap.remove" in actions


async def test_add_activity_adds_plan_items(world: Harness, db: Database) -> None:
    calls = await world.send(OFFICER_TG, "/roadmap")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Добавить"))
    calls = await world.send(OFFICER_TG, "/x")
    assert "от 3 до 500" in texts_of(calls)
    await world.send(OFFICER_TG, "Стажировка в школе-партнёре")
    calls = await world.send(OFFICER_TG, "май")
    assert "Сохранено" in texts_of(calls)
    new = [i for i in await items(db) if i.title == "Стажировка в школе-партнёре"]
    assert len(new) == 1 and new[0].kind == "internship" and new[0].due_on is not None
    assert new[0].due_on.month == 5
    assert "Стажировка в школе-партнёре" in texts_of(await world.send(RES, "/plan"))


async def test_import_document_and_bad_document(world: Harness, db: Database) -> None:
    calls = await world.send_document(OFFICER_TG, "письмо.txt", "Уважаемые коллеги!\n".encode())
    assert "Не удалось найти в файле таблицу мероприятий" in texts_of(calls)
    data = (SEEDS / "kamyshin-program-2022.txt").read_bytes()
    calls = await world.send_document(OFFICER_TG, "kamyshin.txt", data)
    text = texts_of(calls)
    assert "Дорожная карта загружена" in text and "Мероприятий: 16" in text
    # who the activities are for, in Russian: the reserve module less the needs analysis and
    # the competition for inclusion; the row whose kind is a guess is named
    assert "В планы резервистов входят мероприятий: 4 из 16." in text
    assert "Сопровождение выполнения индивидуальных планов" in text
    # the review's button opens the activity to check, whose card moves it in or out of plans
    review = last_with_buttons(calls)
    calls = await world.press(OFFICER_TG, review.button("Сопровождение выполнения"))
    card = last_with_buttons(calls)
    assert "Сопровождение выполнения индивидуальных планов" in card.text
    # the officer changes its kind and takes it out of plans; the same file again keeps both
    calls = await world.press(OFFICER_TG, card.button("Изменить вид"))
    kinds = last_with_buttons(calls)
    calls = await world.press(OFFICER_TG, kinds.button("консультация"))
    card = last_with_buttons(calls)
    await world.press(OFFICER_TG, card.button("В планах резервистов"))
    calls = await world.send_document(OFFICER_TG, "kamyshin.txt", data)
    assert "сохранено для мероприятий: 1" in texts_of(calls)
    async with db.session() as repo:
        accompany = await repo.session.scalar(
            select(Activity).where(Activity.title.startswith("Сопровождение выполнения"))
        )
    assert accompany is not None
    assert (accompany.kind, accompany.for_reservists) == ("consultation", False)
    async with db.session() as repo:
        active = (
            await repo.session.scalars(select(Activity).where(Activity.archived.is_(False)))
        ).all()
    assert len(active) == 16
    # a reservist sending a .txt is not importing a roadmap
    calls = await world.send_document(RES, "kamyshin.txt", data)
    assert "Дорожная карта загружена" not in texts_of(calls)


async def test_roadmap_commands_refused_to_others(world: Harness) -> None:
    assert "недоступна" in texts_of(await world.send(RES, "/roadmap"))
    calls = await world.press(RES, "act:remove:1")
    assert alert_of(calls)
