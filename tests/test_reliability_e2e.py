"""Reliability end to end (issue 7): the real bot process (`python -m bot run`) against the fake
Bot API server with faults switched on.

- Crash matrix: registration, `/log` with a file, `/consult`, a mentor's confirmation and a
  broadcast start, with Telegram answering the user's chat 0.3-1 s late; the bot is killed
  (``kill -9``, and SIGTERM) right after the success messages reached the fake server, while
  the handlers still wait for Telegram's answers. After a restart each change is in the
  database, the dialogue goes on, nothing is duplicated. The five scenarios run side by side
  (each on its own users) in one bot process per signal: starting the process is the costly
  part (aiogram's import), so the matrix costs two runs, not ten: one test per signal, which
  names every scenario that failed.
- Lock: one chat's sendMessage hangs (up to 40 s) while two other users write; both are
  answered within 2 s.
- Double presses 0, 100 and 300 ms apart with Telegram answering 0.3 s late: «Сохранить»
  in /log, «Напомнить позже», «Отправить» each act once.
- SIGTERM while a handler's reply hangs 3 s: the reply arrives, the exit code is 0.
- Start-up: Telegram refusing connections or answering 502 is waited for, one log line per
  attempt; a rejected token ends the process with exit code 2 and one line naming BOT_TOKEN.

The bot runs on a clock set by CLOCK_START (noon in Moscow, outside the quiet hours), so
nothing depends on the hour of the run. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import re
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.sandbox.emulator import FakeTelegramServer, FakeUser, SentMessage
from storage.broadcast_models import Broadcast
from storage.db import Database
from storage.models import Consultation, Notice, PlanItemEvent, User
from tests.e2e_support import (
    OFFICER,
    START_WAIT,
    WAIT,
    Bot,
    answers_a_stranger,
    assign,
    bot_env,
    broadcast_draft,
    broadcast_started,
    cli,
    command,
    consult,
    consult_until_item,
    count,
    fake_telegram,
    has,
    invite,
    items_of,
    log_until_evidence,
    offers,
    register,
    register_until_last,
    reply,
    save_button,
    start,
    stopped_before_it_started,
    user_row,
    wait_until,
)

pytestmark = pytest.mark.e2e

#: How late Telegram answers the chats under test in the crash matrix.
SLOW = (0.3, 1.0)
#: How late the success messages are answered: the five arrive up to ~0.6 s apart on a busy
#: machine, and each handler must still be waiting for its answer when the bot is killed
#: right after the last one (the issue's range is 0.3-3 s).
SLOWEST = (2.0, 3.0)
#: How late Telegram answers in the double-press test.
LATE = 0.3
GAPS = (0.0, 0.1, 0.3)

#: People of the crash matrix and the other tests, by Telegram id.
NAMES = {
    2101: "Белова Ирина Олеговна",
    2201: "Иванова Мария Петровна",
    2301: "Смирнов Олег Игоревич",
    2401: "Павлова Дарья Андреевна",
    2501: "Фёдоров Илья Максимович",
    3301: "Кузнецова Анна Сергеевна",
    3401: "Орлов Пётр Андреевич",
    3501: "Соколова Вера Николаевна",
}
REG, LOG, CONS, CONF, BCAST_R = 2101, 2201, 2301, 2401, 2501
CONS_M, CONF_M, BCAST_M = 3301, 3401, 3501
HOME = "Петровский район"
ELSEWHERE = "Камышинский район"  # the broadcast's audience lives here, nobody else does
TOPIC = "Разбор управленческой ситуации"
CONFIRM_TOPIC = "Подготовка к педсовету"
ANNOUNCEMENT = "Совещание резерва в пятницу в 15:00"
ATTEMPT_LINE = re.compile(r"(?i)telegram.*(unreachable|retry|retrying|attempt)")


def person(server: FakeTelegramServer, tg_id: int) -> FakeUser:
    surname, first = NAMES[tg_id].split()[:2]
    return server.user(tg_id, first, last_name=surname)


def surname(tg_id: int) -> str:
    return NAMES[tg_id].split(maxsplit=1)[0]


def texts_to(server: FakeTelegramServer, chat: int, needle: str) -> list[str]:
    return [m.text or "" for m in server.messages_to(chat) if needle in (m.text or "")]


async def still_answers(server: FakeTelegramServer, user: FakeUser, *, reservist: bool) -> None:
    """The user's dialogue is not stuck: /cancel is answered, and so is /plan (with the plan
    for a reservist)."""
    seen = len(server.messages_to(user))
    server.push_text(user, "/cancel")
    await server.wait_for_message(user.id, lambda m: True, timeout=WAIT, after=seen)
    seen = len(server.messages_to(user))
    server.push_text(user, "/plan")
    wanted = has("Индивидуальный план") if reservist else (lambda m: True)
    await server.wait_for_message(user.id, wanted, timeout=WAIT, after=seen)


async def registered(
    server: FakeTelegramServer, officer: FakeUser, *groups: tuple[str, dict[int, str]]
) -> None:
    """Register people through the bot: per group a role and its people (id -> municipality).
    The officer makes one invite per group, one after the other; then everyone registers side
    by side."""
    codes = [await invite(server, officer, f"{role} {len(people)}") for role, people in groups]
    await asyncio.gather(
        *(
            register(server, person(server, tg), code, NAMES[tg], municipality)
            for code, (_role, people) in zip(codes, groups, strict=True)
            for tg, municipality in people.items()
        )
    )


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with fake_telegram() as srv:
        yield srv


@pytest.fixture
def env(
    server: FakeTelegramServer, database_url: str, db: Database, tmp_path: Path
) -> dict[str, str]:
    """``db`` empties the test database first."""
    return bot_env(server, database_url, tmp_path)


@pytest.fixture
async def bot(env: dict[str, str], tmp_path: Path) -> AsyncIterator[Bot]:
    """The bot process (not started); killed if still running at the end. Its log is printed
    at teardown, which pytest shows when the test failed."""
    process = Bot(env, tmp_path / "bot.log")
    try:
        yield process
    finally:
        await process.ensure_stopped()
        if process.log_path.exists():
            print(process.log()[-15000:])


# --------------------------------------------------------------------------- crash matrix


@dataclass
class World:
    server: FakeTelegramServer
    db: Database
    officer: FakeUser
    notes: dict[str, object] = field(default_factory=dict)


Final = Callable[[], Awaitable[SentMessage]]


@dataclass
class Scenario:
    """``chat``: the slowed-down chat; ``approach``: the dialogue up to the last action
    (slowed down), returning the last action, which pushes it and waits for the success
    message; ``check``: after the restart."""

    chat: int
    approach: Callable[[World], Awaitable[Final]]
    check: Callable[[World, str], Awaitable[None]]


async def answer_to(
    server: FakeTelegramServer, user: FakeUser, act: Callable[[], object], *words: str
) -> SentMessage:
    """Take the user's last step (``act``) and wait for the first message to ``user`` after it
    that has ``words``: one that came before (a digest, the plan's «Выполнено 0 из…») does
    not count as the success message."""
    seen = len(server.messages_to(user))
    act()
    return await server.wait_for_message(user.id, has(*words), timeout=WAIT, after=seen)


async def registration_approach(world: World) -> Final:
    server, user = world.server, person(world.server, REG)
    await register_until_last(server, user, str(world.notes["code"]), NAMES[REG])

    async def final() -> SentMessage:
        return await answer_to(
            server, user, lambda: server.push_text(user, "Петровский район"), "зарегистрированы"
        )

    return final


async def registration_check(world: World, how: str) -> None:
    row = await user_row(world.db, REG)
    assert row is not None, "the registration the user was told about is lost"
    assert row.full_name == NAMES[REG] and row.registered_at is not None, row.full_name
    assert row.consent_at is not None
    assert await count(
        world.db, select(func.count()).select_from(User).where(User.telegram_id == REG)
    ) == 1  # fmt: skip
    assert await items_of(world.db, REG), "no plan was built"
    await still_answers(world.server, person(world.server, REG), reservist=True)
    assert len(texts_to(world.server, REG, "зарегистрированы")) == 1


async def log_approach(world: World) -> Final:
    server, user = world.server, person(world.server, LOG)
    await log_until_evidence(server, user)

    async def final() -> SentMessage:
        def send() -> None:
            server.push_document(user, "Справка.pdf", content=b"%PDF-1.4 test")

        return await answer_to(server, user, send, "Выполнено")

    return final


async def log_check(world: World, how: str) -> None:
    items = await items_of(world.db, LOG)
    done = [i for i in items if i.status == "done"]
    assert len(done) == 1, f"the logged item is lost: {[(i.title, i.status) for i in items]}"
    assert done[0].evidence_name == "Справка.pdf" and done[0].evidence_file_id
    events = await count(
        world.db,
        select(func.count())
        .select_from(PlanItemEvent)
        .where(PlanItemEvent.item_id == done[0].id, PlanItemEvent.action == "done"),
    )
    assert events == 1, f"{events} 'done' history entries"
    await still_answers(world.server, person(world.server, LOG), reservist=True)
    assert any("Выполнено 1 из" in t for t in texts_to(world.server, LOG, "Индивидуальный план"))


async def consultations(db: Database, reservist: int) -> list[Consultation]:
    async with db.session() as repo:
        rows = await repo.session.scalars(
            select(Consultation)
            .join(User, User.id == Consultation.reservist_id)
            .where(User.telegram_id == reservist)
        )
        return list(rows.all())


async def consult_approach(world: World) -> Final:
    server, user = world.server, person(world.server, CONS)
    items = await consult_until_item(server, user, TOPIC)

    async def final() -> SentMessage:
        def press() -> None:
            server.press(user, items, "Без привязки к плану")

        return await answer_to(server, user, press, "на подтверждение")

    return final


async def consult_check(world: World, how: str) -> None:
    rows = await consultations(world.db, CONS)
    assert len(rows) == 1, f"{len(rows)} consultations stored, the user was told of one"
    assert rows[0].topic == TOPIC and rows[0].status == "pending"
    await still_answers(world.server, person(world.server, CONS), reservist=True)
    requests = texts_to(world.server, CONS_M, TOPIC)
    assert len(requests) <= 1, requests  # the mentor is asked at most once


async def confirm_approach(world: World) -> Final:
    server, mentor = world.server, person(world.server, CONF_M)
    request = world.notes["request"]
    assert isinstance(request, SentMessage)

    async def final() -> SentMessage:
        def press() -> None:
            server.press(mentor, request, "Подтвердить")

        # «подтверждена»: the day's digest to the mentor («Ждут вашего подтверждения…») may
        # come just before the press
        return await answer_to(server, mentor, press, "Консультация подтверждена")

    return final


async def confirm_check(world: World, how: str) -> None:
    rows = await consultations(world.db, CONF)
    assert [r.status for r in rows] == ["confirmed"], "the confirmation the mentor was told of"
    server = world.server
    await still_answers(server, person(server, CONF_M), reservist=False)
    assert len(texts_to(server, CONF, "подтвердил")) <= 1
    request = world.notes["request"]  # pressed again after the restart: nothing new
    assert isinstance(request, SentMessage)
    answered = len(server.calls)
    server.press(person(server, CONF_M), request, "Подтвердить")
    await server.wait_for_call("answerCallbackQuery", timeout=WAIT, after=answered)
    await asyncio.sleep(0.3)
    assert len(texts_to(server, CONF, "подтвердил")) <= 1
    assert [r.status for r in await consultations(world.db, CONF)] == ["confirmed"]


async def broadcast_approach(world: World) -> Final:
    preview = world.notes["preview"]
    assert isinstance(preview, SentMessage)
    server, officer = world.server, world.officer

    async def final() -> SentMessage:
        server.press(officer, preview, "Отправить")
        return await reply(server, officer, broadcast_started)

    return final


async def broadcast_check(world: World, how: str) -> None:
    server = world.server
    assert await count(world.db, select(func.count()).select_from(Broadcast)) == 1
    for chat in (BCAST_R, BCAST_M):  # the restarted bot resumes it
        await wait_until(
            lambda c=chat: bool(texts_to(server, c, ANNOUNCEMENT)),  # type: ignore[misc]
            f"the announcement to {chat}",
        )
    await still_answers(server, world.officer, reservist=False)
    await asyncio.sleep(0.5)
    for chat in (BCAST_R, BCAST_M):
        got = len(texts_to(server, chat, ANNOUNCEMENT))
        # a send in flight at a kill -9 may go twice (the documented bound), nothing else
        assert got == 1 or (how == "kill" and got == 2), (chat, got)


SCENARIOS = {
    "registration": Scenario(REG, registration_approach, registration_check),
    "log": Scenario(LOG, log_approach, log_check),
    "consult": Scenario(CONS, consult_approach, consult_check),
    "confirm": Scenario(CONF_M, confirm_approach, confirm_check),
    "broadcast": Scenario(OFFICER, broadcast_approach, broadcast_check),
}


@dataclass
class CrashRun:
    """What one run of the matrix found, per scenario: None (passed) or the failure."""

    outcomes: dict[str, str | None]
    log: str


async def crash_run(how: str, database_url: str, home: Path) -> CrashRun:
    """Seed every scenario's people through the bot, walk the five dialogues side by side up
    to their last step, take the last steps together, ``how`` the bot right after the five
    success messages arrived, restart it and check each scenario."""
    outcomes: dict[str, str | None] = dict.fromkeys(SCENARIOS, "not reached")
    async with fake_telegram() as server:
        db = Database(database_url)
        bot = Bot(bot_env(server, database_url, home), home / "bot.log")
        try:
            officer = server.user(OFFICER, "Елена", last_name="Чеботарева")
            world = World(server, db, officer)
            await start(server, bot)
            await registered(
                server,
                officer,
                ("reservist", {LOG: HOME, CONS: HOME, CONF: HOME, BCAST_R: ELSEWHERE}),
                ("mentor", {CONS_M: HOME, CONF_M: HOME, BCAST_M: ELSEWHERE}),
            )
            world.notes["code"] = await invite(server, officer, "reservist")
            await assign(server, officer, surname(CONS), person(server, CONS_M), surname(CONS_M))
            await assign(server, officer, surname(CONF), person(server, CONF_M), surname(CONF_M))
            await consult(server, person(server, CONF), CONFIRM_TOPIC)
            world.notes["request"] = await reply(
                server, person(server, CONF_M), has(CONFIRM_TOPIC)
            )
            world.notes["preview"] = await broadcast_draft(
                server, officer, ANNOUNCEMENT, "Муниципалитет", ELSEWHERE.split(maxsplit=1)[0]
            )

            slow = [server.delay_answers(s.chat, SLOW) for s in SCENARIOS.values()]
            finals = await asyncio.gather(*(s.approach(world) for s in SCENARIOS.values()))
            # the last steps go together once the handlers before them are done, so that
            # the success messages arrive within the answers' delay of one another
            chats = {s.chat for s in SCENARIOS.values()}
            await wait_until(
                lambda: all(c.answered_at for c in server.calls if c.chat_id in chats),
                "the answers of the steps before the last",
            )
            await asyncio.sleep(0.3)
            for delay in slow:
                delay.cancel()
            for scenario in SCENARIOS.values():
                server.delay_answers(scenario.chat, SLOWEST)
            successes = await asyncio.gather(*(final() for final in finals))
            unanswered = {
                name: not any(
                    c.answered_at is not None
                    for c in server.calls
                    if c.chat_id == message.chat_id and c.message_id == message.message_id
                )
                for name, message in zip(SCENARIOS, successes, strict=True)
            }
            if how == "kill":
                await bot.kill()
            else:
                code = await bot.terminate()
                assert code == 0, f"exit code {code} on SIGTERM"
            await server.clear_faults()
            await start(server, bot)

            async def checked(name: str, scenario: Scenario) -> None:
                try:
                    await scenario.check(world, how)
                except BaseException:
                    outcomes[name] = traceback.format_exc()
                else:
                    outcomes[name] = None
                if how == "kill" and not unanswered[name]:  # the test's own check
                    outcomes[name] = (outcomes[name] or "") + (
                        f"\n(the {name} handler had its answer before the kill: this run did "
                        "not exercise the window)"
                    )

            await asyncio.gather(*(checked(n, s) for n, s in SCENARIOS.items()))
            code = await bot.terminate()
            assert code == 0, f"exit code {code} on SIGTERM at the end"
        except BaseException:
            failure = traceback.format_exc()
            for name, outcome in outcomes.items():
                if outcome == "not reached":
                    outcomes[name] = f"the run failed before the check:\n{failure}"
        finally:
            await bot.ensure_stopped()
            await db.dispose()
    return CrashRun(outcomes, (home / "bot.log").read_text(encoding="utf-8", errors="replace"))


@pytest.mark.parametrize("how", ["kill", "term"])
async def test_crash_right_after_the_success_message(
    how: str, database_url: str, db: Database, tmp_path: Path
) -> None:
    """The five scenarios of the matrix in one run of the bot per signal; every scenario that
    failed is reported, each with its own traceback. (One test per signal rather than per
    scenario sharing a module fixture: under pytest-xdist the tests of a module fixture may
    go to different workers, and each would redo the run.)"""
    run = await crash_run(how, database_url, tmp_path)
    failed = {name: outcome for name, outcome in run.outcomes.items() if outcome is not None}
    if failed:
        print(run.log[-15000:])
        report = "\n\n".join(f"{name} after {how}:\n{outcome}" for name, outcome in failed.items())
        pytest.fail(
            f"{len(failed)} of {len(run.outcomes)} scenarios failed:\n{report}", pytrace=False
        )


# --------------------------------------------------------------------------- the lock test


async def test_one_hung_chat_does_not_block_other_writers(
    server: FakeTelegramServer, db: Database, bot: Bot
) -> None:
    officer = server.user(OFFICER, "Елена", last_name="Чеботарева")
    await start(server, bot)
    await registered(server, officer, ("reservist", {LOG: HOME, CONS: HOME}))
    stuck, other = person(server, LOG), person(server, CONS)

    async def timed(
        user: FakeUser, text: str, expect: Callable[[SentMessage], bool]
    ) -> tuple[float, SentMessage]:
        started = time.monotonic()
        seen = len(server.messages_to(user))
        server.push_text(user, text)
        answer = await server.wait_for_message(user.id, expect, timeout=WAIT, after=seen)
        return time.monotonic() - started, answer

    async def other_adds(title: str) -> list[float]:
        # the months' keyboard, not any message with buttons: the start-up scan's reminder,
        # with its own buttons, may reach this chat meanwhile
        first, months = await timed(other, f"/plan add {title}", offers("20"))
        started = time.monotonic()
        server.press(other, months, months.buttons[0][0])
        await reply(server, other, has("Добавлено"))
        return [first, time.monotonic() - started]

    async def answers(title: str) -> dict[str, float]:
        """The other reservist adds an item (the command, then the month) while the officer
        makes an invite: how long each answer took (s)."""
        adds, (invite, _answer) = await asyncio.gather(
            other_adds(title), timed(officer, "/invite mentor", has("start="))
        )
        return {"plan add": adds[0], "month": adds[1], "invite": invite}

    # the same answers with no chat hung: the reference for this run's machine load (the
    # month's answer includes the bot's own spacing of two sends to one chat, about 1.1 s)
    reference = await answers("Личный пункт для сравнения")

    months = await command(server, stuck, "/plan add Личный пункт зависшего чата", offers("20"))
    hang = server.hang("sendMessage", stuck, seconds=40)
    server.press(stuck, months, months.buttons[0][0])  # writes the item, its reply hangs
    await hang.wait_held(1, timeout=WAIT)

    took = await answers("Личный пункт другого")
    # (a reminder of the start-up scan to the same chat may hang beside it, when the two
    # registrations were quicker than the scan's first run)
    assert hang.waiting >= 1, "the hung reply should still be hanging"
    # and the one held is the item's answer: it has not reached the chat yet
    assert not any("Добавлено" in (m.text or "") for m in server.messages_to(stuck))
    # under 2 s, or twice the reference when the machine is loaded: an answer waiting for the
    # hung chat (its lock, or SQLite's busy timeout of 10 s) takes far longer than either
    limits = {what: max(2.0, 2 * reference[what]) for what in took}
    slow = {what: (round(t, 2), round(limits[what], 2)) for what, t in took.items()
            if t >= limits[what]}  # fmt: skip
    assert not slow, f"answers took (s, limit) while one chat hung: {slow}; {reference=}"
    assert (
        "что-то пошло не так"
        not in " ".join(
            m.text or "" for m in server.messages_to(other) + server.messages_to(officer)
        ).casefold()
    )
    hang.release()
    await reply(server, stuck, has("Добавлено"))
    for tg, title in ((LOG, "зависшего"), (CONS, "другого")):
        assert any(title in i.title for i in await items_of(db, tg)), tg
    assert await bot.terminate() == 0


# --------------------------------------------------------------------------- double presses


async def test_double_presses_act_once(
    server: FakeTelegramServer, db: Database, bot: Bot, env: dict[str, str]
) -> None:
    officer = server.user(OFFICER, "Елена", last_name="Чеботарева")
    await start(server, bot)
    await registered(server, officer, ("reservist", {LOG: HOME}), ("mentor", {CONS_M: HOME}))
    user = person(server, LOG)
    # personal items due this month, so that the scan below reminds of several items
    for n in range(len(GAPS)):
        months = await command(server, user, f"/plan add Личный пункт {n + 1}", offers("20"))
        server.press(user, months, months.buttons[0][0])
        await reply(server, user, has("Добавлено"))
    scan = asyncio.create_task(cli(env, "reminders", "scan", "--at", "2027-03-29T12:00:00+03:00"))
    server.delay_answers(user, LATE)
    server.delay_answers(officer, LATE)

    # the officer's «Отправить» and the reservist's buttons are pressed side by side

    async def send_twice() -> None:
        for n, gap in enumerate(GAPS):
            preview = await broadcast_draft(server, officer, f"{ANNOUNCEMENT} (#{n})")
            server.press(officer, preview, "Отправить")
            await asyncio.sleep(gap)
            server.press(officer, preview, "Отправить")
            await reply(server, officer, broadcast_started)
        for n in range(len(GAPS)):
            for chat in (LOG, CONS_M):
                await wait_until(
                    lambda c=chat, k=n: bool(texts_to(server, c, f"(#{k})")),  # type: ignore[misc]
                    f"broadcast #{n} to {chat}",
                )
        await asyncio.sleep(1.0)  # time for a second copy, if one were coming

    async def snooze_twice() -> list[str]:
        """«Напомнить позже» twice under three reminders; the buttons' data."""
        scanned = await asyncio.wait_for(scan, 90)
        later = [
            (message, data)
            for message in server.messages_to(user)
            for text, data in message.buttons
            if "позже" in text.casefold() and data  # «Напомнить позже», or «Позже» in a digest
        ]
        assert len({d for _, d in later}) >= len(GAPS), (
            scanned,
            [m.describe() for m in server.messages_to(user)[-8:]],
        )
        pressed: list[str] = []
        for gap, (data, message) in zip(GAPS, {d: m for m, d in later}.items(), strict=False):
            server.push_callback(user, message, data)
            await asyncio.sleep(gap)
            server.push_callback(user, message, data)
            pressed.append(data)
            await asyncio.sleep(LATE + 0.2)
        return pressed

    async def save_twice() -> list[tuple[int, int]]:
        """«Сохранить» twice in /log, three times; (item id, «Отмечено» messages)."""
        logged = []
        for gap in GAPS:
            item_id, evidence = await log_until_evidence(
                server, user, lambda t: "✅" not in t and "Личный" not in t
            )
            button = save_button(evidence)
            before = len(server.messages_to(user))
            server.press(user, evidence, button)
            await asyncio.sleep(gap)
            server.press(user, evidence, button)
            await reply(server, user, has("Выполнено"))
            await asyncio.sleep(LATE + 1.0)  # time for a second «Отмечено», if one were coming
            said = [m for m in server.messages_to(user)[before:] if "Отмечено:" in (m.text or "")]
            logged.append((item_id, len(said)))
        return logged

    async def reservist_presses() -> tuple[list[str], list[tuple[int, int]]]:
        return await snooze_twice(), await save_twice()

    _, (pressed, logged) = await asyncio.gather(send_twice(), reservist_presses())

    problems = []
    sent = await count(db, select(func.count()).select_from(Broadcast))
    if sent != len(GAPS):
        problems.append(f"{sent} broadcasts for {len(GAPS)} drafts")
    for n, gap in enumerate(GAPS):
        for chat in (LOG, CONS_M):
            got = len(texts_to(server, chat, f"(#{n})"))
            if got != 1:
                problems.append(f"«Отправить» {gap * 1000:g} ms apart: chat {chat} got {got}")
    snoozes = await snoozes_by_item(db)
    for gap, data in zip(GAPS, pressed, strict=True):
        item_id = int(re.findall(r"\d+", data)[0])  # item:later:<item id>[:...]
        if snoozes.get(item_id, 0) != 1:
            problems.append(
                f"«Напомнить позже» {gap * 1000:g} ms apart: {snoozes.get(item_id, 0)} snoozes"
            )
    items = {i.id: i for i in await items_of(db, LOG)}
    for gap, (item_id, told) in zip(GAPS, logged, strict=True):
        item = items[item_id]
        done = await count(
            db,
            select(func.count())
            .select_from(PlanItemEvent)
            .where(
                PlanItemEvent.item_id == item.id, PlanItemEvent.action.in_(["done", "corrected"])
            ),
        )
        if item.status != "done" or done != 1 or told != 1:
            problems.append(
                f"«Сохранить» {gap * 1000:g} ms apart: status {item.status}, {done} history "
                f"entries, told {told}x"
            )
    assert not problems, "\n".join(problems)
    assert await bot.terminate() == 0


async def snoozes_by_item(db: Database) -> dict[int, int]:
    async with db.session() as repo:
        rows = await repo.session.execute(
            select(Notice.item_id, func.count())
            .where(Notice.kind == "snoozed")
            .group_by(Notice.item_id)
        )
        return {int(item): int(n) for item, n in rows.all()}


# --------------------------------------------------------------------------- SIGTERM


async def test_sigterm_lets_a_slow_handler_finish(
    server: FakeTelegramServer, db: Database, bot: Bot
) -> None:
    officer = server.user(OFFICER, "Елена", last_name="Чеботарева")
    await start(server, bot)
    await registered(server, officer, ("reservist", {LOG: HOME}))
    user = person(server, LOG)
    months = await command(server, user, "/plan add Пункт перед остановкой", offers("20"))
    hang = server.hang("sendMessage", user, seconds=3)
    server.press(user, months, months.buttons[0][0])
    await hang.wait_held(1, timeout=WAIT)
    stopping = time.monotonic()
    code = await bot.terminate(timeout=30)
    took = time.monotonic() - stopping
    added = [m for m in server.messages_to(user) if "Добавлено" in (m.text or "")]
    assert added, f"the hung reply was not delivered (abandoned: {server.stats.abandoned})"
    assert code == 0, f"exit code {code} after SIGTERM"
    assert took >= 2.0, f"exited {took:.1f} s after SIGTERM, before the reply was let go (3 s)"
    assert any("перед остановкой" in i.title for i in await items_of(db, LOG))
    assert "Traceback" not in bot.log()


# --------------------------------------------------------------------------- start-up


def attempt_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if ATTEMPT_LINE.search(line)]


