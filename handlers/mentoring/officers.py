"""Officers in mentoring: /assign (a searchable list of reservists, then of mentors, to pair
them or end a pair) and /pairs (every pair with its consultations and progress)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot import texts
from bot.config import Settings
from bot.services.errors import NotFoundError
from bot.services.mentoring import MentoringService, cut_page, search_people
from bot.services.scope import in_scope, within_scope
from bot.services.validation import clean_text
from bot.telegram import tell
from bot.texts import scope as ts
from handlers.callbacks import AssignCb, ListPageCb, PeopleCb
from handlers.common import Target, callback_message, callback_target
from handlers.dates import Clock, user_today
from handlers.keyboards import list_keyboard, people_keyboard, reservist_card_keyboard
from handlers.mentoring.shared import LIST_PAGE, OFFICER, stamp
from handlers.states import AssignFlow
from storage.models import Role, User
from storage.repo import Repo


def register(router: Router) -> None:
    """Add the officers' handlers to ``router``; each handler names the roles it serves."""
    router.message.register(assign_start, Command("assign"), OFFICER)
    router.message.register(pairs_report, Command("pairs"), OFFICER)
    router.callback_query.register(pairs_page, ListPageCb.filter(F.kind == "pairs"), OFFICER)
    router.message.register(search_typed, StateFilter(AssignFlow), OFFICER)
    router.callback_query.register(
        people_page,
        PeopleCb.filter((F.action == "page") & F.purpose.in_(PURPOSE_ROLE)),
        OFFICER,
    )
    router.callback_query.register(
        reservist_picked, PeopleCb.filter((F.purpose == "ar") & (F.action == "pick")), OFFICER
    )
    router.callback_query.register(
        mentor_picked, PeopleCb.filter((F.purpose == "am") & (F.action == "pick")), OFFICER
    )
    router.callback_query.register(assign_action, AssignCb.filter(), OFFICER)


PURPOSE_ROLE = {"ar": Role.RESERVIST, "am": Role.MENTOR}
PURPOSE_TITLE = {"ar": texts.PICK_RESERVIST, "am": texts.PICK_MENTOR}


async def _show_people(
    target: Target,
    repo: Repo,
    officer: User,
    purpose: str,
    query: str | None,
    page: int,
    *,
    edit: bool,
) -> None:
    people = within_scope(officer, await repo.users.by_role(PURPOSE_ROLE[purpose]))
    if not people:
        await target.answer(texts.NO_RESERVISTS if purpose == "ar" else texts.NO_MENTORS)
        return
    found = search_people(people, query, page)
    if not found.people:
        await target.answer(texts.NOBODY_FOUND)
        return
    text = texts.people_page(PURPOSE_TITLE[purpose], query, found.total, found.page, found.pages)
    markup = people_keyboard(
        purpose,
        [(u.id, texts.person_label(u.full_name, u.organisation)) for u in found.people],
        found.page,
        found.pages,
    )
    if edit and isinstance(target, Message):  # a page turned: the list is edited in place
        await target.edit_text(text, reply_markup=markup)
    else:
        await target.answer(text, reply_markup=markup)


async def assign_start(message: Message, state: FSMContext, repo: Repo, user: User) -> None:
    """/assign: the searchable list of reservists."""
    await state.clear()
    await state.set_state(AssignFlow.reservist)
    await _show_people(message, repo, user, "ar", None, 1, edit=False)


async def search_typed(message: Message, state: FSMContext, repo: Repo, user: User) -> None:
    """Text typed while a list is shown: search it."""
    query = clean_text(message.text, 1, 100)
    current = await state.get_state()
    purpose = "ar" if current == AssignFlow.reservist.state else "am"
    await state.update_data(query=query)
    await _show_people(message, repo, user, purpose, query, 1, edit=False)


async def people_page(
    query: CallbackQuery, callback_data: PeopleCb, state: FSMContext, repo: Repo, user: User
) -> None:
    """Paging of a list of people (edits in place)."""
    if callback_data.purpose not in PURPOSE_ROLE:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    message = callback_message(query)
    await query.answer()
    data = await state.get_data()
    await _show_people(
        message,
        repo,
        user,
        callback_data.purpose,
        data.get("query"),
        callback_data.value,
        edit=True,
    )


