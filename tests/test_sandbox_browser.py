"""The sandbox in a browser: ``python -m bot sandbox --fresh`` as a child process, its chat page
driven by Playwright in Debian's Chromium (see :mod:`tests.browser_support`).

One journey through the page, as a visitor would take it: the officer invites a reservist and
the newcomer opens the link, consents and registers; the newcomer opens /plan and logs an item
with a file; reservist A records a consultation that the mentor confirms; the officer runs a
broadcast and watches its progress message reach 100 %, then downloads /export (opened with
openpyxl); the time machine brings reservist A a reminder, and «Напомнить позже» is pressed.
What the page shows is checked, and the database or the downloaded file where it matters.

The DOM contract is the one listed at the top of ``bot/sandbox/static/app.js``.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.sandbox.demo import cast
from tests.browser_support import (
    WAIT,
    ChatPage,
    Sandbox,
    launch_chromium,
    require_browser,
    start_sandbox,
)

pytestmark = pytest.mark.e2e

MSK = ZoneInfo("Europe/Moscow")
NEWCOMER_NAME = "Виноградова Наталья Игоревна"
NEWCOMER_SCHOOL = "МБОУ СОШ № 3 г. Верхнедольска"
NEWCOMER_POSITION = "Учитель биологии"
NEWCOMER_AREA = "Верхнедольский район"
EVIDENCE_NAME = "Сертификат участника.pdf"
EVIDENCE = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TOPIC = "Разбор плана методической недели в школе"
ANNOUNCEMENT = "Коллеги, в пятницу в 15:00 — совещание резерва в актовом зале. Приходите!"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """The sandbox from the command line, stopped at the end (see :func:`start_sandbox`)."""
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the sandbox has its own SQLite database: the suite's SQLite run covers it")
    require_browser()  # before the sandbox's start: a missing Chromium fails at once
    async with start_sandbox(tmp_path) as running:
        yield running


# --------------------------------------------------------------------------- the journey


async def test_a_visitor_takes_the_sandbox_through_a_year(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    officer, reservist, newcomer, mentor = (p.user_id for p in cast().tabs)
    started = time.monotonic()
    async with launch_chromium(tmp_path / "chromium-profile") as context:
        page = await context.new_page()
        page.set_default_timeout(WAIT * 1000)
        chat = ChatPage(page)
        try:
            await page.goto(sandbox.address, wait_until="domcontentloaded")
            assert "Песочница" in await page.inner_text("#sandbox-banner")
            await chat.wait_running()
            assert await page.locator("button.tab").count() == 4
            phases = [("start", time.monotonic() - started)]
            steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
                ("register", lambda: _invite_and_register(chat, officer, newcomer)),
                ("log", lambda: _plan_and_log_with_a_file(chat, sandbox, newcomer)),
                ("consult", lambda: _consultation_confirmed(chat, sandbox, reservist, mentor)),
                (
                    "broadcast",
                    lambda: _broadcast_to_100_percent(chat, sandbox, officer, reservist),
                ),
                (
                    "export",
                    lambda: _export_with_openpyxl(chat, sandbox, officer, reservist, tmp_path),
                ),
                ("reminder", lambda: _reminder_snoozed(chat, sandbox, reservist)),
            ]
            for name, step in steps:
                at = time.monotonic()
                await step()
                phases.append((name, time.monotonic() - at))
        except BaseException:
            shot = tmp_path / "failure.png"
            with contextlib.suppress(Exception):
                await page.screenshot(path=shot, full_page=True)
            print(f"page at the failure: {shot}\nsandbox log (tail):\n{sandbox.log()[-4000:]}")
            raise
    print("journey:", ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases))


async def _invite_and_register(chat: ChatPage, officer: int, newcomer: int) -> None:
    """/invite reservist in the officer's tab; the link opened in the newcomer's tab (pasted
    there and tapped: the page sends «/start CODE» from the active tab), consent, four
    answers."""
    page = chat.page
    await chat.open_tab(officer)
    before = await chat.send("/invite reservist")
    invite = await chat.bot_says("start=", before)
    link = invite.locator(".msg-text a[href*='start=']").first
    href = await link.get_attribute("href")
    assert href is not None and re.search(r"t\.me/\w+\?start=[\w-]+$", href), href
    code = href.rsplit("=", 1)[1]

    await chat.open_tab(newcomer)
    before = await chat.send(href)
    pasted = page.locator("#messages .msg.from-user .msg-text a[href*='start=']").last
    await pasted.click()
    started = page.locator("#messages .msg.from-user .msg-text", has_text=f"/start {code}")
    await started.first.wait_for(timeout=WAIT * 1000)
    consent = await chat.bot_says("Согласие на обработку", before, button="Согласен")
    before = await chat.press(consent, "Согласен")
    await chat.bot_says("фамилию, имя и отчество", before)
    for answer, next_question in (
        (NEWCOMER_NAME, "образовательная организация"),
        (NEWCOMER_SCHOOL, "должность"),
        (NEWCOMER_POSITION, "Муниципалитет"),
    ):
        before = await chat.send(answer)
        await chat.bot_says(next_question, before)
    before = await chat.send(NEWCOMER_AREA)
    await chat.bot_says("Вы зарегистрированы", before)


async def _plan_and_log_with_a_file(chat: ChatPage, sandbox: Sandbox, newcomer: int) -> None:
    """The newcomer taps /plan in the welcome message, then /log from the command menu: the
    first item, today, a comment, and a PDF through the file input."""
    page = chat.page
    before = await chat.last_id()
    await page.locator("#messages .msg.from-bot a.cmd[data-command='/plan']").last.click()
    plan = await chat.bot_says("Индивидуальный план на", before)
    assert "Выполнено 0 из" in await chat.text_of(plan)

    # the command menu the bot set for the newcomer once registered
    before = await chat.last_id()
    await page.click("#commands-toggle")
    await page.locator(".command-item[data-command='/log']").click()
    pick = await chat.bot_says("Какое мероприятие вы выполнили", before)
    first = pick.locator("button.inline-btn").first
    title = (await first.inner_text()).strip()
    await first.click()
    ask_date = await chat.bot_says("Когда выполнено", before, button="Сегодня")
    before = await chat.press(ask_date, "Сегодня")
    await chat.bot_says("комментарий", before)
    before = await chat.send("Прошла тренинг, сертификат прилагаю")
    await chat.bot_says("Прикрепите подтверждение", before)
    before = await chat.last_id()
    await page.set_input_files(
        "#composer-file",
        files=[{"name": EVIDENCE_NAME, "mimeType": "application/pdf", "buffer": EVIDENCE}],
    )
    sent = page.locator("#messages .msg.from-user a.doc-download", has_text=EVIDENCE_NAME)
    await sent.first.wait_for(timeout=WAIT * 1000)
    logged = await chat.bot_says("Отмечено", before)
    assert "Выполнено 1 из" in await chat.text_of(logged)

    rows = sandbox.query(
        "SELECT pi.title, pi.status, pi.evidence_name FROM plan_items pi "
        "JOIN individual_plans p ON p.id = pi.plan_id JOIN users u ON u.id = p.user_id "
        "WHERE u.telegram_id = ? AND pi.status = 'done'",
        newcomer,
    )
    assert len(rows) == 1, rows
    assert rows[0][2] == EVIDENCE_NAME
    assert title.startswith(rows[0][0][:20]) or rows[0][0][:20] in title, (title, rows)


async def _consultation_confirmed(
    chat: ChatPage, sandbox: Sandbox, reservist: int, mentor: int
) -> None:
    """Reservist A records a consultation (/consult); the mentor's tab gets the request and
    confirms it; A is told."""
    await chat.open_tab(reservist)
    before = await chat.send("/consult")
    ask = await chat.bot_says("", before, button="Сегодня")
    before = await chat.press(ask, "Сегодня")
    formats = await chat.bot_says("", before, button="очно")
    before = await chat.press(formats, "очно")
    await chat.bot_says("", before)
    before = await chat.send(TOPIC)
    await chat.bot_says("", before)
    before = await chat.send("45")
    note = await chat.bot_says("", before, button="Пропустить")
    before = await chat.press(note, "Пропустить")
    items = await chat.bot_says("", before, button="Без привязки")
    before = await chat.press(items, "Без привязки к плану")
    await chat.bot_says("отправлена на подтверждение", before)
    waiting = before

    await chat.open_tab(mentor)
    request = await chat.bot_says(TOPIC, 0, button="Подтвердить")
    before = await chat.press(request, "Подтвердить")
    await chat.bot_says("Консультация подтверждена", before)

    await chat.open_tab(reservist)
    await chat.bot_says("подтвердил(а) консультацию", waiting)
    rows = sandbox.query("SELECT status FROM consultations WHERE topic = ?", TOPIC)
    assert [r[0] for r in rows] == ["confirmed"], rows


async def _broadcast_to_100_percent(
    chat: ChatPage, sandbox: Sandbox, officer: int, reservist: int
) -> None:
    """/broadcast to everyone without RSVP buttons; the progress message is edited in place
    until it shows 100 %; reservist A's tab shows the announcement."""
    await chat.open_tab(officer)
    before = await chat.send("/broadcast")
    await chat.bot_says("", before)
    before = await chat.send(ANNOUNCEMENT)
    added = await chat.bot_says("", before, button="Готово")
    before = await chat.press(added, "Готово")
    audience = await chat.bot_says("", before, button="Всем")
    before = await chat.press(audience, "Всем")
    rsvp = await chat.bot_says("", before, button="Без кнопок")
    before = await chat.press(rsvp, "Без кнопок")
    preview = await chat.bot_says("", before, button="Отправить")
    # Pressed at once: «Рассылка начинается…» then waits for the chat's 1 message/s, and the
    # leader's broadcast watcher may start the run before that message is stored; the
    # officer's run still ends the message (BroadcastService.run emits the final snapshot).
    before = await chat.press(preview, "Отправить")
    progress = await chat.bot_says("Рассылка №", before)
    message_id = int(await progress.get_attribute("data-message-id") or 0)
    # the same message (edited in place) reaches 100 % and says it is finished
    done = await chat.bot_says("100%", message_id - 1, timeout=120)
    assert int(await done.get_attribute("data-message-id") or 0) == message_id
    text = await chat.text_of(done)
    assert "завершена" in text, text
    sent, total = map(int, re.search(r"Доставлено: (\d+) из (\d+)", text).groups())  # type: ignore[union-attr]
    assert sent == total > 3, text
    assert "изменено" in await done.locator(".msg-meta").inner_text()

    number = int(re.search(r"Рассылка №(\d+)", text).group(1))  # type: ignore[union-attr]
    rows = sandbox.query("SELECT status, total FROM broadcasts WHERE id = ?", number)
    assert rows == [("done", total)], rows
    await chat.open_tab(reservist)
    await chat.bot_says("совещание резерва", 0)


