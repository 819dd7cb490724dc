"""Benchmark: a storm of ``/plan`` updates through the fake Bot API, with a bare aiogram echo bot
as the same-run reference, and the floor of a ``/plan`` on this stack.

The fake server (no rate limits) runs in this process; the bot runs in a child process, polling
it: the reserve bot's own dispatcher (``bot.app.create_dispatcher``, database, middlewares,
handlers) with a send limiter that never waits ("Telegram's limits off"), the echo bot, or the
floor bot (:data:`FLOOR_BOT`: the handler's own work, its two statements, text, keyboard and
send, with none of the bot's routers and middlewares around it), or that floor with its unit of
work in SQLAlchemy Core (``FLOOR_UNIT=core``). N reservists (each with a plan of the default
roadmap) send M ``/plan`` updates in all, pushed at once; the time is from the
push to the last reply, and the CPU is the child's (user + system) over the storm; the bots'
RSS is read after it. Rounds alternate the bots, every other round in reverse order. Prints
min / median / max of the rounds, and the reserve bot's medians against the targets (≥ 0.3 ×
the echo bot's rate, ≤ 3 ms CPU per update, no error replies).

With ``--before DIR`` (a copy of an older commit, e.g. ``git archive COMMIT | tar -x -C DIR``)
that code's bot runs in the same rounds too: the code before a change, measured alongside, and
the difference of the two codes' CPU is printed round by round (on a shared machine the rounds
vary more than a small change does; the pairs show which way it goes).

Usage: .venv/bin/python -m bench.updates [M] [--users N] [--rounds R] [--before DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from bench.botproc import (
    ECHO_BOT,
    FIRST_ID,
    JOINED,
    TOKEN,
    bot_env,
    cpu_seconds,
    make_database,
    rss_mib,
    spawn,
    spread,
    stop,
    temp_home,
)
from bot import texts
from bot.sandbox.emulator import FakeTelegramServer, FakeUser

#: The child: the reserve bot's dispatcher, polling, its sends never held by the limiter.
OUR_BOT = """
import asyncio
import gc
from bot.app import create_dispatcher
from bot.config import load_settings
from bot.logs import configure_logging
from bot.services.clock import make_clock
from bot.services.delivery import RateLimiter
from bot.telegram import create_bot
from storage.db import Database

async def run() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)  # as `python -m bot run` does
    db = Database(settings.database_url)
    bot = create_bot(settings, RateLimiter(per_second=1e9, chat_interval=1e-9))
    # the clock of CLOCK_START, as `python -m bot run`: /plan shows the plans of 2027 that
    # bench.botproc made, not a plan of today's real year made at the warm-up
    dp = create_dispatcher(settings, db, clock=make_clock(settings.clock_start))
    gc.collect()  # as bot.runner does before polling: start-up's objects frozen out of the GC
    gc.freeze()
    await dp.start_polling(bot, handle_signals=True)

asyncio.run(run())
"""

#: The floor of a /plan on this stack: the handler's own work and nothing around it. One
#: router with one handler; per update one unit of work (the caller's row with the dialogue's
#: state and the plan's rows, then the commit), the text and the 14-button keyboard of the real
#: handler, one send through the bot's session class (JSON bodies) with none of its request
#: middlewares. None of the bot's layers: no role routers, no chat lock, no log context,
#: metrics, retry, throttle or commit-before-send middleware. With ``FLOOR_UNIT=core`` in its
#: environment the unit of work is SQLAlchemy Core (one AsyncConnection, the same two
#: statements, no ORM session or objects): what the ORM session itself costs a /plan.
FLOOR_BOT = """
import asyncio, gc, os
from datetime import datetime
import orjson
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command
from aiogram.types import Message
from bot.services.plans import PlanService, PlanView
from bot.telegram.factory import ResilientSession, json_text
from handlers.keyboards import plan_keyboard
from handlers.plan import render_plan
from storage.db import Database
from storage.repo.plans import _PLAN_LINES, PlanLine
from storage.repo.users import _CALLER

db = Database(os.environ["DATABASE_URL"])
today = datetime.fromisoformat(os.environ["CLOCK_START"]).date()
dp = Dispatcher()

async def orm_view(telegram_id: int) -> PlanView:
    async with db.session() as repo:
        found = await repo.users.caller(telegram_id, "fsm:none")
        assert found is not None
        return await PlanService(repo).view(found[0], today.year, today)

async def core_view(telegram_id: int) -> PlanView:
    async with db.engine.connect() as conn:
        key = {"telegram_id": telegram_id, "state_key": "fsm:none"}
        caller = (await conn.execute(_CALLER, key)).first()
        assert caller is not None
        rows = await conn.execute(_PLAN_LINES, {"user_id": caller[0], "year": today.year})
        lines = [PlanLine(*row[1:]) for row in rows.all() if row[1] is not None]
        await conn.commit()
    return PlanView(year=today.year, items=lines, today=today)

view_of = core_view if os.environ.get("FLOOR_UNIT") == "core" else orm_view

@dp.message(Command("plan"))
async def plan(message: Message) -> None:
    assert message.from_user is not None
    view = await view_of(message.from_user.id)
    text, entries, page = render_plan(view, 1)
    await message.answer(text, reply_markup=plan_keyboard(entries, page, view.pages, today.year))

