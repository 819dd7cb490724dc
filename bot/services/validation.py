"""Validation of what users type: free text answers, names, dates. Messages come from bot.texts."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from bot import texts
from bot.services.errors import InputError

_DATE_RE = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})\s*$", re.ASCII)
_NUMBER_RE = re.compile(r"[0-9]+", re.ASCII)
#: The largest id a database row can have (the id columns are INTEGER: a signed 32-bit integer
#: on PostgreSQL): a larger number in a button's callback data is a forged or stale button, never
#: a query.
MAX_ID = 2**31 - 1


def _ascii_digits(value: object) -> object:
    """Text from Telegram is a number only in ASCII digits (an optional leading minus)."""
    if isinstance(value, str) and not value.removeprefix("-").isascii():
        msg = "not an ASCII number"
        raise ValueError(msg)
    return value


#: A database id in a button's callback data: ASCII digits, 0 to :data:`MAX_ID` (pydantic type).
Id = Annotated[int, BeforeValidator(_ascii_digits), Field(ge=0, le=MAX_ID)]
#: A page, a year or an index in callback data: ASCII digits, a signed 32-bit integer.
Number = Annotated[int, BeforeValidator(_ascii_digits), Field(ge=-(2**31), le=2**31 - 1)]
_NAME_WORD = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё'’.-]*$")


def clean_text(value: str | None, low: int = 2, high: int = 200) -> str:
    """Return the answer with whitespace collapsed.

    Raises:
        InputError: empty, holding a NUL byte (no database column takes one), a command (starts
            with "/"), or shorter than ``low`` / longer than
            ``high`` characters.
    """
    if value is None:
        raise InputError(texts.BAD_TEXT_NOT_TEXT)
    if "\x00" in value:
        raise InputError(texts.BAD_TEXT_NUL)
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


def ascii_number(value: str | None) -> int | None:
    """The whole number ``value`` spells in ASCII digits (surrounding spaces allowed), or None.

    ``str.isdigit`` also accepts superscripts such as «²», which ``int`` cannot read; a number a
    user types or a button carries is read only through here.
    """
    text = (value or "").strip()
    return int(text) if _NUMBER_RE.fullmatch(text) else None


def parse_id(value: str | None) -> int | None:
    """A database id (1 to :data:`MAX_ID`) written in ASCII digits, or None."""
    number = ascii_number(value)
    return number if number is not None and 1 <= number <= MAX_ID else None


def column_length(column: Any) -> int:
    """The length limit of a string column of :mod:`storage.models` (e.g.
    ``ReserveStatusChange.order_number``), so that a check before the database names the same
    number the database enforces."""
    length = column.property.columns[0].type.length
    if length is None:
        msg = f"{column} has no length limit"
        raise ValueError(msg)
    return int(length)
