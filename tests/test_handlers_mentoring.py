"""Mentoring through Dispatcher.feed_update: assignment by officers, consultations logged and
confirmed or declined by the other side, the mentor's view, confirmations and comments, and
the role and forged-button checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Consultation, MentorAssignment, PlanItem
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.mocked_bot import Call
from tests.test_handlers_registration import invite_code

RES, RES2, MENTOR, MENTOR2 = 2001, 2002, 3001, 3002


async def register_as(h: Harness, tg_id: int, role: str, name: str) -> None:
    code = await invite_code(h, role)
    calls = await h.send(tg_id, f"/start {code}")
    await h.press(tg_id, last_with_buttons(calls).button("Согласен"))
    await h.send(tg_id, name)
    await h.send(tg_id, "МБОУ СОШ № 2")
    await h.send(tg_id, "Директор" if role == "mentor" else "Учитель")
    calls = await h.send(tg_id, "Петровский район")
    assert "зарегистрированы" in texts_of(calls)


def to(calls: list[Call], chat_id: int) -> str:
    return "\n".join(c.text for c in calls if c.chat_id == chat_id and c.text)


@pytest.fixture
async def world(harness: Harness, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await register_as(harness, RES, "reservist", "Иванова Мария Петровна")
    await register_as(harness, RES2, "reservist", "Смирнов Олег Игоревич")
    await register_as(harness, MENTOR, "mentor", "Кузнецова Анна Сергеевна")
    await register_as(harness, MENTOR2, "mentor", "Орлов Пётр Андреевич")
    return harness


async def assign(h: Harness, reservist_name: str, mentor_name: str) -> list[Call]:
    calls = await h.send(OFFICER_TG, "/assign")
    calls = await h.press(OFFICER_TG, last_with_buttons(calls).button(reservist_name))
    card = last_with_buttons(calls)
    calls = await h.press(OFFICER_TG, card.buttons()[0][1])
    return await h.press(OFFICER_TG, last_with_buttons(calls).button(mentor_name))


async def test_assign_change_and_end_tell_both_sides(world: Harness, db: Database) -> None:
    calls = await world.send(OFFICER_TG, "/assign")
    assert "Найдено: 2" in texts_of(calls)
    calls = await world.send(OFFICER_TG, "смирн")
    listing = last_with_buttons(calls)
    assert "Найдено: 1" in listing.text and "Смирнов" in listing.buttons()[0][0]
    calls = await world.send(OFFICER_TG, "никого такого")
    assert "Никого не нашлось" in texts_of(calls)

    calls = await assign(world, "Иванова", "Кузнецова")
    assert "закреплён" in to(calls, OFFICER_TG)
    assert "Кузнецова Анна Сергеевна" in to(calls, RES)
    assert "Иванова Мария Петровна" in to(calls, MENTOR)

    # change: the old mentor is told too
    calls = await assign(world, "Иванова", "Орлов")
    assert "Орлов Пётр Андреевич" in to(calls, RES)
    assert "завершено" in to(calls, MENTOR)
    async with db.session() as repo:
        rows = (await repo.session.scalars(select(MentorAssignment))).all()
        assert len(rows) == 2 and sum(1 for r in rows if r.ended_at is None) == 1

    # assigning the same mentor again is refused
    calls = await world.send(OFFICER_TG, "/assign")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Иванова"))
    card = last_with_buttons(calls)
    assert "Наставник: Орлов" in card.text and "История наставничества" in card.text
    calls = await world.press(OFFICER_TG, card.button("Сменить"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Орлов"))
    assert "уже закреплён" in alert_of(calls)

    # end
    calls = await world.send(OFFICER_TG, "/assign")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Иванова"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Завершить"))
    assert "завершено" in to(calls, OFFICER_TG)
    assert "завершено" in to(calls, RES) and "завершено" in to(calls, MENTOR2)
    async with db.session() as repo:
        res = await repo.users.by_telegram(RES)
        assert res is not None
    calls = await world.press(OFFICER_TG, f"asg:end:{res.id}")
    assert "нет действующего наставника" in alert_of(calls)


async def test_roles_and_forged_assignment_buttons(world: Harness, db: Database) -> None:
    for who in (RES, MENTOR):
        assert "недоступна" in texts_of(await world.send(who, "/assign"))
        assert "недоступна" in texts_of(await world.send(who, "/pairs"))
    async with db.session() as repo:
        res = await repo.users.by_telegram(RES)
        mentor = await repo.users.by_telegram(MENTOR)
        assert res is not None and mentor is not None
    for who in (RES, MENTOR, 9999):
        calls = await world.press(who, f"asg:assign:{res.id}")
        assert alert_of(calls)
        calls = await world.press(who, f"ppl:am:pick:{mentor.id}")
        assert alert_of(calls)
    async with db.session() as repo:
        assert (await repo.session.scalars(select(MentorAssignment))).all() == []
    # an officer's forged ids: a mentor given as the reservist, a reservist as the mentor
    calls = await world.press(OFFICER_TG, f"ppl:ar:pick:{mentor.id}")
    assert "устарела" in alert_of(calls)
    calls = await world.press(OFFICER_TG, f"asg:assign:{res.id}")
    calls = await world.press(OFFICER_TG, f"ppl:am:pick:{res.id}")
    assert "устарела" in alert_of(calls)


async def log_consultation(h: Harness, who: int, *, mentee: str | None = None) -> list[Call]:
    calls = await h.send(who, "/consult")
    if mentee:
        calls = await h.press(who, last_with_buttons(calls).button(mentee))
    calls = await h.send(who, "10.03.2026")
    assert "в будущем" in texts_of(calls)
    calls = await h.send(who, "01.03.2026")
    calls = await h.send(who, "очно")
    assert "кнопкой" in texts_of(calls)
    calls = await h.press(who, last_with_buttons(calls).button("онлайн"))
    calls = await h.send(who, "ab")
    assert "от 3 до 300" in texts_of(calls)
    await h.send(who, "Подготовка к собеседованию")
    for bad in ("полчаса", "3", "500"):
        calls = await h.send(who, bad)
        assert "от 5 до 480" in texts_of(calls), bad
    calls = await h.send(who, "45")
    calls = await h.press(who, last_with_buttons(calls).button("Пропустить"))
    return await h.press(who, last_with_buttons(calls).button("Психологические тренинги"))


async def test_reservist_logs_and_mentor_confirms(world: Harness, db: Database) -> None:
    calls = await world.send(RES, "/consult")
    assert "ещё не назначен наставник" in texts_of(calls)
    await assign(world, "Иванова", "Кузнецова")

    calls = await log_consultation(world, RES)
    assert "отправлена на подтверждение" in to(calls, RES)
    request = next(c for c in calls if c.chat_id == MENTOR)
    assert "Подготовка к собеседованию" in request.text and "45 мин" in request.text
    assert "Психологические тренинги" in request.text
    # not confirmed yet: reports do not count it
    calls = await world.send(OFFICER_TG, "/pairs")
    assert "консультаций подтверждено 0, ждут подтверждения 1" in texts_of(calls)

    # someone else, and the logger herself, cannot confirm
    for who in (RES2, MENTOR2, RES):
        calls = await world.press(who, request.button("Подтвердить"))
        assert alert_of(calls), who
    calls = await world.press(MENTOR, request.button("Подтвердить"))
    assert "подтвердил(а) консультацию" in to(calls, RES)
    calls = await world.press(MENTOR, request.button("Подтвердить"))
    assert "уже принято решение" in alert_of(calls)

    calls = await world.send(OFFICER_TG, "/pairs")
    assert "Подтверждённых консультаций в этом году: 1" in texts_of(calls)
    async with db.session() as repo:
        consultation = await repo.session.scalar(select(Consultation))
        assert consultation is not None
        assert consultation.status == "confirmed" and consultation.item_id is not None
        assert consultation.format == "online" and consultation.minutes == 45


async def test_mentor_logs_and_reservist_declines_with_reason(
    world: Harness, db: Database
) -> None:
    await assign(world, "Иванова", "Кузнецова")
    calls = await log_consultation(world, MENTOR, mentee="Иванова")
    request = next(c for c in calls if c.chat_id == RES)
    calls = await world.press(RES, request.button("Отклонить"))
    assert "Почему" in texts_of(calls)
    calls = await world.send(RES, "")
    calls = await world.send(RES, "/plan")  # a command inside the dialogue is not a reason
    calls = await world.send(RES, "Консультация перенесена на апрель")
    assert "отклонена" in to(calls, RES)
    assert "Консультация перенесена на апрель" in to(calls, MENTOR)
    async with db.session() as repo:
        consultation = await repo.session.scalar(select(Consultation))
        assert consultation is not None and consultation.status == "declined"


async def test_mentor_cannot_log_for_someone_elses_mentee(world: Harness, db: Database) -> None:
    await assign(world, "Иванова", "Кузнецова")
    calls = await world.send(MENTOR2, "/consult")
    assert "не закреплены" in texts_of(calls)
    async with db.session() as repo:
        res = await repo.users.by_telegram(RES)
        assert res is not None
    await world.send(MENTOR2, "/cancel")
    calls = await world.press(MENTOR2, f"mnt:open:{res.id}")
    assert "устарела" in alert_of(calls)


async def test_mentor_view_confirm_and_comment(world: Harness, db: Database) -> None:
    await assign(world, "Иванова", "Кузнецова")
    # the reservist logs an item with evidence
    calls = await world.send(RES, "/log")
    calls = await world.press(RES, last_with_buttons(calls).button("Психологические тренинги"))
    calls = await world.press(RES, last_with_buttons(calls).button("Сегодня"))
    calls = await world.press(RES, last_with_buttons(calls).button("Пропустить"))
    await world.send_document(RES, "Сертификат.pdf")

    calls = await world.send(MENTOR, "/mentees")
    listing = last_with_buttons(calls)
    assert re.search(
        r"Иванова Мария Петровна</b>: выполнено 1 из \d+, подтверждено 0", listing.text
    )
    calls = await world.press(MENTOR, listing.button("Иванова"))
    plan = last_with_buttons(calls)
    assert "подтверждено наставником: 0" in plan.text
    calls = await world.press(MENTOR, plan.button("Психологические тренинги"))
    card = last_with_buttons(calls)
    assert "Сертификат.pdf" in card.text
    calls = await world.press(MENTOR, card.button("Показать"))
    assert any(c.method == "sendDocument" and c.chat_id == MENTOR for c in calls)
    calls = await world.press(MENTOR, card.button("Подтвердить выполнение"))
    assert "подтверждено" in alert_of(calls).lower()
    assert "подтвердил выполнение" in to(calls, RES)
    calls = await world.press(MENTOR, card.button("Подтвердить выполнение"))
    assert "уже подтверждён" in alert_of(calls)

    calls = await world.press(MENTOR, card.button("Комментарий"))
    calls = await world.send(MENTOR, "x")
    assert "от 2 до 1000" in texts_of(calls)
    calls = await world.send(MENTOR, "Хорошо! Возьмите в работу приёмы из тренинга.")
    assert "Возьмите в работу" in to(calls, RES)

    # a planned item cannot be confirmed; another mentor sees nothing
    async with db.session() as repo:
        items = (await repo.session.scalars(select(PlanItem).order_by(PlanItem.id))).all()
    planned = next(i for i in items if i.status == "planned")
    calls = await world.press(MENTOR, f"mnt:confirm:{planned.id}")
    assert "ещё не отмечен" in alert_of(calls)
    done = next(i for i in items if i.status == "done")
    for action in ("item", "confirm", "comment", "evidence"):
        calls = await world.press(MENTOR2, f"mnt:{action}:{done.id}")
        assert "устарела" in alert_of(calls), action
        calls = await world.press(RES, f"mnt:{action}:{done.id}")
        assert alert_of(calls), action

    # the reservist sees the confirmation and the comment on the card and in /plan
    calls = await world.press(RES, f"item:open:{done.id}:1")
    text = texts_of(calls)
    assert "Подтверждено наставником" in text and "Возьмите в работу" in text
    assert "🏅" in texts_of(await world.send(RES, "/plan"))


async def test_mentees_empty_and_roles(world: Harness) -> None:
    assert "не закреплены" in texts_of(await world.send(MENTOR, "/mentees"))
    assert "недоступна" in texts_of(await world.send(RES, "/mentees"))
    assert "недоступна" in texts_of(await world.send(OFFICER_TG, "/consult"))
    assert "недоступна" in texts_of(await world.send(OFFICER_TG, "/mentees"))
