"""Officers' reports: /export (Excel or CSV), /kpi (indicators and a chart) and /report (the
year-end «Анализ результативности исполнения индивидуального плана» with the interview's
conclusion). Every report covers the officer's scope only (a municipal officer: their
municipality; a regional officer: everyone)."""

from __future__ import annotations

import asyncio
import importlib
from datetime import date
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.services.errors import NotFoundError
from bot.services.exports import ExportService
from bot.services.indicators import IndicatorService
from bot.services.mentoring import Pool
from bot.services.scope import officer_municipality
from bot.services.validation import ascii_number
from bot.services.year_report import YearReportService, build_year_report, report_filename
from bot.texts import reports as tr
from handlers.callbacks import Id, Number
from handlers.common import Target, callback_target
from handlers.dates import Clock
from handlers.filters import HasRole
from handlers.picker import PeopleCb, PeoplePicker
from handlers.states import BroadcastFlow
from storage.models import Role, User
from storage.repo import Repo

CHART_GROUPS = 12
CHARTS = "bot.services.charts"
YEARS_BACK = 10


class ReportCb(CallbackData, prefix="rpt"):
    """A button under a year-end report: ``conclude`` (type the interview's conclusion)."""

    action: str
    user_id: Id
    year: Number


class ReportFlow(StatesGroup):
    """/report: picking a reservist (typed text searches), typing the conclusion."""

    pick = State()
    conclusion = State()


def setup() -> Router:
    """The router of this module; every handler needs the officer role. Its list buttons are
    ``PeopleCb`` with purpose ``rp``; included before the mentoring router, so they reach it
    even if another router's page handler took every purpose."""
    router = Router(name="reports")
    router.message.filter(HasRole(Role.OFFICER))
    router.callback_query.filter(HasRole(Role.OFFICER))
    router.message.register(export, Command("export"))
    router.message.register(kpi, Command("kpi"))
    router.message.register(report_start, Command("report"))
    router.message.register(RESERVISTS.search, ReportFlow.pick, ~F.text.startswith("/"))
    router.callback_query.register(RESERVISTS.turn, RESERVISTS.buttons("page"))
    router.callback_query.register(report_pick, RESERVISTS.buttons("pick"))
    router.callback_query.register(conclusion_start, ReportCb.filter(F.action == "conclude"))
    router.message.register(conclusion_text, ReportFlow.conclusion)
    return router


async def leave_dialogue(state: FSMContext) -> None:
    """A one-shot command ends the dialogue in progress, except a broadcast being composed:
    its draft waits for more messages or «Готово» after the command's answer."""
    if await state.get_state() != BroadcastFlow.compose.state:
        await state.clear()


def _year(word: str, this_year: int) -> int | None:
    """A four-digit year within the last :data:`YEARS_BACK` years or the next one."""
    year = ascii_number(word) if len(word) == 4 else None
    if year is not None and this_year - YEARS_BACK <= year <= this_year + 1:
        return year
    return None


def parse_export_args(args: str | None, this_year: int) -> tuple[bool, int] | None:
    """``[csv|xlsx] [YEAR]`` in any order → (CSV wanted, year), or None when unreadable."""
    as_csv, year = False, this_year
    for word in (args or "").casefold().split():
        if word in {"csv", "xlsx", "excel"}:
            as_csv = word == "csv"
        elif (found := _year(word, this_year)) is not None:
            year = found
        else:
            return None
    return as_csv, year


def parse_report_args(args: str | None, this_year: int) -> tuple[int, str | None]:
    """``[YEAR] [part of a name]`` → (year, query or None)."""
    words = (args or "").split()
    year = this_year
    if words and (found := _year(words[0], this_year)) is not None:
        year, words = found, words[1:]
    return year, " ".join(words) or None


# --- /export --------------------------------------------------------------------------------
async def export(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    repo: Repo,
    user: User,
    bot: Bot,
    clock: Clock,
    today: date,
    zone: ZoneInfo,
) -> None:
    """/export [csv] [YEAR]: the workbook (or the CSV of reservists) of the officer's scope,
    built in a child process that reads the database itself; a failure is answered by the error
    router (logged by the service, nothing recorded)."""
    parsed = parse_export_args(command.args, today.year)
    if parsed is None:
        await leave_dialogue(state)
        await message.answer(tr.export_usage(today.year - YEARS_BACK, today.year + 1))
        return
    as_csv, year = parsed
    area = officer_municipality(user)
    # a region's workbook takes seconds: Telegram shows «отправляет файл…» meanwhile. The
    # dialogue in progress is ended after the build, not before: ending it writes, and this
    # update's transaction would hold SQLite's one write lock (every other user's write)
    # through the build, as nothing is committed before the answer below.
    # A failed build (ExportError) is answered by the error router; the dialogue stays then.
    async with ChatActionSender.upload_document(bot=bot, chat_id=message.chat.id):
        built = await ExportService(repo).export(
            user.id,
            area,
            year,
            today=today,
            zone=zone,
            now=clock(),
            csv_format=as_csv,
        )
    await leave_dialogue(state)
    await message.answer_document(
        BufferedInputFile(built.content, filename=built.filename),
        caption=tr.export_caption(year, area, built.rows),
    )


