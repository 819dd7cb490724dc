"""The per-update path of a ``/plan`` (issue 10) through ``Dispatcher.feed_update``: the dialogue
state is read once, in the update's own session; a fixed handful of SQL statements; no filter
sent to a worker thread; on SQLite one thread hop per statement; and no connection held while a
reply waits on Telegram, so a storm of updates with Telegram answering late never runs out of a
small pool."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import pytest
from aiogram import Dispatcher, Router
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import insert

from bot import texts
from bot.app import create_dispatcher, prepare_database
from bot.config import Settings
from handlers import officers
from handlers.filters import HasRole
from handlers.states import Registration
from scheduler.jobs import ensure_plans
from storage.db import Database
from storage.fsm import DatabaseStorage
from storage.models import Role, User
from tests.harness import FakeClock, Harness, texts_of
from tests.mocked_bot import MockedBot
from tests.sql_counter import counting

JOINED = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
FIRST = 70_000


async def add_reservists(db: Database, settings: Settings, count: int) -> None:
    """``count`` registered reservists (Telegram ids from FIRST) with their plans of 2027."""
    await prepare_database(settings, db)
    async with db.session() as repo:
        await repo.session.execute(
            insert(User),
            [
                {
                    "telegram_id": FIRST + n,
                    "role": Role.RESERVIST,
                    "full_name": f"Резервистов Резервист {n}",
                    "organisation": "СОШ № 1",
                    "position": "Учитель",
                    "municipality": "Петровский район",
                    "consent_version": texts.CONSENT_VERSION,
                    "consent_at": JOINED,
                    "registered_at": JOINED,
                }
                for n in range(count)
            ],
        )
    await ensure_plans(db, settings, JOINED)


@pytest.fixture
async def reservists(settings: Settings, db: Database) -> Harness:
    await add_reservists(db, settings, 3)
    dp = create_dispatcher(settings, db, clock=FakeClock(JOINED))
    harness = Harness(dp, MockedBot())
    await harness.send(FIRST, "/plan")  # the first update installs the middlewares
    return harness


async def test_a_plan_update_reads_the_state_once_in_a_fixed_number_of_statements(
    reservists: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[StorageKey] = []
    real_get_state = DatabaseStorage.get_state

    async def get_state(self: DatabaseStorage, key: StorageKey) -> str | None:
        reads.append(key)
        return await real_get_state(self, key)

    monkeypatch.setattr(DatabaseStorage, "get_state", get_state)
    for n in range(3):
        with counting(db) as statements:
            calls = await reservists.send(FIRST + n, "/plan")
        assert "2027" in texts_of(calls)
        # the user with the dialogue's state, the plan with its items: nothing else, and no
        # COMMIT of a transaction of the state's own
        assert len(statements) == 2, statements
        assert "fsm_states" in statements[0]
    assert reads == []  # read with the user, not by a query of its own


async def test_an_unknown_sender_has_the_state_read_on_its_own(
    reservists: Harness, db: Database
) -> None:
    """Someone not yet registered (a registration in progress) has no user row to read the
    state with: the state is read by itself, and the dialogue goes on."""
    stranger = FIRST + 100
    storage = reservists.dp.fsm.storage
    key = StorageKey(bot_id=reservists.bot.id, chat_id=stranger, user_id=stranger)
    await storage.set_state(key, Registration.full_name)
    with counting(db) as statements:
        calls = await reservists.send(stranger, "Иванова Мария Петровна")
    assert len(statements) >= 2 and "fsm_states" in statements[1], statements
    assert texts.ASK_ORGANISATION in texts_of(calls)


async def test_no_filter_runs_in_a_worker_thread(
    reservists: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiogram sends a filter that is not a coroutine function (a state, ``F.…``) to
    ``asyncio.to_thread``: each a GIL handover. The dispatcher runs them in the loop."""
    hops: list[object] = []
    real_to_thread = asyncio.to_thread

    async def to_thread(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await real_to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", to_thread)
    await reservists.send(FIRST, "/plan")
    await reservists.send(FIRST, "/plan add Личный пункт")  # a state is set…
    await reservists.send(FIRST, "/cancel")  # …and the state filters compare it
    assert hops == []


async def test_a_reservists_update_skips_the_officers_routers_at_once(
    reservists: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The officers' routers sit behind one role check (``handlers.officers``): a reservist's
    ``/plan`` passes 7 routers, not the 11 it walked when each officers' router refused it on
    its own."""
    passed: list[str] = []
    real = Router.propagate_event

    async def propagate_event(self: Router, update_type: str, event: Any, **kwargs: Any) -> Any:
        if not isinstance(self, Dispatcher):
            passed.append(self.name)
        return await real(self, update_type, event, **kwargs)

    monkeypatch.setattr(Router, "propagate_event", propagate_event)
    calls = await reservists.send(FIRST, "/plan")
    assert "2027" in texts_of(calls)
    assert passed == [
        "root", "errors", "start", "officers", "broadcast_answers", "mentoring", "plan"
    ]  # fmt: skip


def test_every_router_behind_the_officers_check_serves_officers_only() -> None:
    """Nothing another role must reach goes into ``handlers.officers`` (it would be refused
    before its handler is tried), and each router there keeps its own officer check."""
    branch = officers()
    for router in branch.chain_tail:
        if router is branch:
            continue
        for name in ("message", "callback_query"):
            observer = router.observers[name]
            guards = [f.callback for f in observer._handler.filters or ()]
            for handler in observer.handlers:
                roles = [g.roles for g in guards + [f.callback for f in handler.filters or ()]
                         if isinstance(g, HasRole)]  # fmt: skip
                assert roles and all(r == {Role.OFFICER} for r in roles), (router.name, name)


async def test_on_sqlite_a_statement_is_one_thread_hop(
    reservists: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiosqlite runs each call in the connection's thread: a read-only /plan makes one call
    per statement (not four), and no COMMIT or ROLLBACK when SQLite has no transaction open."""
    if db.dialect != "sqlite":
        pytest.skip("aiosqlite only")
    calls: list[str] = []
    real_execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await real_execute(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    with counting(db) as statements:
        await reservists.send(FIRST, "/plan")
    assert len(calls) == len(statements) == 2, calls


async def test_no_connection_is_held_while_a_reply_waits(
    reservists: Harness, db: Database
) -> None:
    """Each reply, of a read (/plan) or of a write (/plan add sets the dialogue state), goes to
    Telegram with the update's connection back in the pool."""
    held: list[int] = []

    async def look(method: str, params: dict[str, Any]) -> None:
        held.append(db.engine.pool.checkedout())  # type: ignore[attr-defined]

    reservists.bot.session.on_request = look
    await reservists.send(FIRST, "/plan")
    calls = await reservists.send(FIRST, "/plan add Личный пункт")
    assert texts.ADD_ASK_MONTH in texts_of(calls)
    await reservists.send(FIRST, "/cancel")
    assert held and set(held) == {0}, held


async def test_a_storm_with_telegram_late_and_a_small_pool_fails_nobody(
    settings: Settings, db: Database
) -> None:
    """40 users, two updates each at once (a read and a write), Telegram answering every call
    0.5 s late, a pool of 1 + 1 connections that a session waits for at most 10 s: were a
    connection held through a reply, the 80 updates would queue 20 s for the two connections
    (the 10 s leave room for a loaded machine's slower database work, which 3 s did not)."""
    users = 40
    await add_reservists(db, settings, users)
    small = Database(db.url, pool_size=1, pool_timeout=10.0)
    try:
        harness = Harness(create_dispatcher(settings, small, clock=FakeClock(JOINED)), MockedBot())

        async def late(method: str, params: dict[str, Any]) -> None:
            await asyncio.sleep(0.5)

        harness.bot.session.on_request = late
        updates = [harness.send(FIRST + n, "/plan") for n in range(users)]
        updates += [harness.send(FIRST + n, "/plan add Личный пункт") for n in range(users)]
        await asyncio.wait_for(asyncio.gather(*updates), 60)
    finally:
        await small.dispose()
    sent = [call.text for call in harness.bot.calls if call.method == "sendMessage"]
    assert texts.ERROR not in sent
    assert len(sent) == 2 * users
    assert sent.count(texts.ADD_ASK_MONTH) == users
