"""Officers in mentoring: /assign (a searchable list of reservists, then of mentors, to pair
them or end a pair) and /pairs (every pair with its consultations and progress)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot import texts
from bot.services.errors import NotFoundError
from bot.services.mentoring import MentoringService, Pool
from bot.services.paging import cut_page
from bot.services.scope import in_scope
from bot.telegram import tell
from bot.texts import scope as ts
from handlers.callbacks import AssignCb, ListPageCb
from handlers.common import callback_message, callback_target
from handlers.dates import Clock
from handlers.keyboards import list_keyboard, reservist_card_keyboard
from handlers.mentoring.shared import LIST_PAGE, OFFICER, stamp
from handlers.picker import PeopleCb, PeoplePicker
from handlers.states import AssignFlow
from storage.models import Role, User
from storage.repo import Repo


def register(router: Router) -> None:
    """Add the officers' handlers to ``router``; each handler names the roles it serves."""
    router.message.register(assign_start, Command("assign"), OFFICER)
    router.message.register(pairs_report, Command("pairs"), OFFICER)
    router.callback_query.register(pairs_page, ListPageCb.filter(F.kind == "pairs"), OFFICER)
    router.message.register(search_typed, StateFilter(AssignFlow), OFFICER)
    for picker in (RESERVISTS, MENTORS):
        router.callback_query.register(picker.turn, picker.buttons("page"), OFFICER)
    router.callback_query.register(reservist_picked, RESERVISTS.buttons("pick"), OFFICER)
    router.callback_query.register(mentor_picked, MENTORS.buttons("pick"), OFFICER)
    router.callback_query.register(assign_action, AssignCb.filter(), OFFICER)


#: /assign's list of the officer's reservists, then of the mentors to pair one with.
RESERVISTS = PeoplePicker(
    "ar", texts.PICK_RESERVIST, Pool(Role.RESERVIST), empty=texts.NO_RESERVISTS
)
MENTORS = PeoplePicker("am", texts.PICK_MENTOR, Pool(Role.MENTOR), empty=texts.NO_MENTORS)


async def assign_start(message: Message, state: FSMContext, repo: Repo, user: User) -> None:
    """/assign: the searchable list of reservists."""
    await state.clear()
    await state.set_state(AssignFlow.reservist)
    await RESERVISTS.show(message, repo, user, None, 1)


async def search_typed(message: Message, state: FSMContext, repo: Repo, user: User) -> None:
    """Text typed while a list is shown: search it."""
    current = await state.get_state()
    picker = RESERVISTS if current == AssignFlow.reservist.state else MENTORS
    await picker.search(message, state, repo, user)


async def reservist_picked(
    query: CallbackQuery,
    callback_data: PeopleCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    zone: ZoneInfo,
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
        since = stamp(a.started_at, zone) or "—"
        until = stamp(a.ended_at, zone)
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
        await MENTORS.show(target, repo, user, None, 1)
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
    message: Message, repo: Repo, user: User, clock: Clock, today: date
) -> None:
    """/pairs: every pair with confirmed consultations and progress; stalled pairs marked;
    :data:`LIST_PAGE` pairs a page."""
    page = await _pairs_page(repo, user, clock, today, 1)
    if page is None:
        await message.answer(texts.PAIRS_EMPTY)
        return
    await message.answer(page[0], reply_markup=page[1])


async def pairs_page(
    query: CallbackQuery,
    callback_data: ListPageCb,
    repo: Repo,
    user: User,
    clock: Clock,
    today: date,
) -> None:
    """Paging of /pairs (edits the message in place)."""
    message = callback_message(query)
    await query.answer()
    page = await _pairs_page(repo, user, clock, today, callback_data.page)
    if page is None:
        await message.answer(texts.PAIRS_EMPTY)
    else:
        await message.edit_text(page[0], reply_markup=page[1])


async def _pairs_page(
    repo: Repo, user: User, clock: Clock, today: date, number: int
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    reports = await MentoringService(repo).pairs(today, user)
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
