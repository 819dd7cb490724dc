"""The base chapter of the catalogue :mod:`bot.texts`: escaping (:func:`esc`) and dates, the
names of months, roles and activity kinds, Telegram's limits, and the helpers that keep a list of
lines within a budget of characters. It imports nothing from :mod:`bot.texts`: every other chapter
takes these from here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from html import escape

MONTHS = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip

ROLE_NAMES = {"reservist": "резервист", "mentor": "наставник", "officer": "специалист отдела"}
KIND_NAMES = {
    "diagnostics": "диагностика",
    "training": "тренинг",
    "seminar": "семинар",
    "competition": "конкурс",
    "self_government_day": "день самоуправления",
    "internship": "стажировка",
    "courses": "курсы",
    "consultation": "консультация",
    "interview": "собеседование",
    "planning": "планирование",
    "monitoring": "мониторинг",
    "other": "другое",
}


def esc(value: object) -> str:
    """HTML-escape a value for a message sent with parse_mode=HTML."""
    return escape(str(value), quote=False)


def fmt_date(value: date) -> str:
    """A date as ДД.ММ.ГГГГ."""
    return value.strftime("%d.%m.%Y")


# --- Telegram's limits (Bot API): every text built here keeps within them ----------------------
MESSAGE_LIMIT = 4096  # a message text; counted here with its HTML markup, which errs safe
CAPTION_LIMIT = 1024  # a photo's or document's caption
ALERT_LIMIT = 200  # the text of answerCallbackQuery (an alert or a toast)
CALLBACK_DATA_LIMIT = 64  # bytes of a button's callback data
NAME_SHOWN = 100  # a person's name inside a list line
CARD_HISTORY_BUDGET = 2500  # a person's card keeps the newest steps of its history in this
TITLE_SHOWN = 200  # an item's title inside a list line (the card shows it whole)


def cut(value: str, limit: int) -> str:
    """``value`` shortened to ``limit`` characters with «…» (before escaping)."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def more_lines(count: int) -> str:
    """The line standing for ``count`` lines of a list that did not fit."""
    return f"…и ещё {count}"


def earlier_lines(count: int) -> str:
    """The line standing for ``count`` earlier entries that did not fit."""
    return f"…и ещё {count} раньше"


def joined_size(lines: list[str]) -> int:
    """The characters ``lines`` take joined by line breaks (one more per line: it errs safe)."""
    return sum(len(line) + 1 for line in lines)


def fits_first(lines: list[str], budget: int, more: Callable[[int], str] = more_lines) -> int:
    """How many of the first ``lines`` fit in ``budget`` characters (joined by line breaks),
    leaving room for ``more(rest)`` when not all of them fit."""
    if joined_size(lines) <= budget:
        return len(lines)
    kept = 0
    while kept < len(lines) and joined_size([*lines[: kept + 1], more(len(lines))]) <= budget:
        kept += 1
    return kept


def fit_first(lines: list[str], budget: int, more: Callable[[int], str] = more_lines) -> list[str]:
    """The first ``lines`` that fit in ``budget`` characters, followed by ``more(rest)`` when
    some did not fit."""
    kept = fits_first(lines, budget, more)
    if kept == len(lines):
        return list(lines)
    return [*lines[:kept], more(len(lines) - kept)]


def fits_last(lines: list[str], budget: int, more: Callable[[int], str] = earlier_lines) -> int:
    """How many of the last ``lines`` fit in ``budget`` characters (joined by line breaks),
    leaving room for ``more(rest)`` when not all of them fit."""
    if joined_size(lines) <= budget:
        return len(lines)
    kept = 0
    for line in reversed(lines):
        if (
            joined_size([more(len(lines)), line]) + joined_size(lines[len(lines) - kept :])
            > budget
        ):
            break
        kept += 1
    return kept


def fit_last(
    lines: list[str], budget: int, more: Callable[[int], str] = earlier_lines
) -> list[str]:
    """The last ``lines`` that fit in ``budget`` characters, preceded by ``more(rest)`` when
    earlier ones did not fit."""
    kept = fits_last(lines, budget, more)
    if kept == len(lines):
        return list(lines)
    return [more(len(lines) - kept), *lines[len(lines) - kept :]]
