"""What bench/updates.py, bench/memory.py and bench/startup.py share: a database with N
registered reservists and their plans, the fake Bot API server, ``python -m bot run`` (or a
bare aiogram echo bot, the reference) in a child process pointed at it, and the child's CPU
time and resident memory read from /proc."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bot import texts
from bot.app import prepare_database
from bot.config import load_settings
from bot.sandbox.emulator import FakeTelegramServer
from scheduler.jobs import ensure_plans
from storage.db import Database
from storage.models import Role, User

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:BENCH-token-for-the-fake-server-only"
OFFICER = 1001
FIRST_ID = 70_000_000
JOINED = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)

#: The bare aiogram bot of the same run: answers every message with one short text.
ECHO_BOT = """
import asyncio, os
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dp = Dispatcher()

@dp.message()
async def echo(message: Message) -> None:
    await message.answer("ok")

async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    await dp.start_polling(bot, handle_signals=True)

asyncio.run(main())
"""


async def make_database(folder: Path, reservists: int) -> str:
    """A migrated SQLite database with ``reservists`` registered reservists (Telegram ids from
    :data:`FIRST_ID`) and their plans of 2027; returns its URL."""
    url = f"sqlite+aiosqlite:///{folder}/bench.db"
    settings = load_settings(_env_file=None, database_url=url, officer_ids=(OFFICER,))
    db = Database(url)
    await prepare_database(settings, db)
    if reservists:
        async with db.session() as repo:
            await repo.session.execute(
                insert(User),
                [
                    {
                        "telegram_id": FIRST_ID + n,
                        "role": Role.RESERVIST,
                        "full_name": f"Резервистов Резервист {n}",
                        "organisation": f"СОШ № {n % 400}",
                        "position": "Учитель",
                        "municipality": f"Район {n % 10}",
                        "consent_version": texts.CONSENT_VERSION,
                        "consent_at": JOINED,
                        "registered_at": JOINED,
                    }
                    for n in range(reservists)
                ],
            )
        await ensure_plans(db, settings, JOINED)
    await db.dispose()
    return url


def bot_env(server: FakeTelegramServer, database_url: str, home: Path) -> dict[str, str]:
    """The bot process's environment (settings explicit, logs at WARNING)."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": server.base_url,
        "DATABASE_URL": database_url,
        "OFFICER_IDS": str(OFFICER),
        "DEFAULT_TIMEZONE": "Europe/Moscow",
        "CLOCK_START": JOINED.isoformat(),
        "LOG_LEVEL": "WARNING",
    }


async def spawn(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    """A child Python process with ``args`` (its output discarded)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, env=env, cwd=env["HOME"],
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def start_bot(
    server: FakeTelegramServer, env: dict[str, str], *, echo: bool = False
) -> tuple[asyncio.subprocess.Process, float]:
    """Start ``python -m bot run`` (or the echo bot) and wait for its first getUpdates;
    returns the process and the seconds from the spawn to that poll."""
    polls = server.poll_count
    started = time.perf_counter()
    proc = await spawn(env, "-c", ECHO_BOT) if echo else await spawn(env, "-m", "bot", "run")
    while True:
        try:
            await server.wait_polling(0.05, newer_than=polls)
            break
        except AssertionError:
            if proc.returncode is not None:
                raise RuntimeError(f"the bot exited with {proc.returncode}") from None
            if time.perf_counter() - started > 120:
                raise
    return proc, time.perf_counter() - started


async def stop(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL after 15 s."""
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process now (VmRSS), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """min / median / max of the runs."""
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{fmt.format(low)} / {fmt.format(mid)} / {fmt.format(high)}"


def temp_home(prefix: str) -> Path:
    """A fresh temporary folder."""
    return Path(tempfile.mkdtemp(prefix=prefix))
