"""/start registration with consent, /help, /cancel, /me, /delete_me.

A personal invite (a person imported from a list, bot.services.people_import) skips the
questions: after the consent the stored profile is shown with «Всё верно» (register as is) and
«Исправить» (the ordinary questions, the municipality stays fixed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import Context
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

import structlog
from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.services.people import (
    AlreadyRegisteredError,
    InviteError,
    InviteProblem,
    PeopleService,
    Profile,
)
from bot.services.time_policy import TimePolicy
from bot.services.validation import clean_full_name, clean_text, column_length
from bot.telegram import tell
from bot.texts import people as tp
from handlers.callbacks import ConsentCb, DeleteCb
from handlers.commands import clear_user_commands, set_user_commands
from handlers.common import Target, asking_again, callback_target
from handlers.filters import REGISTERED
from handlers.keyboards import consent_keyboard, delete_keyboard
from handlers.states import Registration
from storage.db import Database
from storage.models import Role, User
from storage.repo import Repo
from storage.scrub import scrub_files

log = structlog.get_logger(__name__)

INVITE_TEXT = {
    InviteProblem.UNKNOWN: texts.INVITE_UNKNOWN,
    InviteProblem.EXPIRED: texts.INVITE_EXPIRED,
    InviteProblem.USED: texts.INVITE_USED,
}


class ProfileCb(CallbackData, prefix="prof"):
    """Answer to the pre-filled profile of a personal invite: ``ok`` or ``fix``."""

    answer: str


class PersonalRegistration(StatesGroup):
    """Opening a personal invite: after the consent, the stored profile is confirmed."""

    confirm = State()


def profile_keyboard() -> InlineKeyboardMarkup:
    """«Всё верно» / «Исправить»."""
    kb = InlineKeyboardBuilder()
    kb.button(text=tp.BTN_PROFILE_OK, callback_data=ProfileCb(answer="ok"))
    kb.button(text=tp.BTN_PROFILE_FIX, callback_data=ProfileCb(answer="fix"))
    return kb.as_markup()


def setup() -> Router:
    """The router of this module."""
    router = Router(name="start")
    router.message.register(cancel, Command("cancel"), StateFilter("*"))
    router.message.register(start_with_code, CommandStart(deep_link=True))
    router.message.register(start_plain, CommandStart())
    router.callback_query.register(consent_answer, Registration.consent, ConsentCb.filter())
    router.message.register(consent_reminder, Registration.consent)
    router.callback_query.register(
        profile_confirmed, PersonalRegistration.confirm, ProfileCb.filter()
    )
    router.message.register(profile_reminder, PersonalRegistration.confirm)
    router.message.register(
        profile_answer,
        StateFilter(
            Registration.full_name,
            Registration.organisation,
            Registration.position,
            Registration.municipality,
        ),
    )
    router.message.register(show_help, Command("help"), REGISTERED)
    router.message.register(show_me, Command("me"), REGISTERED)
    router.message.register(delete_me, Command("delete_me"), REGISTERED)
    router.callback_query.register(delete_answer, DeleteCb.filter(), REGISTERED)
    return router


async def cancel(message: Message, state: FSMContext) -> None:
    """/cancel: leave any dialogue; nothing half-entered is kept."""
    had = await state.get_state()
    await state.clear()
    await message.answer(texts.CANCELLED if had else texts.NOTHING_TO_CANCEL)


async def start_with_code(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    repo: Repo,
    user: User | None,
    clock: Callable[[], datetime],
) -> None:
    """/start CODE from an invite link: check it and ask for consent."""
    if user is not None and user.anonymised_at is None:
        await state.clear()
        await message.answer(texts.ALREADY_REGISTERED)
        return
    try:
        info = await PeopleService(repo).invite_info(command.args or "", clock())
    except InviteError as exc:
        await state.clear()
        await message.answer(INVITE_TEXT[exc.problem])
        return
    await state.clear()
    await state.set_state(Registration.consent)
    await state.update_data(
        code=info.code,
        municipality=info.municipality,
        role=info.role.value,
        person=asdict(info.person) if info.person else None,
    )
    await message.answer(texts.CONSENT, reply_markup=consent_keyboard())


async def start_plain(message: Message, state: FSMContext, user: User | None) -> None:
    """/start without a code: greet the registered, refuse everyone else (nothing stored)."""
    if user is None or user.anonymised_at is not None:
        await state.clear()
        await message.answer(texts.NO_ACCESS)
        return
    await message.answer(texts.welcome_back(user.full_name))


async def consent_answer(
    query: CallbackQuery,
    callback_data: ConsentCb,
    state: FSMContext,
    clock: Callable[[], datetime],
) -> None:
    """«Согласен» records the moment and asks for the name; «Не согласен» forgets everything."""
    target = callback_target(query)
    await query.answer()
    if callback_data.answer != "yes":
        await state.clear()
        await target.answer(texts.CONSENT_REFUSED)
        return
    await state.update_data(consent_at=clock().isoformat())
    data = await state.get_data()
    if data.get("person"):
        await state.set_state(PersonalRegistration.confirm)
        await target.answer(_profile_text(data), reply_markup=profile_keyboard())
        return
    await state.set_state(Registration.full_name)
    await target.answer(texts.ASK_FULL_NAME)


async def consent_reminder(message: Message) -> None:
    """Anything but a button while consent is asked: ask again."""
    await message.answer(texts.CONSENT, reply_markup=consent_keyboard())


def _profile_text(data: dict[str, object]) -> str:
    person = data["person"]
    assert isinstance(person, dict)
    return tp.profile_check(
        role=str(data.get("role") or ""),
        full_name=person["full_name"],
        organisation=person["organisation"],
        position=person["position"],
        municipality=person["municipality"],
    )


async def profile_confirmed(
    query: CallbackQuery,
    callback_data: ProfileCb,
    state: FSMContext,
    repo: Repo,
    bot: Bot,
    time_policy: TimePolicy,
    clock: Callable[[], datetime],
) -> None:
    """«Всё верно» registers the person as stored; «Исправить» asks the ordinary questions
    (the municipality stays the stored one)."""
    target = callback_target(query)
    await query.answer()
    if callback_data.answer == "ok":
        await _finish(target, query.from_user.id, state, repo, bot, time_policy, clock, None)
        return
    await state.set_state(Registration.full_name)
    await target.answer(f"{tp.PROFILE_FIX}\n{texts.ASK_FULL_NAME}")


async def profile_reminder(message: Message, state: FSMContext) -> None:
    """Anything but a button while the stored profile is shown: show it again."""
    await message.answer(_profile_text(await state.get_data()), reply_markup=profile_keyboard())


@dataclass(frozen=True, slots=True)
class _Question:
    """One profile question of registration: where the answer goes, how it is checked."""

    field: str
    clean: Callable[[str | None], str]
    prompt: str


# The profile questions in the order they are asked (Registration states).
QUESTIONS: dict[str | None, _Question] = {  # keyed by the state's name
    Registration.full_name.state: _Question("full_name", clean_full_name, texts.ASK_FULL_NAME),
    Registration.organisation.state: _Question(
        "organisation",
        lambda t: clean_text(t, 2, column_length(User.organisation)),
        texts.ASK_ORGANISATION,
    ),
    Registration.position.state: _Question(
        "position", lambda t: clean_text(t, 2, column_length(User.position)), texts.ASK_POSITION
    ),
    Registration.municipality.state: _Question(
        "municipality",
        lambda t: clean_text(t, 2, column_length(User.municipality)),
        texts.ASK_MUNICIPALITY,
    ),
}
ORDER: list[str | None] = list(QUESTIONS)


async def profile_answer(
    message: Message,
    state: FSMContext,
    repo: Repo,
    bot: Bot,
    time_policy: TimePolicy,
    clock: Callable[[], datetime],
) -> None:
    """An answer to a profile question: check it (ask again with the reason), store it in the
    dialogue, then ask the next question or finish. A municipality fixed by the invite is not
    asked."""
    current = await state.get_state()
    question = QUESTIONS[current]
    with asking_again(question.prompt):
        value = question.clean(message.text)
    await state.update_data({question.field: value})
    data = await state.get_data()
    fixed = {Registration.municipality.state} if data.get("municipality") else set()
    following = [s for s in ORDER[ORDER.index(current) + 1 :] if s not in fixed]
    if not following:
        assert message.from_user is not None
        profile = Profile(
            full_name=data["full_name"],
            organisation=data["organisation"],
            position=data["position"],
            municipality=data.get("municipality"),
        )
        await _finish(message, message.from_user.id, state, repo, bot, time_policy, clock, profile)
        return
    await state.set_state(following[0])
    await message.answer(QUESTIONS[following[0]].prompt)


async def _finish(
    message: Target,
    telegram_id: int,
    state: FSMContext,
    repo: Repo,
    bot: Bot,
    time_policy: TimePolicy,
    clock: Callable[[], datetime],
    profile: Profile | None,
) -> None:
    """Register ``telegram_id`` with the dialogue's invite and ``profile`` (None: a personal
    invite's stored profile, confirmed) and answer in ``message``'s chat; the plan starts on
    the district's date (``time_policy``)."""
    data = await state.get_data()
    now = clock()
    try:
        user = await PeopleService(repo).register(
            telegram_id,
            data["code"],
            profile,
            consent_version=texts.CONSENT_VERSION,
            consent_at=datetime.fromisoformat(data["consent_at"]),
            now=now,
            today=time_policy.today(now),
        )
    except InviteError as exc:
        await state.clear()
        await message.answer(INVITE_TEXT[exc.problem])
        return
    except AlreadyRegisteredError:
        await state.clear()
        await message.answer(texts.ALREADY_REGISTERED)
        return
    await state.clear()
    await message.answer(texts.registered(user.role, user.full_name or ""))
    await set_user_commands(bot, telegram_id, Role(user.role))


