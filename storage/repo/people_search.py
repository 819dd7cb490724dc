"""The people pickers' search in SQL: whom a picker lists (:class:`PeopleQuery`) and the patterns
that match a typed word in any letter case on SQLite and PostgreSQL alike.

A person matches a word when their name, organisation or municipality contains it with
Python's ``str.casefold`` on both sides. Neither database folds case that way (SQLite's
``lower()`` folds only ASCII; PostgreSQL's depends on the server's locale), so the typed word
becomes a pattern instead: each of its characters a class of every character that casefolds to
the same (``[иИ]``, ``[kKK]``), as a ``GLOB`` on SQLite and a ``~`` regular expression on
PostgreSQL. That equals ``word.casefold() in field.casefold()`` for every character whose
casefold is one character; the 104 whose casefold is longer (``ß`` → ``ss``, ``İ``, the Latin
ligatures ``ﬁ``, Greek letters with a iota subscript) match only their own case variants.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, false, or_

from storage.models import Role, User

#: Every character that has a case lies below this code point (the last, in Adlam, is U+1E943);
#: the fold classes are built from the characters below it.
_CASED_BELOW = 0x20000


@dataclass(frozen=True, slots=True)
class PeopleQuery:
    """Whom a people picker lists: not anonymised people with a name, and of them:

    Attributes:
        role: only this role (None: every role).
        registered: only registered people (not those imported and awaiting registration).
        municipalities: only people whose ``municipality`` is one of these exact values (None
            among them: no municipality); None: everyone (a regional officer).
        words: only people whose name, organisation or municipality contains every word in
            any letter case (none: no search).
    """

    role: Role | None
    registered: bool
    municipalities: Collection[str | None] | None
    words: Sequence[str]


@cache
def _folds() -> dict[str, frozenset[str]]:
    """Each casefolded form → the characters that casefold to it (built once, ~40 ms)."""
    table: dict[str, set[str]] = {}
    for code in range(_CASED_BELOW):
        char = chr(code)
        table.setdefault(char.casefold(), set()).add(char)
    return {fold: frozenset(chars) for fold, chars in table.items()}


def fold_class(char: str) -> frozenset[str]:
    """``char`` and every character whose casefold is the same as ``char``'s."""
    return _folds().get(char.casefold(), frozenset()) | {char}


def glob_pattern(word: str) -> str:
    """A SQLite ``GLOB`` pattern matching text that contains ``word`` in any letter case."""
    parts = []
    for char in word:
        chars = fold_class(char)
        if char in "*?[":
            parts.append(f"[{char}]")
        elif len(chars) == 1:
            parts.append(char)
        else:
            # characters with case variants are letters and marks: never "]", "-" or "^",
            # the only characters special inside a GLOB class
            parts.append(f"[{''.join(sorted(chars))}]")
    return f"*{''.join(parts)}*"


def regex_pattern(word: str) -> str:
    """A PostgreSQL regular expression (``~``) matching text that contains ``word`` in any
    letter case."""
    parts = []
    for char in word:
        chars = sorted(fold_class(char))
        parts.append("[" + "".join(c if c.isalnum() else "\\" + c for c in chars) + "]")
    return "".join(parts)


def people_filter(query: PeopleQuery) -> ColumnElement[bool]:
    """The WHERE clause of ``query`` without its :attr:`PeopleQuery.words`."""
    clauses: list[ColumnElement[bool]] = [
        User.anonymised_at.is_(None),
        User.full_name.is_not(None),
    ]
    if query.role is not None:
        clauses.append(User.role == query.role)
    if query.registered:
        clauses.append(User.registered_at.is_not(None))
    if query.municipalities is not None:
        named = [m for m in query.municipalities if m is not None]
        area: list[ColumnElement[bool]] = [User.municipality.in_(named)] if named else []
        if None in query.municipalities:
            area.append(User.municipality.is_(None))
        clauses.append(or_(*area) if area else false())
    return and_(*clauses)


def contains_word(
    text: SQLColumnExpression[str | None], word: str, dialect: str
) -> ColumnElement[bool]:
    """``text`` contains ``word`` in any letter case (see the module's docstring), on
    ``dialect`` (``sqlite``: ``GLOB``; otherwise ``postgresql``: ``~``)."""
    if dialect == "sqlite":
        return text.op("GLOB")(glob_pattern(word))
    return text.regexp_match(regex_pattern(word))


def words_filter(words: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """The WHERE clause matching people whose name, organisation or municipality contains
    every one of ``words`` (no whitespace in them, so each lies within one of the three) in any
    letter case, on ``dialect``."""
    fields = (User.full_name, User.organisation, User.municipality)
    return and_(*(or_(*(contains_word(f, word, dialect) for f in fields)) for word in words))
