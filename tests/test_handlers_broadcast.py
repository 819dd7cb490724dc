"""Officers' broadcasts through Dispatcher.feed_update: compose, audience, RSVP, preview,
send, progress, answers, stop; and the role checks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.broadcast_telegram import TelegramBroadcastTransport
from bot.services.broadcast import BroadcastService
from bot.services.delivery import RateLimiter
from handlers.broadcast import RUNNING
from storage.db import Database
from storage.models import AuditEntry
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.test_handlers_mentoring import register_as, to

RES, RES2, MENTOR = 2001, 2002, 3001


@pytest.fixture
async def world(harness: Harness, db: Database, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    harness.dp["broadcasts"] = BroadcastService(
        db, TelegramBroadcastTransport(harness.bot), RateLimiter(1000, 0.0), clock
    )
    await register_as(harness, RES, "reservist", "Иванова Мария Петровна")
    await register_as(harness, RES2, "reservist", "Смирнов Олег Игоревич")
    await register_as(harness, MENTOR, "mentor", "Кузнецова Анна Сергеевна")
    return harness


async def finished() -> None:
    await asyncio.wait_for(asyncio.gather(*list(RUNNING)), 10)


async def test_broadcast_to_reservists_with_rsvp(world: Harness, db: Database) -> None:
    calls = await world.send(OFFICER_TG, "/broadcast")
    compose = last_with_buttons(calls)
    calls = await world.press(OFFICER_TG, compose.button("Готово"))
    assert "хотя бы одно" in alert_of(calls)
    calls = await world.send(OFFICER_TG, "Семинар для резерва 5 марта в 10:00")
    assert "Добавлено сообщений: 1" in texts_of(calls)
    calls = await world.send_photo(OFFICER_TG)
    assert "Добавлено сообщений: 2" in texts_of(calls)
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Готово"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Резервистам"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("С кнопками"))
    text = texts_of(calls)
    assert "Так увидят рассылку" in text and "Получателей: <b>2</b>" in text
    assert "Семинар для резерва" in to(calls, OFFICER_TG)  # the preview
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Отправить"))
    await finished()
    sent = world.bot.calls
    for chat in (RES, RES2):
        got = [c for c in sent if c.chat_id == chat and c.method in ("sendMessage", "sendPhoto")]
        assert any("Семинар для резерва" in c.text for c in got), chat
        assert any(c.method == "sendPhoto" for c in got)
        assert [t for t, _ in got[-1].buttons()] == ["Буду", "Не смогу"]
    assert not any(c.chat_id == MENTOR and "Семинар" in c.text for c in sent)
    edits = [c for c in sent if c.method == "editMessageText" and c.chat_id == OFFICER_TG]
    assert edits and "завершена" in edits[-1].text

    rsvp = next(c for c in reversed(sent) if c.chat_id == RES and c.buttons())
    calls = await world.press(RES, rsvp.button("Буду"))
    assert "Ответ записан" in alert_of(calls)
    calls = await world.press(MENTOR, rsvp.button("Буду"))  # not a recipient
    assert alert_of(calls) and "Ответ записан" not in alert_of(calls)
    report = texts_of(await world.send(OFFICER_TG, "/broadcasts"))
    assert "Буду" in report and "1" in report
    async with db.session() as repo:
        actions = [a.action for a in (await repo.session.scalars(select(AuditEntry))).all()]
    assert "broadcast" in actions


async def test_municipality_audience_and_cancel(world: Harness, db: Database) -> None:
    async with db.session() as repo:
        other = await repo.users.by_telegram(RES2)
        assert other is not None
        await repo.users.update(other, municipality="Камышинский район")
    calls = await world.send(OFFICER_TG, "/broadcast")
    await world.send(OFFICER_TG, "Совещание")
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Готово"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Муниципалитету"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Камышинский"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Без кнопок"))
    assert "Получателей: <b>1</b>" in texts_of(calls)
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Отмена"))
    assert "ничего не отправлено" in texts_of(calls)
    assert not any(c.chat_id == RES2 and "Совещание" in c.text for c in world.bot.calls)


async def test_broadcast_refused_to_others(world: Harness) -> None:
    for who in (RES, MENTOR):
        assert "недоступна" in texts_of(await world.send(who, "/broadcast"))
        assert "недоступна" in texts_of(await world.send(who, "/broadcasts"))
        calls = await world.press(who, "bctl:stop:1")
        assert alert_of(calls)
