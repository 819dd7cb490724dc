"""Helpers for end-to-end tests that run the bot process (`python -m bot run`) against the fake
Bot API server: the process with kill/stop/exit code, its environment, and the users' side of
the dialogues (invite, register, assign, /log, /consult, /broadcast) driven over HTTP.

The bot process is :class:`Bot`. Every wait has a timeout."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar, Self
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.config import settings_env_names
from bot.sandbox.emulator import FakeTelegramServer, FakeUser, RateLimit, SentMessage
from storage.db import Database
from storage.models import IndividualPlan, PlanItem, User

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:RELIABILITY-token-for-the-fake-server-only"
OFFICER = 1001
RESERVIST = 2001
RESERVIST2 = 2002
MENTOR = 3001
STRANGER = 4242
MSK = ZoneInfo("Europe/Moscow")
#: The bot's clock at start (CLOCK_START): a Monday noon in Moscow, outside the quiet hours.
CLOCK = datetime(2027, 3, 1, 12, 0, tzinfo=MSK)
QUIET = (21, 9)
#: Timeout of one answer; of a process start (its imports take 2-3 s on an idle machine, and
#: more than 20 s were seen on a shared, loaded one).
WAIT = 30.0
START_WAIT = 120.0
#: The fake Bot API server's clock, K times real time (its :class:`RateLimit`, Telegram's limits
#: on that clock: a chat's second lasts 0.1 s), and the bot's (TELEGRAM_CLOCK_SPEED): the bot
#: keeps the limits, a send too early would be refused with 429, but the journeys do not wait a
#: real second between two answers to one user (about half of their time on Telegram's clock).
TELEGRAM_SPEED = 10.0

NAMES = {
    RESERVIST: "Иванова Мария Петровна",
    RESERVIST2: "Смирнов Олег Игоревич",
    MENTOR: "Кузнецова Анна Сергеевна",
}


@dataclass
class Bot:
    """The bot as a child process (``python -m bot run``), its log in a file, with the signals
    the tests send."""

    #: The command line after ``python -m bot``.
    ARGS: ClassVar[tuple[str, ...]] = ("run",)

    env: dict[str, str]
    log_path: Path
    proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        # cwd: a folder with no `.env` (the repository's, if a developer has one, is not read)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *self.ARGS,
            env=self.env, cwd=self.log_path.parent, stdout=log, stderr=log,
        )  # fmt: skip
        log.close()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def kill(self) -> None:
        """``kill -9``: no chance to finish anything."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self.proc.wait(), WAIT)

    async def terminate(self, timeout: float = WAIT) -> int:
        """SIGTERM and the exit code (the process is killed, and the test fails, when it does
        not exit within ``timeout``)."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await self.exit_code(timeout, after=" of SIGTERM")

    async def exit_code(self, timeout: float = WAIT, *, after: str = "") -> int:
        """Wait for the process to end (on its own, or after a signal: ``after`` names it in
        the failure) and return its exit code; it is killed, and the test fails, when it does
        not end within ``timeout``."""
        assert self.proc is not None
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"the bot did not exit within {timeout:g} s{after}") from None

    async def ensure_stopped(self) -> None:
        if self.running:
            await self.kill()

    async def __aenter__(self) -> Self:
        """``async with bot:`` starts the process; whatever happens in the block, it is not
        left running (killed if still running at the end)."""
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.ensure_stopped()


async def stopped_before_it_started(bot: Bot, timeout: float = 8.0) -> float:
    """SIGTERM to a bot still starting (waiting for its database or Telegram): it exits 0
    within ``timeout`` seconds, logs "bot stopped before it started" and no traceback. Returns
    the seconds it took."""
    stopping = time.monotonic()
    code = await bot.terminate(timeout=timeout)
    took = time.monotonic() - stopping
    log = bot.log()
    assert code == 0, f"exit code {code} after SIGTERM:\n{log}"
    assert "bot stopped before it started" in log, log
    assert "Traceback" not in log, log
    return took


def fake_telegram(speed: float = TELEGRAM_SPEED) -> FakeTelegramServer:
    """The fake Bot API server of the e2e tests (``async with``): Telegram's limits on a clock
    ``speed`` times real time, :data:`TELEGRAM_SPEED` by default, which :func:`bot_env` gives
    the bot too; a send the bot makes too early is answered 429 and counted in its ``stats``."""
    return FakeTelegramServer(
        TOKEN, bot_username="reserve_test_bot", rate_limit=RateLimit(clock_speed=speed)
    )


def bot_env(
    server: FakeTelegramServer, database_url: str, home: Path, **extra: str
) -> dict[str, str]:
    """The bot process's environment: every setting it depends on explicit; Telegram's clock
    :data:`TELEGRAM_SPEED` times real time (a server of the e2e tests has the same
    :class:`RateLimit`, one that does not check the limits lets the bot's pace pass)."""
    names = settings_env_names()
    return {
        **{k: v for k, v in os.environ.items() if k.upper() not in names},
        "HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": server.base_url,
        "TELEGRAM_CLOCK_SPEED": str(TELEGRAM_SPEED),
        "DATABASE_URL": database_url,
        "OFFICER_IDS": str(OFFICER),
        "DEFAULT_TIMEZONE": "Europe/Moscow",
        "QUIET_HOURS_START": str(QUIET[0]),
        "QUIET_HOURS_END": str(QUIET[1]),
        "CLOCK_START": CLOCK.isoformat(),
        "LOG_LEVEL": "INFO",
        **extra,
    }


async def cli(env: dict[str, str], *args: str) -> str:
    """``python -m bot ARGS`` in the test's folder (HOME, with no `.env`); its stdout (exit code
    0 asserted)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=env["HOME"],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), START_WAIT)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def start(server: FakeTelegramServer, bot: Bot, timeout: float = START_WAIT) -> None:
    """Start the bot process and wait until it polls for updates."""
    polls = server.poll_count
    await bot.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await server.wait_polling(0.25, newer_than=polls)
        except AssertionError:
            if not bot.running:
                code = bot.proc.returncode if bot.proc else None
                raise AssertionError(f"the bot exited with {code}:\n{bot.log()}") from None
            if loop.time() > deadline:
                raise
        else:
            return


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out ({timeout:g} s) waiting for {what}")
        await asyncio.sleep(0.02)


async def reply(
    server: FakeTelegramServer,
    user: FakeUser,
    predicate: Callable[[SentMessage], bool] | None = None,
    timeout: float = WAIT,
) -> SentMessage:
    return await server.wait_for_message(user.id, predicate, timeout=timeout)


async def command(
    server: FakeTelegramServer,
    user: FakeUser,
    text: str,
    predicate: Callable[[SentMessage], bool] | None = None,
    timeout: float = WAIT,
) -> SentMessage:
    """Send ``text`` and wait for the first answer to it matching ``predicate`` (messages that
    arrived before, e.g. reminders or announcements, are not taken for the answer)."""
    seen = len(server.messages_to(user))
    server.push_text(user, text)
    return await server.wait_for_message(user.id, predicate, timeout=timeout, after=seen)


async def answers_a_stranger(server: FakeTelegramServer) -> None:
    """The bot is up: a stranger's /start gets the reply that asks for an invitation."""
    stranger = server.user(STRANGER, "Некто")
    server.push_text(stranger, "/start")
    await reply(server, stranger, has("приглашени"))


def has(*words: str) -> Callable[[SentMessage], bool]:
    """A message predicate: every word occurs in the text (case-insensitive)."""

    def check(message: SentMessage) -> bool:
        text = (message.text or "").casefold()
        return all(w.casefold() in text for w in words)

    check.__qualname__ = f"has{words!r}"
    return check


def offers(part: str) -> Callable[[SentMessage], bool]:
    """A message predicate: a button's text contains ``part``."""

    def check(message: SentMessage) -> bool:
        return bool(buttons_with(message, part))

    check.__qualname__ = f"offers({part!r})"
    return check


def buttons_with(message: SentMessage, part: str) -> list[tuple[str, str | None]]:
    return [b for b in message.buttons if part in b[0]]


# --------------------------------------------------------------------------- dialogues


async def invite(server: FakeTelegramServer, officer: FakeUser, role: str) -> str:
    answer = await command(server, officer, f"/invite {role}", has("start="))
    match = re.search(r"start=([\w-]+)", answer.text or "")
    assert match, answer.describe()
    return match.group(1)


async def register_until_last(
    server: FakeTelegramServer, person: FakeUser, code: str, name: str
) -> SentMessage:
    """Open the invite, consent, answer all profile questions but the last (municipality);
    returns the last question."""
    server.push_text(person, f"/start {code}")
    consent = await reply(server, person, lambda m: bool(m.buttons))
    server.press(person, consent, "Согласен")
    question = await reply(server, person)
    for answer in (name, "МБОУ СОШ № 5", "Директор"):
        server.push_text(person, answer)
        question = await reply(server, person)
    return question


async def register(
    server: FakeTelegramServer,
    person: FakeUser,
    code: str,
    name: str,
    municipality: str = "Петровский район",
) -> SentMessage:
    """Register through an invite; returns the «Готово…» message."""
    await register_until_last(server, person, code, name)
    server.push_text(person, municipality)
    done = await reply(server, person)
    assert "зарегистрированы" in (done.text or ""), done.describe()
    return done


async def assign(
    server: FakeTelegramServer,
    officer: FakeUser,
    reservist: str,
    mentor: FakeUser,
    mentor_name: str,
) -> None:
    """/assign: the reservist (by surname) gets the mentor (by surname)."""
    listing = await command(server, officer, "/assign", offers(reservist))
    server.press(officer, listing, buttons_with(listing, reservist)[0][0])
    card = await reply(server, officer, lambda m: bool(buttons_with(m, "наставник")))
    server.press(officer, card, "Назначить наставника")
    mentors = await reply(server, officer, lambda m: bool(buttons_with(m, mentor_name)))
    server.press(officer, mentors, buttons_with(mentors, mentor_name)[0][0])
    await reply(server, officer, has("закреплён"))
    await reply(server, mentor, has("наставником"))


async def log_until_evidence(
    server: FakeTelegramServer, user: FakeUser, choose: Callable[[str], bool] = lambda t: True
) -> tuple[int, SentMessage]:
    """/log the first item offered whose button text ``choose`` accepts, today, with a
    comment; returns (the item's id, from the button's data; the question for evidence)."""
    # the picker itself: a reminder with its own buttons may reach the chat meanwhile
    pick = await command(server, user, "/log", has("Выберите пункт плана"))
    _text, data = next((t, d) for t, d in pick.buttons if choose(t))
    assert data is not None
    server.push_callback(user, pick, data)
    ask_date = await reply(server, user, offers("Сегодня"))
    server.press(user, ask_date, "Сегодня")
    await reply(server, user, has("комментарий"))
    server.push_text(user, "Выполнено по плану")
    evidence = await reply(server, user, has("подтверждение"))
    return int(re.findall(r"\d+", data or "")[0]), evidence


def save_button(message: SentMessage) -> str:
    """The button that saves a /log entry without a file («Сохранить», or «Пропустить»)."""
    for text, _ in message.buttons:
        if "Сохранить" in text:
            return text
    return "Пропустить"


async def consult_until_item(
    server: FakeTelegramServer, user: FakeUser, topic: str
) -> SentMessage:
    """/consult today, in person, ``topic``, 60 minutes, no note; returns the item picker."""
    ask = await command(server, user, "/consult", offers("Сегодня"))
    server.press(user, ask, "Сегодня")
    formats = await reply(server, user, lambda m: bool(buttons_with(m, "очно")))
    server.press(user, formats, "очно")
    await reply(server, user)
    server.push_text(user, topic)
    await reply(server, user)
    server.push_text(user, "60")
    note = await reply(server, user, lambda m: bool(buttons_with(m, "Пропустить")))
    server.press(user, note, "Пропустить")
    return await reply(server, user, lambda m: bool(buttons_with(m, "Без привязки")))


async def consult(server: FakeTelegramServer, user: FakeUser, topic: str) -> SentMessage:
    """A whole /consult; returns «…отправлена на подтверждение»."""
    items = await consult_until_item(server, user, topic)
    server.press(user, items, "Без привязки к плану")
    return await reply(server, user, has("на подтверждение"))


async def broadcast_draft(
    server: FakeTelegramServer, officer: FakeUser, text: str, *audience: str
) -> SentMessage:
    """/broadcast ``text`` to ``audience`` (button texts; «Всем» by default) without RSVP
    buttons, up to the preview with «Отправить»."""
    await command(server, officer, "/broadcast", lambda m: bool(m.buttons))
    server.push_text(officer, text)
    added = await reply(server, officer, lambda m: bool(buttons_with(m, "Готово")))
    server.press(officer, added, "Готово")
    for choice in audience or ("Всем",):
        pick = await reply(server, officer, offers(choice))
        server.press(officer, pick, buttons_with(pick, choice)[0][0])
    rsvp = await reply(server, officer, lambda m: bool(buttons_with(m, "Без кнопок")))
    server.press(officer, rsvp, "Без кнопок")
    return await reply(server, officer, lambda m: bool(buttons_with(m, "Отправить")))


BROADCAST_STARTED = re.compile(r"Рассылка\s*(№\s*\d+\s*)?(начинается|запущена|идёт)", re.I)


def broadcast_started(message: SentMessage) -> bool:
    return bool(BROADCAST_STARTED.search(message.text or ""))


# --------------------------------------------------------------------------- the database


async def user_row(db: Database, telegram_id: int) -> User | None:
    async with db.session() as repo:
        return await repo.session.scalar(select(User).where(User.telegram_id == telegram_id))


async def count(db: Database, query: object) -> int:
    async with db.session() as repo:
        return int(await repo.session.scalar(query) or 0)  # type: ignore[call-overload]


async def items_of(db: Database, telegram_id: int) -> list[PlanItem]:
    async with db.session() as repo:
        rows = await repo.session.scalars(
            select(PlanItem)
            .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
            .join(User, User.id == IndividualPlan.user_id)
            .where(User.telegram_id == telegram_id)
            .order_by(PlanItem.id)
        )
        return list(rows.all())
