"""Validation of what users type: free text answers, names, dates. Messages come from bot.texts."""

from __future__ import annotations

import re
from datetime import date

from bot import texts
from bot.services.errors import InputError

_DATE_RE = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})\s*$")
_NAME_WORD = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё'’.-]*$")


def clean_text(value: str | None, low: int = 2, high: int = 200) -> str:
    """Return the answer with whitespace collapsed.

    Raises:
        InputError: empty, a command (starts with "/"), or shorter than ``low`` / longer than
            ``high`` characters.
    """
    if value is None:
        raise InputError(texts.BAD_TEXT_NOT_TEXT)
    text = " ".join(value.split())
    if not text:
        raise InputError(texts.BAD_TEXT_EMPTY)
    if text.startswith("/"):
        raise InputError(texts.BAD_TEXT_COMMAND)
    if not low <= len(text) <= high:
        raise InputError(texts.bad_text_length(low, high))
    return text


def clean_full_name(value: str | None) -> str:
    """A full name (ФИО): two to five words of letters, at most 200 characters, capitalised.

    Raises:
        InputError: as :func:`clean_text`, or when it does not look like a name.
    """
    text = clean_text(value, 2, 200)
    words = text.split(" ")
    if not 2 <= len(words) <= 5 or not all(_NAME_WORD.match(w) for w in words):
        raise InputError(texts.BAD_FULL_NAME)
    return " ".join(w[:1].upper() + w[1:] for w in words)


def parse_user_date(value: str | None, *, today: date, earliest: date) -> date:
    """Parse a date typed as ДД.ММ.ГГГГ (also with "/" or "-", or a two-digit year).

    Args:
        today: the user's local date; the result may not be after it.
        earliest: the first acceptable date (the start of the plan year or of the item's window).

    Raises:
        InputError: unreadable, in the future, or before ``earliest``.
    """
    match = _DATE_RE.match(value or "")
    if not match:
        raise InputError(texts.BAD_DATE_FORMAT)
    day, month, year = (int(g) for g in match.groups())
    if year < 100:
        year += 2000
    try:
        result = date(year, month, day)
    except ValueError:
        raise InputError(texts.BAD_DATE_FORMAT) from None
    if result > today:
        raise InputError(texts.BAD_DATE_FUTURE)
    if result < earliest:
        raise InputError(texts.bad_date_before(earliest.year))
    return result
