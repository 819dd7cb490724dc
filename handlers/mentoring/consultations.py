"""Both sides of a consultation: /consult logs one (a reservist with their mentor, a mentor
with a mentee picked first), and the other side confirms it or declines with a reason."""

from __future__ import annotations

from datetime import date

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot import texts
from bot.services.errors import InputError, NotFoundError
from bot.services.mentoring import MentoringService, parse_minutes
from bot.services.plans import PlanService
from bot.services.validation import clean_text, parse_id
from bot.telegram import ConsultCb, tell
from handlers.callbacks import ConsultPickCb, LogStepCb, MenteeCb
from handlers.common import Target, asking_again, callback_target
from handlers.dates import Clock, DateStep
from handlers.keyboards import (
    consult_decision_keyboard,
    consult_items_keyboard,
    formats_keyboard,
    mentees_keyboard,
    skip_keyboard,
)
from handlers.mentoring.shared import MENTOR, PARTIES
from handlers.states import ConsultFlow, DeclineFlow
from storage.models import Consultation, Role, User
from storage.repo import Repo


def register(router: Router) -> None:
    """Add the handlers of both sides to ``router``; each handler names the roles it serves."""
    router.message.register(consult_start, Command("consult"), PARTIES)
    router.callback_query.register(
        consult_mentee, ConsultFlow.mentee, MenteeCb.filter(F.action == "open"), MENTOR
    )
    DATE.register(router, consult_date, PARTIES)
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


async def consult_start(message: Message, state: FSMContext, repo: Repo, user: User) -> None:
    """/consult: a reservist logs with their mentor; a mentor picks a mentee first."""
    await state.clear()
    service = MentoringService(repo)
    if user.role == Role.RESERVIST:
        if await service.current_mentor(user) is None:
            await message.answer(texts.CONSULT_NO_MENTOR)
            return
        await DATE.ask(message, state, texts.CONSULT_ASK_DATE)
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
    target = callback_target(query)
    await MentoringService(repo).check_mentee(user, callback_data.id)
    await query.answer()
    await state.update_data(reservist_id=callback_data.id)
    await DATE.ask(target, state, texts.CONSULT_ASK_DATE)


async def _ask_format(target: Target, state: FSMContext, held_on: date) -> None:
    await state.update_data(held_on=held_on.isoformat())
    await state.set_state(ConsultFlow.format)
    await target.answer(texts.CONSULT_ASK_FORMAT, reply_markup=formats_keyboard())


#: The consultation's date: «Сегодня» or a typed one.
DATE = DateStep(ConsultFlow.date, _ask_format)


async def consult_date(message: Message, state: FSMContext, today: date) -> None:
    """A typed date: not in the future, not before last year."""
    await DATE.typed(message, state, today, earliest=date(today.year - 1, 1, 1))


async def consult_format(
    query: CallbackQuery, callback_data: ConsultPickCb, state: FSMContext
) -> None:
    """The format button."""
    target = callback_target(query)
    if callback_data.value not in texts.FORMAT_NAMES:
        await query.answer(texts.BAD_FORMAT, show_alert=True)
        return
    await query.answer()
    await state.update_data(format=callback_data.value)
    await state.set_state(ConsultFlow.topic)
    await target.answer(texts.CONSULT_ASK_TOPIC)


async def consult_topic(message: Message, state: FSMContext) -> None:
    """The topic (3-300 characters)."""
    with asking_again(texts.CONSULT_ASK_TOPIC):
        topic = clean_text(message.text, 3, 300)
    await state.update_data(topic=topic)
    await state.set_state(ConsultFlow.minutes)
    await message.answer(texts.CONSULT_ASK_MINUTES)


async def consult_minutes(message: Message, state: FSMContext) -> None:
    """The duration in minutes (5-480)."""
    minutes = parse_minutes(message.text)
    await state.update_data(minutes=minutes)
    await state.set_state(ConsultFlow.note)
    await message.answer(texts.CONSULT_ASK_NOTE, reply_markup=skip_keyboard())


async def _ask_item(
    target: Target, state: FSMContext, repo: Repo, user: User, today: date
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
    today: date,
) -> None:
    """«Пропустить» the note."""
    target = callback_target(query)
    await query.answer()
    await state.update_data(note=None)
    await _ask_item(target, state, repo, user, today)


async def consult_note(
    message: Message,
    state: FSMContext,
    repo: Repo,
    user: User,
    today: date,
) -> None:
    """The note (up to 1000 characters)."""
    with asking_again(reply_markup=skip_keyboard()):
        note = clean_text(message.text, 1, 1000)
    await state.update_data(note=note)
    await _ask_item(message, state, repo, user, today)


async def consult_item(
    query: CallbackQuery,
    callback_data: ConsultPickCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    bot: Bot,
    today: date,
) -> None:
    """The plan item (or none): save the consultation and ask the other side to confirm."""
    target = callback_target(query)
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
            today=today,
        )
    except KeyError:  # the dialogue's earlier answers are missing
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await state.clear()
    await target.answer(texts.consult_logged(other.full_name or "—"))
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
    target = callback_target(query)
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
        await target.answer(texts.DECLINE_ASK_REASON)
        return
    await _decide(target, repo, user, bot, clock, consultation.id, None)
    await query.answer(texts.CONSULT_CONFIRMED_OK)


async def decline_reason(
    message: Message, state: FSMContext, repo: Repo, user: User, bot: Bot, clock: Clock
) -> None:
    """The reason of a decline."""
    data = await state.get_data()
    with asking_again(texts.DECLINE_ASK_REASON):
        reason = clean_text(message.text, 3, 500)
    await state.clear()
    await _decide(message, repo, user, bot, clock, int(data["consultation_id"]), reason)


async def _decide(
    target: Target,
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
        await target.answer(texts.STALE_BUTTON)
        return
    except InputError as exc:
        await target.answer(exc.message)
        return
    summary = await _summary(repo, consultation)
    who = user.full_name or "—"
    if reason is None:
        await target.answer(texts.CONSULT_CONFIRMED_OK)
        await tell(bot, repo, logger, texts.consult_confirmed(who, summary))
    else:
        await target.answer(texts.CONSULT_DECLINED_OK)
        await tell(bot, repo, logger, texts.consult_declined(who, summary, reason))