async def _export_with_openpyxl(
    chat: ChatPage, sandbox: Sandbox, officer: int, reservist: int, tmp_path: Path
) -> None:
    """/export: the workbook arrives as a document, downloads from the page and opens with
    openpyxl; its «Резервисты» sheet lists the newcomer and A's figures as stored."""
    page = chat.page
    await chat.open_tab(officer)
    before = await chat.send("/export")
    message = await chat.bot_says("", before, timeout=120)
    link = message.locator("a.doc-download")
    name = (await link.inner_text()).strip()
    assert name.endswith(".xlsx"), name
    assert await link.get_attribute("download") == name
    async with page.expect_download(timeout=WAIT * 1000) as info:
        await link.click()
    download = await info.value
    assert download.suggested_filename == name
    path = tmp_path / "export.xlsx"
    await download.save_as(path)

    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book["Резервисты"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if r and r[0] == "ФИО")
    columns = {h: n for n, h in enumerate(rows[header]) if h}
    people = {r[0]: r for r in rows[header + 1 :] if r and r[0]}
    newcomer = people[NEWCOMER_NAME]
    assert newcomer[columns["Организация"]] == NEWCOMER_SCHOOL
    assert newcomer[columns["Муниципалитет"]] == NEWCOMER_AREA
    assert newcomer[columns["Выполнено"]] == 1

    a = next(p for p in cast().people if p.user_id == reservist)
    a_row = next(r for n, r in people.items() if n.startswith(f"{a.last_name} {a.first_name}"))
    year = datetime.now(MSK).year
    done, confirmed = sandbox.query(
        "SELECT (SELECT count(*) FROM plan_items pi JOIN individual_plans p ON p.id = pi.plan_id "
        "  WHERE p.user_id = u.id AND p.year = ? AND pi.status = 'done'), "
        " (SELECT count(*) FROM consultations c WHERE c.reservist_id = u.id "
        "  AND c.status = 'confirmed') "
        "FROM users u WHERE u.telegram_id = ?",
        year,
        reservist,
    )[0]
    assert a_row[columns["Выполнено"]] == done
    assert a_row[columns["Подтверждённых консультаций"]] == confirmed
    assert len(people) >= 30


