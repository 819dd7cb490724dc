"""The inline keyboards that the adapter sends (aiogram's InlineKeyboardBuilder; button words
come from bot.texts): under a reminder, a digest, a broadcast and its progress message.
The handlers' own keyboards are in :mod:`handlers.keyboards`.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.telegram.callbacks import BroadcastAnswerCb, BroadcastControlCb, ConsultCb, ItemCb
from bot.texts import broadcast as t

BUTTON_TITLE = 60


def short(title: str, limit: int = BUTTON_TITLE) -> str:
    """A title cut to fit a button."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def reminder_keyboard(item_id: int) -> InlineKeyboardMarkup:
    """Buttons under a reminder: «Отметить выполненным», «Напомнить позже»."""
    kb = InlineKeyboardBuilder()
    kb.button(text=texts.BTN_DONE, callback_data=ItemCb(action="done", item_id=item_id))
    kb.button(text=texts.BTN_LATER, callback_data=ItemCb(action="later", item_id=item_id))
    kb.adjust(1)
    return kb.as_markup()


def reminders_keyboard(items: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Buttons under a reminder about several items ((item id, title), numbered as the text
    numbers them): one row per item, «✅ N. title» (mark done) and «Напомнить позже».
    Callback data is ``item:done:<id>:1`` / ``item:later:<id>:1``, far within the Bot API's
    64 bytes."""
    kb = InlineKeyboardBuilder()
    for number, (item_id, title) in enumerate(items, 1):
        kb.row(
            InlineKeyboardButton(
                text=texts.btn_notice_done(number, short(title, 40)),
                callback_data=ItemCb(action="done", item_id=item_id).pack(),
            ),
            InlineKeyboardButton(
                text=texts.BTN_LATER,
                callback_data=ItemCb(action="later", item_id=item_id).pack(),
            ),
        )
    return kb.as_markup()


def digest_keyboard(entries: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """A digest of consultations: for each, «✅ …» and «❌» buttons on one row."""
    kb = InlineKeyboardBuilder()
    for consultation_id, label in entries:
        kb.row(
            InlineKeyboardButton(
                text=f"✅ {short(label, 48)}",
                callback_data=ConsultCb(action="yes", consultation_id=consultation_id).pack(),
            ),
            InlineKeyboardButton(
                text="❌",
                callback_data=ConsultCb(action="no", consultation_id=consultation_id).pack(),
            ),
        )
    return kb.as_markup()


def rsvp_keyboard(broadcast_id: int) -> InlineKeyboardMarkup:
    """«Буду» / «Не смогу» under the last message of an RSVP broadcast."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t.RSVP_YES, callback_data=BroadcastAnswerCb(broadcast_id=broadcast_id, answer="yes")
    )
    kb.button(
        text=t.RSVP_NO, callback_data=BroadcastAnswerCb(broadcast_id=broadcast_id, answer="no")
    )
    return kb.as_markup()


def stop_keyboard(broadcast_id: int) -> InlineKeyboardMarkup:
    """«Остановить» under the progress message of a running broadcast."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t.BTN_STOP, callback_data=BroadcastControlCb(action="stop", broadcast_id=broadcast_id)
    )
    return kb.as_markup()


def resume_keyboard(broadcast_id: int) -> InlineKeyboardMarkup:
    """«Продолжить» under the progress message of a stopped broadcast."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t.BTN_RESUME,
        callback_data=BroadcastControlCb(action="resume", broadcast_id=broadcast_id),
    )
    return kb.as_markup()


def resend_keyboard(broadcast_ids: Sequence[int]) -> InlineKeyboardMarkup | None:
    """«Отправить повторно №N» under /broadcasts, one per broadcast with failed recipients
    (None when there is none)."""
    if not broadcast_ids:
        return None
    kb = InlineKeyboardBuilder()
    for broadcast_id in broadcast_ids:
        kb.button(
            text=t.btn_resend(broadcast_id),
            callback_data=BroadcastControlCb(action="resend", broadcast_id=broadcast_id),
        )
    kb.adjust(1)
    return kb.as_markup()