async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    session = ResilientSession(api=api, json_loads=orjson.loads, json_dumps=json_text)
    bot = Bot(os.environ["BOT_TOKEN"], session=session, default=DefaultBotProperties(
        parse_mode="HTML", link_preview_is_disabled=True))
    gc.collect()
    gc.freeze()
    await dp.start_polling(bot, handle_signals=True)

asyncio.run(main())
"""


def _replies(server: FakeTelegramServer, start: int) -> int:
    return sum(1 for c in server.calls[start:] if c.method == "sendMessage")


def _errors(server: FakeTelegramServer, start: int) -> int:
    """Replies that are «Что-то пошло не так» (a pool timeout, a locked database…)."""
    return sum(
        1
        for c in server.calls[start:]
        if c.method == "sendMessage" and str(c.params.get("text")) == texts.ERROR
    )


async def _round(server: FakeTelegramServer, people: list[FakeUser], count: int) -> None:
    """Push ``count`` /plan updates round-robin over ``people``; wait for as many replies."""
    start = len(server.calls)
    for n in range(count):
        server.push_text(people[n % len(people)], "/plan")
    deadline = time.perf_counter() + 600
    while _replies(server, start) < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{_replies(server, start)} of {count} replies in 600 s")
        await asyncio.sleep(0.05)


async def storm(
    server: FakeTelegramServer, env: dict[str, str], code: str, users: int, updates: int
) -> tuple[float, float, int, float]:
    """Start a bot, warm it up (one /plan per user), then push ``updates`` at once.

    Returns (updates per second, CPU ms per update, replies that were «Что-то пошло не так»,
    the bot's RSS in MiB after the storm)."""
    polls = server.poll_count
    proc = await spawn(env, "-c", code)
    try:
        await server.wait_polling(120, newer_than=polls)
        people = [server.user(FIRST_ID + n) for n in range(users)]
        await _round(server, people, users)
        if code != ECHO_BOT:  # the plan bench.botproc made: the year of its clock, 14 items
            sent = [c for c in server.calls if c.method == "sendMessage"]
            shown = str(sent[-1].params.get("text"))
            if str(JOINED.year) not in shown:
                raise RuntimeError(f"/plan did not show the plan of {JOINED.year}: {shown[:200]}")
        cpu = cpu_seconds(proc.pid)
        start = len(server.calls)
        started = time.perf_counter()
        await _round(server, people, updates)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid) - cpu
        errors = _errors(server, start)
        rss = rss_mib(proc.pid)
    finally:
        await stop(proc)
    return updates / elapsed, cpu / updates * 1000, errors, rss


Run = tuple[float, float, int, float]  # what :func:`storm` returns


def _print_bot(label: str, runs: list[Run], echo: list[Run]) -> None:
    """A bot's rate, CPU, error replies, RSS and rate over the echo bot's in the same round."""
    print(f"{label}: {spread([r[0] for r in runs], '{:.0f}')} updates/s (min/median/max)")
    print(f"  CPU per update: {spread([r[1] for r in runs])} ms")
    print(f"  «Что-то пошло не так» replies: {[r[2] for r in runs]}")
    print(f"  RSS after the storm: {spread([r[3] for r in runs], '{:.0f}')} MiB")
    ratios = [r[0] / e[0] for r, e in zip(runs, echo, strict=True)]
    print(f"  ratio to the echo bot (same round): {spread(ratios)}")


async def main(args: argparse.Namespace) -> None:
    home = temp_home("bench-updates-")
    url = await make_database(home, args.users)
    results: dict[str, list[Run]] = {}
    async with FakeTelegramServer(TOKEN) as server:
        env = bot_env(server, url, home)
        bots = [
            ("reserve bot", OUR_BOT, env),
            ("echo bot", ECHO_BOT, env),
            ("floor bot (/plan's own work, no layers)", FLOOR_BOT, env),
            ("the floor in SQLAlchemy Core (no ORM session)", FLOOR_BOT,
             {**env, "FLOOR_UNIT": "core"}),
        ]  # fmt: skip
        if args.before:
            bots.append((f"the code before ({args.before})", OUR_BOT,
                         {**env, "PYTHONPATH": args.before}))  # fmt: skip
        for number in range(args.rounds):
            # every other round in reverse: a bot's place in the round is no bias of the pairs
            for label, code, bot_environment in bots[:: -1 if number % 2 else 1]:
                run = await storm(server, bot_environment, code, args.users, args.updates)
                results.setdefault(label, []).append(run)
    print(f"{args.updates} /plan updates from {args.users} users, {args.rounds} rounds")
    echo = results["echo bot"]
    for label, _code, _env in bots:
        _print_bot(label, results[label], echo)
    ours = results["reserve bot"]
    ratios = [o[0] / e[0] for o, e in zip(ours, echo, strict=True)]
    print(f"reserve bot, targets: CPU {statistics.median(o[1] for o in ours):.2f} ms (≤ 3 ms),")
    print(f"  ratio {statistics.median(ratios):.2f} (≥ 0.3), error replies 0")
    if args.before:
        before = results[bots[-1][0]]
        gains = [b[1] - o[1] for o, b in zip(ours, before, strict=True)]
        print(
            f"CPU per update, the code before minus this code, round by round: "
            f"{', '.join(f'{g:+.2f}' for g in gains)} ms; this code lower in "
            f"{sum(g > 0 for g in gains)} of {len(gains)}, mean {statistics.mean(gains):+.2f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("updates", nargs="?", type=int, default=1000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="a copy of an older commit: its bot runs too")
    asyncio.run(main(parser.parse_args()))
