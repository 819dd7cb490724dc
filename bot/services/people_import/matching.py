"""Who is who in an imported list: text compared in a folded form (:func:`compact`: case, «ё»,
spaces and punctuation ignored), the person key that makes the import idempotent
(:func:`person_key`), and a mentor written by name (:func:`mentor_matches`)."""

from __future__ import annotations

import re

__all__ = ["compact", "mentor_matches", "name_words", "person_key"]

_WORDS = re.compile(r"[^\W\d_]+")


def _fold(text: str) -> str:
    return text.casefold().replace("ё", "е")


def compact(text: str) -> str:
    """``text`` casefolded, «ё» as «е», letters and digits only: the form keys compare."""
    return "".join(ch for ch in _fold(text) if ch.isalnum())


def name_words(full_name: str) -> list[str]:
    """The words of a name, casefolded with «ё» as «е» (initials become one-letter words)."""
    return _WORDS.findall(_fold(full_name))


def person_key(full_name: str, organisation: str, municipality: str) -> tuple[str, str, str]:
    """Who a person is for the import: normalised ФИО, организация and муниципалитет (case,
    «ё», spaces, quotes and other punctuation ignored)."""
    return " ".join(name_words(full_name)), compact(organisation), compact(municipality)


def mentor_matches(written: str, full_name: str) -> bool:
    """Whether a mentor written as ``written`` («Петров Иван Сергеевич», «Петров И.С.»,
    «Петров Иван») may be the person ``full_name``: the same surname, then each further word
    the same word or its initial."""
    query, full = name_words(written), name_words(full_name)
    if len(query) < 2 or len(query) > len(full) or query[0] != full[0]:
        return False
    return all(
        word == full[k] or (len(word) == 1 and full[k].startswith(word))
        for k, word in enumerate(query[1:], start=1)
    )
