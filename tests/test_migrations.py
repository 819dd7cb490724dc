"""Every migration up and down (the stairway), and the models match the migrated schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage import migrate
from storage.db import Database
from storage.models import Base


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
