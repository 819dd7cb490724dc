"""Officers manage the roadmap in the bot: /roadmap lists the activities (paged), an activity
card edits or removes one, «Добавить» adds one, and a .docx / .txt document sent to the bot is
imported as the new roadmap (the command-line importer's rules).

A regional officer works on the regional roadmap; a municipal officer on their municipality's
own one, or sees the region's it follows (read only, the reason said at every press)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from io import BytesIO
from pathlib import PurePath

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.services.errors import NotFoundError
from bot.services.file_limits import MAX_FILE_BYTES
from bot.services.paging import cut_page
from bot.services.roadmap_admin import DOCUMENT_SUFFIXES, RoadmapAdmin
from bot.services.scope import may_edit_activity, roadmap_area
from bot.telegram import short
from bot.texts import files as tf
from bot.texts import roadmap as tr
from bot.texts import scope as ts
from handlers.callbacks import ActivityCb
from handlers.common import asking_again, callback_message, callback_target
from handlers.filters import HasRole
from handlers.states import RoadmapFlow
from storage.models import Activity, Role, User
from storage.repo import Repo

PAGE = 8


def setup() -> Router:
    """The router of this module; officers only."""
    router = Router(name="roadmap")
    router.message.filter(HasRole(Role.OFFICER))
    router.callback_query.filter(HasRole(Role.OFFICER))
    router.message.register(show_roadmap, Command("roadmap"))
    router.callback_query.register(page, ActivityCb.filter(F.action == "page"))
    router.callback_query.register(open_activity, ActivityCb.filter(F.action == "open"))
    router.callback_query.register(
        start_edit, ActivityCb.filter(F.action.in_({"add", "rename", "reschedule"}))
    )
    router.callback_query.register(
        toggle, ActivityCb.filter(F.action.in_({"flag_res", "flag_conf"}))
    )
    router.callback_query.register(remove, ActivityCb.filter(F.action == "remove"))
    router.callback_query.register(pick_kind, ActivityCb.filter(F.action == "kinds"))
    router.callback_query.register(set_kind, ActivityCb.filter(F.action.startswith("kind_")))
    router.message.register(add_title, RoadmapFlow.add_title)
    router.message.register(add_schedule, RoadmapFlow.add_schedule)
    router.message.register(edit_activity, StateFilter(RoadmapFlow.rename, RoadmapFlow.reschedule))
    router.message.register(
        import_document, StateFilter(None), F.document.func(_is_roadmap_document)
    )
    return router


def _is_roadmap_document(document: object) -> bool:
    name = getattr(document, "file_name", None) or ""
    return PurePath(name).suffix.casefold() in DOCUMENT_SUFFIXES


def _list_keyboard(
    activities: Sequence[Activity], page_no: int, pages: int
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for activity in activities:
        mark = "" if activity.for_reservists else "· "
        kb.button(
            text=short(f"{mark}{activity.title}"),
            callback_data=ActivityCb(action="open", id=activity.id),
        )
    kb.button(text=texts.BTN_ADD_ACTIVITY, callback_data=ActivityCb(action="add"))
    kb.adjust(1)
    nav = InlineKeyboardBuilder()
    if page_no > 1:
        nav.button(text=texts.BTN_PREV, callback_data=ActivityCb(action="page", id=page_no - 1))
    if page_no < pages:
        nav.button(text=texts.BTN_NEXT, callback_data=ActivityCb(action="page", id=page_no + 1))
    kb.attach(nav)
    return kb.as_markup()


def _scope_line(user: User, own: bool) -> str:
    area = roadmap_area(user)
    if area is None:
        return ts.ROADMAP_REGIONAL
    return ts.roadmap_own(area) if own else ts.roadmap_follows_region(area)


async def _render_list(
    target: Message, repo: Repo, user: User, page_no: int, *, edit: bool
) -> None:
    activities, own = await RoadmapAdmin(repo, user).roadmap()
    chunk, page_no, pages = cut_page(activities, page_no, PAGE)
    text = (
        texts.roadmap_header(len(activities), page_no, pages)
        if activities
        else texts.ROADMAP_EMPTY
    )
    text = f"{_scope_line(user, own)}\n\n{text}"
    markup = _list_keyboard(chunk, page_no, pages)
    if edit:
        await target.edit_text(text, reply_markup=markup)
    else:
        await target.answer(text, reply_markup=markup)


async def show_roadmap(message: Message, state: FSMContext, repo: Repo, user: User) -> None:
    """/roadmap: the activities of the officer's roadmap, paged."""
    await state.clear()
    await _render_list(message, repo, user, 1, edit=False)


