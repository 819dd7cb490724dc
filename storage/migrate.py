"""Apply and revert Alembic migrations from inside the program (``python -m bot migrate``).

The Alembic scripts live in ``storage/migrations``; the connection is the program's own async
engine, handed to ``env.py`` through ``config.attributes`` (Alembic's documented recipe for
running migrations from an asyncio application).

Alembic is imported only when a migration runs or the scripts are read: a start whose database
is already at :data:`HEAD` (every start but the first after an upgrade of the program) reads the
revision with one query and never loads Alembic (about 9 MiB of a process's memory and 0.1 s of
its start, ``bench.memory``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest revision in ``storage/migrations/versions``. A new migration updates it;
#: ``tests/test_migrations.py`` fails while it differs from the scripts' head.
HEAD = "0011"
#: Alembic's table of the applied revision (its default name, as ``env.py`` leaves it).
VERSION_TABLE = table("alembic_version", column("version_num"))


def alembic_config() -> Config:
    """An Alembic config pointing at this package's migration scripts."""
    from alembic.config import Config  # noqa: PLC0415  (see the module's docstring)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (default: the newest); a database already at
    :data:`HEAD` is left as it is without loading Alembic."""
    if revision in ("head", HEAD) and await current(engine) == HEAD:
        return
    from alembic import command  # noqa: PLC0415

    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` reverts all)."""
    from alembic import command  # noqa: PLC0415

    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def current(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database (no version table, or
    an empty one: every migration reverted)."""

    def _current(connection: Connection) -> str | None:
        if not inspect(connection).has_table(VERSION_TABLE.name):
            return None
        # this program's migrations are one line: one row at most
        version = connection.execute(select(VERSION_TABLE.c.version_num)).scalar()
        return None if version is None else str(version)

    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _run(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    cfg = alembic_config()

    def _go(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        action(cfg)

    async with engine.begin() as connection:
        await connection.run_sync(_go)
