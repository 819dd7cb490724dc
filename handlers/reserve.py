"""Officers: /find people (searchable, paged, within the officer's scope), a person's card, and
moving a reservist through the reserve (included, in training, appointed, excluded)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.services.errors import InputError, NotFoundError
from bot.services.lifecycle import (
    FIELD_LIMITS,
    LifecycleService,
    StatusStep,
    needed_fields,
    next_statuses,
)
from bot.services.mentoring import MentoringService, Pool
from bot.services.plans import PlanService
from bot.services.scope import in_scope
from bot.services.validation import clean_text, parse_user_date
from bot.telegram import tell
from handlers.callbacks import PersonCb
from handlers.common import asking_again, callback_target
from handlers.dates import Clock
from handlers.filters import HasRole
from handlers.picker import PeopleCb, PeoplePicker
from handlers.states import StatusFlow
from storage.models import ReserveStatus, Role, User
from storage.repo import Repo

FIELD_STATE = {
    "order_number": (StatusFlow.order_number, texts.ASK_ORDER_NUMBER),
    "post": (StatusFlow.post, texts.ASK_POST),
    "organisation": (StatusFlow.organisation, texts.ASK_POST_ORG),
    "reason": (StatusFlow.reason, texts.ASK_REASON),
}


def setup() -> Router:
    """The router of this module; officers only."""
    router = Router(name="reserve")
    router.message.filter(HasRole(Role.OFFICER))
    router.callback_query.filter(HasRole(Role.OFFICER))
    router.message.register(find, Command("find"))
    router.callback_query.register(FOUND.turn, FOUND.buttons("page"))
    router.callback_query.register(find_pick, FOUND.buttons("pick"))
    router.callback_query.register(open_person, PersonCb.filter(F.action == "open"))
    router.callback_query.register(status_start, PersonCb.filter(F.action == "status"))
    router.message.register(status_date, StatusFlow.date)
    router.message.register(
        status_field,
        StateFilter(
            StatusFlow.order_number, StatusFlow.post, StatusFlow.organisation, StatusFlow.reason
        ),
    )
    return router


def _label(person: User) -> str:
    role = texts.ROLE_NAMES.get(person.role, person.role)
    return f"{role}: {texts.person_label(person.full_name, person.organisation)}"


#: /find's list: everyone in the officer's scope, the search being the command's argument.
FOUND = PeoplePicker(
    "fd",
    texts.FIND_TITLE,
    Pool(role=None, registered=False),
    label=_label,
    query_key="find_query",
    query_required=True,
)


async def find(
    message: Message, command: CommandObject, state: FSMContext, repo: Repo, user: User
) -> None:
    """/find QUERY: people whose name, school or municipality contain every word."""
    try:
        query = clean_text(command.args, 2, 100)
    except InputError:
        await message.answer(texts.FIND_USAGE)
        return
    await FOUND.start(message, state, repo, user, query)


async def find_pick(
    query: CallbackQuery,
    callback_data: PeopleCb,
    repo: Repo,
    user: User,
    today: date,
    zone: ZoneInfo,
) -> None:
    """A person picked from /find: their card."""
    await _card(query, callback_data.value, repo, user, today, zone)


async def open_person(
    query: CallbackQuery,
    callback_data: PersonCb,
    repo: Repo,
    user: User,
    today: date,
    zone: ZoneInfo,
) -> None:
    """Open a person's card again."""
    await _card(query, callback_data.id, repo, user, today, zone)


def _details(
    order_number: str | None, post: str | None, organisation: str | None, reason: str | None
) -> str:
    parts = []
    if order_number:
        parts.append(f"приказ № {order_number}")
    if post:
        parts.append(", ".join(filter(None, (post, organisation))))
    if reason:
        parts.append(reason)
    return "; ".join(parts)


