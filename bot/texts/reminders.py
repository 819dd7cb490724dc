"""Reminders of plan items, in Russian: an activity starts soon, an item is due soon or overdue,
several reminders gathered in one message, and the answers to the reminders' buttons. A chapter
of :mod:`bot.texts`.

Messages are sent with HTML parse mode; values are escaped with :func:`bot.texts.common.esc`.
"""

from __future__ import annotations

from datetime import date

from bot.texts.common import esc, fmt_date

# --- reminders --------------------------------------------------------------------------------


def notice_window(title: str, starts: date, days: int) -> str:
    """An activity's window opens soon."""
    when = "завтра" if days == 1 else (f"через {days} дн." if days > 1 else "сегодня")
    return (
        f"🔔 Скоро мероприятие плана: <b>{esc(title)}</b>\nНачало — {when} ({fmt_date(starts)})."
    )


def notice_due(title: str, due: date, days: int) -> str:
    """A plan item is due soon."""
    left = "сегодня" if days <= 0 else ("завтра" if days == 1 else f"через {days} дн.")
    return (
        f"⏳ Срок пункта плана «{esc(title)}» истекает {left} ({fmt_date(due)}).\n"
        "Если уже выполнено — отметьте."
    )


def notice_overdue(title: str, due: date) -> str:
    """A plan item is overdue."""
    return (
        f"⚠️ Пункт плана «{esc(title)}» просрочен (срок был {fmt_date(due)}).\n"
        "Если он выполнен — отметьте, если нет — обсудите с наставником или отделом образования."
    )


def notice_snoozed(title: str) -> str:
    """A reminder the user asked to repeat later."""
    return f"🔔 Напоминание: пункт плана «{esc(title)}» ещё не отмечен выполненным."


def notices_digest(count: int) -> str:
    """The first line of one message that gathers several reminders for the same user."""
    return f"🔔 <b>Напоминания по плану ({count})</b>"


def notice_numbered(number: int, notice: str) -> str:
    """One reminder inside a gathered message, numbered like its buttons."""
    return f"{number}. {notice}"


def btn_notice_done(number: int, title: str) -> str:
    """The «mark done» button of the ``number``-th reminder of a gathered message."""
    return f"✅ {number}. {title}"


SNOOZED = "Хорошо, напомню завтра."
STEP_PASSED = "Этот шаг уже пройден."
SNOOZED_ALREADY = "Уже отложено: напомню завтра."
