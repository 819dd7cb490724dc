"""Officers' broadcasts through Dispatcher.feed_update: compose, audience, RSVP, preview,
send (once per draft, however often «Отправить» is pressed), progress, answers, stop, resend to
the failed; and the role checks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from bot.app import create_dispatcher
from bot.config import Settings
from bot.services.broadcast import BroadcastService, ContentPart, DuplicateDraftError
from bot.services.delivery import RateLimiter
from bot.telegram import TelegramBroadcastTransport
from handlers.broadcast import RUNNING
from storage.broadcast_models import Broadcast, BroadcastDelivery, DeliveryState
from storage.db import Database
from storage.models import AuditEntry
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.mocked_bot import Call, MockedBot
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


async def _confirm_screen(world: Harness, text: str) -> str:
    """Compose a broadcast of ``text`` to reservists without RSVP; the «Отправить» data."""
    calls = await world.send(OFFICER_TG, "/broadcast")
    await world.send(OFFICER_TG, text)
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Готово"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Резервистам"))
    calls = await world.press(OFFICER_TG, last_with_buttons(calls).button("Без кнопок"))
    return last_with_buttons(calls).button("Отправить")


async def _broadcast_count(db: Database) -> int:
    async with db.session() as repo:
        return len((await repo.session.scalars(select(Broadcast.id))).all())


def _got(world: Harness, chat: int, marker: str) -> int:
    return sum(1 for c in world.bot.calls if c.chat_id == chat and marker in c.text)


@pytest.mark.parametrize("gap", [0.0, 0.1, 0.3])
async def test_send_pressed_twice_starts_one_broadcast(
    world: Harness, db: Database, gap: float
) -> None:
    data = await _confirm_screen(world, "Собрание резерва")
    assert data.startswith("bst:send:") and len(data.encode()) <= 64

    async def press_later(delay: float) -> list[Call]:
        await asyncio.sleep(delay)
        return await world.press(OFFICER_TG, data)

    before = len(world.bot.calls)
    await asyncio.gather(press_later(0.0), press_later(gap))
    await finished()
    calls = world.bot.calls[before:]  # both presses' (the harness's slices overlap when racing)
    assert await _broadcast_count(db) == 1
    answers = sorted(
        str(c.params.get("text") or "") for c in calls if c.method == "answerCallbackQuery"
    )
    assert answers == ["", "Рассылка уже запущена."]
    assert sum("Рассылка начинается" in c.text for c in calls) == 1
    for chat in (RES, RES2):
        assert _got(world, chat, "Собрание резерва") == 1


async def test_send_after_a_restart_or_from_another_process_creates_nothing(
    world: Harness, db: Database, settings: Settings, clock: FakeClock
) -> None:
    data = await _confirm_screen(world, "Совещание")
    await world.press(OFFICER_TG, data)
    await finished()
    # a restarted bot: a fresh dispatcher, no memory of the first press
    restarted = Harness(create_dispatcher(settings, db, clock=clock), world.bot)
    restarted.dp["broadcasts"] = world.dp["broadcasts"]
    assert alert_of(await restarted.press(OFFICER_TG, data)) == "Рассылка уже запущена."
    assert await _broadcast_count(db) == 1
    # a button without a draft behind it (forged, or from an old version) is stale
    assert "устарела" in alert_of(await world.press(OFFICER_TG, "bst:send:unknown-key"))
    assert await _broadcast_count(db) == 1


async def test_the_draft_key_holds_under_a_real_race(db: Database, database_url: str) -> None:
    """Two processes (two engines, two connections) create from one draft at the same time."""
    other = Database(database_url)
    try:
        services = [
            BroadcastService(d, TelegramBroadcastTransport(MockedBot()), RateLimiter(1000, 0.0))
            for d in (db, other)
        ]
        parts = [ContentPart.of_text("Гонка")]
        outcomes = await asyncio.gather(
            *(
                s.create(created_by=None, parts=parts, user_ids=[], draft_key="race-key-1")
                for s in services
            ),
            return_exceptions=True,
        )
    finally:
        await other.dispose()
    assert sum(isinstance(o, Broadcast) for o in outcomes) == 1
    assert sum(isinstance(o, DuplicateDraftError) for o in outcomes) == 1
    assert await _broadcast_count(db) == 1


async def test_resend_to_the_failed_from_the_reports(world: Harness, db: Database) -> None:
    data = await _confirm_screen(world, "Важное объявление")
    await world.press(OFFICER_TG, data)
    await finished()
    async with db.session() as repo:
        res2 = await repo.users.by_telegram(RES2)
        assert res2 is not None
        await repo.session.execute(
            update(BroadcastDelivery)
            .where(BroadcastDelivery.user_id == res2.id)
            .values(state=DeliveryState.FAILED, last_error="Bad Request: chat not found")
        )
    calls = await world.send(OFFICER_TG, "/broadcasts")
    assert "Не доставлено из-за ошибок: 1" in texts_of(calls)
    button = last_with_buttons(calls).button("Отправить повторно")
    assert await _broadcast_count(db) == 1
    assert "получателей — 1" in alert_of(await world.press(OFFICER_TG, button))
    await finished()
    assert "некому" in alert_of(await world.press(OFFICER_TG, button))  # idempotent
    await finished()
    assert _got(world, RES2, "Важное объявление") == 2 and _got(world, RES, "Важное") == 1
    calls = await world.send(OFFICER_TG, "/broadcasts")
    assert "Доставлено: 2 из 2" in texts_of(calls)
    assert not any(c.buttons() for c in calls)
    for who in (RES, MENTOR):  # officers only
        assert "получателей" not in alert_of(await world.press(who, button))
