"""Mentoring in the bot: officers assign mentors (/assign) and see the pairs (/pairs);
reservists and mentors log and confirm consultations (/consult); mentors follow their mentees
(/mentees), confirm and comment on plan items."""

from __future__ import annotations

from datetime import date, datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot import texts
from bot.config import Settings
from bot.services.clock import zone_of
from bot.services.errors import AccessDeniedError, InputError, NotFoundError
from bot.services.mentoring import (
    MentoringService,
    confirmable,
    cut_page,
    parse_minutes,
    search_people,
)
from bot.services.plans import PlanService
from bot.services.scope import in_scope, within_scope
from bot.services.validation import clean_text, parse_id, parse_user_date
from bot.texts import scope as ts
from handlers.callbacks import (
    AssignCb,
    CommentsCb,
    ConsultCb,
    ConsultPickCb,
    ListPageCb,
    LogStepCb,
    MenteeCb,
    MenteePlanCb,
    PeopleCb,
)
from handlers.cards import render_comments_page, render_item_card
from handlers.dates import Clock, user_today
from handlers.filters import HasRole
from handlers.keyboards import (
    consult_decision_keyboard,
    consult_items_keyboard,
    formats_keyboard,
    list_keyboard,
    mentee_plan_keyboard,
    mentees_keyboard,
    mentor_item_keyboard,
    older_comments_keyboard,
    people_keyboard,
    reservist_card_keyboard,
    skip_keyboard,
    today_keyboard,
)
from handlers.notify import tell
from handlers.states import AssignFlow, CommentFlow, ConsultFlow, DeclineFlow
from storage.models import Consultation, PlanItem, Role, User
from storage.repo import Repo

OFFICER = HasRole(Role.OFFICER)
PARTIES = HasRole(Role.RESERVIST, Role.MENTOR)
MENTOR = HasRole(Role.MENTOR)
#: Pairs (/pairs) or mentees (/mentees) a page: their lines shorten names, so a page of them
#: stays far within a message's 4096 characters.
LIST_PAGE = 10


def setup() -> Router:
    """The router of this module; each handler names the roles it serves."""
    router = Router(name="mentoring")
    # officers
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
    # both sides of a consultation
    router.message.register(consult_start, Command("consult"), PARTIES)
    router.callback_query.register(
        consult_mentee, ConsultFlow.mentee, MenteeCb.filter(F.action == "open"), MENTOR
    )
    router.callback_query.register(
        consult_today, ConsultFlow.date, LogStepCb.filter(F.step == "today"), PARTIES
    )
    router.message.register(consult_date, ConsultFlow.date, PARTIES)
    router.callback_query.register(
        consult_format, ConsultFlow.format, ConsultPickCb.filter(F.kind == "format"), PARTIES
    )
    router.message.register(consult_topic, ConsultFlow.topic, PARTIES)
    router.message.register(consult_minutes, ConsultFlow.minutes, PARTIES)
    router.callback_query.register(
        consult_note_skip, ConsultFlow.note, LogStepCb.filter(), PARTIES
    )
    router.message.register(consult_note, ConsultFlow.note, PARTIES)
    router.callback_query.register(
        consult_item, ConsultFlow.item, ConsultPickCb.filter(F.kind == "item"), PARTIES
    )
    router.message.register(format_typed, ConsultFlow.format)
    router.message.register(press_a_button, StateFilter(ConsultFlow.mentee, ConsultFlow.item))
    router.callback_query.register(consult_decision, ConsultCb.filter(), PARTIES)
    router.message.register(decline_reason, DeclineFlow.reason, PARTIES)
    # mentors
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
    return router


def _stamp(moment: datetime | None, user: User, settings: Settings) -> str | None:
    if moment is None:
        return None
    return f"{moment.astimezone(zone_of(user.timezone, settings.default_timezone)):%d.%m.%Y}"


# --- officers: assignment --------------------------------------------------------------------
PURPOSE_ROLE = {"ar": Role.RESERVIST, "am": Role.MENTOR}
PURPOSE_TITLE = {"ar": texts.PICK_RESERVIST, "am": texts.PICK_MENTOR}


