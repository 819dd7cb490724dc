"""The bot process's start-up before PostgreSQL answers (``bot.runner._prepare``): each attempt
that fails is one log line and is tried again, the bot goes on once the database answers, and a
stop signal meanwhile ends it at once, also while a connection hangs or another instance
migrates.

The database is reached through a loopback port of the test's own: closed (connections are
refused), silent (connections are accepted and never answered) or forwarding to the test's
PostgreSQL (TEST_DATABASE_URL). Every wait has a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.sandbox.emulator import FakeTelegramServer
from storage.db import Database
from storage.leader import MIGRATION_KEY
from tests.e2e_support import (
    START_WAIT,
    WAIT,
    Bot,
    answers_a_stranger,
    bot_env,
    fake_telegram,
    stopped_before_it_started,
    wait_until,
)

pytestmark = pytest.mark.e2e

#: A log line of a failed attempt to reach the database (``bot.runner._retrying``).
UNREACHABLE = re.compile(r"database unreachable, retrying")


class Port:
    """A loopback port standing between the bot and its database: ``closed`` until
    :meth:`silent` or :meth:`forward` opens it (``async with``: closed again at the end)."""

    def __init__(self) -> None:
        with socket.socket() as probe:  # a port nothing listens on (yet)
            probe.bind(("127.0.0.1", 0))
            self.number: int = probe.getsockname()[1]
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._held: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, base: str) -> str:
        """``base`` (a PostgreSQL URL) with this port's address."""
        return make_url(base).set(host="127.0.0.1", port=self.number).render_as_string(False)

    async def silent(self) -> None:
        """Accept connections and never answer (a server still starting, a half-open link)."""

        async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            self._held.add(writer)

        self._server = await asyncio.start_server(hold, "127.0.0.1", self.number)

    async def forward(self, target: str) -> None:
        """Pass every connection through to the PostgreSQL server of URL ``target``."""
        up = make_url(target)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        async def join(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            up_reader, up_writer = await asyncio.open_connection(up.host, up.port or 5432)
            for task in (pipe(reader, up_writer), pipe(up_reader, writer)):
                self._tasks.add(asyncio.create_task(task))

        self._server = await asyncio.start_server(join, "127.0.0.1", self.number)

    async def __aenter__(self) -> Port:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for writer in self._held:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), WAIT)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with fake_telegram() as srv:
        yield srv


@pytest.fixture
async def port() -> AsyncIterator[Port]:
    async with Port() as p:
        yield p


def unreachable_lines(bot: Bot) -> list[str]:
    return [line for line in bot.log().splitlines() if UNREACHABLE.search(line)]


async def test_sigterm_while_postgresql_does_not_answer(
    server: FakeTelegramServer, port: Port, tmp_path: Path
) -> None:
    """A connection accepted and never answered held a stop for as long as the connection
    may take (asyncpg's 60 s by default, :data:`storage.db.PG_CONNECT_TIMEOUT` now); SIGTERM
    ends the process at once, before Telegram is reached."""
    await port.silent()
    url = port.url("postgresql+asyncpg://reserve:secret@127.0.0.1:5432/reserve")
    async with Bot(bot_env(server, url, tmp_path), tmp_path / "bot.log") as bot:
        await wait_until(
            lambda: port.accepted > 0 or not bot.running,
            "a connection to the database",
            START_WAIT,
        )
        assert bot.running, bot.log()
        await stopped_before_it_started(bot)
        assert not server.calls, "it reached Telegram without a database"


async def test_start_up_waits_for_postgresql(
    server: FakeTelegramServer, port: Port, database_url: str, db: Database, tmp_path: Path
) -> None:
    """Refused connections are waited out, one log line each; once PostgreSQL answers, the
    bot migrates, polls and answers."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the bot waits for PostgreSQL only (TEST_DATABASE_URL)")
    async with Bot(bot_env(server, port.url(database_url), tmp_path), tmp_path / "bot.log") as bot:
        await wait_until(
            lambda: len(unreachable_lines(bot)) >= 2 or not bot.running,
            "two log lines about the database",
            START_WAIT,
        )
        assert bot.running, bot.log()
        assert not server.calls, "it reached Telegram without a database"
        await port.forward(database_url)
        await server.wait_polling(START_WAIT)
        await answers_a_stranger(server)
        log = bot.log()
        assert "Traceback" not in log, log
        assert all("ConnectionRefusedError" in line for line in unreachable_lines(bot)), log
        assert await bot.terminate() == 0


async def test_sigterm_while_another_instance_migrates(
    server: FakeTelegramServer, database_url: str, db: Database, tmp_path: Path
) -> None:
    """Instances starting together migrate one at a time (``storage.leader.migration_lock``):
    one waiting for the lock stops at once on SIGTERM, and leaves no wait behind."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the migration lock is PostgreSQL's (TEST_DATABASE_URL)")
    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")

    async def waits() -> int:
        async with db.engine.connect() as conn:
            return int((await conn.execute(waiting)).scalar_one())

    async with db.engine.connect() as holder:  # "another instance", migrating
        await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_KEY})
        try:
            async with Bot(bot_env(server, database_url, tmp_path), tmp_path / "bot.log") as bot:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + START_WAIT
                while await waits() == 0:
                    assert bot.running, bot.log()
                    assert loop.time() < deadline, "the bot did not wait for the migration lock"
                    await asyncio.sleep(0.1)
                await stopped_before_it_started(bot)
                assert await waits() == 0
                assert not server.calls, "it reached Telegram before migrating"
        finally:  # the connection goes back to the pool: its session's lock must not
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_KEY})
