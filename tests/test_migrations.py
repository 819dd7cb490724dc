"""Every migration up and down (the stairway), and the models match the migrated schema."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage import migrate
from storage.db import Database
from storage.models import Base
from tests.fresh_python import fresh_python


async def test_stairway(empty_db: Database) -> None:
    revisions = migrate.revisions()
    assert revisions, "no migrations"
    previous = "base"
    for revision in revisions:
        await migrate.upgrade(empty_db.engine, revision)
        assert await migrate.current(empty_db.engine) == revision
        await migrate.downgrade(empty_db.engine, previous)
        await migrate.upgrade(empty_db.engine, revision)
        previous = revision


async def test_down_to_base_leaves_no_tables(empty_db: Database) -> None:
    await migrate.upgrade(empty_db.engine)
    await migrate.downgrade(empty_db.engine, "base")

    def tables(conn: Connection) -> list[str]:
        return [t for t in inspect(conn).get_table_names() if t != "alembic_version"]

    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(tables) == []


async def test_models_match_migrations(db: Database) -> None:
    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_head_names_the_newest_migration() -> None:
    assert migrate.revisions()[-1] == migrate.HEAD, (
        "storage/migrate.py's HEAD must name the newest migration"
    )


async def test_current_reads_no_revision_before_and_after_every_migration(
    empty_db: Database,
) -> None:
    assert await migrate.current(empty_db.engine) is None  # no version table yet
    await migrate.upgrade(empty_db.engine)
    assert await migrate.current(empty_db.engine) == migrate.HEAD
    await migrate.downgrade(empty_db.engine, "base")
    assert await migrate.current(empty_db.engine) is None  # the table is left, empty


def test_a_start_at_head_does_not_load_alembic(tmp_path: Path) -> None:
    """The upgrade every start runs reads the revision and stops there; only a database behind
    the scripts loads Alembic (to migrate it)."""
    code = """
import asyncio, sys
from storage import migrate
from storage.db import Database

async def main(url):
    db = Database(url)
    await migrate.upgrade(db.engine, sys.argv[2])
    await db.dispose()
    print("alembic" in sys.modules)

asyncio.run(main(sys.argv[1]))
"""
    url = f"sqlite+aiosqlite:///{tmp_path}/start.db"

    def upgrade(revision: str) -> bool:
        return fresh_python(code, url, revision).strip() == "True"

    assert upgrade("0010") is True  # a new database is migrated with Alembic
    assert upgrade("head") is True  # one behind: Alembic applies the newest
    assert upgrade("head") is False  # at head: one query, no Alembic
