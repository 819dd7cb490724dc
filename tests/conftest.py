"""Shared fixtures: a clean settings environment, a migrated database (SQLite in a temporary
folder, or the PostgreSQL server named by TEST_DATABASE_URL), settings, a settable clock, and the
dispatcher with a mocked Bot."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import create_dispatcher
from bot.config import Settings, load_settings, settings_env_names
from storage import migrate
from storage.db import Database
from storage.models import Base
from tests.harness import FakeClock, Harness
from tests.mocked_bot import MockedBot

OFFICER_TG = 1001


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


def _test_database_url(tmp_path: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_path}/test.db"


async def _reset_postgres(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite file per test, or TEST_DATABASE_URL (PostgreSQL, wiped per test)."""
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
    heads = migrate.revisions()[-1:]
    if [await migrate.current(db.engine)] != heads:
        await _reset_postgres(db)
        await migrate.upgrade(db.engine)
        return
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
