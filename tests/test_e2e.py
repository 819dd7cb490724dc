"""End to end: the real bot process (`python -m bot run`) over HTTP against the fake Bot API
server on 127.0.0.1, walking a whole journey: an officer invites, a reservist registers, sees
the plan, logs an item with a document, gets a reminder when the clock is moved to a due date,
the bot restarts and nothing is sent twice.

The bot process runs on a clock set by ``CLOCK_START`` (noon in Moscow) with explicit quiet
hours, so the journey does not depend on the hour it is run at; a shorter test starts the bot
with its clock inside the quiet hours and checks that it sends no reminder then, and sends it once
the clock is in the daytime. Every wait has a timeout.

To walk the journey with the bot's clock elsewhere (e.g. inside the quiet hours), set
``E2E_CLOCK_START`` (an ISO date-time with its offset) for the test run:
``E2E_CLOCK_START=2027-03-01T23:00+03:00 python -m pytest tests/test_e2e.py``."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox.emulator import FakeTelegramServer, FakeUser, SentCall
from storage.db import Database
from storage.models import IndividualPlan, PlanItem, User
from tests.e2e_support import (
    MSK,
    OFFICER,
    START_WAIT,
    WAIT,
    Bot,
    bot_env,
    cli,
    fake_telegram,
)
from tests.harness import FakeClock, Harness
from tests.test_handlers_mentoring import register_as

pytestmark = pytest.mark.e2e

RESERVIST = 2001
MENTOR = 3001
#: The bot's clock at start in the journey: noon in Moscow, outside the quiet hours, unless
#: E2E_CLOCK_START (read by this module only, not a setting of the bot) says otherwise.
DAYTIME = datetime.fromisoformat(os.environ.get("E2E_CLOCK_START") or "2027-03-01T12:00+03:00")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with fake_telegram() as srv:
        yield srv


@pytest.fixture
def env(
    server: FakeTelegramServer, database_url: str, db: Database, tmp_path: Path
) -> dict[str, str]:
    """The bot process's environment (:func:`~tests.e2e_support.bot_env`) with the clock at
    :data:`DAYTIME`; ``db`` empties the test database first."""
    return bot_env(server, database_url, tmp_path, CLOCK_START=DAYTIME.isoformat())


async def test_whole_journey(
    server: FakeTelegramServer, env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    officer = server.user(OFFICER, "Елена", last_name="Чеботарева")
    reservist = server.user(RESERVIST, "Мария", last_name="Иванова")
    bot = Bot(env, tmp_path / "bot.log")
    await bot.start()
    try:
        await journey(server, bot, env, database_url, officer, reservist)
        # the bot kept Telegram's limits on the server's clock all the way (every send is
        # paced, not only broadcasts): none was refused
        assert server.stats.sends_accepted > 30
        assert server.stats.too_many_requests == 0, server.stats
    except BaseException:
        print(bot.log())  # shown by pytest on failure
        raise
    finally:
        if bot.running:
            await bot.terminate()


async def wait_for_log(bot: Bot, pattern: str, timeout: float = WAIT) -> re.Match[str]:
    """Wait until the bot's log has a line matching ``pattern``; raise AssertionError if not."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (found := re.search(pattern, bot.log())) is None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no log line {pattern!r} within {timeout} s:\n{bot.log()}")
        await asyncio.sleep(0.2)
    return found