async def page(query: CallbackQuery, callback_data: ActivityCb, repo: Repo, user: User) -> None:
    """Paging of /roadmap."""
    message = callback_message(query)
    await query.answer()
    await _render_list(message, repo, user, callback_data.id, edit=True)


def _card_keyboard(activity: Activity, editable: bool = True) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if not editable:  # the regional roadmap a municipality follows: read only
        kb.button(text=texts.BTN_TO_ROADMAP, callback_data=ActivityCb(action="page", id=1))
        return kb.as_markup()
    kb.button(text=texts.BTN_RENAME, callback_data=ActivityCb(action="rename", id=activity.id))
    kb.button(
        text=texts.BTN_RESCHEDULE, callback_data=ActivityCb(action="reschedule", id=activity.id)
    )
    kb.button(
        text=texts.flag_button(texts.FLAG_FOR_RESERVISTS, activity.for_reservists),
        callback_data=ActivityCb(action="flag_res", id=activity.id),
    )
    kb.button(
        text=texts.flag_button(texts.FLAG_NEEDS_CONFIRMATION, activity.needs_confirmation),
        callback_data=ActivityCb(action="flag_conf", id=activity.id),
    )
    kb.button(text=tr.BTN_CHANGE_KIND, callback_data=ActivityCb(action="kinds", id=activity.id))
    kb.button(text=texts.BTN_REMOVE, callback_data=ActivityCb(action="remove", id=activity.id))
    kb.button(text=texts.BTN_TO_ROADMAP, callback_data=ActivityCb(action="page", id=1))
    kb.adjust(1)
    return kb.as_markup()


def _card_text(activity: Activity) -> str:
    return texts.activity_card(
        activity.title,
        activity.kind,
        str(activity.schedule.get("text") or "—"),
        activity.section,
        activity.for_reservists,
        activity.needs_confirmation,
    )


async def open_activity(
    query: CallbackQuery, callback_data: ActivityCb, repo: Repo, user: User
) -> None:
    """An activity's card (another municipality's roadmap: InputError)."""
    target = callback_target(query)
    activity = await RoadmapAdmin(repo, user).activity(callback_data.id)
    await query.answer()
    await target.answer(
        _card_text(activity),
        reply_markup=_card_keyboard(activity, may_edit_activity(user, activity)),
    )


async def start_edit(
    query: CallbackQuery, callback_data: ActivityCb, state: FSMContext, repo: Repo, user: User
) -> None:
    """«Добавить» / «Изменить название» / «Изменить сроки»: ask for the text (outside the
    officer's roadmap: InputError with the reason)."""
    target = callback_target(query)
    admin = RoadmapAdmin(repo, user)
    if callback_data.action == "add":
        await admin.check_can_add()
    else:
        await admin.activity(callback_data.id, edit=True)
    await query.answer()
    await state.clear()
    flow = {
        "add": (RoadmapFlow.add_title, texts.ASK_ACTIVITY_TITLE),
        "rename": (RoadmapFlow.rename, texts.ASK_ACTIVITY_TITLE),
        "reschedule": (RoadmapFlow.reschedule, texts.ASK_ACTIVITY_SCHEDULE),
    }
    target_state, prompt = flow[callback_data.action]
    await state.set_state(target_state)
    await state.update_data(activity_id=callback_data.id)
    await target.answer(prompt)


async def add_title(message: Message, state: FSMContext) -> None:
    """The new activity's title."""
    title = (message.text or "").strip()
    if len(title) < 3 or title.startswith("/"):
        await message.answer(f"{texts.bad_text_length(3, 500)}\n\n{texts.ASK_ACTIVITY_TITLE}")
        return
    await state.update_data(title=title)
    await state.set_state(RoadmapFlow.add_schedule)
    await message.answer(texts.ASK_ACTIVITY_SCHEDULE)


async def _after_change(message: Message, state: FSMContext, activity: Activity) -> None:
    await state.clear()
    await message.answer(
        texts.activity_saved(activity.title, 0), reply_markup=_card_keyboard(activity)
    )


