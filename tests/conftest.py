"""Shared fixtures: a migrated database (SQLite in a temporary folder, or the PostgreSQL server
named by TEST_DATABASE_URL), settings, a settable clock, and the dispatcher with a mocked Bot."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import create_dispatcher
from bot.config import Settings, load_settings
from storage import migrate
from storage.db import Database
from tests.harness import FakeClock, Harness
from tests.mocked_bot import MockedBot

OFFICER_TG = 1001


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


@pytest.fixture
async def db(empty_db: Database) -> Database:
    """A database migrated to head."""
    await migrate.upgrade(empty_db.engine)
    return empty_db


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
