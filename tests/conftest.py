"""Shared fixtures: a clean settings environment, a migrated database (SQLite in a temporary
folder, or the PostgreSQL server named by TEST_DATABASE_URL), settings, a settable clock, and the
dispatcher with a mocked Bot."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from bot.app import create_dispatcher
from bot.config import Settings, load_settings, settings_env_names
from storage import migrate
from storage.db import Database
from storage.models import Base
from tests.harness import FakeClock, Harness
from tests.mocked_bot import MockedBot

OFFICER_TG = 1001

# Bytecode caches are written whatever PYTHONDONTWRITEBYTECODE says (Python's Docker images set
# it). The suite starts about a hundred interpreters (bot processes, the CLI, fresh interpreters)
# and its pytest workers, each of which would otherwise compile the project and rewrite the test
# modules' asserts again: 0.45 s of CPU a bot process and 3.6 s a worker's collection on a 2 GHz
# core (the caches go to the __pycache__ folders that .gitignore lists). Set here, in the
# controller, before pytest-xdist starts its workers, so that they and every child inherit it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

#: Workers of ``-n auto`` (pyproject's addopts) at least: the end-to-end tests partly wait on
#: child processes and the fake Bot API, so two cores keep a third worker busy. (Four were
#: slower once those tests ran on a faster Telegram clock: each worker's start and collection
#: cost CPU; on 2 cores 247 and 273 s with three workers, 256 and 309 s with four, 2026-12-03.)
MIN_WORKERS = 3


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: the CPU count, but at least :data:`MIN_WORKERS`
    (PYTEST_XDIST_AUTO_NUM_WORKERS, when set, wins as in pytest-xdist itself)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    return max(MIN_WORKERS, os.cpu_count() or 1)


def on_postgresql() -> bool:
    """Whether this run's test database is PostgreSQL (TEST_DATABASE_URL, as
    ``scripts/test-postgres.sh`` sets it) rather than a SQLite file per test."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    return bool(url) and not url.startswith("sqlite")


def uses_the_database(item: pytest.Item) -> bool:
    """Whether a test reaches the test database: every way to it (``db``, ``empty_db``,
    ``settings``, ``harness``, the bot processes' DATABASE_URL) goes through the
    ``database_url`` fixture, so a test whose fixtures do not include it is the same test on
    either database."""
    return "database_url" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """End-to-end tests (the ``e2e`` mark: they start bot processes and wait, for a minute or
    more each) go first, otherwise in their order: the workers of pytest-xdist take them on
    while the many short tests fill the gaps, rather than ending the run with a long tail.

    On PostgreSQL, the tests that do not use the database (:func:`uses_the_database`: the
    domain's rules, the fresh-interpreter import checks, the sandbox with its own SQLite file)
    are deselected: they ran, the same, in the SQLite run, and the PostgreSQL run is there for
    what the database does."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
    if on_postgresql():
        kept: list[pytest.Item] = []
        elsewhere: list[pytest.Item] = []
        for item in items:
            (kept if uses_the_database(item) else elsewhere).append(item)
        if elsewhere:
            config.hook.pytest_deselected(items=elsewhere)
            items[:] = kept


def pytest_report_header() -> str | None:
    """Says, on PostgreSQL, that only the tests that use the database run."""
    if on_postgresql():
        return (
            "PostgreSQL run: the tests that do not use the database are deselected"
            " (the SQLite run has them)"
        )
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own: TEST_DATABASE_URL
    is pointed at ``<database>_<worker>`` (e.g. ``reserve_test_gw0``), created when missing on
    the same server (the URL's user needs CREATEDB). The workers' tests then wipe and bot
    processes use their own database only; the base database is left alone."""
    # a worker's config has workerinput (PYTEST_XDIST_WORKER alone is inherited by child
    # processes, e.g. a pytest run inside a test, which are not workers)
    worker = getattr(config, "workerinput", {}).get("workerid")
    url = os.environ.get("TEST_DATABASE_URL")
    if worker and url and not url.startswith("sqlite"):
        os.environ["TEST_DATABASE_URL"] = asyncio.run(_worker_database(url, worker))


