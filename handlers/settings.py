"""/settings: time zone and muting reminders (every registered role)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot import texts
from bot.services.time_policy import TimePolicy
from handlers.callbacks import SettingsCb
from handlers.common import callback_target
from handlers.filters import REGISTERED
from handlers.keyboards import settings_keyboard, zones_keyboard
from storage.models import User
from storage.repo import Repo


def setup() -> Router:
    """The router of this module."""
    router = Router(name="settings")
    router.message.filter(REGISTERED)
    router.callback_query.filter(REGISTERED)
    router.message.register(show_settings, Command("settings"))
    router.callback_query.register(settings_action, SettingsCb.filter())
    return router


def _zone_label(zone: str) -> str:
    return next((label for name, label in texts.ZONES if name == zone), zone)


def _render(user: User, time_policy: TimePolicy) -> str:
    quiet = f"{time_policy.quiet_start:02d}:00–{time_policy.quiet_end:02d}:00"
    return texts.settings_text(
        _zone_label(user.timezone or time_policy.default_timezone), user.muted, quiet
    )


async def show_settings(message: Message, user: User, time_policy: TimePolicy) -> None:
    """/settings: the caller's zone and muting, and the quiet hours (``time_policy``)."""
    await message.answer(_render(user, time_policy), reply_markup=settings_keyboard(user.muted))


async def settings_action(
    query: CallbackQuery,
    callback_data: SettingsCb,
    user: User,
    repo: Repo,
) -> None:
    """Buttons of /settings: open the zone list, pick a zone, mute, unmute."""
    target = callback_target(query)
    action = callback_data.action
    if action == "zone":
        await query.answer()
        await target.answer(texts.ZONE_PICK, reply_markup=zones_keyboard())
        return
    if action == "tz":
        if not 0 <= callback_data.index < len(texts.ZONES):
            await query.answer(texts.STALE_BUTTON, show_alert=True)
            return
        zone, label = texts.ZONES[callback_data.index]
        await repo.users.update(user, timezone=zone)
        await query.answer()
        await target.answer(texts.zone_set(label))
        return
    if action in ("mute", "unmute"):
        await repo.users.update(user, muted=action == "mute")
        await query.answer()
        await target.answer(texts.MUTED if user.muted else texts.UNMUTED)
        return
    await query.answer(texts.STALE_BUTTON, show_alert=True)
