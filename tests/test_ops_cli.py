"""Operations from the command line: ``python -m bot backup OUT`` (SQLite's online backup API;
PostgreSQL is refused with the pg_dump hint) and ``python -m bot check`` (settings, database,
migrations, Telegram: one line each, exit 0 or 1)."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import prepare_database
from bot.config import load_settings
from bot.sandbox.emulator import FakeTelegramServer
from storage import migrate
from storage.backup import sqlite_backup
from storage.db import Database
from storage.models import Activity, User

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:OPS-token-for-the-fake-server-only"
OFFICER = 1001


async def bot_cli(
    env: dict[str, str], cwd: Path, *args: str, timeout: float = 120
) -> tuple[int, str, str]:
    """``python -m bot ARGS`` with ``env`` over the clean environment, in ``cwd`` (no `.env`);
    the exit code, stdout and stderr. Async, so that a fake server in this loop answers it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env}, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def sqlite_with_data(tmp_path: Path) -> AsyncIterator[tuple[str, Database]]:
    """A migrated SQLite database with the default roadmap and an officer, still open (its
    last commits may be in the WAL file only)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/live/reserve.db"
    database = Database(url)
    settings = load_settings(database_url=url, officer_ids=(OFFICER,))
    await prepare_database(settings, database)
    yield url, database
    await database.dispose()


async def counts(url: str) -> tuple[int, list[int]]:
    """Activities and the Telegram ids of the users in the database at ``url``."""
    database = Database(url)
    try:
        async with database.session() as repo:
            activities = await repo.session.scalar(select(func.count()).select_from(Activity))
            users = (await repo.session.scalars(select(User.telegram_id))).all()
            assert activities is not None
            return activities, [u for u in users if u is not None]
    finally:
        await database.dispose()


async def test_backup_copies_a_live_database_and_the_copy_reads_back(
    sqlite_with_data: tuple[str, Database], tmp_path: Path
) -> None:
    url, _live = sqlite_with_data
    activities, users = await counts(url)
    assert activities > 0 and users == [OFFICER]

    out = tmp_path / "copy.db"
    code, stdout, stderr = await bot_cli({"DATABASE_URL": url}, tmp_path, "backup", str(out))
    assert code == 0, stderr
    assert stdout.startswith("backed up ") and "integrity ok" in stdout, stdout
    assert not (tmp_path / "copy.db-wal").exists()  # a single file
    assert not (tmp_path / ".copy.db.partial").exists()

    # restore: the copy is a complete database at head with the same rows
    with closing(sqlite3.connect(out)) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restored = Database(f"sqlite+aiosqlite:///{out}")
    try:
        assert await migrate.current(restored.engine) == migrate.revisions()[-1]
    finally:
        await restored.dispose()
    assert await counts(f"sqlite+aiosqlite:///{out}") == (activities, users)

    # OUT is never overwritten
    code, _, stderr = await bot_cli({"DATABASE_URL": url}, tmp_path, "backup", str(out))
    assert code == 1 and "already exists" in stderr


async def test_backup_function_in_a_thread(
    sqlite_with_data: tuple[str, Database], tmp_path: Path
) -> None:
    url, live = sqlite_with_data
    async with live.session() as repo:  # a commit that may sit in the WAL only
        await repo.session.execute(
            User.__table__.update().values(full_name="Чеботарева Елена Ивановна")
        )
    source = Path(url.split("///", 1)[1])
    size = await asyncio.to_thread(sqlite_backup, source, tmp_path / "b.db")
    assert size == (tmp_path / "b.db").stat().st_size > 0
    with closing(sqlite3.connect(tmp_path / "b.db")) as raw:
        names = raw.execute("SELECT full_name FROM users").fetchall()
    assert names == [("Чеботарева Елена Ивановна",)]


def test_backup_of_a_stopped_database_leaves_nothing_behind(tmp_path: Path) -> None:
    """With the bot stopped, no -wal or -shm file is left beside the database (one owned by
    the user who ran the backup would lock the bot out)."""
    source = tmp_path / "src.db"
    with closing(sqlite3.connect(source)) as raw:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE t (a INTEGER)")
        raw.execute("INSERT INTO t VALUES (1)")
        raw.commit()
    assert [p.name for p in tmp_path.iterdir()] == ["src.db"]
    sqlite_backup(source, tmp_path / "out.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.db", "src.db"]
    with pytest.raises(sqlite3.OperationalError):  # a missing source is not created
        sqlite_backup(tmp_path / "missing.db", tmp_path / "out2.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.db", "src.db"]


async def test_backup_refuses_postgresql(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://reserve:secret@127.0.0.1:1/reserve"
    code, stdout, stderr = await bot_cli(
        {"DATABASE_URL": url}, tmp_path, "backup", str(tmp_path / "x.dump")
    )
    assert code == 1 and stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "pg_dump" in lines[0], stderr
    assert not (tmp_path / "x.dump").exists()


def free_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(TOKEN, bot_username="reserve_ops_bot") as srv:
        yield srv


async def test_check_passes_on_a_migrated_database_and_the_api(
    server: FakeTelegramServer, db: Database, database_url: str, tmp_path: Path
) -> None:
    env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.base_url, "DATABASE_URL": database_url}
    code, stdout, stderr = await bot_cli(env, tmp_path, "check")
    lines = stdout.strip().splitlines()
    assert code == 0, stdout + stderr
    assert [line.split(":")[0].split()[-1] for line in lines] == [
        "settings", "database", "migrations", "telegram",
    ]  # fmt: skip
    assert all(line.startswith("ok") for line in lines), stdout
    assert "@reserve_ops_bot" in lines[3]
    assert TOKEN not in stdout + stderr
    await server.wait_for_call("getMe", timeout=5)


async def test_check_fails_on_a_database_not_migrated(
    server: FakeTelegramServer, tmp_path: Path
) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE something (id INTEGER)")
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": server.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{path}",
    }
    code, stdout, _ = await bot_cli(env, tmp_path, "check")
    lines = stdout.strip().splitlines()
    assert code == 1, stdout
    assert lines[1].startswith("ok") and "database" in lines[1]
    assert lines[2].startswith("FAIL") and "python -m bot migrate" in lines[2], stdout
    assert lines[3].startswith("ok"), stdout


async def test_check_fails_without_a_database_file_and_creates_none(tmp_path: Path) -> None:
    path = tmp_path / "data" / "missing.db"
    env = {"BOT_TOKEN": TOKEN, "DATABASE_URL": f"sqlite+aiosqlite:///{path}"}
    env["TELEGRAM_API_URL"] = f"http://127.0.0.1:{free_port()}"
    code, stdout, _ = await bot_cli(env, tmp_path, "check")
    assert code == 1
    assert [line.split()[0] for line in stdout.strip().splitlines()] == [
        "ok", "FAIL", "FAIL", "FAIL",
    ], stdout  # fmt: skip
    assert not path.exists() and not path.parent.exists()


async def test_check_fails_when_the_api_is_unreachable(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{free_port()}",
        "DATABASE_URL": database_url,
    }
    code, stdout, _ = await bot_cli(env, tmp_path, "check")
    lines = stdout.strip().splitlines()
    assert code == 1, stdout
    assert [line.split()[0] for line in lines] == ["ok", "ok", "ok", "FAIL"], stdout
    assert "telegram" in lines[3] and "getMe" in lines[3]


async def test_check_without_a_token_or_with_a_bad_setting(tmp_path: Path) -> None:
    code, stdout, _ = await bot_cli({"DATABASE_URL": "mysql://x"}, tmp_path, "check")
    assert code == 1 and stdout.strip().splitlines() == [
        "FAIL  settings: DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
    ]
    code, stdout, _ = await bot_cli({}, tmp_path, "check")
    assert code == 1
    first, *_, last = stdout.strip().splitlines()
    assert first.startswith("FAIL") and "BOT_TOKEN" in first
    assert last.startswith("FAIL") and "no BOT_TOKEN" in last