# --- /kpi -----------------------------------------------------------------------------------
async def kpi(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """/kpi [YEAR]: K, O and D of each indicator, then the chart by municipality (regional
    officer) or by organisation (municipal officer). The dialogue in progress ends just before
    the first answer, which commits it: not before the queries, which would then run inside a
    write transaction (SQLite's one write lock)."""
    year = today.year
    if command.args:
        found = _year(command.args.strip(), today.year)
        if found is None:
            await leave_dialogue(state)
            await message.answer(
                f"{tr.YEAR_USAGE} {tr.bad_year(today.year - YEARS_BACK, today.year + 1)}"
            )
            return
        year = found
    area = officer_municipality(user)
    # matplotlib (a second of CPU, ~45 MiB) is imported by the first /kpi, not at the bot's
    # start: in a worker thread while the indicators are read (the database works meanwhile)
    charts = asyncio.ensure_future(asyncio.to_thread(importlib.import_module, CHARTS))
    report = await IndicatorService(repo).report(area, year, today, group_limit=CHART_GROUPS)
    await leave_dialogue(state)
    if report.people == 0:
        charts.cancel()  # the import goes on in its thread, for the next /kpi
        await message.answer(tr.KPI_EMPTY)
        return
    lines = [tr.kpi_header(year, area), ""]
    lines += [
        tr.kpi_line(n, i.title, i.k, i.o, i.d, i.target)
        for n, i in enumerate(report.indicators, start=1)
    ]
    lines += ["", tr.KPI_FOOTER]
    await message.answer("\n".join(lines))
    chart = (await charts).indicators_chart
    png = await asyncio.to_thread(chart, report.groups, tr.chart_title(year, area))
    await message.answer_photo(
        BufferedInputFile(png, filename=f"kpi-{year}.png"),
        caption=tr.kpi_chart_caption(year, report.by == "organisation"),
    )


# --- /report --------------------------------------------------------------------------------
def conclusion_keyboard(reservist_id: int, year: int) -> InlineKeyboardMarkup:
    """«Заключение по итогам собеседования» under a year-end report."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=tr.BTN_CONCLUSION,
        callback_data=ReportCb(action="conclude", user_id=reservist_id, year=year),
    )
    return kb.as_markup()


async def _send_report(
    target: Target,
    repo: Repo,
    user: User,
    today: date,
    zone: ZoneInfo,
    reservist_id: int,
    year: int,
) -> None:
    """Build the reservist's year-end report (``today`` and ``zone``: the officer's) and send
    it with the conclusion button.

    Raises:
        NotFoundError: the reservist is out of the officer's scope (or gone).
    """
    service = YearReportService(repo)
    data = await service.collect(officer_municipality(user), reservist_id, year, today, zone)
    content = await asyncio.to_thread(build_year_report, data)
    await service.record_issue(user.id, reservist_id, year)
    await target.answer_document(
        BufferedInputFile(content, filename=report_filename(data.full_name, year)),
        caption=tr.report_caption(data.full_name, year),
        reply_markup=conclusion_keyboard(reservist_id, year) if data.has_plan else None,
    )


#: /report's list of the officer's reservists (with a year-end report to build).
RESERVISTS = PeoplePicker(
    "rp", tr.PICK_FOR_REPORT, Pool(Role.RESERVIST), empty=tr.NO_RESERVISTS_IN_SCOPE
)


async def report_start(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
    zone: ZoneInfo,
) -> None:
    """/report [YEAR] [part of a name]: one match gets the report at once; otherwise the
    searchable list of the officer's reservists. A dialogue in progress ends after the report
    is built (ending it writes, and the write transaction would hold SQLite's one write lock
    through the build)."""
    year, query = parse_report_args(command.args, today.year)
    found = await RESERVISTS.find(repo, user, query, 1)
    if query and found.total == 1:
        await _send_report(message, repo, user, today, zone, found.people[0].id, year)
        await state.clear()
        return
    await state.clear()
    if found.pool:
        await state.set_state(ReportFlow.pick)
        await state.update_data({"year": year, RESERVISTS.query_key: query})
    await RESERVISTS.render(message, found, query)


async def report_pick(
    query: CallbackQuery,
    callback_data: PeopleCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
    zone: ZoneInfo,
) -> None:
    """A reservist picked: their year-end report."""
    target = callback_target(query)
    data = await state.get_data()
    year = int(data.get("year") or today.year)
    await YearReportService(repo).reservist(officer_municipality(user), callback_data.value)
    await query.answer()
    await state.clear()
    await _send_report(target, repo, user, today, zone, callback_data.value, year)


async def conclusion_start(
    query: CallbackQuery, callback_data: ReportCb, state: FSMContext, repo: Repo, user: User
) -> None:
    """«Заключение по итогам собеседования»: ask for the text."""
    target = callback_target(query)
    service = YearReportService(repo)
    area = officer_municipality(user)
    await service.reservist(area, callback_data.user_id)
    try:
        person, current = await service.current_conclusion(
            area, callback_data.user_id, callback_data.year
        )
    except NotFoundError:  # no plan that year
        await query.answer(tr.NO_PLAN, show_alert=True)
        return
    await query.answer()
    await state.set_state(ReportFlow.conclusion)
    await state.update_data(user_id=person.id, year=callback_data.year)
    await target.answer(
        tr.conclusion_ask(person.full_name or tr.ANONYMISED, callback_data.year, current)
    )


async def conclusion_text(
    message: Message,
    state: FSMContext,
    repo: Repo,
    user: User,
    clock: Clock,
    today: date,
    zone: ZoneInfo,
) -> None:
    """The conclusion typed: stored (10-3000 characters), then the updated report is sent."""
    data = await state.get_data()
    reservist_id, year = int(data["user_id"]), int(data["year"])
    service = YearReportService(repo)
    try:
        await service.save_conclusion(
            user.id, officer_municipality(user), reservist_id, year, message.text, clock()
        )
    except NotFoundError:  # the reservist is gone: the dialogue ends
        await state.clear()
        await message.answer(texts.STALE_BUTTON)
        return
    await state.clear()
    person = await service.reservist(officer_municipality(user), reservist_id)
    await message.answer(tr.conclusion_saved(person.full_name or tr.ANONYMISED))
    await _send_report(message, repo, user, today, zone, reservist_id, year)