async def _card(
    query: CallbackQuery,
    person_id: int,
    repo: Repo,
    officer: User,
    today: date,
    zone: ZoneInfo,
) -> None:
    """Send the card of ``person_id`` (in ``officer``'s scope) as seen on the officer's
    ``today``, with the dates of its history in the officer's ``zone``."""
    target = callback_target(query)
    person = await repo.users.get(person_id)
    if person is None or person.anonymised_at is not None or not in_scope(officer, person):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    mentor = progress = None
    if person.role == Role.RESERVIST:
        found = await MentoringService(repo).current_mentor(person)
        mentor = found.full_name if found else None
        plan = await repo.plans.plan(person.id, today.year)
        if plan is not None:
            view = await PlanService(repo).view(person, today.year, today)
            progress = texts.plan_header(today.year, view.done, view.total, view.overdue)
    history = [
        texts.status_line(
            (c.effective_on or c.changed_at.astimezone(zone).date()).strftime("%d.%m.%Y"),
            c.status,
            _details(c.order_number, c.post, c.organisation, c.reason),
        )
        for c in await repo.users.status_history(person.id)
    ]
    text = texts.person_card(
        name=person.full_name or "—",
        role=person.role,
        organisation=person.organisation,
        position=person.position,
        municipality=person.municipality,
        status=person.reserve_status,
        cohort=person.cohort_year,
        registered=person.registered_at is not None,
        mentor=mentor,
        progress=progress,
        history=history,
    )
    markup = None
    if person.role == Role.RESERVIST:
        markup = _status_keyboard(person.id, person.reserve_status)
    await target.answer(text, reply_markup=markup)


def _status_keyboard(person_id: int, current: str | None) -> InlineKeyboardMarkup | None:
    statuses = next_statuses(current)
    if not statuses:
        return None
    kb = InlineKeyboardBuilder()
    for status in statuses:
        kb.button(
            text=texts.STATUS_ACTIONS[status],
            callback_data=PersonCb(action="status", id=person_id, status=status),
        )
    kb.adjust(1)
    return kb.as_markup()


async def status_start(
    query: CallbackQuery, callback_data: PersonCb, state: FSMContext, repo: Repo, user: User
) -> None:
    """A lifecycle button: check it applies, then ask for the date."""
    target = callback_target(query)
    try:
        person = await LifecycleService(repo).person(user, callback_data.id)
        status = ReserveStatus(callback_data.status)
    except (NotFoundError, ValueError):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    if status not in next_statuses(person.reserve_status):
        await query.answer(texts.BAD_STATUS_MOVE, show_alert=True)
        return
    await query.answer()
    await state.clear()
    await state.set_state(StatusFlow.date)
    await state.update_data(person_id=person.id, status=status, fields=list(needed_fields(status)))
    await target.answer(texts.ASK_STATUS_DATE)


async def status_date(
    message: Message,
    state: FSMContext,
    repo: Repo,
    user: User,
    bot: Bot,
    clock: Clock,
    today: date,
) -> None:
    """The date the step takes effect (not in the future, not before 2000)."""
    with asking_again(texts.ASK_STATUS_DATE):
        when = parse_user_date(message.text, today=today, earliest=date(2000, 1, 1))
    await state.update_data(effective_on=when.isoformat())
    await _next_field(message, state, repo, user, bot, clock)


async def status_field(
    message: Message, state: FSMContext, repo: Repo, user: User, bot: Bot, clock: Clock
) -> None:
    """An order number, a post, an organisation or a reason."""
    data = await state.get_data()
    field = data["fields"][0]
    with asking_again(FIELD_STATE[field][1]):
        value = clean_text(message.text, 1, FIELD_LIMITS[field])
    await state.update_data({field: value, "fields": data["fields"][1:]})
    await _next_field(message, state, repo, user, bot, clock)


async def _next_field(
    message: Message, state: FSMContext, repo: Repo, user: User, bot: Bot, clock: Clock
) -> None:
    data = await state.get_data()
    if data["fields"]:
        next_state, prompt = FIELD_STATE[data["fields"][0]]
        await state.set_state(next_state)
        await message.answer(prompt)
        return
    step = StatusStep(
        status=ReserveStatus(data["status"]),
        effective_on=date.fromisoformat(data["effective_on"]),
        order_number=data.get("order_number"),
        post=data.get("post"),
        organisation=data.get("organisation"),
        reason=data.get("reason"),
    )
    try:
        person, change = await LifecycleService(repo).change(
            user, int(data["person_id"]), step, clock()
        )
    except NotFoundError:
        await state.clear()
        await message.answer(texts.STALE_BUTTON)
        return
    except InputError as exc:
        await state.clear()
        await message.answer(exc.message)
        return
    await state.clear()
    details = _details(change.order_number, change.post, change.organisation, change.reason)
    await message.answer(texts.status_changed_officer(person.full_name or "—", change.status))
    await tell(bot, repo, person, texts.status_changed_person(change.status, details))