async def show_help(message: Message, user: User) -> None:
    """/help for the caller's role."""
    await message.answer(texts.HELP[user.role])


async def show_me(
    message: Message, user: User, repo: Repo, time_policy: TimePolicy, zone: ZoneInfo
) -> None:
    """/me: everything stored about the caller, with the version of the consent text they
    accepted and when (from the consent journal), dated in their ``zone``."""
    consent = None
    found = await PeopleService(repo).consent(user)
    if found is not None:
        version, accepted, published = found
        consent = texts.consent_line(
            version,
            f"{published.astimezone(zone):%d.%m.%Y}",
            f"{accepted.astimezone(zone):%d.%m.%Y %H:%M}",
        )
    await message.answer(
        texts.profile(
            role=user.role,
            full_name=user.full_name,
            organisation=user.organisation,
            position=user.position,
            municipality=user.municipality,
            timezone=user.timezone or time_policy.default_timezone,
            muted=user.muted,
            consent=consent,
            telegram_id=user.telegram_id,
        )
    )


async def delete_me(message: Message) -> None:
    """/delete_me: ask for confirmation."""
    await message.answer(texts.DELETE_CONFIRM, reply_markup=delete_keyboard())


async def delete_answer(
    query: CallbackQuery,
    callback_data: DeleteCb,
    repo: Repo,
    user: User,
    bot: Bot,
    db: Database,
    state: FSMContext,
    clock: Callable[[], datetime],
    after_commit: list[Callable[[], object]],
) -> None:
    """Confirmation of /delete_me: erase the caller's personal data and withdraw the consent
    (PeopleService.erase), or keep everything.

    The erasure is written first; the first answer to Telegram commits it. The other sides of
    the ended mentor pairs are told after that; once the update's last commit succeeded, the
    database files are scrubbed of the deleted values (storage.scrub) in a task of its own."""
    target = callback_target(query)
    if callback_data.answer != "yes":
        await query.answer()
        await target.answer(texts.DELETE_KEPT)
        return
    chat_id = user.telegram_id
    await state.clear()
    to_tell = await PeopleService(repo).erase(user, clock())
    await query.answer()
    await target.answer(texts.DELETED)
    for other in to_tell:
        text = (
            texts.PAIR_ENDED_MENTOR_DELETED
            if other.role == Role.RESERVIST
            else texts.PAIR_ENDED_MENTEE_DELETED
        )
        await tell(bot, repo, other, text)
    if chat_id is not None:
        await clear_user_commands(bot, chat_id)
    after_commit.append(partial(_scrub_later, db))


# scrubs of the database files running after a deletion (kept referenced until done)
SCRUBS: set[asyncio.Task[None]] = set()


def _scrub_later(db: Database) -> None:
    # a fresh context: the scrub must not join the (finished) update's transaction
    task = asyncio.create_task(_scrub(db), name="scrub-after-deletion", context=Context())
    SCRUBS.add(task)
    task.add_done_callback(SCRUBS.discard)


async def _scrub(db: Database) -> None:
    try:
        if not await scrub_files(db):
            log.warning(
                "write-ahead log still in use after a deletion; emptied at the next checkpoint"
            )
    except Exception:
        log.exception("scrubbing the database files after a deletion failed")