@pytest.mark.parametrize("mode", ["refuse", "502"])
async def test_start_up_waits_for_telegram(
    mode: str, server: FakeTelegramServer, db: Database, bot: Bot
) -> None:
    await server.outage(None, mode=mode)
    await bot.start()
    await wait_until(
        lambda: len(attempt_lines(bot.log())) >= 2 or not bot.running,
        "two log lines about attempts to reach Telegram",
        timeout=START_WAIT,
    )
    assert bot.running, f"the bot exited ({bot.proc and bot.proc.returncode}) without Telegram"
    await server.end_outage()
    polls = server.poll_count
    await server.wait_polling(WAIT, newer_than=polls)
    await answers_a_stranger(server)
    log = bot.log()
    assert "Traceback" not in log
    lines = attempt_lines(log)
    if mode == "502":  # one line per attempt: the fake counts the attempts
        attempts = [c for c in server.calls if c.error_code == 502]
        assert len(lines) == len(attempts), (len(attempts), lines)
    assert await bot.terminate() == 0


@pytest.mark.parametrize("method", ["getMe", "setMyCommands"])
async def test_sigterm_while_start_up_retries_telegram(
    method: str, server: FakeTelegramServer, db: Database, bot: Bot
) -> None:
    """A stop is not held by the retry policy: one start-up call may be retried for 30 s
    (TELEGRAM_RETRY_SECONDS) while Telegram answers 502, but SIGTERM ends the process at once."""
    server.fail_next(method, 502, html=True, for_seconds=120)
    await bot.start()
    await wait_until(
        lambda: bool(attempt_lines(bot.log())) or not bot.running,
        f"a log line about a failed {method}",
        timeout=START_WAIT,
    )
    assert bot.running, bot.log()
    took = await stopped_before_it_started(bot, timeout=10)  # the call: about 29 s more
    assert not any(c.method.lower() == "getupdates" for c in server.calls), "it polled"
    print(f"stopped {took:.1f} s after SIGTERM")


