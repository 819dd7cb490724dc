"""The reservist's plan through Dispatcher.feed_update: /plan, /log, corrections, /plan add,
/settings, and the role checks of every command."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import create_dispatcher
from bot.config import Settings
from storage.db import Database
from storage.models import PlanItem, PlanItemEvent
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.test_handlers_registration import invite_code, register

RES = 2001
MENTOR = 3001


@pytest.fixture
async def reservist(harness: Harness, clock: FakeClock) -> Harness:
    """A registered reservist on 2026-03-02 (their plan holds March-December items)."""
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await register(harness, RES, await invite_code(harness))
    return harness


async def items_of(db: Database) -> list[PlanItem]:
    async with db.session() as repo:
        return list((await repo.session.scalars(select(PlanItem).order_by(PlanItem.id))).all())


async def test_plan_lists_roadmap_items_with_progress(reservist: Harness, db: Database) -> None:
    calls = await reservist.send(RES, "/plan")
    text = texts_of(calls)
    assert "Индивидуальный план на 2026 год" in text
    items = await items_of(db)
    # January diagnostics and the December-January planning were over before she joined
    titles = [i.title for i in items]
    assert not any(t.startswith("Психолого-педагогическая диагностика") for t in titles)
    trainings = [i for i in items if i.kind == "training"]
    assert [t.due_on.month for t in trainings if t.due_on] == [3, 6, 10]
    assert f"Выполнено 0 из {len(items)}" in text
    assert "Психологические тренинги" in text and "март 2026" in text
    keyboard = last_with_buttons(calls)
    assert any(data.startswith("item:open:") for _, data in keyboard.buttons())


async def test_plan_pages(reservist: Harness, db: Database) -> None:
    for n in range(8):
        calls = await reservist.send(RES, f"/plan add Личный пункт номер {n}")
        await reservist.press(RES, last_with_buttons(calls).buttons()[2][1])
    calls = await reservist.send(RES, "/plan")
    assert "Страница 1 из" in texts_of(calls)
    nxt = last_with_buttons(calls).button("Далее")
    calls = await reservist.press(RES, nxt)
    edit = [c for c in calls if c.method == "editMessageText"]
    assert edit and "Страница 2 из" in edit[0].text


async def test_log_item_with_document_and_comment(reservist: Harness, db: Database) -> None:
    calls = await reservist.send(RES, "/log")
    pick = last_with_buttons(calls).button("Психологические тренинги")
    calls = await reservist.press(RES, pick)
    assert "Когда выполнено?" in texts_of(calls)
    # wrong dates: garbage, future, before the plan year
    for bad, reason in (
        ("вчера", "ДД.ММ.ГГГГ"),
        ("31.02.2026", "ДД.ММ.ГГГГ"),
        ("05.03.2026", "в будущем"),
        ("20.12.2024", "раньше"),
    ):
        calls = await reservist.send(RES, bad)
        assert reason in texts_of(calls), bad
    calls = await reservist.send(RES, "01.03.2026")
    assert "комментарий" in texts_of(calls)
    calls = await reservist.send(RES, "Тренинг «Лидер команды», 6 часов")
    assert "подтверждение" in texts_of(calls)
    calls = await reservist.send(RES, "просто текст")
    assert "фото или документ" in texts_of(calls)
    calls = await reservist.send_document(RES, "Сертификат.pdf")
    assert "Выполнено 1 из" in texts_of(calls)

    done = [i for i in await items_of(db) if i.status == "done"]
    assert len(done) == 1
    item = done[0]
    assert item.done_on is not None and item.done_on.isoformat() == "2026-03-01"
    assert item.comment == "Тренинг «Лидер команды», 6 часов"
    assert item.evidence_kind == "document" and item.evidence_name == "Сертификат.pdf"
    assert item.evidence_file_id and item.evidence_file_id.startswith("DOC")

    calls = await reservist.send(RES, "/plan")
    assert "✅" in texts_of(calls) and "выполнено 01.03.2026" in texts_of(calls)


async def test_today_skip_correct_and_reopen_keep_history(
    reservist: Harness, db: Database
) -> None:
    calls = await reservist.send(RES, "/log")
    calls = await reservist.press(RES, last_with_buttons(calls).button("Психологические тренинги"))
    calls = await reservist.press(RES, last_with_buttons(calls).button("Сегодня"))
    calls = await reservist.press(RES, last_with_buttons(calls).button("Пропустить"))
    calls = await reservist.send_photo(RES)
    assert "Выполнено 1 из" in texts_of(calls)
    item = next(i for i in await items_of(db) if i.status == "done")
    assert item.done_on is not None and item.done_on.isoformat() == "2026-03-02"
    assert item.evidence_kind == "photo" and item.comment is None

    # the card of a done item offers correction and reopening
    calls = await reservist.press(RES, f"item:open:{item.id}:1")
    card = last_with_buttons(calls)
    assert "Статус: выполнено" in card.text
    calls = await reservist.press(RES, card.button("Исправить"))
    calls = await reservist.send(RES, "28.02.2026")
    assert "раньше" not in texts_of(calls)  # March item, plan year 2026: 28.02 is allowed
    calls = await reservist.send(RES, "Перенесли на февраль")
    calls = await reservist.press(RES, last_with_buttons(calls).button("Пропустить"))
    assert "исправлена" in texts_of(calls)
    item = next(i for i in await items_of(db) if i.id == item.id)
    assert item.done_on is not None and item.done_on.isoformat() == "2026-02-28"
    assert item.evidence_kind == "photo"  # a correction without a new file keeps the old one

    calls = await reservist.press(RES, f"item:reopen:{item.id}:1")
    assert "снова открыт" in texts_of(calls)
    calls = await reservist.press(RES, f"item:reopen:{item.id}:1")
    assert "ещё не отмечен" in alert_of(calls)

    async with db.session() as repo:
        events = (
            await repo.session.scalars(
                select(PlanItemEvent)
                .where(PlanItemEvent.item_id == item.id)
                .order_by(PlanItemEvent.id)
            )
        ).all()
    assert [e.action for e in events] == ["created", "done", "corrected", "reopened"]
    assert events[2].data["before"]["done_on"] == "2026-03-02"
    assert events[3].data["before"]["done_on"] == "2026-02-28"


async def test_cancel_in_the_middle_of_logging_saves_nothing(
    reservist: Harness, db: Database
) -> None:
    calls = await reservist.send(RES, "/log")
    calls = await reservist.press(RES, last_with_buttons(calls).button("Психологические тренинги"))
    await reservist.send(RES, "01.03.2026")
    await reservist.send(RES, "комментарий")
    calls = await reservist.send(RES, "/cancel")
    assert "отменено" in texts_of(calls)
    assert all(i.status == "planned" for i in await items_of(db))


async def test_someone_elses_item_is_refused(reservist: Harness, db: Database) -> None:
    await register(reservist, 2002, await invite_code(reservist))
    mine = (await items_of(db))[0]
    async with db.session() as repo:
        other = await repo.users.by_telegram(2002)
        assert other is not None
    for data in (f"item:open:{mine.id}:1", f"item:done:{mine.id}:1", "item:done:999999:1"):
        calls = await reservist.press(2002, data)
        assert "не к вам" in alert_of(calls), data
    assert all(i.status == "planned" for i in await items_of(db))


async def test_plan_add_personal_item(reservist: Harness, db: Database) -> None:
    calls = await reservist.send(RES, "/plan add")
    assert "Название" in texts_of(calls)
    calls = await reservist.send(RES, "/cancel")
    calls = await reservist.send(RES, "/plan add")
    calls = await reservist.send(RES, "ab")
    assert "от 3 до 300" in texts_of(calls)
    calls = await reservist.send(RES, "Выступить на августовском совещании")
    calls = await reservist.send(RES, "август")
    assert "кнопкой" in texts_of(calls)
    calls = await reservist.press(RES, last_with_buttons(calls).button("август 2026"))
    assert "Добавлено в план" in texts_of(calls)
    calls = await reservist.press(RES, "month:2020:1")
    item = next(i for i in await items_of(db) if i.personal)
    assert item.title == "Выступить на августовском совещании"
    assert item.due_on is not None and item.due_on.isoformat() == "2026-08-31"


async def test_settings_zone_and_mute(reservist: Harness, db: Database) -> None:
    calls = await reservist.send(RES, "/settings")
    assert "Москва" in texts_of(calls)
    calls = await reservist.press(RES, last_with_buttons(calls).button("Сменить часовой пояс"))
    calls = await reservist.press(RES, last_with_buttons(calls).button("Владивосток"))
    assert "Владивосток" in texts_of(calls)
    calls = await reservist.press(RES, "set:tz:99")
    assert "устарела" in alert_of(calls)
    calls = await reservist.send(RES, "/settings")
    calls = await reservist.press(RES, last_with_buttons(calls).button("Выключить"))
    assert "выключены" in texts_of(calls)
    async with db.session() as repo:
        user = await repo.users.by_telegram(RES)
        assert user is not None and user.timezone == "Asia/Vladivostok" and user.muted
    calls = await reservist.send(RES, "/settings")
    calls = await reservist.press(RES, last_with_buttons(calls).button("Включить"))
    assert "включены" in texts_of(calls)


@pytest.mark.parametrize(
    ("who", "command"),
    [
        (RES, "/invite reservist"),
        (MENTOR, "/invite mentor"),
        (MENTOR, "/plan"),
        (MENTOR, "/log"),
        (OFFICER_TG, "/plan"),
        (OFFICER_TG, "/log"),
    ],
)
async def test_role_checks(reservist: Harness, who: int, command: str) -> None:
    await register(reservist, MENTOR, await invite_code(reservist, "mentor"))
    calls = await reservist.send(who, command)
    assert "недоступна" in texts_of(calls)


async def test_role_checks_on_buttons(reservist: Harness, db: Database) -> None:
    await register(reservist, MENTOR, await invite_code(reservist, "mentor"))
    item = (await items_of(db))[0]
    for who in (MENTOR, OFFICER_TG, 9999):
        for data in (f"item:done:{item.id}:1", "plan:2", f"item:later:{item.id}:1"):
            calls = await reservist.press(who, data)
            alert = alert_of(calls)
            assert "не к вам" in alert or "приглашению" in alert, (who, data)
    assert all(i.status == "planned" for i in await items_of(db))


async def test_help_per_role_and_unknown_text(reservist: Harness) -> None:
    assert "/plan" in texts_of(await reservist.send(RES, "/help"))
    assert "/invite" in texts_of(await reservist.send(OFFICER_TG, "/help"))
    assert "Не понимаю" in texts_of(await reservist.send(RES, "привет"))


async def test_plan_of_next_year_and_wrong_year(reservist: Harness) -> None:
    calls = await reservist.send(RES, "/plan 2027")
    text = texts_of(calls)
    assert "Индивидуальный план на 2027 год" in text
    assert "Психолого-педагогическая диагностика" in text  # January 2027 is still ahead
    calls = await reservist.send(RES, "/plan 1999")
    assert "/plan 2027" in texts_of(calls)
    calls = await reservist.send(RES, "/plan завтра")
    assert "/plan 2027" in texts_of(calls)
    calls = await reservist.press(RES, "plan:1:1999")
    assert "устарела" in alert_of(calls)


async def test_a_failing_handler_apologises_and_keeps_the_dialogue(
    reservist: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = await reservist.send(RES, "/log")
    calls = await reservist.press(RES, last_with_buttons(calls).button("Психологические тренинги"))
    await reservist.send(RES, "01.03.2026")
    await reservist.send(RES, "комментарий")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("bot.services.plans.PlanService.mark_done", broken)
    calls = await reservist.send_document(RES, "Сертификат.pdf")
    assert "Что-то пошло не так" in texts_of(calls)
    assert all(i.status == "planned" for i in await items_of(db))
    monkeypatch.undo()
    calls = await reservist.send_document(RES, "Сертификат.pdf")
    assert "Выполнено 1 из" in texts_of(calls)


async def test_a_user_who_unblocked_the_bot_is_active_again(
    reservist: Harness, db: Database
) -> None:
    async with db.session() as repo:
        user = await repo.users.by_telegram(RES)
        assert user is not None
        await repo.users.set_active(user.id, False)
    await reservist.send(RES, "/plan")
    async with db.session() as repo:
        user = await repo.users.by_telegram(RES)
        assert user is not None and user.active


async def test_a_dialogue_survives_a_restart(
    reservist: Harness, db: Database, settings: Settings, clock: FakeClock
) -> None:
    calls = await reservist.send(RES, "/log")
    calls = await reservist.press(RES, last_with_buttons(calls).button("Психологические тренинги"))
    await reservist.send(RES, "01.03.2026")
    # the bot restarts: a new dispatcher over the same database
    restarted = Harness(create_dispatcher(settings, db, clock=clock), reservist.bot)
    calls = await restarted.send(RES, "Комментарий после перезапуска")
    assert "подтверждение" in texts_of(calls)
    calls = await restarted.press(RES, last_with_buttons(calls).button("Пропустить"))
    assert "Выполнено 1 из" in texts_of(calls)