async def _reminder_snoozed(chat: ChatPage, sandbox: Sandbox, reservist: int) -> None:
    """The time machine moves the bot to the day before A's next deadline, 10:00 (outside the
    quiet hours): the bot restarts, its reminder scan brings A a reminder, and «Напомнить
    позже» is pressed (the answer shows as a toast; the snooze is stored)."""
    page = chat.page
    title, due = next_deadline(sandbox, reservist)
    target = datetime.combine(due - timedelta(days=1), datetime.min.time().replace(hour=10))
    await chat.open_tab(reservist)
    before = await chat.last_id()
    await page.fill("#time-machine-date", target.strftime("%Y-%m-%dT%H:%M"))
    await page.click("#time-machine-go")
    await page.wait_for_function(
        "() => (document.querySelector('#bot-status')?.textContent || '').includes('перезапуск')",
        timeout=WAIT * 1000,
    )
    await chat.wait_running()
    clock = await page.inner_text("#bot-clock")
    assert str(target.year) in clock, clock

    reminder = await chat.bot_says(title[:40], before, button="Напомнить позже", timeout=120)
    assert f"«{title}» истекает завтра" in await chat.text_of(reminder)
    await chat.press(reminder, "Напомнить позже")
    assert "напомню завтра" in await chat.toast("напомню")
    rows = sandbox.query(
        "SELECT n.occasion, n.not_before FROM notices n JOIN users u ON u.id = n.user_id "
        "WHERE u.telegram_id = ? AND n.kind = 'snoozed'",
        reservist,
    )
    message_id = await reminder.get_attribute("data-message-id")
    assert [r[0] for r in rows] == [f"message:{message_id}"], rows
    assert rows[0][1].startswith((target + timedelta(days=1)).date().isoformat()[:8]), rows


def next_deadline(sandbox: Sandbox, reservist: int) -> tuple[str, date]:
    """A's planned item with the nearest deadline at least five days ahead (so no «due soon»
    notice for it went out at the sandbox's start): its title and due date."""
    today = datetime.now(MSK).date()
    rows = sandbox.query(
        "SELECT coalesce(pi.title, a.title), pi.due_on FROM plan_items pi "  # see PlanItem.title
        "JOIN individual_plans p ON p.id = pi.plan_id JOIN users u ON u.id = p.user_id "
        "LEFT JOIN activities a ON a.id = pi.activity_id "
        "WHERE u.telegram_id = ? AND pi.status = 'planned' AND pi.due_on >= ? "
        "ORDER BY pi.due_on, pi.id LIMIT 1",
        reservist,
        (today + timedelta(days=5)).isoformat(),
    )
    assert rows, "reservist A has no planned item with a deadline ahead"
    return rows[0][0], date.fromisoformat(rows[0][1])
