"""Tests of the fake Telegram Bot API server, driven through aiogram's real HTTP client."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.sandbox.emulator import FakeTelegramServer, RateLimit, WaitTimeoutError
from bot.sandbox.emulator.formatting import _render_markup

TOKEN = "123456:AAFakeTokenForTestsOnly_0123456789abc"


def make_bot(server: FakeTelegramServer, token: str = TOKEN) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.base_url))
    return Bot(token, session=session)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer() as srv:
        yield srv


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    bot = make_bot(server)
    yield bot
    await bot.session.close()


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Подать заявку", callback_data="apply")],
            [
                InlineKeyboardButton(text="Сайт", url="https://example.org/reserve"),
                InlineKeyboardButton(text="Назад", callback_data="back"),
            ],
        ]
    )


async def test_get_me(server: FakeTelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == "reserve_test_bot"
    assert me.first_name
    assert server.calls[-1].method == "getMe"


async def test_send_message_with_inline_keyboard_round_trip(
    server: FakeTelegramServer, bot: Bot
) -> None:
    user = server.user(1001, "Анна", username="anna")
    message = await bot.send_message(
        user.id, "<b>Привет</b>, Анна!", parse_mode="HTML", reply_markup=keyboard()
    )
    assert message.message_id == 1
    assert message.chat.id == 1001
    assert message.from_user is not None
    assert message.from_user.is_bot
    assert message.text == "Привет, Анна!"
    assert message.reply_markup is not None
    assert message.reply_markup.inline_keyboard[0][0].callback_data == "apply"

    second = await bot.send_message(user.id, "<b>как есть</b>")  # no parse_mode: literal
    assert second.message_id == 2
    assert second.text == "<b>как есть</b>"

    sent = server.messages_to(user)
    assert [m.message_id for m in sent] == [1, 2]
    first = sent[0]
    assert first.text == "Привет, Анна!"
    assert first.raw_text == "<b>Привет</b>, Анна!"
    assert first.parse_mode == "HTML"
    assert first.reply_markup is not None
    assert first.buttons == [
        ("Подать заявку", "apply"),
        ("Сайт", "https://example.org/reserve"),
        ("Назад", "back"),
    ]
    assert first.button("заявк") == ("Подать заявку", "apply")
    call = await server.wait_for_call("sendMessage", chat_id=user)
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Подать заявку"
    assert call.message_id == 1


async def test_html_is_rendered_and_malformed_markup_is_rejected(
    server: FakeTelegramServer, bot: Bot
) -> None:
    user = server.user(1002)
    sent = await bot.send_message(
        user.id, "<b>Срок</b>: 1 &lt; 2 &amp; <i>ok</i>", parse_mode="HTML"
    )
    assert sent.text == "Срок: 1 < 2 & ok"
    assert server.messages_to(user)[0].raw_text == "<b>Срок</b>: 1 &lt; 2 &amp; <i>ok</i>"

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(user.id, "<b>не закрыт", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "div"'):
        await bot.send_message(user.id, "<div>x</div>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(user.id, "Версия 1.0", parse_mode="MarkdownV2")
    ok = await bot.send_message(user.id, "*Версия* 1\\.0", parse_mode="MarkdownV2")
    assert ok.text == "Версия 1.0"
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(user.id, "я" * 4097)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(
            user.id,
            "x",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="д" * 33)]]
            ),
        )
    failed = [c for c in server.calls if not c.ok]
    assert len(failed) == 5
    assert len(server.messages_to(user)) == 2


async def test_send_document_upload_and_download(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1003)
    payload = "Анкета кандидата".encode() * 100
    message = await bot.send_document(
        user.id,
        BufferedInputFile(payload, filename="anketa.docx"),
        caption="Ваша анкета",
    )
    assert message.document is not None
    assert message.document.file_name == "anketa.docx"
    assert message.caption == "Ваша анкета"

    stored = server.messages_to(user)[0]
    assert stored.document is not None
    assert stored.document.file_name == "anketa.docx"
    assert stored.document.data == payload
    assert stored.text == "Ваша анкета"

    file = await bot.get_file(message.document.file_id)
    assert file.file_path
    buffer = io.BytesIO()
    await bot.download_file(file.file_path, buffer)
    assert buffer.getvalue() == payload

    # Re-sending by file_id reuses the stored file.
    again = await bot.send_document(user.id, message.document.file_id)
    assert again.document is not None
    assert again.document.file_id == message.document.file_id


async def test_user_document_can_be_downloaded_by_the_bot(
    server: FakeTelegramServer, bot: Bot
) -> None:
    user = server.user(1004)
    update = server.push_document(user, "diplom.pdf", content=b"%PDF-1.7 real bytes")
    file_id = update["message"]["document"]["file_id"]
    updates = await bot.get_updates(timeout=0)
    assert updates[0].message is not None
    assert updates[0].message.document is not None
    assert updates[0].message.document.file_name == "diplom.pdf"
    assert updates[0].message.document.mime_type == "application/pdf"
    buffer = io.BytesIO()
    await bot.download(file_id, buffer)
    assert buffer.getvalue() == b"%PDF-1.7 real bytes"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")


async def test_long_polling_confirms_updates(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1005, "Борис")
    pushed = server.push_text(user, "/start CODE42")
    entities = pushed["message"]["entities"]
    assert entities == [{"type": "bot_command", "offset": 0, "length": 6}]

    updates = await bot.get_updates(timeout=2)
    assert len(updates) == 1
    assert updates[0].update_id == pushed["update_id"]
    assert updates[0].message is not None
    assert updates[0].message.text == "/start CODE42"
    assert updates[0].message.chat.id == user.id

    # Unconfirmed updates are delivered again.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [pushed["update_id"]]

    started = time.monotonic()
    assert await bot.get_updates(offset=pushed["update_id"] + 1, timeout=1) == []
    assert time.monotonic() - started >= 0.9

    # A restarted bot (no offset) does not see confirmed updates again.
    restarted = make_bot(server)
    try:
        assert await restarted.get_updates(timeout=0) == []
    finally:
        await restarted.session.close()


async def test_long_poll_returns_early_when_an_update_arrives(
    server: FakeTelegramServer, bot: Bot
) -> None:
    user = server.user(1006)
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    server.push_text(user, "привет")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    assert updates[0].message is not None
    assert updates[0].message.text == "привет"


async def test_limit_and_negative_offset(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1007)
    ids = [server.push_text(user, str(i))["update_id"] for i in range(5)]
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[-1:]
    assert len(server.pending_updates()) == 1


async def test_second_poller_terminates_the_first_with_conflict(
    server: FakeTelegramServer, bot: Bot
) -> None:
    other = make_bot(server)
    try:
        first = asyncio.create_task(bot.get_updates(timeout=3))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(other.get_updates(timeout=0))
        with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
            await asyncio.wait_for(first, 2)
        assert await second == []
    finally:
        await other.session.close()


async def test_callback_on_a_sent_message(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1008, "Вера")
    sent = await bot.send_message(user.id, "Выберите", reply_markup=keyboard())
    stored = await server.wait_for_message(user)
    update = server.press(user, stored, "Подать заявку")
    query_id = update["callback_query"]["id"]

    updates = await bot.get_updates(timeout=1)
    query = updates[0].callback_query
    assert query is not None
    assert query.data == "apply"
    assert query.from_user.id == user.id
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert query.message.chat.id == user.id

    assert await bot.answer_callback_query(query.id, text="Принято")
    assert server.callback_answers[query_id]["text"] == "Принято"
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(ValueError, match="no \\(undeleted\\) message 99"):
        server.push_callback(user, 99, "apply")


async def test_edit_and_delete(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1009)
    sent = await bot.send_message(user.id, "Шаг 1", reply_markup=keyboard())
    edited = await bot.edit_message_text(
        "Шаг 2", chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard()
    )
    assert not isinstance(edited, bool)
    assert edited.text == "Шаг 2"
    assert edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Шаг 2", chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard()
        )
    # Editing the text without reply_markup removes the keyboard, as on Telegram.
    await bot.edit_message_text("Шаг 3", chat_id=user.id, message_id=sent.message_id)
    stored = server.messages_to(user)[0]
    assert stored.text == "Шаг 3"
    assert stored.buttons == []
    assert [text for text, _ in stored.edits] == ["Шаг 1", "Шаг 2"]

    await bot.edit_message_reply_markup(
        chat_id=user.id, message_id=sent.message_id, reply_markup=keyboard()
    )
    assert stored.buttons[0] == ("Подать заявку", "apply")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=user.id, message_id=77)

    assert await bot.delete_message(user.id, sent.message_id)
    assert stored.deleted
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)


async def test_blocked_user_gets_forbidden(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1010)
    server.block(user)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user.id, "Напоминание")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(user.id, "typing")
    assert server.stats.forbidden == 2
    assert server.messages_to(user) == []

    server.push_text(user, "/start")  # writing to the bot again unblocks it
    await bot.send_message(user.id, "С возвращением")

    shy = server.user(1011, started=False)
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(shy.id, "Здравствуйте")


async def test_unknown_chat_and_unknown_method(server: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999_999, "кому?")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.base_url}/bot{TOKEN}/sendTeleport", json={}) as resp,
    ):
        assert resp.status == 404
        assert await resp.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }


async def test_json_and_form_bodies(server: FakeTelegramServer) -> None:
    user = server.user(1012)
    markup = {"inline_keyboard": [[{"text": "Да", "callback_data": "yes"}]]}
    async with aiohttp.ClientSession() as http:
        url = f"{server.base_url}/bot{TOKEN}/SENDMESSAGE"  # method names are case-insensitive
        async with http.post(
            url, json={"chat_id": user.id, "text": "json", "reply_markup": markup}
        ) as resp:
            body = await resp.json()
            assert body["ok"] is True
            assert body["result"]["reply_markup"] == markup
        form = {"chat_id": str(user.id), "text": "form", "reply_markup": json.dumps(markup)}
        async with http.post(url, data=form) as resp:
            assert (await resp.json())["result"]["text"] == "form"
        async with http.get(url, params={"chat_id": str(user.id), "text": "query"}) as resp:
            assert (await resp.json())["result"]["message_id"] == 3
    texts = [m.text for m in server.messages_to(user)]
    assert texts == ["json", "form", "query"]
    assert server.messages_to(user)[1].buttons == [("Да", "yes")]


async def test_fail_next_retry_after(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1013)
    server.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(user.id, "раз")
    assert info.value.retry_after == 7
    await bot.send_message(user.id, "два")
    assert server.stats.too_many_requests == 1
    assert server.stats.injected_errors == 1

    other = server.user(1014)
    server.fail_next("sendMessage", 500, "Internal Server Error", chat_id=other, times=2)
    await bot.send_message(user.id, "не затронут")
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await bot.send_message(other.id, "x")
    await bot.send_message(other.id, "теперь можно")
    server.fail_next("getMe", 400, "Bad Request: injected")
    with pytest.raises(TelegramBadRequest, match="injected"):
        await bot.get_me()


async def test_rate_limit_per_chat() -> None:
    limit = RateLimit(per_second=30, per_chat_per_second=1.0, clock_speed=10.0)
    async with FakeTelegramServer(rate_limit=limit) as server:
        bot = make_bot(server)
        try:
            user = server.user(1015)
            await bot.send_message(user.id, "1")
            with pytest.raises(TelegramRetryAfter) as info:
                await bot.send_message(user.id, "2")
            assert info.value.retry_after >= 1
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(user.id, "3")
            await asyncio.sleep(limit.chat_interval + 0.02)
            await bot.send_message(user.id, "4")
            assert [m.text for m in server.messages_to(user)] == ["1", "4"]
            assert server.stats.rate_limited_chat == 2
            await bot.send_chat_action(user.id, "typing")  # not a send
        finally:
            await bot.session.close()


async def test_rate_limit_global() -> None:
    async with FakeTelegramServer(rate_limit=RateLimit()) as server:
        bot = make_bot(server)
        try:
            users = [server.user(2000 + i) for i in range(40)]
            results = await asyncio.gather(
                *(bot.send_message(u.id, "Рассылка") for u in users), return_exceptions=True
            )
            limited = [r for r in results if isinstance(r, TelegramRetryAfter)]
            others = [r for r in results if isinstance(r, BaseException)]
            assert len(limited) == len(others)  # nothing else went wrong
            assert len(limited) >= 1
            assert len(results) - len(limited) <= 30
            assert server.stats.sends_accepted <= 30
            assert server.stats.peak_per_second <= 30
            assert server.stats.too_many_requests == len(limited)
            assert all(r.retry_after >= 1 for r in limited)
        finally:
            await bot.session.close()


async def test_wrong_token_is_unauthorized_when_token_fixed() -> None:
    async with FakeTelegramServer(TOKEN) as server:
        good = make_bot(server)
        bad = make_bot(server, "654321:SomeOtherTokenValue_abcdefghijklmno")
        try:
            assert (await good.get_me()).id == 123456
            with pytest.raises(TelegramUnauthorizedError):
                await bad.get_me()
        finally:
            await good.session.close()
            await bad.session.close()


async def test_wait_for_message_walks_the_conversation(
    server: FakeTelegramServer, bot: Bot
) -> None:
    user = server.user(1016)

    async def reply_later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(user.id, "первый")
        await bot.send_message(user.id, "второй")

    task = asyncio.create_task(reply_later())
    first = await server.wait_for_message(user, timeout=2)
    second = await server.wait_for_message(user, timeout=2)
    await task
    assert (first.text, second.text) == ("первый", "второй")

    seen = len(server.messages_to(user))
    await bot.send_message(user.id, "третий")
    await bot.send_message(user.id, "четвёртый")
    nth = await server.wait_for_message(user, after=seen + 1, timeout=1)
    assert nth.text == "четвёртый"
    matched = await server.wait_for_message(
        user, lambda m: m.text == "третий", after=seen, timeout=1
    )
    assert matched.message_id == 3


async def test_wait_for_message_timeout_lists_what_arrived(
    server: FakeTelegramServer, bot: Bot
) -> None:
    user = server.user(1017)
    await bot.send_message(user.id, "Добро пожаловать", reply_markup=keyboard())
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(user.id, "<b>сломано", parse_mode="HTML")
    server.push_text(user, "/help")
    with pytest.raises(WaitTimeoutError) as info:
        await server.wait_for_message(user, lambda m: "Справка" in (m.text or ""), timeout=0.2)
    text = str(info.value)
    assert "Добро пожаловать" in text
    assert "('Подать заявку', 'apply')" in text
    assert "can't parse entities" in text
    assert "updates not yet confirmed by the bot: 1" in text
    with pytest.raises(WaitTimeoutError, match="No new sendPhoto call"):
        await server.wait_for_call("sendPhoto", timeout=0.1)


async def test_commands_per_scope(server: FakeTelegramServer, bot: Bot) -> None:
    admin = server.user(1018)
    common = [BotCommand(command="start", description="Начать")]
    admin_commands = [*common, BotCommand(command="report", description="Отчёт")]
    await bot.set_my_commands(common)
    await bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(chat_id=admin.id))
    assert server.commands_for(None) == [{"command": "start", "description": "Начать"}]
    scoped = server.commands_for({"type": "chat", "chat_id": admin.id})
    assert [c["command"] for c in scoped] == ["start", "report"]
    fetched = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=admin.id))
    assert [c.command for c in fetched] == ["start", "report"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=admin.id))
    assert server.commands_for({"type": "chat", "chat_id": admin.id}) == []

    await bot.set_my_description("Бот кадрового резерва")
    await bot.set_my_short_description("Кадровый резерв")
    assert server.descriptions[""] == "Бот кадрового резерва"
    assert (await bot.get_my_short_description()).short_description == "Кадровый резерв"


async def test_copy_forward_and_media_group(server: FakeTelegramServer, bot: Bot) -> None:
    applicant = server.user(1019, "Галина")
    admins = server.group(-100500, "Комиссия")
    pushed = server.push_document(applicant, "resume.pdf", caption="Моё резюме")
    message_id = pushed["message"]["message_id"]

    copied = await bot.copy_message(admins.id, applicant.id, message_id)
    forwarded = await bot.forward_message(admins.id, applicant.id, message_id)
    assert forwarded.forward_origin is not None
    to_admins = server.messages_to(admins)
    assert [m.message_id for m in to_admins] == [copied.message_id, forwarded.message_id]
    assert to_admins[0].document is not None
    assert to_admins[0].document.file_name == "resume.pdf"
    assert to_admins[0].text == "Моё резюме"
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(admins.id, applicant.id, 4242)

    group = await bot.send_media_group(
        applicant.id,
        [
            InputMediaDocument(media=BufferedInputFile(b"one", "1.txt"), caption="Первый"),
            InputMediaDocument(media=BufferedInputFile(b"two", "2.txt")),
        ],
    )
    assert len(group) == 2
    assert group[0].media_group_id == group[1].media_group_id
    stored = server.messages_to(applicant)
    assert [m.document.data for m in stored if m.document] == [b"one", b"two"]


async def test_reply_keyboard_press_sends_text(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1020)
    markup = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Мои заявки")]])
    await bot.send_message(user.id, "Меню", reply_markup=markup)
    sent = await server.wait_for_message(user)
    assert sent.buttons == [("Мои заявки", None)]
    assert "reply_markup" not in sent.raw  # only inline keyboards are echoed back
    update = server.press(user, sent, "Мои заявки")
    assert update["message"]["text"] == "Мои заявки"


async def test_stop_releases_a_pending_long_poll() -> None:
    server = FakeTelegramServer()
    await server.start()
    bot = make_bot(server)
    try:
        poll = asyncio.create_task(bot.get_updates(timeout=10))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await server.stop()
        assert await asyncio.wait_for(poll, 2) == []
        assert time.monotonic() - started < 1.5
    finally:
        await bot.session.close()


async def test_non_strict_server_accepts_malformed_markup() -> None:
    async with FakeTelegramServer(strict=False) as server:
        bot = make_bot(server)
        try:
            user = server.user(1021)
            sent = await bot.send_message(user.id, "<b>не закрыт", parse_mode="HTML")
            assert sent.text == "<b>не закрыт"
        finally:
            await bot.session.close()


# Vectors from Telegram's own parser tests (tdlib, test/message_entities.cpp).
@pytest.mark.parametrize(
    ("mode", "text", "expected"),
    [
        ("HTML", "🏟 🏟&lt;<abacaba", "!Unclosed start tag at byte offset 13"),
        ("HTML", "🏟 🏟&lt;<abac aba>", '!Unsupported start tag "abac" at byte offset 13'),
        ("HTML", "🏟 🏟&lt;<i   =aba>", '!Empty attribute name in the tag "i" at byte offset 13'),
        ("HTML", "🏟 🏟&lt;<i>a</em   >", "!Unmatched end tag at byte offset 17"),
        ("HTML", "🏟 🏟&lt;<b></b></", "!Unexpected end tag at byte offset 20"),
        ("HTML", "<b>x", '!Can\'t find end tag corresponding to start tag "b"'),
        ("HTML", "a < b", '!Unsupported start tag "" at byte offset 2'),
        ("HTML", "&ge;&lt;&gt;&amp;&quot;&#12345678;", '&ge;<>&"&#12345678;'),
        ("HTML", "🏟 🏟&lt;<i    aba  =  190azAz-.>a</i>", "🏟 🏟<a"),
        ("HTML", '<span class="tg-spoiler">s</span> <a href="t.me">l</a>', "s l"),
        ("HTML", "<blockquote expandable>q</blockquote>", "q"),
        ("MarkdownV2", "v1.0", "!Character '.' is reserved"),
        ("MarkdownV2", "a - b", "!Character '-' is reserved"),
        ("MarkdownV2", "🏟 🏟_abacaba", "!Can't find end of Italic entity at byte offset 9"),
        ("MarkdownV2", "🏟 🏟_abac * asd ", "!Can't find end of Bold entity at byte offset 15"),
        ("MarkdownV2", "[telegram\\.org](asd", "!Can't find end of a URL at byte offset 16"),
        (
            "MarkdownV2",
            ">asd\n>q||ew\n||asdad",
            "!Can't find end of Spoiler entity at byte offset 7",
        ),
        ("MarkdownV2", "*Итог* 1\\.0 [сайт](https://t.me/x) `a.b` ||s||", "Итог 1.0 сайт a.b s"),
        ("MarkdownV2", "🏟 🏟__🏟 _🏟_ __", "🏟 🏟🏟 🏟"),
        ("MarkdownV2", ">asd\n>q||e||w||\nasdad", "asd\nqew\nasdad"),
        ("Markdown", "*b* _i_ `c` [l](http://x.y)", "b i c l"),
        ("Markdown", "snake_case", "!Can't find end of the entity starting at byte offset 5"),
        (None, "<b>1.0</b>", "<b>1.0</b>"),
    ],
)
def test_markup_parsing_matches_telegram(mode: str | None, text: str, expected: str) -> None:
    if expected.startswith("!"):
        with pytest.raises(Exception, match=re.escape(expected[1:])):
            _render_markup(text, mode)
    else:
        assert _render_markup(text, mode).strip() == expected


# --------------------------------------------------------------------------- fault modes


async def api(server: FakeTelegramServer, method: str, **params: object) -> aiohttp.ClientResponse:
    """One raw request (a fresh connection each time), the body read."""
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{server.base_url}/bot{TOKEN}/{method}", json=params)
        await response.read()
        return response


async def test_delayed_answers_take_effect_at_once(server: FakeTelegramServer, bot: Bot) -> None:
    slow, fast = server.user(1101), server.user(1102)
    # the delay is long and the bounds of the calls that are not delayed loose (1 s), so that
    # a busy machine cannot make an undelayed call look delayed
    delay = server.delay_answers(slow, 1.5)
    started = time.monotonic()
    sending = asyncio.create_task(bot.send_message(slow.id, "поздний ответ"))
    arrived = await server.wait_for_message(slow, timeout=2)  # the chat has it already
    assert arrived.text == "поздний ответ" and not sending.done()
    assert time.monotonic() - started < 1.0
    await bot.send_message(fast.id, "другой чат")  # other chats are not delayed
    assert not sending.done()
    await asyncio.wait_for(sending, 5)
    assert time.monotonic() - started >= 1.5
    call = server.calls[-1] if server.calls[-1].chat_id == slow.id else server.calls[-2]
    assert call.answered_at is not None and call.answered_at - call.at >= 1.5
    await bot.get_me()  # calls without a chat are not delayed either
    assert delay.count == 1 and server.stats.delayed == 1

    delay.cancel()
    started = time.monotonic()
    await bot.send_message(slow.id, "снова быстро")
    assert time.monotonic() - started < 1.0


async def test_delay_range_and_methods(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1103)
    server.delay_answers(user, (0.6, 0.8), methods=["sendMessage"])
    spent = []
    for n in range(4):
        started = time.monotonic()
        await bot.send_message(user.id, f"#{n}")
        spent.append(time.monotonic() - started)
    assert all(0.6 <= s < 1.6 for s in spent), spent  # the upper bound allows a busy machine
    started = time.monotonic()
    await bot.send_chat_action(user.id, "typing")  # not a delayed method
    assert time.monotonic() - started < 0.6
    with pytest.raises(ValueError, match="invalid delay"):
        server.delay_answers(user, (0.5, 0.1))


async def test_delay_window_ends(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1104)
    server.delay_answers(user, 1.5, for_seconds=0.2)
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await bot.send_message(user.id, "окно закрылось")
    assert time.monotonic() - started < 1.0  # not delayed (1.5 s), even on a busy machine


async def test_hang_until_released(server: FakeTelegramServer, bot: Bot) -> None:
    stuck, other = server.user(1111), server.user(1112)
    hang = server.hang("sendMessage", stuck)
    sending = asyncio.create_task(bot.send_message(stuck.id, "висит"))
    await hang.wait_held(1, timeout=2)
    assert hang.waiting == 1 and server.messages_to(stuck) == []  # not carried out yet
    await asyncio.wait_for(bot.send_message(other.id, "проходит"), 1)
    await asyncio.sleep(0.2)
    assert not sending.done()
    hang.release()
    message = await asyncio.wait_for(sending, 2)
    assert message.text == "висит" and server.messages_to(stuck)[0].text == "висит"
    await asyncio.wait_for(bot.send_message(stuck.id, "после"), 1)  # released: no more holds
    assert hang.held == 1 and hang.waiting == 0 and server.stats.held == 1


async def test_hang_for_seconds_and_times(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1113)
    # the hang is long against a busy machine's delays: the second call, not held, must not
    # wait for it (CI once took over 0.3 s for a call when the hang was 0.4 s)
    server.hang("*", user, seconds=1.5, times=1)
    started = time.monotonic()
    first = asyncio.create_task(bot.send_message(user.id, "первое"))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(bot.send_message(user.id, "второе"), 1.0)  # only one call held
    await asyncio.wait_for(first, 4)
    assert 1.45 <= time.monotonic() - started < 3.0
    assert [m.text for m in server.messages_to(user)] == ["второе", "первое"]


async def test_a_held_call_whose_client_left_is_not_carried_out(
    server: FakeTelegramServer, bot: Bot
) -> None:
    user = server.user(1114)
    hang = server.hang("sendMessage", user)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(api(server, "sendMessage", chat_id=user.id, text="брошено"), 0.3)
    await hang.wait_held(1, timeout=1)
    hang.release()
    call = await server.wait_for_call("sendMessage", lambda c: not c.ok, timeout=2)
    assert call.error_code == 0 and "went away" in (call.description or "")
    assert server.messages_to(user) == [] and server.stats.abandoned == 1


async def test_stop_releases_held_calls() -> None:
    server = FakeTelegramServer()
    await server.start()
    bot = make_bot(server)
    try:
        user = server.user(1115)
        hang = server.hang("sendMessage")
        sending = asyncio.create_task(bot.send_message(user.id, "x"))
        await hang.wait_held(1, timeout=2)
        await asyncio.wait_for(server.stop(), 3)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sending, 3)
    finally:
        await bot.session.close()


async def test_html_5xx_for_the_next_calls(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1121)
    server.fail_next("sendMessage", 502, chat_id=user, times=2, html=True)
    for _ in range(2):
        response = await api(server, "sendMessage", chat_id=user.id, text="x")
        assert response.status == 502
        assert response.content_type == "text/html"
        body = await response.text()
        assert "<title>502 Bad Gateway</title>" in body and "nginx" in body
    assert server.messages_to(user) == []  # a failed call is not carried out
    assert (await api(server, "sendMessage", chat_id=user.id, text="x")).status == 200
    failed = [c for c in server.calls if c.error_code == 502]
    assert len(failed) == 2 and "HTML" in (failed[0].description or "")
    assert server.stats.injected_errors == 2
    with pytest.raises(ValueError, match="5xx"):
        server.fail_next("sendMessage", 404, html=True)


async def test_html_5xx_is_not_json_for_aiogram(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1122)
    server.fail_next("*", 503, html=True)
    with pytest.raises(ClientDecodeError):  # aiogram cannot decode the HTML page
        await bot.send_message(user.id, "x")
    await bot.send_message(user.id, "x")


async def test_errors_for_a_time_window(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1123)
    server.fail_next("*", 500, html=True, for_seconds=0.3)
    statuses = [(await api(server, method, chat_id=user.id, text="x")).status
                for method in ("sendMessage", "getMe", "sendMessage")]  # fmt: skip
    assert statuses == [500, 500, 500]
    await asyncio.sleep(0.35)
    assert (await api(server, "sendMessage", chat_id=user.id, text="x")).status == 200
    assert (await api(server, "getMe")).status == 200


async def test_outage_502(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1131)
    poll = asyncio.create_task(api(server, "getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    outage = await server.outage(0.4, mode="502")
    response = await asyncio.wait_for(poll, 1)  # the long poll ends with the outage
    assert response.status == 502 and response.content_type == "text/html"
    for method in ("getMe", "sendMessage"):
        response = await api(server, method, chat_id=user.id, text="x")
        assert response.status == 502 and "Bad Gateway" in await response.text()
    assert outage.answered >= 3 and server.messages_to(user) == []
    await asyncio.sleep(0.45)
    assert (await api(server, "sendMessage", chat_id=user.id, text="x")).status == 200


async def test_outage_resets_connections(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1132)
    poll = asyncio.create_task(api(server, "getUpdates", timeout=5))
    await asyncio.sleep(0.1)
    await server.outage(None, mode="reset")
    with pytest.raises(aiohttp.ClientError):
        await asyncio.wait_for(poll, 1)
    with pytest.raises(aiohttp.ClientError):
        await api(server, "sendMessage", chat_id=user.id, text="x")
    reset = [c for c in server.calls if c.error_code == 0]
    assert len(reset) == 2 and server.messages_to(user) == []
    await server.end_outage()
    assert (await api(server, "sendMessage", chat_id=user.id, text="x")).status == 200


async def test_outage_refuses_connections(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1133)
    await bot.send_message(user.id, "до")  # a kept-alive connection is open
    await server.outage(0.5, mode="refuse")
    with pytest.raises(aiohttp.ClientConnectorError):
        await api(server, "getMe")
    with pytest.raises(TelegramNetworkError):  # on the open connection: reset
        await bot.send_message(user.id, "во время")
    await asyncio.sleep(0.6)
    assert (await api(server, "getMe")).status == 200
    await bot.send_message(user.id, "после")
    assert [m.text for m in server.messages_to(user)] == ["до", "после"]


async def test_clear_faults(server: FakeTelegramServer, bot: Bot) -> None:
    user = server.user(1141)
    server.fail_next("sendMessage", 502, html=True, times=5)
    server.delay_answers(user, 2.0)
    hang = server.hang("getMe")
    getting = asyncio.create_task(bot.get_me())
    await hang.wait_held(1, timeout=2)
    await server.outage(None, mode="refuse")
    await server.clear_faults()
    await asyncio.wait_for(getting, 1)
    await asyncio.wait_for(bot.send_message(user.id, "чисто"), 1)
    with pytest.raises(ValueError, match="unknown outage mode"):
        await server.outage(1, mode="flaky")


async def test_wait_polling(server: FakeTelegramServer, bot: Bot) -> None:
    assert server.poll_count == 0 and server.polls_waiting == 0
    with pytest.raises(WaitTimeoutError, match="no getUpdates in progress"):
        await server.wait_polling(0.1)
    poll = asyncio.create_task(bot.get_updates(timeout=2))
    await server.wait_polling(2)
    assert server.polls_waiting == 1 and server.poll_count == 1
    with pytest.raises(WaitTimeoutError):  # a newer poll than the first: none yet
        await server.wait_polling(0.1, newer_than=1)
    server.push_text(server.user(1151), "привет")
    assert len(await asyncio.wait_for(poll, 2)) == 1
    assert server.polls_waiting == 0
