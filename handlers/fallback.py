"""The last router: whatever no other router took is denied or explained (deny by default)."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot import texts
from handlers.callbacks import LogStepCb
from storage.models import User

KNOWN_COMMANDS = frozenset(
    {
        "start",
        "help",
        "cancel",
        "me",
        "delete_me",
        "plan",
        "log",
        "settings",
        "invite",
        "assign",
        "pairs",
        "consult",
        "find",
        "broadcast",
        "broadcasts",
        "roadmap",
        "mentees",
        "export",
        "kpi",
        "report",
    }
)


def setup() -> Router:
    """The router of this module."""
    router = Router(name="fallback")
    router.message.register(any_message)
    router.callback_query.register(step_passed, LogStepCb.filter())
    router.callback_query.register(any_callback)
    return router


def _registered(user: User | None) -> bool:
    return user is not None and user.anonymised_at is None


async def any_message(message: Message, state: FSMContext, user: User | None = None) -> None:
    """Unregistered: the polite refusal (nothing stored). Registered: denied or not understood."""
    if not _registered(user):
        await state.clear()
        await message.answer(texts.NO_ACCESS)
        return
    text = message.text or ""
    if text.startswith("/"):
        command = text[1:].split(maxsplit=1)[0].split("@", 1)[0].casefold() if text[1:] else ""
        if command in KNOWN_COMMANDS:
            await message.answer(texts.DENIED)
            return
    await message.answer(texts.UNKNOWN_COMMAND)


async def step_passed(query: CallbackQuery, user: User | None = None) -> None:
    """«Сегодня» / «Пропустить» of a dialogue step that is over (pressed twice, or after the
    dialogue ended): the step acted once; say so instead of acting again."""
    if not _registered(user):
        await query.answer(texts.NO_ACCESS_ALERT, show_alert=True)
        return
    await query.answer(texts.STEP_PASSED)


async def any_callback(query: CallbackQuery, user: User | None = None) -> None:
    """A button no handler accepts: stale, forged or not the caller's."""
    if not _registered(user):
        await query.answer(texts.NO_ACCESS_ALERT, show_alert=True)
        return
    await query.answer(texts.STALE_BUTTON, show_alert=True)