async def reservist_picked(
    query: CallbackQuery,
    callback_data: PeopleCb,
    state: FSMContext,
    repo: Repo,
    settings: Settings,
    user: User,
) -> None:
    """A reservist picked: their card with the mentor and the history."""
    target = callback_target(query)
    service = MentoringService(repo)
    reservist = await service.person(callback_data.value, Role.RESERVIST, user)
    await query.answer()
    await state.clear()
    mentor = await service.current_mentor(reservist)
    history = []
    for a in await repo.mentoring.assignments_of(reservist.id):
        m = await repo.users.get(a.mentor_id)
        since = stamp(a.started_at, user, settings) or "—"
        until = stamp(a.ended_at, user, settings)
        history.append(texts.assignment_line((m.full_name if m else None) or "—", since, until))
    text = texts.reservist_card(
        reservist.full_name or "—",
        reservist.organisation,
        reservist.municipality,
        mentor.full_name if mentor else None,
        history,
    )
    await target.answer(
        text, reply_markup=reservist_card_keyboard(reservist.id, mentor is not None)
    )


async def assign_action(
    query: CallbackQuery,
    callback_data: AssignCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    bot: Bot,
    clock: Clock,
) -> None:
    """«Назначить / Сменить наставника» opens the mentors' list; «Завершить» ends the pair.
    A reservist of another municipality is refused with that reason."""
    target = callback_target(query)
    service = MentoringService(repo)
    person = await repo.users.get(callback_data.reservist_id)
    if person is not None and not in_scope(user, person):
        await query.answer(ts.pair_other_area(user.municipality or ""), show_alert=True)
        return
    if callback_data.action == "assign":
        await service.person(callback_data.reservist_id, Role.RESERVIST, user)
        await query.answer()
        await state.clear()
        await state.set_state(AssignFlow.mentor)
        await state.update_data(reservist_id=callback_data.reservist_id)
        await _show_people(target, repo, user, "am", None, 1, edit=False)
        return
    if callback_data.action != "end":
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    try:
        reservist, mentor = await service.end(user, callback_data.reservist_id, clock())
    except NotFoundError:
        await query.answer(texts.NO_ACTIVE_MENTOR, show_alert=True)
        return
    await query.answer()
    await target.answer(texts.ended_officer(reservist.full_name or "—", mentor.full_name or "—"))
    await tell(bot, repo, reservist, texts.assignment_ended(mentor.full_name or "—"))
    await tell(bot, repo, mentor, texts.assignment_ended(reservist.full_name or "—"))


async def mentor_picked(
    query: CallbackQuery,
    callback_data: PeopleCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    bot: Bot,
    clock: Clock,
) -> None:
    """A mentor picked for the reservist chosen before: assign and tell both sides."""
    target = callback_target(query)
    data = await state.get_data()
    if "reservist_id" not in data:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    reservist, mentor, previous = await MentoringService(repo).assign(
        user, int(data["reservist_id"]), callback_data.value, clock()
    )
    await query.answer()
    await state.clear()
    name, mentor_name = reservist.full_name or "—", mentor.full_name or "—"
    await target.answer(texts.assigned_officer(name, mentor_name))
    await tell(bot, repo, reservist, texts.assigned_reservist(mentor_name, mentor.organisation))
    await tell(bot, repo, mentor, texts.assigned_mentor(name, reservist.organisation))
    if previous is not None:
        await tell(bot, repo, previous, texts.assignment_ended(name))


async def pairs_report(
    message: Message, repo: Repo, user: User, settings: Settings, clock: Clock
) -> None:
    """/pairs: every pair with confirmed consultations and progress; stalled pairs marked;
    :data:`LIST_PAGE` pairs a page."""
    page = await _pairs_page(repo, user, settings, clock, 1)
    if page is None:
        await message.answer(texts.PAIRS_EMPTY)
        return
    await message.answer(page[0], reply_markup=page[1])


async def pairs_page(
    query: CallbackQuery,
    callback_data: ListPageCb,
    repo: Repo,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    """Paging of /pairs (edits the message in place)."""
    message = callback_message(query)
    await query.answer()
    page = await _pairs_page(repo, user, settings, clock, callback_data.page)
    if page is None:
        await message.answer(texts.PAIRS_EMPTY)
    else:
        await message.edit_text(page[0], reply_markup=page[1])


async def _pairs_page(
    repo: Repo, user: User, settings: Settings, clock: Clock, number: int
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    today = user_today(user, settings, clock)
    reports = [r for r in await MentoringService(repo).pairs(today) if in_scope(user, r.reservist)]
    if not reports:
        return None
    now = clock()
    chunk, number, pages = cut_page(reports, number, LIST_PAGE)
    lines = [
        texts.pairs_header(
            len(reports),
            sum(r.confirmed for r in reports),
            sum(1 for r in reports if r.progress.stalled(now)),
        ),
        "",
    ]
    for r in chunk:
        lines.append(
            texts.pair_line(
                r.reservist.full_name or "—",
                r.mentor.full_name or "—",
                r.confirmed,
                r.pending,
                r.progress.done,
                r.progress.total,
                r.progress.stalled(now),
            )
        )
    if pages > 1:
        lines += ["", texts.list_page_footer(number, pages)]
    return "\n".join(lines), list_keyboard("pairs", number, pages)
