"""The handlers' inline keyboards (aiogram's InlineKeyboardBuilder); button words come from
bot.texts. The keyboards that the Telegram adapter sends on its own (under reminders, digests
and broadcasts) and ``short`` are in :mod:`bot.telegram`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.telegram import ConsultCb, ItemCb, short
from handlers.callbacks import (
    AssignCb,
    CommentsCb,
    ConsentCb,
    ConsultPickCb,
    DeleteCb,
    ListPageCb,
    LogStepCb,
    MenteeCb,
    MenteePlanCb,
    MonthCb,
    PlanPageCb,
    SettingsCb,
)


def consent_keyboard() -> InlineKeyboardMarkup:
    """«Согласен» / «Не согласен»."""
    kb = InlineKeyboardBuilder()
    kb.button(text=texts.CONSENT_YES, callback_data=ConsentCb(answer="yes"))
    kb.button(text=texts.CONSENT_NO, callback_data=ConsentCb(answer="no"))
    return kb.as_markup()


def delete_keyboard() -> InlineKeyboardMarkup:
    """Confirmation of /delete_me."""
    kb = InlineKeyboardBuilder()
    kb.button(text=texts.DELETE_YES, callback_data=DeleteCb(answer="yes"))
    kb.button(text=texts.DELETE_NO, callback_data=DeleteCb(answer="no"))
    return kb.as_markup()


def plan_keyboard(
    entries: Sequence[tuple[int, str, str]], page: int, pages: int, year: int = 0
) -> InlineKeyboardMarkup:
    """One button per item of the page (id, status, title), then page navigation.

    Plain markup, not an InlineKeyboardBuilder: the builder deep-copies every button on each
    step, and that was a third of the CPU of a /plan (profiled: 6 of 17 ms an update)."""
    rows = [
        [
            InlineKeyboardButton(
                text=f"{texts.STATUS_ICON[status]} {short(title)}",
                callback_data=ItemCb(action="open", item_id=item_id, page=page).pack(),
            )
        ]
        for item_id, status, title in entries
    ]
    nav = []
    if page > 1:
        data = PlanPageCb(page=page - 1, year=year).pack()
        nav.append(InlineKeyboardButton(text=texts.BTN_PREV, callback_data=data))
    if page < pages:
        data = PlanPageCb(page=page + 1, year=year).pack()
        nav.append(InlineKeyboardButton(text=texts.BTN_NEXT, callback_data=data))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _older_button(kb: InlineKeyboardBuilder, item_id: int, older: int) -> None:
    if older > 0:
        kb.button(
            text=texts.BTN_OLDER_COMMENTS, callback_data=CommentsCb(item_id=item_id, before=older)
        )


def older_comments_keyboard(item_id: int, older: int) -> InlineKeyboardMarkup | None:
    """Under a page of earlier comments: «Более ранние», when there are some."""
    kb = InlineKeyboardBuilder()
    _older_button(kb, item_id, older)
    return kb.as_markup() if older > 0 else None


def attach_page_nav(
    kb: InlineKeyboardBuilder, page: int, pages: int, data: Callable[[int], CallbackData]
) -> None:
    """Attach to ``kb`` a row of «Назад» / «Далее» to the pages around ``page`` of ``pages``
    (none at the ends), ``data(n)`` being the callback data of page ``n``."""
    nav = InlineKeyboardBuilder()
    if page > 1:
        nav.button(text=texts.BTN_PREV, callback_data=data(page - 1))
    if page < pages:
        nav.button(text=texts.BTN_NEXT, callback_data=data(page + 1))
    kb.attach(nav)


def list_keyboard(kind: str, page: int, pages: int) -> InlineKeyboardMarkup | None:
    """Page navigation of a long list (/pairs), or None for a single page."""
    if pages <= 1:
        return None
    kb = InlineKeyboardBuilder()
    attach_page_nav(kb, page, pages, lambda p: ListPageCb(kind=kind, page=p))
    return kb.as_markup()


def item_keyboard(item_id: int, status: str, page: int, older: int = 0) -> InlineKeyboardMarkup:
    """Actions on an item card (and «Более ранние комментарии» when some page back)."""
    kb = InlineKeyboardBuilder()
    _older_button(kb, item_id, older)
    if status == "done":
        kb.button(text=texts.BTN_CORRECT, callback_data=ItemCb(action="correct", item_id=item_id))
        kb.button(text=texts.BTN_REOPEN, callback_data=ItemCb(action="reopen", item_id=item_id))
    else:
        kb.button(text=texts.BTN_DONE, callback_data=ItemCb(action="done", item_id=item_id))
    kb.button(text=texts.BTN_BACK, callback_data=PlanPageCb(page=page))
    kb.adjust(1)
    return kb.as_markup()


def pick_items_keyboard(entries: Sequence[tuple[int, str, str]]) -> InlineKeyboardMarkup:
    """Open items to log, one per row."""
    kb = InlineKeyboardBuilder()
    for item_id, status, title in entries:
        kb.button(
            text=f"{texts.STATUS_ICON[status]} {short(title)}",
            callback_data=ItemCb(action="done", item_id=item_id),
        )
    kb.adjust(1)
    return kb.as_markup()


def today_keyboard() -> InlineKeyboardMarkup:
    """«Сегодня»."""
    kb = InlineKeyboardBuilder()
    kb.button(text=texts.BTN_TODAY, callback_data=LogStepCb(step="today"))
    return kb.as_markup()


def skip_keyboard() -> InlineKeyboardMarkup:
    """«Пропустить»."""
    kb = InlineKeyboardBuilder()
    kb.button(text=texts.BTN_SKIP, callback_data=LogStepCb(step="skip"))
    return kb.as_markup()


def months_keyboard(today: date) -> InlineKeyboardMarkup:
    """The next twelve months starting with the current one."""
    kb = InlineKeyboardBuilder()
    year, month = today.year, today.month
    for _ in range(12):
        kb.button(
            text=f"{texts.MONTHS[month - 1]} {year}",
            callback_data=MonthCb(year=year, month=month),
        )
        month += 1
        if month > 12:
            month, year = 1, year + 1
    kb.adjust(3)
    return kb.as_markup()


def settings_keyboard(muted: bool) -> InlineKeyboardMarkup:
    """/settings actions."""
    kb = InlineKeyboardBuilder()
    kb.button(text=texts.BTN_ZONE, callback_data=SettingsCb(action="zone"))
    if muted:
        kb.button(text=texts.BTN_UNMUTE, callback_data=SettingsCb(action="unmute"))
    else:
        kb.button(text=texts.BTN_MUTE, callback_data=SettingsCb(action="mute"))
    kb.adjust(1)
    return kb.as_markup()


def zones_keyboard() -> InlineKeyboardMarkup:
    """The eleven zones of Russia."""
    kb = InlineKeyboardBuilder()
    for index, (_zone, label) in enumerate(texts.ZONES):
        kb.button(text=label, callback_data=SettingsCb(action="tz", index=index))
    kb.adjust(1)
    return kb.as_markup()


def reservist_card_keyboard(reservist_id: int, has_mentor: bool) -> InlineKeyboardMarkup:
    """Assign / change / end on an officer's reservist card."""
    kb = InlineKeyboardBuilder()
    label = texts.BTN_REASSIGN if has_mentor else texts.BTN_ASSIGN
    kb.button(text=label, callback_data=AssignCb(action="assign", reservist_id=reservist_id))
    if has_mentor:
        kb.button(
            text=texts.BTN_END, callback_data=AssignCb(action="end", reservist_id=reservist_id)
        )
    kb.adjust(1)
    return kb.as_markup()


