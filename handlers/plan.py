"""The reservist's plan: /plan (paged), item cards, /log, /plan add, and reminder buttons."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot import texts
from bot.services.errors import InputError, NotFoundError
from bot.services.plans import PlanService, PlanView, display_status
from bot.services.reminders import snooze
from bot.services.validation import ascii_number, clean_text, column_length
from bot.telegram import ItemCb
from handlers.callbacks import LogStepCb, MonthCb, PlanPageCb
from handlers.cards import render_item_card
from handlers.common import Target, asking_again, callback_message, callback_target
from handlers.dates import Clock, DateStep
from handlers.filters import HasRole
from handlers.keyboards import (
    item_keyboard,
    months_keyboard,
    pick_items_keyboard,
    plan_keyboard,
    skip_keyboard,
)
from handlers.states import AddItem, LogItem
from storage.models import PlanItem, Role, User
from storage.repo import Repo


def setup() -> Router:
    """The router of this module; every handler needs the reservist role."""
    router = Router(name="plan")
    router.message.filter(HasRole(Role.RESERVIST))
    router.callback_query.filter(HasRole(Role.RESERVIST))
    router.message.register(plan_add_start, Command("plan"), F.text.regexp(r"^/plan(@\w+)?\s+add"))
    router.message.register(show_plan, Command("plan"))
    router.callback_query.register(plan_page, PlanPageCb.filter())
    router.message.register(log_start, Command("log"))
    router.callback_query.register(open_item, ItemCb.filter(F.action == "open"))
    router.callback_query.register(start_logging, ItemCb.filter(F.action.in_({"done", "correct"})))
    router.callback_query.register(reopen_item, ItemCb.filter(F.action == "reopen"))
    router.callback_query.register(snooze_item, ItemCb.filter(F.action == "later"))
    DATE.register(router, log_date)
    router.callback_query.register(log_skip_comment, LogItem.comment, LogStepCb.filter())
    router.message.register(log_comment, LogItem.comment)
    router.callback_query.register(log_skip_evidence, LogItem.evidence, LogStepCb.filter())
    router.message.register(log_evidence, LogItem.evidence)
    router.message.register(add_title, AddItem.title)
    router.callback_query.register(add_month, AddItem.month, MonthCb.filter())
    router.message.register(add_month_typed, AddItem.month)
    return router


def render_plan(view: PlanView, page: int) -> tuple[str, list[tuple[int, str, str]], int]:
    """Page ``page`` of ``view`` (clamped to the pages there are): the message's text, the
    page's items as (id, status, title) for :func:`handlers.keyboards.plan_keyboard`, and the
    page shown."""
    page, items = view.page(page)
    lines = [texts.plan_header(view.year, view.done, view.total, view.overdue), ""]
    entries = []
    for item in items:
        status = view.statuses[item.id]
        lines.append(
            texts.plan_line(
                status,
                item.title,
                texts.when_text(item.starts_on, item.due_on),
                item.done_on,
                confirmed=item.confirmed_at is not None,
            )
        )
        entries.append((item.id, status, item.title))
    if not items:
        lines.append(texts.PLAN_EMPTY)
    elif view.pages > 1:
        lines += ["", texts.plan_page_footer(page, view.pages)]
    return "\n".join(lines), entries, page


async def show_plan(
    message: Message,
    command: CommandObject,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """/plan [YEAR]: the plan of this year (or of last or next year), first page."""
    year = today.year
    if command.args:
        asked = ascii_number(command.args)
        if asked is None or not today.year - 1 <= asked <= today.year + 1:
            await message.answer(texts.plan_year_usage(today.year))
            return
        year = asked
    view = await PlanService(repo).view(user, year, today)
    text, entries, page = render_plan(view, 1)
    await message.answer(
        text, reply_markup=plan_keyboard(entries, page, view.pages, year=view.year)
    )


async def plan_page(
    query: CallbackQuery,
    callback_data: PlanPageCb,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """Paging of /plan (edits the message in place)."""
    message = callback_message(query)
    year = callback_data.year or today.year
    if abs(year - today.year) > 1:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    view = await PlanService(repo).view(user, year, today)
    text, entries, page = render_plan(view, callback_data.page)
    await message.edit_text(text, reply_markup=plan_keyboard(entries, page, view.pages, year=year))


async def open_item(
    query: CallbackQuery,
    callback_data: ItemCb,
    repo: Repo,
    user: User,
    today: date,
    zone: ZoneInfo,
) -> None:
    """An item's card with its history, the mentor's confirmation and comments, and actions."""
    target = callback_target(query)
    item = await PlanService(repo).item(user, callback_data.item_id)
    await query.answer()
    card = await render_item_card(repo, item, user, today, zone)
    status = display_status(item, today)
    await target.answer(
        card.text,
        reply_markup=item_keyboard(item.id, status, callback_data.page, card.older),
    )


async def log_start(message: Message, repo: Repo, user: User, today: date) -> None:
    """/log: pick an open item of the plan."""
    view = await PlanService(repo).view(user, today.year, today)
    entries = [(i.id, view.statuses[i.id], i.title) for i in view.loggable()]
    if not entries:
        await message.answer(texts.LOG_NOTHING if view.items else texts.PLAN_EMPTY)
        return
    await message.answer(texts.LOG_PICK, reply_markup=pick_items_keyboard(entries))


async def start_logging(
    query: CallbackQuery, callback_data: ItemCb, state: FSMContext, repo: Repo, user: User
) -> None:
    """«Отметить выполненным» / «Исправить отметку»: ask for the date."""
    target = callback_target(query)
    item = await PlanService(repo).item(user, callback_data.item_id)
    correcting = callback_data.action == "correct"
    if item.status == "done" and not correcting:
        await query.answer(texts.ITEM_ALREADY_DONE, show_alert=True)
        return
    if item.status != "done" and correcting:
        await query.answer(texts.ITEM_NOT_DONE, show_alert=True)
        return
    await query.answer()
    await state.set_data({"item_id": item.id, "title": item.title})
    await DATE.ask(target, state, texts.log_ask_date(item.title))


async def _after_date(target: Target, state: FSMContext, done_on: date) -> None:
    await state.update_data(done_on=done_on.isoformat())
    await state.set_state(LogItem.comment)
    await target.answer(texts.LOG_ASK_COMMENT, reply_markup=skip_keyboard())


#: The completion date: «Сегодня» or a typed one.
DATE = DateStep(LogItem.date, _after_date)


async def log_date(
    message: Message,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """A typed completion date (ДД.ММ.ГГГГ): not in the future, not before the plan year."""
    data = await state.get_data()
    service = PlanService(repo)
    try:
        item = await service.item(user, int(data["item_id"]))
    except NotFoundError:  # the item is gone: the dialogue ends
        await state.clear()
        await message.answer(texts.STALE_BUTTON)
        return
    await DATE.typed(message, state, today, earliest=await service.earliest_date(item))


async def log_skip_comment(query: CallbackQuery, state: FSMContext) -> None:
    """«Пропустить» the comment."""
    target = callback_target(query)
    await query.answer()
    await state.update_data(comment=None)
    await state.set_state(LogItem.evidence)
    await target.answer(texts.LOG_ASK_EVIDENCE, reply_markup=skip_keyboard())


async def log_comment(message: Message, state: FSMContext) -> None:
    """The comment (up to 1000 characters)."""
    try:
        comment = clean_text(message.text, 1, 1000)
    except InputError as exc:
        text = texts.BAD_COMMENT_LONG if message.text and len(message.text) > 1000 else exc.message
        await message.answer(text, reply_markup=skip_keyboard())
        return
    await state.update_data(comment=comment)
    await state.set_state(LogItem.evidence)
    await message.answer(texts.LOG_ASK_EVIDENCE, reply_markup=skip_keyboard())


async def log_skip_evidence(
    query: CallbackQuery,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """«Пропустить» the evidence: save."""
    target = callback_target(query)
    await query.answer()
    await _save(target, state, repo, user, today, None)


async def log_evidence(
    message: Message,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """A photo or a document as evidence (kept by Telegram file_id): save."""
    evidence: tuple[str, str, str | None]
    if message.photo:
        evidence = (message.photo[-1].file_id, "photo", None)
    elif message.document:
        # the file's name as the card shows it: no NUL, no longer than its column
        name = (message.document.file_name or "").replace("\x00", "")
        limit = column_length(PlanItem.evidence_name)
        evidence = (message.document.file_id, "document", texts.cut(name, limit) or None)
    else:
        await message.answer(texts.BAD_EVIDENCE, reply_markup=skip_keyboard())
        return
    await _save(message, state, repo, user, today, evidence)


async def _save(
    target: Target,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
    evidence: tuple[str, str, str | None] | None,
) -> None:
    data = await state.get_data()
    service = PlanService(repo)
    try:
        item = await service.mark_done(
            user,
            int(data["item_id"]),
            done_on=date.fromisoformat(data["done_on"]),
            comment=data.get("comment"),
            evidence=evidence,
            today=today,
        )
    except (NotFoundError, InputError):
        await state.clear()
        await target.answer(texts.STALE_BUTTON)
        return
    await state.clear()
    view = await service.view(user, item.due_on.year if item.due_on else today.year, today)
    events = await service.history(item)
    if events and events[-1][1] == "corrected":
        await target.answer(texts.corrected(item.title))
    else:
        await target.answer(texts.logged(item.title, view.done, view.total))


async def reopen_item(query: CallbackQuery, callback_data: ItemCb, repo: Repo, user: User) -> None:
    """«Открыть заново»: the item is planned again; the completion stays in the history."""
    target = callback_target(query)
    try:
        await PlanService(repo).reopen(user, callback_data.item_id)
    except InputError:  # not done
        await query.answer(texts.ITEM_NOT_DONE, show_alert=True)
        return
    await query.answer()
    await target.answer(texts.ITEM_REOPENED)


async def snooze_item(
    query: CallbackQuery, callback_data: ItemCb, repo: Repo, user: User, clock: Clock
) -> None:
    """«Напомнить позже» under a reminder: it comes back in a day; pressing the same reminder's
    button again changes nothing («Уже отложено»)."""
    occasion = f"message:{query.message.message_id}" if query.message else f"query:{query.id}"
    snoozed = await snooze(repo, user, callback_data.item_id, clock(), occasion)
    if snoozed is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer(texts.SNOOZED if snoozed else texts.SNOOZED_ALREADY)


async def plan_add_start(
    message: Message,
    state: FSMContext,
    command: CommandObject,
    today: date,
) -> None:
    """/plan add [title]: start adding a personal item."""
    title = (command.args or "").strip()[3:].strip()
    await state.clear()
    if title:
        try:
            await state.update_data(title=clean_text(title, 3, 300))
        except InputError:
            pass
        else:
            await state.set_state(AddItem.month)
            await message.answer(
                texts.ADD_ASK_MONTH,
                reply_markup=months_keyboard(today),
            )
            return
    await state.set_state(AddItem.title)
    await message.answer(texts.ADD_ASK_TITLE)


async def add_title(message: Message, state: FSMContext, today: date) -> None:
    """The personal item's title."""
    with asking_again(texts.ADD_ASK_TITLE):
        title = clean_text(message.text, 3, 300)
    await state.update_data(title=title)
    await state.set_state(AddItem.month)
    await message.answer(texts.ADD_ASK_MONTH, reply_markup=months_keyboard(today))


async def add_month(
    query: CallbackQuery,
    callback_data: MonthCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """The due month: add the item."""
    target = callback_target(query)
    valid_months = {
        (today.year + (today.month + k - 1) // 12, (today.month + k - 1) % 12 + 1)
        for k in range(12)
    }
    if (callback_data.year, callback_data.month) not in valid_months:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    data = await state.get_data()
    await PlanService(repo).add_personal(
        user, data["title"], callback_data.month, callback_data.year, today
    )
    await state.clear()
    await target.answer(texts.added(data["title"], callback_data.month, callback_data.year))


async def add_month_typed(message: Message, today: date) -> None:
    """Text instead of a month button: ask again."""
    await message.answer(texts.BAD_MONTH, reply_markup=months_keyboard(today))
