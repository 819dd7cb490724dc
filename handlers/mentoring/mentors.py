"""The mentor's view: /mentees with progress, a mentee's plan and item cards; the mentor
confirms items, reads the evidence and comments (the reservist is told)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot import texts
from bot.services.errors import NotFoundError
from bot.services.mentoring import MentoringService, confirmable
from bot.services.paging import cut_page
from bot.services.plans import PlanService
from bot.telegram import tell
from handlers.callbacks import CommentsCb, ListPageCb, MenteeCb, MenteePlanCb
from handlers.cards import render_comments_page, render_item_card
from handlers.common import asking_again, callback_message, callback_target
from handlers.dates import Clock
from handlers.keyboards import (
    mentee_plan_keyboard,
    mentees_keyboard,
    mentor_item_keyboard,
    older_comments_keyboard,
)
from handlers.mentoring.shared import LIST_PAGE, MENTOR, PARTIES, stamp
from handlers.states import CommentFlow
from storage.models import PlanItem, Role, User
from storage.repo import Repo


def register(router: Router) -> None:
    """Add the mentors' handlers to ``router``; each handler names the roles it serves."""
    router.message.register(mentees, Command("mentees"), MENTOR)
    router.callback_query.register(mentees_page, ListPageCb.filter(F.kind == "mentees"), MENTOR)
    router.callback_query.register(mentee_plan_page, MenteePlanCb.filter(), MENTOR)
    router.callback_query.register(older_comments, CommentsCb.filter(), PARTIES)
    router.callback_query.register(mentee_open, MenteeCb.filter(F.action == "open"), MENTOR)
    router.callback_query.register(mentee_item, MenteeCb.filter(F.action == "item"), MENTOR)
    router.callback_query.register(confirm_item, MenteeCb.filter(F.action == "confirm"), MENTOR)
    router.callback_query.register(show_evidence, MenteeCb.filter(F.action == "evidence"), MENTOR)
    router.callback_query.register(comment_start, MenteeCb.filter(F.action == "comment"), MENTOR)
    router.message.register(comment_text, CommentFlow.text, MENTOR)


async def mentees(
    message: Message, repo: Repo, user: User, clock: Clock, today: date, zone: ZoneInfo
) -> None:
    """/mentees: each mentee with progress, :data:`LIST_PAGE` a page; buttons open their
    plans."""
    page = await _mentees_page(repo, user, clock, today, zone, 1)
    if page is None:
        await message.answer(texts.MENTEES_EMPTY)
        return
    await message.answer(page[0], reply_markup=page[1])


async def mentees_page(
    query: CallbackQuery,
    callback_data: ListPageCb,
    repo: Repo,
    user: User,
    clock: Clock,
    today: date,
    zone: ZoneInfo,
) -> None:
    """Paging of /mentees (edits the message in place)."""
    message = callback_message(query)
    await query.answer()
    page = await _mentees_page(repo, user, clock, today, zone, callback_data.page)
    if page is None:
        await message.answer(texts.MENTEES_EMPTY)
    else:
        await message.edit_text(page[0], reply_markup=page[1])


async def _mentees_page(
    repo: Repo, user: User, clock: Clock, today: date, zone: ZoneInfo, number: int
) -> tuple[str, InlineKeyboardMarkup] | None:
    progress = await MentoringService(repo).mentees_progress(user, today)
    if not progress:
        return None
    now = clock()
    chunk, number, pages = cut_page(progress, number, LIST_PAGE)
    lines = [texts.mentees_header(len(progress)), ""]
    for p in chunk:
        lines.append(
            texts.mentee_line(
                p.user.full_name or "—",
                p.done,
                p.total,
                p.confirmed,
                p.overdue,
                p.consultations,
                stamp(p.last_activity, zone),
                p.stalled(now),
            )
        )
    if pages > 1:
        lines += ["", texts.list_page_footer(number, pages)]
    entries = [(p.user.id, p.user.full_name or "—") for p in chunk]
    return "\n".join(lines), mentees_keyboard(entries, number, pages)