def formats_keyboard() -> InlineKeyboardMarkup:
    """Очно / онлайн / по телефону."""
    kb = InlineKeyboardBuilder()
    for key, label in texts.FORMAT_NAMES.items():
        kb.button(text=label, callback_data=ConsultPickCb(kind="format", value=key))
    kb.adjust(3)
    return kb.as_markup()


def consult_items_keyboard(items: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """Plan items to link a consultation to, and «Без привязки»."""
    kb = InlineKeyboardBuilder()
    for item_id, title in items:
        kb.button(text=short(title), callback_data=ConsultPickCb(kind="item", value=str(item_id)))
    kb.button(text=texts.BTN_NO_ITEM, callback_data=ConsultPickCb(kind="item", value="0"))
    kb.adjust(1)
    return kb.as_markup()


def consult_decision_keyboard(consultation_id: int) -> InlineKeyboardMarkup:
    """«Подтвердить» / «Отклонить»."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=texts.BTN_CONFIRM,
        callback_data=ConsultCb(action="yes", consultation_id=consultation_id),
    )
    kb.button(
        text=texts.BTN_DECLINE,
        callback_data=ConsultCb(action="no", consultation_id=consultation_id),
    )
    return kb.as_markup()


def mentees_keyboard(
    mentees: Sequence[tuple[int, str]], page: int = 1, pages: int = 1
) -> InlineKeyboardMarkup:
    """One button per mentee of the page, then page navigation."""
    kb = InlineKeyboardBuilder()
    for user_id, name in mentees:
        kb.button(text=short(name), callback_data=MenteeCb(action="open", id=user_id))
    kb.adjust(1)
    attach_page_nav(kb, page, pages, lambda p: ListPageCb(kind="mentees", page=p))
    return kb.as_markup()


def mentee_plan_keyboard(
    entries: Sequence[tuple[int, str, str]], mentee_id: int = 0, page: int = 1, pages: int = 1
) -> InlineKeyboardMarkup:
    """The items of a page of a mentee's plan (id, status, title) for the mentor."""
    kb = InlineKeyboardBuilder()
    for item_id, status, title in entries:
        kb.button(
            text=f"{texts.STATUS_ICON[status]} {short(title)}",
            callback_data=MenteeCb(action="item", id=item_id),
        )
    kb.adjust(1)
    attach_page_nav(kb, page, pages, lambda p: MenteePlanCb(id=mentee_id, page=p))
    return kb.as_markup()


def mentor_item_keyboard(
    item_id: int, owner_id: int, *, can_confirm: bool, has_evidence: bool, older: int = 0
) -> InlineKeyboardMarkup:
    """The mentor's actions on a mentee's item (and «Более ранние комментарии»)."""
    kb = InlineKeyboardBuilder()
    _older_button(kb, item_id, older)
    if can_confirm:
        kb.button(
            text=texts.BTN_CONFIRM_ITEM, callback_data=MenteeCb(action="confirm", id=item_id)
        )
    if has_evidence:
        kb.button(text=texts.BTN_EVIDENCE, callback_data=MenteeCb(action="evidence", id=item_id))
    kb.button(text=texts.BTN_COMMENT, callback_data=MenteeCb(action="comment", id=item_id))
    kb.button(text=texts.BTN_TO_MENTEE, callback_data=MenteeCb(action="open", id=owner_id))
    kb.adjust(1)
    return kb.as_markup()