async def add_schedule(
    message: Message,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """The new activity's schedule: add it and update the plans."""
    data = await state.get_data()
    activity = await RoadmapAdmin(repo, user).add(data.get("title"), message.text, today)
    await _after_change(message, state, activity)


async def edit_activity(
    message: Message,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """A new title (RoadmapFlow.rename) or schedule phrase (RoadmapFlow.reschedule)."""
    data = await state.get_data()
    renaming = await state.get_state() == RoadmapFlow.rename.state
    admin = RoadmapAdmin(repo, user)
    change = admin.rename if renaming else admin.reschedule
    try:
        with asking_again(texts.ASK_ACTIVITY_TITLE if renaming else None):
            activity = await change(int(data["activity_id"]), message.text, today)
    except NotFoundError:  # the activity is gone: the dialogue ends
        await state.clear()
        await message.answer(texts.STALE_BUTTON)
        return
    await _after_change(message, state, activity)


async def toggle(
    query: CallbackQuery,
    callback_data: ActivityCb,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """Flip «В планах резервистов» or «Требует подтверждения» (a foreign roadmap, or a forged
    flag: InputError)."""
    message = callback_message(query)
    flag = "for_reservists" if callback_data.action == "flag_res" else "needs_confirmation"
    activity = await RoadmapAdmin(repo, user).toggle(callback_data.id, flag, today)
    await query.answer()
    await message.edit_text(_card_text(activity), reply_markup=_card_keyboard(activity))


async def pick_kind(
    query: CallbackQuery, callback_data: ActivityCb, repo: Repo, user: User
) -> None:
    """«Изменить вид»: the kinds to choose from (another municipality's roadmap: InputError)."""
    target = callback_target(query)
    activity = await RoadmapAdmin(repo, user).activity(callback_data.id, edit=True)
    kb = InlineKeyboardBuilder()
    for kind, name in texts.KIND_NAMES.items():
        mark = "✓ " if kind == activity.kind else ""
        kb.button(
            text=mark + name, callback_data=ActivityCb(action=f"kind_{kind}", id=activity.id)
        )
    kb.adjust(2)
    await query.answer()
    await target.answer(tr.pick_kind(activity.title), reply_markup=kb.as_markup())


async def set_kind(
    query: CallbackQuery,
    callback_data: ActivityCb,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """A kind chosen: set it and show the card again (a foreign roadmap, or a forged kind:
    InputError)."""
    message = callback_message(query)
    kind = callback_data.action.removeprefix("kind_")
    activity = await RoadmapAdmin(repo, user).set_kind(callback_data.id, kind, today)
    await query.answer()
    await message.edit_text(_card_text(activity), reply_markup=_card_keyboard(activity))


async def remove(
    query: CallbackQuery,
    callback_data: ActivityCb,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """«Удалить»: archived; future plan items go, logged work stays (another municipality's or
    the regional roadmap: InputError)."""
    target = callback_target(query)
    await RoadmapAdmin(repo, user).remove(callback_data.id, today)
    await query.answer()
    await target.answer(texts.ACTIVITY_REMOVED)


async def import_document(
    message: Message,
    repo: Repo,
    user: User,
    bot: Bot,
    today: date,
) -> None:
    """A .docx / .txt roadmap sent to the bot: import it as the officer's roadmap (the region's,
    or their municipality's own) and reply with the summary. The file is parsed in a worker
    thread within the reading limits, so others are answered meanwhile."""
    assert message.document is not None
    if (message.document.file_size or 0) > MAX_FILE_BYTES:
        await message.answer(tf.too_big(MAX_FILE_BYTES // 2**20))
        return
    buffer = BytesIO()
    await bot.download(message.document, destination=buffer)
    name = message.document.file_name or "roadmap.txt"
    done = await RoadmapAdmin(repo, user).import_document(name, buffer.getvalue(), today)
    a, p = done.report.activities, done.report.plans
    await message.answer(
        ts.roadmap_imported_for(roadmap_area(user))
        + "\n"
        + texts.roadmap_imported(
            name,
            len(done.result.activities),
            a.created,
            a.updated,
            a.archived,
            p.added,
            [texts.roadmap_warning(w.line, w.message) for w in done.result.warnings],
        )
    )
    result, ids = done.result, done.report.ids
    guessed = result.guessed()
    review = InlineKeyboardBuilder()
    for activity in guessed[: tr.GUESSES_SHOWN]:
        if activity.key in ids:
            review.button(
                text=short(activity.title),
                callback_data=ActivityCb(action="open", id=ids[activity.key]),
            )
    review.adjust(1)
    await message.answer(
        tr.roadmap_audience(
            len(result.activities),
            len(result.in_plans()),
            [(x.title, str(x.kind), x.for_reservists) for x in guessed],
            done.report.kept,
        ),
        reply_markup=review.as_markup() if guessed else None,
    )