async def test_quiet_hours_clock_sends_nothing(
    server: FakeTelegramServer, env: dict[str, str], harness: Harness, clock: FakeClock,
    database_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    """A reminder owed while the bot's clock is in the quiet hours waits; it goes out once the
    clock is in the daytime."""
    clock.now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    await register_as(harness, RESERVIST, "reservist", "Иванова Мария Петровна")
    db = Database(database_url)
    try:
        async with db.session() as repo:
            user = await repo.users.by_telegram(RESERVIST)
            assert user is not None
            due = await repo.session.scalars(
                select(PlanItem.due_on)
                .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
                .where(IndividualPlan.user_id == user.id, PlanItem.due_on.is_not(None))
                .order_by(PlanItem.due_on)
            )
            first_due = due.first()
            assert first_due is not None
    finally:
        await db.dispose()
    server.user(RESERVIST, "Мария", last_name="Иванова")
    eve = first_due - timedelta(days=1)  # the item is due tomorrow: a reminder is owed

    night = {**env, "CLOCK_START": datetime.combine(eve, time(23), tzinfo=MSK).isoformat()}
    bot = Bot(night, tmp_path / "night.log")
    await bot.start()
    try:
        scan = await wait_for_log(
            bot, r"reminder scan.* recorded=(\d+) sent=(\d+) deferred=(\d+)", START_WAIT
        )
        assert scan.group(2) == "0" and int(scan.group(3)) >= 1, scan.group(0)
        assert server.messages_to(RESERVIST) == []
    finally:
        assert await bot.terminate() == 0

    # the next morning (the due day, after the quiet hours): the waiting reminder goes out
    day = {**env, "CLOCK_START": datetime.combine(first_due, time(10), tzinfo=MSK).isoformat()}
    bot = Bot(day, tmp_path / "day.log")
    await bot.start()
    try:
        reminder = await server.wait_for_message(RESERVIST, timeout=START_WAIT)
        assert "Напомнить позже" in [b[0] for b in reminder.buttons], reminder.describe()
    except BaseException:
        print(bot.log())
        raise
    finally:
        assert await bot.terminate() == 0


async def register(server: FakeTelegramServer, person: FakeUser, code: str, name: str) -> None:
    """Open the invite, consent and answer the profile questions."""
    server.push_text(person, f"/start {code}")
    consent = await server.wait_for_message(person.id, timeout=WAIT)
    server.press(person, consent, "Согласен")
    for answer in (name, "МБОУ СОШ № 5", "Директор", "Петровский район"):
        await server.wait_for_message(person.id, timeout=WAIT)
        server.push_text(person, answer)
    done = await server.wait_for_message(person.id, timeout=WAIT)
    assert "зарегистрированы" in done.text, done.describe()


async def mentoring_journey(
    server: FakeTelegramServer, officer: FakeUser, reservist: FakeUser
) -> None:
    """An officer assigns a mentor, the reservist logs a consultation, the mentor confirms it,
    and the officers' report counts it."""
    mentor = server.user(MENTOR, "Анна", last_name="Кузнецова")
    server.push_text(officer, "/invite mentor")
    answer = await server.wait_for_message(OFFICER, timeout=WAIT)
    code = re.search(r"start=([\w-]+)", answer.text)
    assert code, answer.describe()
    await register(server, mentor, code.group(1), "Кузнецова Анна Сергеевна")

    server.push_text(officer, "/assign")
    listing = await server.wait_for_message(OFFICER, timeout=WAIT)
    server.press(officer, listing, listing.buttons[0][0])
    card = await server.wait_for_message(OFFICER, timeout=WAIT)
    server.press(officer, card, "Назначить наставника")
    mentors = await server.wait_for_message(OFFICER, timeout=WAIT)
    server.press(officer, mentors, mentors.buttons[0][0])
    await server.wait_for_message(OFFICER, lambda m: "закреплён" in m.text, timeout=WAIT)
    told = await server.wait_for_message(RESERVIST, timeout=WAIT)
    assert "Кузнецова Анна Сергеевна" in told.text
    await server.wait_for_message(MENTOR, lambda m: "наставником" in m.text, timeout=WAIT)

    server.push_text(reservist, "/consult")
    ask = await server.wait_for_message(RESERVIST, timeout=WAIT)
    server.press(reservist, ask, "Сегодня")
    formats = await server.wait_for_message(RESERVIST, timeout=WAIT)
    server.press(reservist, formats, "очно")
    await server.wait_for_message(RESERVIST, timeout=WAIT)
    server.push_text(reservist, "Разбор управленческой ситуации")
    await server.wait_for_message(RESERVIST, timeout=WAIT)
    server.push_text(reservist, "60")
    note = await server.wait_for_message(RESERVIST, timeout=WAIT)
    server.press(reservist, note, "Пропустить")
    items = await server.wait_for_message(RESERVIST, timeout=WAIT)
    server.press(reservist, items, "Без привязки к плану")
    await server.wait_for_message(RESERVIST, lambda m: "на подтверждение" in m.text, timeout=WAIT)

    request = await server.wait_for_message(
        MENTOR, lambda m: "Разбор управленческой ситуации" in m.text, timeout=WAIT
    )
    server.press(mentor, request, "Подтвердить")
    await server.wait_for_message(RESERVIST, lambda m: "подтвердил" in m.text, timeout=WAIT)

    server.push_text(officer, "/pairs")
    report = await server.wait_for_message(OFFICER, lambda m: "Пары" in m.text, timeout=WAIT)
    assert "Подтверждённых консультаций в этом году: 1" in report.text, report.describe()


async def journey(
    server: FakeTelegramServer,
    bot: Bot,
    env: dict[str, str],
    database_url: str,
    officer: FakeUser,
    reservist: FakeUser,
) -> None:
    await server.wait_for_call("getUpdates", timeout=START_WAIT)
    assert server.commands_for(None), "the default command menu was not set"

    # the officer invites
    server.push_text(officer, "/invite reservist")
    answer = await server.wait_for_message(OFFICER, timeout=WAIT)
    match = re.search(r"https://t\.me/reserve_test_bot\?start=([\w-]+)", answer.text)
    assert match, answer.describe()

    # a stranger is refused
    stranger = server.user(4242, "Некто")
    server.push_text(stranger, "/start")
    refusal = await server.wait_for_message(4242, timeout=WAIT)
    assert "приглашению" in refusal.text

    # the reservist registers, with one wrong answer on the way
    server.push_text(reservist, f"/start {match.group(1)}")
    consent = await server.wait_for_message(RESERVIST, timeout=WAIT)
    assert "152-ФЗ" in consent.text
    server.press(reservist, consent, "Согласен")
    await server.wait_for_message(
        RESERVIST, lambda m: "ФИО" in m.text or "фамилию" in m.text, timeout=WAIT
    )
    server.push_text(reservist, "Маша")
    again = await server.wait_for_message(RESERVIST, timeout=WAIT)
    assert "два слова" in again.text
    for answer_text, expect in (
        ("Иванова Мария Петровна", "организация"),
        ("МБОУ СОШ № 1 с. Петровское", "должность"),
        ("Заместитель директора по УВР", "Муниципалитет"),
        ("Петровский район", "зарегистрированы"),
    ):
        server.push_text(reservist, answer_text)
        reply = await server.wait_for_message(RESERVIST, timeout=WAIT)
        assert expect.casefold() in reply.text.casefold(), reply.describe()

    def own_menu(call: SentCall) -> bool:
        return call.params.get("scope") == {"type": "chat", "chat_id": RESERVIST}

    await server.wait_for_call("setMyCommands", own_menu, timeout=WAIT)
    menu = server.commands_for({"type": "chat", "chat_id": RESERVIST})
    assert {c["command"] for c in menu} >= {"plan", "log", "settings"}

    # the plan
    server.push_text(reservist, "/plan")
    plan = await server.wait_for_message(RESERVIST, timeout=WAIT)
    assert "Индивидуальный план на" in plan.text and "Выполнено 0 из" in plan.text
    total = int(re.search(r"Выполнено 0 из (\d+)", plan.text).group(1))  # type: ignore[union-attr]

    # log an item with a document
    server.push_text(reservist, "/log")
    pick = await server.wait_for_message(RESERVIST, timeout=WAIT)
    first = (pick.reply_markup or {})["inline_keyboard"][0][0]  # titles may repeat (trainings)
    server.push_callback(reservist, pick.message_id, first["callback_data"])
    ask_date = await server.wait_for_message(RESERVIST, timeout=WAIT)
    server.press(reservist, ask_date, "Сегодня")
    await server.wait_for_message(RESERVIST, lambda m: "комментарий" in m.text, timeout=WAIT)
    server.push_text(reservist, "Выполнено по плану")
    await server.wait_for_message(RESERVIST, lambda m: "подтверждение" in m.text, timeout=WAIT)
    server.push_document(reservist, "Справка.pdf", content=b"%PDF-1.4 test")
    done = await server.wait_for_message(RESERVIST, timeout=WAIT)
    assert f"Выполнено 1 из {total}" in done.text, done.describe()

    await mentoring_journey(server, officer, reservist)

    db = Database(database_url)
    try:
        async with db.session() as repo:
            user = await repo.users.by_telegram(RESERVIST)
            assert user is not None
            rows = (
                await repo.session.scalars(
                    select(PlanItem)
                    .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
                    .where(IndividualPlan.user_id == user.id)
                )
            ).all()
            logged = [i for i in rows if i.status == "done"]
            assert len(logged) == 1 and logged[0].evidence_name == "Справка.pdf"
            assert logged[0].evidence_file_id is not None
            assert server.file(logged[0].evidence_file_id).file_name == "Справка.pdf"
            due = sorted(
                (i for i in rows if i.status == "planned" and i.due_on), key=lambda i: i.due_on
            )
            assert due, "no dated item left to be reminded of"
            target = due[0]
            assert target.due_on is not None
            assert (await repo.session.scalar(select(User).where(User.id == user.id))) is not None
    finally:
        await db.dispose()

    # move the clock to the day before the item is due (noon in Moscow) and scan
    moment = datetime.combine(target.due_on - timedelta(days=1), time(12), tzinfo=MSK)
    seen = len(server.messages_to(RESERVIST))
    out = await cli(env, "reminders", "scan", "--at", moment.isoformat())
    assert re.search(r"sent [1-9]", out), out
    reminder = await server.wait_for_message(
        RESERVIST, lambda m: target.title[:30] in m.text and "истекает" in m.text,
        timeout=WAIT, after=seen,
    )  # fmt: skip
    assert [b[0] for b in reminder.buttons] == ["Отметить выполненным", "Напомнить позже"]
    answered = len(server.calls)
    server.press(reservist, reminder, "Напомнить позже")
    snoozed = await server.wait_for_call("answerCallbackQuery", timeout=WAIT, after=answered)
    assert "напомню" in str(snoozed.params.get("text"))

    # restart the bot: no duplicate on start-up, none from the same scan again
    assert await bot.terminate() == 0
    assert "bot stopped" in bot.log()
    await bot.start()
    await server.wait_for_call("getUpdates", after=len(server.calls), timeout=START_WAIT)
    out = await cli(env, "reminders", "scan", "--at", moment.isoformat())
    # nothing new is recorded; the one message sent is the snoozed reminder, which came due a
    # day after the button was pressed (the bot's real clock) and so before ``moment``
    assert "recorded 0, sent 1" in out, out
    await server.wait_for_message(
        RESERVIST, lambda m: "ещё не отмечен" in m.text and target.title[:30] in m.text,
        timeout=WAIT,
    )  # fmt: skip
    out = await cli(env, "reminders", "scan", "--at", moment.isoformat())
    assert "recorded 0, sent 0" in out, out
    server.push_text(reservist, "/me")  # the restarted bot still answers
    me = await server.wait_for_message(
        RESERVIST, lambda m: "Иванова Мария Петровна" in m.text, timeout=WAIT
    )
    assert me is not None
    reminders = [
        m for m in server.messages_to(RESERVIST)
        if target.title[:30] in m.text and "истекает" in m.text
    ]  # fmt: skip
    assert len(reminders) == 1, [m.text for m in reminders]
    assert await bot.terminate() == 0