async def mentee_open(
    query: CallbackQuery,
    callback_data: MenteeCb,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """A mentee's plan: done vs confirmed; its first page."""
    await _mentee_plan(query, callback_data.id, 1, repo, user, today)


async def mentee_plan_page(
    query: CallbackQuery,
    callback_data: MenteePlanCb,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """Another page of a mentee's plan."""
    await _mentee_plan(query, callback_data.id, callback_data.page, repo, user, today)


async def _mentee_plan(
    query: CallbackQuery,
    mentee_id: int,
    number: int,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """Page ``number`` of the plan of ``mentee_id`` (the mentor's ``user``'s mentee) as of the
    mentor's ``today``."""
    target = callback_target(query)
    reservist = await MentoringService(repo).check_mentee(user, mentee_id)
    await query.answer()
    view = await PlanService(repo).view(reservist, today.year, today)
    confirmed = sum(1 for i in view.items if i.confirmed_at is not None)
    lines = [
        texts.mentee_plan_header(
            reservist.full_name or "—", view.year, view.done, view.total, confirmed
        ),
        "",
    ]
    number, items = view.page(number)
    for item in items:
        lines.append(
            texts.plan_line(
                view.statuses[item.id],
                item.title,
                texts.when_text(item.starts_on, item.due_on),
                item.done_on,
                confirmed=item.confirmed_at is not None,
            )
        )
    if view.pages > 1:
        lines += ["", texts.plan_page_footer(number, view.pages)]
    entries = [(i.id, view.statuses[i.id], i.title) for i in items]
    markup = mentee_plan_keyboard(entries, reservist.id, number, view.pages)
    await target.answer("\n".join(lines), reply_markup=markup)


async def mentee_item(
    query: CallbackQuery,
    callback_data: MenteeCb,
    repo: Repo,
    user: User,
    today: date,
    zone: ZoneInfo,
) -> None:
    """A mentee's item card for the mentor, with confirm / evidence / comment buttons."""
    target = callback_target(query)
    item, owner = await MentoringService(repo).mentee_item(user, callback_data.id)
    await query.answer()
    card = await render_item_card(repo, item, user, today, zone)
    markup = mentor_item_keyboard(
        item.id,
        owner.id,
        can_confirm=confirmable(item) and item.confirmed_at is None,
        has_evidence=item.evidence_file_id is not None,
        older=card.older,
    )
    await target.answer(card.text, reply_markup=markup)


async def older_comments(
    query: CallbackQuery,
    callback_data: CommentsCb,
    repo: Repo,
    user: User,
    zone: ZoneInfo,
) -> None:
    """«Более ранние комментарии» of an item card: the reservist's own item, or a mentee's
    item for the mentor."""
    target = callback_target(query)
    item: PlanItem | None
    if user.role == Role.MENTOR:
        try:
            item, _owner = await MentoringService(repo).mentee_item(user, callback_data.item_id)
        except NotFoundError:
            item = None
    else:
        item = await repo.plans.item_of_user(callback_data.item_id, user.id)
    if item is None or callback_data.before < 1:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    page = await render_comments_page(repo, item, user, zone, callback_data.before)
    await target.answer(page.text, reply_markup=older_comments_keyboard(item.id, page.older))


async def confirm_item(
    query: CallbackQuery, callback_data: MenteeCb, repo: Repo, user: User, bot: Bot, clock: Clock
) -> None:
    """«Подтвердить выполнение»: the reservist is told."""
    item, owner = await MentoringService(repo).confirm_item(user, callback_data.id, clock())
    await query.answer(texts.ITEM_CONFIRMED_OK)
    await tell(bot, repo, owner, texts.item_confirmed(item.title, user.full_name or "—"))


async def show_evidence(
    query: CallbackQuery, callback_data: MenteeCb, repo: Repo, user: User, bot: Bot
) -> None:
    """Send the mentor the file the reservist attached (by its Telegram file_id)."""
    item, _owner = await MentoringService(repo).mentee_item(user, callback_data.id)
    if item.evidence_file_id is None or user.telegram_id is None:
        await query.answer(texts.NO_EVIDENCE, show_alert=True)
        return
    await query.answer()
    if item.evidence_kind == "photo":
        await bot.send_photo(user.telegram_id, item.evidence_file_id, caption=item.title[:1000])
    else:
        await bot.send_document(user.telegram_id, item.evidence_file_id, caption=item.title[:1000])


async def comment_start(
    query: CallbackQuery, callback_data: MenteeCb, state: FSMContext, repo: Repo, user: User
) -> None:
    """«Комментарий»: ask for the text."""
    target = callback_target(query)
    await MentoringService(repo).mentee_item(user, callback_data.id)
    await query.answer()
    await state.set_state(CommentFlow.text)
    await state.update_data(item_id=callback_data.id)
    await target.answer(texts.COMMENT_ASK)


async def comment_text(
    message: Message, state: FSMContext, repo: Repo, user: User, bot: Bot, clock: Clock
) -> None:
    """The comment: saved and sent to the reservist."""
    data = await state.get_data()
    try:
        with asking_again(texts.COMMENT_ASK):
            item, owner, text = await MentoringService(repo).comment_item(
                user, int(data["item_id"]), message.text, clock()
            )
    except NotFoundError:  # the item is gone: the dialogue ends
        await state.clear()
        await message.answer(texts.STALE_BUTTON)
        return
    await state.clear()
    await message.answer(texts.COMMENT_SAVED)
    await tell(bot, repo, owner, texts.item_commented(item.title, user.full_name or "—", text))