async def _worker_database(url: str, worker: str) -> str:
    """Create the worker's database beside the one of ``url`` unless it exists; its URL."""
    import asyncpg  # noqa: PLC0415

    base = make_url(url)
    name = f"{base.database}_{worker}"
    conn = await asyncpg.connect(
        base.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            # (created meanwhile by a run beside this one: fine)
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(autouse=True)
def clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their settings from an explicit, clean environment: every variable that
    :class:`Settings` reads is removed (whatever its case, as pydantic-settings ignores case),
    and no `.env` file is read. Child processes started from ``os.environ`` inherit this;
    they run in a temporary folder so that the repository's `.env` is not read either."""
    names = settings_env_names()
    for key in list(os.environ):
        if key.upper() in names:
            monkeypatch.delenv(key)
    monkeypatch.setitem(Settings.model_config, "env_file", None)


def bot_processes() -> dict[int, str]:
    """The live descendants of this process that run the bot (``-m bot`` or the sandbox's
    bot child), by pid, with their command lines; empty where /proc is missing."""
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    parents: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # a zombie has ended, only not reaped yet
                parents[int(entry.name)] = int(fields[1])
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    mine.discard(os.getpid())
    found = {}
    for pid in mine:  # the command lines of the descendants only
        with contextlib.suppress(OSError):
            command = (proc / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if " -m bot" in command or "bot.sandbox.child" in command:
                found[pid] = command
    return found


@pytest.fixture(autouse=True)
def no_bot_process_left() -> Iterator[None]:
    """A test must stop every bot process it starts: one left running keeps polling, leading
    and sending broadcasts from the worker's database, which the next tests share on
    PostgreSQL (on SQLite its file is the test's own). A leftover is killed, and the test
    that left it errors at teardown."""
    before = set(bot_processes())
    yield
    left = {pid: cmd for pid, cmd in bot_processes().items() if pid not in before}
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"bot processes left running by the test: {left}"


def _test_database_url(tmp_path: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path}/test.db"


async def _reset_postgres(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite file per test, or TEST_DATABASE_URL (PostgreSQL, wiped per test; under
    pytest-xdist the worker's own database, see :func:`pytest_configure`)."""
    return _test_database_url(tmp_path)


@pytest.fixture
async def empty_db(database_url: str) -> AsyncIterator[Database]:
    """A database with no tables."""
    db = Database(database_url)
    if db.dialect == "postgresql":
        await _reset_postgres(db)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per run; each test gets a copy (migrating with
    SQLite's batch operations for every test would dominate the suite's time)."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(db.engine)
        await db.dispose()

    asyncio.run(build())
    return path


async def _reset_postgres_data(db: Database) -> None:
    """Empty every table of a PostgreSQL database at head (migrating it first if it is not)."""
    if await migrate.current(db.engine) != migrate.HEAD:
        await _reset_postgres(db)
        await migrate.upgrade(db.engine)  # its seed rows (the consent text) are emptied too
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def db(database_url: str, sqlite_template: Path) -> AsyncIterator[Database]:
    """A database at head with no rows: a copy of the migrated SQLite template, or the
    PostgreSQL test database emptied."""
    if database_url.startswith("sqlite"):
        shutil.copyfile(sqlite_template, database_url.split("///", 1)[1])
    database = Database(database_url)
    if database.dialect == "postgresql":
        await _reset_postgres_data(database)
    yield database
    await database.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Settings for tests: one officer, Moscow time, a fake token."""
    return load_settings(
        _env_file=None,
        bot_token="123456:TEST-token-for-the-test-suite-only",
        database_url=database_url,
        officer_ids=(OFFICER_TG,),
    )


@pytest.fixture
def clock() -> FakeClock:
    """A clock at 2026-11-22 09:00 UTC (12:00 in Moscow)."""
    return FakeClock()


@pytest.fixture
async def harness(settings: Settings, db: Database, clock: FakeClock) -> Harness:
    """The dispatcher with the default roadmap loaded and the officer created."""
    from bot.app import prepare_database  # noqa: PLC0415

    await prepare_database(settings, db)
    dp = create_dispatcher(settings, db, clock=clock)
    return Harness(dp, MockedBot())