async def _show_people(
    target: Message,
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
    if edit:
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
    try:
        query = clean_text(message.text, 1, 100)
    except InputError as exc:
        await message.answer(exc.message)
        return
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
    await query.answer()
    data = await state.get_data()
    if query.message is not None:
        await _show_people(
            query.message,  # type: ignore[arg-type]
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
    service = MentoringService(repo)
    try:
        reservist = await service.person(callback_data.value, Role.RESERVIST, user)
    except NotFoundError:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await state.clear()
    mentor = await service.current_mentor(reservist)
    history = []
    for a in await repo.mentoring.assignments_of(reservist.id):
        m = await repo.users.get(a.mentor_id)
        since = _stamp(a.started_at, user, settings) or "—"
        until = _stamp(a.ended_at, user, settings)
        history.append(texts.assignment_line((m.full_name if m else None) or "—", since, until))
    text = texts.reservist_card(
        reservist.full_name or "—",
        reservist.organisation,
        reservist.municipality,
        mentor.full_name if mentor else None,
        history,
    )
    if query.message is not None:
        await query.message.answer(
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
    service = MentoringService(repo)
    target = await repo.users.get(callback_data.reservist_id)
    if target is not None and not in_scope(user, target):
        await query.answer(ts.pair_other_area(user.municipality or ""), show_alert=True)
        return
    if callback_data.action == "assign":
        try:
            await service.person(callback_data.reservist_id, Role.RESERVIST, user)
        except NotFoundError:
            await query.answer(texts.STALE_BUTTON, show_alert=True)
            return
        await query.answer()
        await state.clear()
        await state.set_state(AssignFlow.mentor)
        await state.update_data(reservist_id=callback_data.reservist_id)
        if query.message is not None:
            await _show_people(query.message, repo, user, "am", None, 1, edit=False)  # type: ignore[arg-type]
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
    if query.message is not None:
        await query.message.answer(
            texts.ended_officer(reservist.full_name or "—", mentor.full_name or "—")
        )
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
    data = await state.get_data()
    if "reservist_id" not in data:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    try:
        reservist, mentor, previous = await MentoringService(repo).assign(
            user, int(data["reservist_id"]), callback_data.value, clock()
        )
    except NotFoundError:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    except InputError as exc:
        await query.answer(exc.message, show_alert=True)
        return
    await query.answer()
    await state.clear()
    name, mentor_name = reservist.full_name or "—", mentor.full_name or "—"
    if query.message is not None:
        await query.message.answer(texts.assigned_officer(name, mentor_name))
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
    await query.answer()
    page = await _pairs_page(repo, user, settings, clock, callback_data.page)
    if query.message is not None:
        if page is None:
            await query.message.answer(texts.PAIRS_EMPTY)
        else:
            await query.message.edit_text(page[0], reply_markup=page[1])  # type: ignore[union-attr]


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


# --- consultations -------------------------------------------------------------------------
async def consult_start(message: Message, state: FSMContext, repo: Repo, user: User) -> None:
    """/consult: a reservist logs with their mentor; a mentor picks a mentee first."""
    await state.clear()
    service = MentoringService(repo)
    if user.role == Role.RESERVIST:
        if await service.current_mentor(user) is None:
            await message.answer(texts.CONSULT_NO_MENTOR)
            return
        await state.set_state(ConsultFlow.date)
        await message.answer(texts.CONSULT_ASK_DATE, reply_markup=today_keyboard())
        return
    mine = await repo.mentoring.mentees(user.id)
    if not mine:
        await message.answer(texts.CONSULT_NO_MENTEES)
        return
    await state.set_state(ConsultFlow.mentee)
    await message.answer(
        texts.CONSULT_PICK_MENTEE,
        reply_markup=mentees_keyboard([(u.id, u.full_name or "—") for u in mine]),
    )


async def consult_mentee(
    query: CallbackQuery, callback_data: MenteeCb, state: FSMContext, repo: Repo, user: User
) -> None:
    """The mentor picked the mentee the consultation was with."""
    try:
        await MentoringService(repo).check_mentee(user, callback_data.id)
    except NotFoundError:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await state.update_data(reservist_id=callback_data.id)
    await state.set_state(ConsultFlow.date)
    if query.message is not None:
        await query.message.answer(texts.CONSULT_ASK_DATE, reply_markup=today_keyboard())


async def _ask_format(target: Message, state: FSMContext, held_on: date) -> None:
    await state.update_data(held_on=held_on.isoformat())
    await state.set_state(ConsultFlow.format)
    await target.answer(texts.CONSULT_ASK_FORMAT, reply_markup=formats_keyboard())


async def consult_today(
    query: CallbackQuery, state: FSMContext, user: User, settings: Settings, clock: Clock
) -> None:
    """«Сегодня» as the date."""
    await query.answer()
    if query.message is not None:
        await _ask_format(query.message, state, user_today(user, settings, clock))  # type: ignore[arg-type]


async def consult_date(
    message: Message, state: FSMContext, user: User, settings: Settings, clock: Clock
) -> None:
    """A typed date: not in the future, not before last year."""
    today = user_today(user, settings, clock)
    try:
        held_on = parse_user_date(message.text, today=today, earliest=date(today.year - 1, 1, 1))
    except InputError as exc:
        await message.answer(exc.message, reply_markup=today_keyboard())
        return
    await _ask_format(message, state, held_on)


async def consult_format(
    query: CallbackQuery, callback_data: ConsultPickCb, state: FSMContext
) -> None:
    """The format button."""
    if callback_data.value not in texts.FORMAT_NAMES:
        await query.answer(texts.BAD_FORMAT, show_alert=True)
        return
    await query.answer()
    await state.update_data(format=callback_data.value)
    await state.set_state(ConsultFlow.topic)
    if query.message is not None:
        await query.message.answer(texts.CONSULT_ASK_TOPIC)


async def consult_topic(message: Message, state: FSMContext) -> None:
    """The topic (3-300 characters)."""
    try:
        topic = clean_text(message.text, 3, 300)
    except InputError as exc:
        await message.answer(f"{exc.message}\n\n{texts.CONSULT_ASK_TOPIC}")
        return
    await state.update_data(topic=topic)
    await state.set_state(ConsultFlow.minutes)
    await message.answer(texts.CONSULT_ASK_MINUTES)


async def consult_minutes(message: Message, state: FSMContext) -> None:
    """The duration in minutes (5-480)."""
    try:
        minutes = parse_minutes(message.text)
    except InputError as exc:
        await message.answer(exc.message)
        return
    await state.update_data(minutes=minutes)
    await state.set_state(ConsultFlow.note)
    await message.answer(texts.CONSULT_ASK_NOTE, reply_markup=skip_keyboard())


async def _ask_item(
    target: Message, state: FSMContext, repo: Repo, user: User, today: date
) -> None:
    data = await state.get_data()
    owner = user
    if user.role == Role.MENTOR:
        found = await repo.users.get(int(data["reservist_id"]))
        assert found is not None
        owner = found
    view = await PlanService(repo).view(owner, today.year, today)
    await state.set_state(ConsultFlow.item)
    await target.answer(
        texts.CONSULT_ASK_ITEM,
        reply_markup=consult_items_keyboard([(i.id, i.title) for i in view.items]),
    )


async def consult_note_skip(
    query: CallbackQuery,
    state: FSMContext,
    repo: Repo,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    """«Пропустить» the note."""
    await query.answer()
    await state.update_data(note=None)
    if query.message is not None:
        await _ask_item(query.message, state, repo, user, user_today(user, settings, clock))  # type: ignore[arg-type]


async def consult_note(
    message: Message,
    state: FSMContext,
    repo: Repo,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    """The note (up to 1000 characters)."""
    try:
        note = clean_text(message.text, 1, 1000)
    except InputError as exc:
        await message.answer(exc.message, reply_markup=skip_keyboard())
        return
    await state.update_data(note=note)
    await _ask_item(message, state, repo, user, user_today(user, settings, clock))


async def consult_item(
    query: CallbackQuery,
    callback_data: ConsultPickCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    bot: Bot,
    settings: Settings,
    clock: Clock,
) -> None:
    """The plan item (or none): save the consultation and ask the other side to confirm."""
    data = await state.get_data()
    # "0" is «Без привязки к плану»; anything else must be an item id (a stale button if not)
    item_id = 0 if callback_data.value == "0" else (parse_id(callback_data.value) or -1)
    try:
        consultation, other = await MentoringService(repo).log_consultation(
            user,
            reservist_id=data.get("reservist_id"),
            held_on=date.fromisoformat(data["held_on"]),
            fmt=data["format"],
            topic=data["topic"],
            minutes=int(data["minutes"]),
            note=data.get("note"),
            item_id=item_id or None,
            today=user_today(user, settings, clock),
        )
    except (NotFoundError, AccessDeniedError, KeyError):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    except InputError as exc:
        await query.answer(exc.message, show_alert=True)
        return
    await query.answer()
    await state.clear()
    if query.message is not None:
        await query.message.answer(texts.consult_logged(other.full_name or "—"))
    summary = await _summary(repo, consultation)
    await tell(
        bot,
        repo,
        other,
        texts.consult_request(user.full_name or "—", summary),
        consult_decision_keyboard(consultation.id),
    )


async def _summary(repo: Repo, consultation: Consultation) -> str:
    item = None
    if consultation.item_id is not None:
        found = await repo.plans.item_of_user(consultation.item_id, consultation.reservist_id)
        item = found.title if found else None
    return texts.consult_summary(
        consultation.held_on,
        consultation.format,
        consultation.topic,
        consultation.minutes,
        consultation.note,
        item,
    )


async def format_typed(message: Message) -> None:
    """Text where the format buttons are expected: show them again."""
    await message.answer(texts.BAD_FORMAT, reply_markup=formats_keyboard())


async def press_a_button(message: Message) -> None:
    """Text where a button is expected."""
    await message.answer(texts.BAD_BUTTON_EXPECTED)


async def consult_decision(
    query: CallbackQuery,
    callback_data: ConsultCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    bot: Bot,
    clock: Clock,
) -> None:
    """«Подтвердить» confirms at once; «Отклонить» asks for the reason first."""
    consultation = await repo.mentoring.consultation(callback_data.consultation_id)
    if (
        consultation is None
        or user.id not in (consultation.reservist_id, consultation.mentor_id)
        or consultation.logged_by == user.id
    ):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    if consultation.status != "pending":
        await query.answer(texts.ALREADY_DECIDED, show_alert=True)
        return
    if callback_data.action == "no":
        await query.answer()
        await state.set_state(DeclineFlow.reason)
        await state.update_data(consultation_id=consultation.id)
        if query.message is not None:
            await query.message.answer(texts.DECLINE_ASK_REASON)
        return
    await _decide(query.message, repo, user, bot, clock, consultation.id, None)  # type: ignore[arg-type]
    await query.answer(texts.CONSULT_CONFIRMED_OK)


async def decline_reason(
    message: Message, state: FSMContext, repo: Repo, user: User, bot: Bot, clock: Clock
) -> None:
    """The reason of a decline."""
    data = await state.get_data()
    try:
        reason = clean_text(message.text, 3, 500)
    except InputError as exc:
        await message.answer(f"{exc.message}\n\n{texts.DECLINE_ASK_REASON}")
        return
    await state.clear()
    await _decide(message, repo, user, bot, clock, int(data["consultation_id"]), reason)


async def _decide(
    target: Message | None,
    repo: Repo,
    user: User,
    bot: Bot,
    clock: Clock,
    consultation_id: int,
    reason: str | None,
) -> None:
    try:
        consultation, logger = await MentoringService(repo).decide(
            user, consultation_id, confirm=reason is None, reason=reason, now=clock()
        )
    except NotFoundError:
        if target is not None:
            await target.answer(texts.STALE_BUTTON)
        return
    except InputError as exc:
        if target is not None:
            await target.answer(exc.message)
        return
    summary = await _summary(repo, consultation)
    who = user.full_name or "—"
    if reason is None:
        if target is not None:
            await target.answer(texts.CONSULT_CONFIRMED_OK)
        await tell(bot, repo, logger, texts.consult_confirmed(who, summary))
    else:
        if target is not None:
            await target.answer(texts.CONSULT_DECLINED_OK)
        await tell(bot, repo, logger, texts.consult_declined(who, summary, reason))


# --- the mentor's view ----------------------------------------------------------------------
async def mentees(
    message: Message, repo: Repo, user: User, settings: Settings, clock: Clock
) -> None:
    """/mentees: each mentee with progress, :data:`LIST_PAGE` a page; buttons open their
    plans."""
    page = await _mentees_page(repo, user, settings, clock, 1)
    if page is None:
        await message.answer(texts.MENTEES_EMPTY)
        return
    await message.answer(page[0], reply_markup=page[1])


async def mentees_page(
    query: CallbackQuery,
    callback_data: ListPageCb,
    repo: Repo,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    """Paging of /mentees (edits the message in place)."""
    await query.answer()
    page = await _mentees_page(repo, user, settings, clock, callback_data.page)
    if query.message is not None:
        if page is None:
            await query.message.answer(texts.MENTEES_EMPTY)
        else:
            await query.message.edit_text(page[0], reply_markup=page[1])  # type: ignore[union-attr]


async def _mentees_page(
    repo: Repo, user: User, settings: Settings, clock: Clock, number: int
) -> tuple[str, InlineKeyboardMarkup] | None:
    today = user_today(user, settings, clock)
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
                _stamp(p.last_activity, user, settings),
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
    settings: Settings,
    clock: Clock,
) -> None:
    """A mentee's plan: done vs confirmed; its first page."""
    await _mentee_plan(query, callback_data.id, 1, repo, user, settings, clock)


async def mentee_plan_page(
    query: CallbackQuery,
    callback_data: MenteePlanCb,
    repo: Repo,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    """Another page of a mentee's plan."""
    await _mentee_plan(query, callback_data.id, callback_data.page, repo, user, settings, clock)


async def _mentee_plan(
    query: CallbackQuery,
    mentee_id: int,
    number: int,
    repo: Repo,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    try:
        reservist = await MentoringService(repo).check_mentee(user, mentee_id)
    except NotFoundError:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    today = user_today(user, settings, clock)
    view = await PlanService(repo).view(reservist, today.year, today)
    confirmed = sum(1 for i in view.items if i.confirmed_at is not None)
    lines = [
        texts.mentee_plan_header(
            reservist.full_name or "—", view.plan.year, view.done, view.total, confirmed
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
    if query.message is not None:
        await query.message.answer("\n".join(lines), reply_markup=markup)


async def mentee_item(
    query: CallbackQuery,
    callback_data: MenteeCb,
    repo: Repo,
    user: User,
    settings: Settings,
    clock: Clock,
) -> None:
    """A mentee's item card for the mentor, with confirm / evidence / comment buttons."""
    try:
        item, owner = await MentoringService(repo).mentee_item(user, callback_data.id)
    except NotFoundError:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    card = await render_item_card(repo, item, user, settings, clock)
    markup = mentor_item_keyboard(
        item.id,
        owner.id,
        can_confirm=confirmable(item) and item.confirmed_at is None,
        has_evidence=item.evidence_file_id is not None,
        older=card.older,
    )
    if query.message is not None:
        await query.message.answer(card.text, reply_markup=markup)


async def older_comments(
    query: CallbackQuery,
    callback_data: CommentsCb,
    repo: Repo,
    user: User,
    settings: Settings,
) -> None:
    """«Более ранние комментарии» of an item card: the reservist's own item, or a mentee's
    item for the mentor."""
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
    page = await render_comments_page(repo, item, user, settings, callback_data.before)
    if query.message is not None:
        await query.message.answer(
            page.text, reply_markup=older_comments_keyboard(item.id, page.older)
        )


async def confirm_item(
    query: CallbackQuery, callback_data: MenteeCb, repo: Repo, user: User, bot: Bot, clock: Clock
) -> None:
    """«Подтвердить выполнение»: the reservist is told."""
    try:
        item, owner = await MentoringService(repo).confirm_item(user, callback_data.id, clock())
    except NotFoundError:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    except InputError as exc:
        await query.answer(exc.message, show_alert=True)
        return
    await query.answer(texts.ITEM_CONFIRMED_OK)
    await tell(bot, repo, owner, texts.item_confirmed(item.title, user.full_name or "—"))


async def show_evidence(
    query: CallbackQuery, callback_data: MenteeCb, repo: Repo, user: User, bot: Bot
) -> None:
    """Send the mentor the file the reservist attached (by its Telegram file_id)."""
    try:
        item, _owner = await MentoringService(repo).mentee_item(user, callback_data.id)
    except NotFoundError:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
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
    try:
        await MentoringService(repo).mentee_item(user, callback_data.id)
    except NotFoundError:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await state.set_state(CommentFlow.text)
    await state.update_data(item_id=callback_data.id)
    if query.message is not None:
        await query.message.answer(texts.COMMENT_ASK)


async def comment_text(
    message: Message, state: FSMContext, repo: Repo, user: User, bot: Bot, clock: Clock
) -> None:
    """The comment: saved and sent to the reservist."""
    data = await state.get_data()
    try:
        item, owner, text = await MentoringService(repo).comment_item(
            user, int(data["item_id"]), message.text, clock()
        )
    except NotFoundError:
        await state.clear()
        await message.answer(texts.STALE_BUTTON)
        return
    except InputError as exc:
        await message.answer(f"{exc.message}\n\n{texts.COMMENT_ASK}")
        return
    await state.clear()
    await message.answer(texts.COMMENT_SAVED)
    await tell(bot, repo, owner, texts.item_commented(item.title, user.full_name or "—", text))