async def test_start_up_waits_out_a_failing_call_after_its_retry_budget(
    server: FakeTelegramServer, db: Database, env: dict[str, str], tmp_path: Path
) -> None:
    """A start-up call still failing when the retry policy gives up (TELEGRAM_RETRY_SECONDS,
    1 s here) is made again after a back-off, as getMe is, until Telegram answers: the bot
    then polls and answers, with no traceback."""
    server.fail_next("deleteWebhook", 502, html=True, for_seconds=6)
    async with Bot({**env, "TELEGRAM_RETRY_SECONDS": "1"}, tmp_path / "bot.log") as bot:
        await wait_until(
            lambda: server.poll_count > 0 or not bot.running, "the first poll", START_WAIT
        )
        assert bot.running, bot.log()
        await answers_a_stranger(server)
        log = bot.log()
        assert "Traceback" not in log, log
        assert "telegram unreachable, retrying" in log, log
        assert any(c.method == "deleteWebhook" and c.ok for c in server.calls)
        assert await bot.terminate() == 0


async def test_start_up_goes_on_when_the_command_menus_are_refused(
    server: FakeTelegramServer, db: Database, bot: Bot
) -> None:
    """The command menus are a convenience: a ``setMyCommands`` Telegram refuses (a 400 is
    not retried) is one warning, and the bot polls and answers."""
    server.fail_next("setMyCommands", 400, "Bad Request: BOT_COMMAND_INVALID", for_seconds=300)
    await bot.start()
    await server.wait_polling(START_WAIT)
    await answers_a_stranger(server)
    log = bot.log()
    assert "Traceback" not in log, log
    assert "set commands failed" in log, log
    assert await bot.terminate() == 0


async def test_a_rejected_token_exits_2_with_one_line(
    server: FakeTelegramServer, db: Database, env: dict[str, str], tmp_path: Path
) -> None:
    bot = Bot(
        {**env, "BOT_TOKEN": "654321:WRONG-token-rejected-by-the-fake"}, tmp_path / "bot.log"
    )
    await bot.start()
    code = await bot.exit_code(timeout=START_WAIT)
    log = bot.log()
    assert code == 2, f"exit code {code}:\n{log}"
    assert "Traceback" not in log, log
    naming = [line for line in log.splitlines() if "BOT_TOKEN" in line]
    assert len(naming) == 1, log
    assert any(c.error_code == 401 for c in server.calls)
