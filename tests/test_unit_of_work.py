"""The update's unit of work through ``Dispatcher.feed_update``: a reply that reports a change
leaves only once the change is committed, no write lock is held while Telegram is waited on,
updates of one chat are handled one at a time, and a button pressed twice acts once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram.types import CallbackQuery, Chat, Message, Update
from aiogram.types import User as TgUser
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.middlewares import CommitBeforeSendMiddleware
from bot.telegram import ItemCb
from storage.db import Database
from storage.models import Invite, Notice, PlanItemEvent, User
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, last_with_buttons, texts_of
from tests.test_handlers_registration import invite_code, register

RES = 2001
OTHER_OFFICER = 1002


async def count(db: Database, model: type[Any]) -> int:
    """Rows of ``model`` seen through a session of its own (never the handler's, even when
    called from inside the handler's context, as ``on_request`` hooks are)."""
    async with db.raw_session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_reply_leaves_only_after_its_change_is_committed(
    harness: Harness, database_url: str
) -> None:
    observer = Database(database_url)  # another connection: sees only what is committed
    seen: list[int] = []

    async def look(method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage" and "start=" in str(params.get("text")):
            seen.append(await count(observer, Invite))

    harness.bot.session.on_request = look
    try:
        before = await count(observer, Invite)
        await invite_code(harness)
    finally:
        await observer.dispose()
    assert seen == [before + 1]  # the invite was on disk when its link reached the officer


async def test_registration_is_committed_before_it_is_confirmed(
    harness: Harness, database_url: str
) -> None:
    observer = Database(database_url)
    seen: list[int] = []

    async def look(method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage" and "зарегистрированы" in str(params.get("text")):
            async with observer.raw_session() as session:
                found = await session.scalar(
                    select(func.count()).select_from(User).where(User.telegram_id == RES)
                )
                seen.append(int(found or 0))

    code = await invite_code(harness)
    harness.bot.session.on_request = look
    try:
        await register(harness, RES, code)
    finally:
        await observer.dispose()
    assert seen == [1]


async def test_a_failed_commit_sends_no_confirmation(
    harness: Harness, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk: the commit fails, so «ссылка» never reaches the officer; the error handler
    says that something went wrong, and nothing is stored."""
    before = await count(db, Invite)

    async def full_disk(self: AsyncSession) -> None:
        raise OperationalError("COMMIT", {}, Exception("database or disk is full"))

    monkeypatch.setattr(AsyncSession, "commit", full_disk)
    calls = await harness.send(OFFICER_TG, "/invite reservist")
    monkeypatch.undo()
    assert "start=" not in texts_of(calls)
    assert texts.ERROR in texts_of(calls)
    assert await count(db, Invite) == before


async def test_one_slow_chat_does_not_block_the_others(harness: Harness, db: Database) -> None:
    """The officer's reply hangs at Telegram for a long time; another officer's write (which
    needs SQLite's single write lock) is answered at once."""
    async with db.session() as repo:
        await repo.users.ensure_officers((OTHER_OFFICER,))
    release = asyncio.Event()

    async def hang(method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage" and params.get("chat_id") == OFFICER_TG:
            await release.wait()

    harness.bot.session.on_request = hang
    slow = asyncio.create_task(harness.send(OFFICER_TG, "/invite mentor"))
    await asyncio.sleep(0.2)  # the first handler has written and now waits on Telegram
    calls = await asyncio.wait_for(harness.send(OTHER_OFFICER, "/invite reservist"), 2.0)
    assert "start=" in texts_of(calls)
    release.set()
    await asyncio.wait_for(slow, 5.0)
    assert await count(db, Invite) == 2


@pytest.fixture
async def reservist(harness: Harness, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await register(harness, RES, await invite_code(harness))
    return harness


def slow_telegram(harness: Harness, seconds: float = 0.3) -> None:
    async def late(method: str, params: dict[str, Any]) -> None:
        await asyncio.sleep(seconds)

    harness.bot.session.on_request = late


async def press_twice(harness: Harness, data: str, gap: float) -> None:
    async def later() -> None:
        await asyncio.sleep(gap)
        await harness.press(RES, data)

    await asyncio.wait_for(asyncio.gather(harness.press(RES, data), later()), 10.0)


@pytest.mark.parametrize("gap", [0.0, 0.1, 0.3])
async def test_a_double_save_in_log_acts_once(
    reservist: Harness, db: Database, gap: float
) -> None:
    calls = await reservist.send(RES, "/log")
    await reservist.press(RES, last_with_buttons(calls).button("Психологические тренинги"))
    await reservist.send(RES, "01.03.2026")
    calls = await reservist.send(RES, "Тренинг «Лидер команды»")
    skip = last_with_buttons(calls).button("Пропустить")
    slow_telegram(reservist)
    before = len(reservist.bot.calls)
    await press_twice(reservist, skip, gap)
    async with db.session() as repo:
        done = await repo.session.scalar(
            select(func.count()).select_from(PlanItemEvent).where(PlanItemEvent.action == "done")
        )
    assert done == 1
    sent = reservist.bot.calls[before:]
    assert sum("Отмечено" in c.text for c in sent) == 1, texts_of(sent)
    assert texts.STEP_PASSED in texts_of(sent)


@pytest.mark.parametrize("gap", [0.0, 0.1, 0.3])
async def test_a_double_snooze_acts_once(reservist: Harness, db: Database, gap: float) -> None:
    calls = await reservist.send(RES, "/plan")
    opened = next(d for _, d in last_with_buttons(calls).buttons() if d.startswith("item:open:"))
    item_id = ItemCb.unpack(opened).item_id
    slow_telegram(reservist)
    before = len(reservist.bot.calls)
    # both presses come from the same reminder message
    message = Message(
        message_id=777, date=datetime.now(UTC), chat=Chat(id=RES, type="private"), text="…"
    )
    later = ItemCb(action="later", item_id=item_id).pack()

    async def press(n: int, delay: float) -> None:
        await asyncio.sleep(delay)
        query = CallbackQuery(
            id=f"q{n}",
            from_user=TgUser(id=RES, is_bot=False, first_name="R"),
            chat_instance="ci",
            data=later,
            message=message,
        )
        update = Update(update_id=90_000 + n, callback_query=query)
        await reservist.dp.feed_update(reservist.bot, update)

    await asyncio.wait_for(asyncio.gather(press(1, 0), press(2, gap)), 10.0)
    async with db.session() as repo:
        snoozes = await repo.session.scalar(
            select(func.count()).select_from(Notice).where(Notice.kind == "snoozed")
        )
    assert snoozes == 1
    answers = [c for c in reservist.bot.calls[before:] if c.method == "answerCallbackQuery"]
    assert [c.params.get("text") for c in answers] == [texts.SNOOZED, texts.SNOOZED_ALREADY]


async def test_updates_of_one_chat_run_one_at_a_time_in_order(reservist: Harness) -> None:
    """Three messages of one user arrive at once while Telegram answers late: they are handled
    in arrival order, each after the previous one finished."""
    order: list[str] = []

    async def late(method: str, params: dict[str, Any]) -> None:
        await asyncio.sleep(0.1)
        if method == "sendMessage":
            order.append(str(params.get("text"))[:40])

    reservist.bot.session.on_request = late
    await asyncio.wait_for(
        asyncio.gather(
            reservist.send(RES, "/plan add Первый личный пункт"),
            reservist.send(RES, "/cancel"),
            reservist.send(RES, "/me"),
        ),
        10.0,
    )
    # /plan add asked for the month, /cancel then left that dialogue, /me came last
    assert order[:2] == [texts.ADD_ASK_MONTH[:40], texts.CANCELLED[:40]], order
    assert len(order) == 3


async def test_a_refusal_is_told_before_the_next_update_of_the_chat(harness: Harness) -> None:
    """A refused answer (an InputError answered by the error router) is told while the chat's
    lock is still held: the user's next message waits for it, so the replies keep the order of
    the messages even when Telegram is slow to take the refusal."""
    code = await invite_code(harness)
    calls = await harness.send(RES, f"/start {code}")
    await harness.press(RES, last_with_buttons(calls).button("Согласен"))
    release = asyncio.Event()
    sent: list[str] = []

    async def slow_refusal(method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage" and "хотя бы два слова" in str(params.get("text")):
            await release.wait()
        if method == "sendMessage":
            sent.append(str(params.get("text")))

    harness.bot.session.on_request = slow_refusal
    refused = asyncio.create_task(harness.send(RES, "Маша"))
    await asyncio.sleep(0.1)
    cancelled = asyncio.create_task(harness.send(RES, "/cancel"))
    await asyncio.sleep(0.3)
    assert sent == []  # /cancel waits for the chat while the refusal is being told
    release.set()
    await asyncio.wait_for(asyncio.gather(refused, cancelled), 5.0)
    assert len(sent) == 2 and "хотя бы два слова" in sent[0], sent


async def test_the_commit_middleware_is_outermost(harness: Harness) -> None:
    await harness.send(OFFICER_TG, "/help")
    middlewares = list(harness.bot.session.middleware)
    assert isinstance(middlewares[0], CommitBeforeSendMiddleware)
    assert sum(isinstance(m, CommitBeforeSendMiddleware) for m in middlewares) == 1


async def test_only_the_update_task_commits(db: Database) -> None:
    """A task the handler started inherits its context (aiogram's ChatActionSender sending
    «печатает…»): its Bot API calls must not commit the update's session concurrently with the
    handler's own queries (asyncpg: «another operation is in progress»)."""
    from sqlalchemy import text  # noqa: PLC0415

    from bot.middlewares import _OWNER  # noqa: PLC0415
    from storage.db import current_session  # noqa: PLC0415

    session = db.raw_session()
    session.info[_OWNER] = asyncio.current_task()
    commits: list[str] = []
    real_commit = session.commit

    async def counted() -> None:
        commits.append("commit")
        await real_commit()

    session.commit = counted  # type: ignore[method-assign]
    middleware = CommitBeforeSendMiddleware()

    async def request(bot: Any, method: Any) -> str:
        return "sent"

    token = current_session.set(session)
    try:
        await session.execute(text("SELECT 1"))
        child = asyncio.create_task(middleware(request, None, None))  # type: ignore[arg-type]
        assert await child == "sent"
        assert commits == []
        assert await middleware(request, None, None) == "sent"  # type: ignore[arg-type]
        assert commits == ["commit"]
    finally:
        current_session.reset(token)
        await session.close()
