"""Alembic environment. Runs against the connection handed in by :mod:`storage.migrate`, or,
from the `alembic` command line, against DATABASE_URL (async engine, run_sync)."""

from __future__ import annotations

import asyncio
from typing import Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from storage.models import UTCDateTime
from storage.tables import metadata

config = context.config
target_metadata = metadata


def _render_item(
    type_: str, obj: object, _autogen_context: AutogenContext
) -> str | Literal[False]:
    """Render the project's UTCDateTime as a plain timezone-aware DateTime in new scripts."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_url() -> None:
    from bot.config import load_settings  # noqa: PLC0415 - only for the alembic CLI
    from storage.db import create_engine  # noqa: PLC0415

    url = config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_url())
