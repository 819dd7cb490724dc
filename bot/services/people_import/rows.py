"""Checking one row of a list: clean values as in registration, the role, the mentor's name
and the cohort year, or the row's problems in Russian (:func:`check_row`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.services.errors import InputError
from bot.services.people_import.matching import compact, person_key
from bot.services.people_import.reading import RawRow
from bot.services.validation import clean_full_name, clean_text
from bot.texts import people as tp
from storage.models import Role

__all__ = [
    "ROLE_WORDS",
    "TEXT_LIMITS",
    "YEAR_RANGE",
    "PersonRow",
    "RowError",
    "check_row",
]

YEAR_RANGE = (2000, 2100)

# Field limits follow the registration dialogue (handlers/start.py QUESTIONS).
TEXT_LIMITS = {"organisation": (2, 300), "position": (2, 200), "municipality": (2, 200)}

ROLE_WORDS: dict[str, Role] = {
    **dict.fromkeys(
        ("резервист", "резерв", "кадровый резерв", "участник резерва", "reservist", "reserve"),
        Role.RESERVIST,
    ),
    **dict.fromkeys(("наставник", "mentor"), Role.MENTOR),
    **dict.fromkeys(
        (
            "специалист", "специалист отдела", "специалист отдела образования",
            "сотрудник отдела", "officer", "specialist",
        ),
        Role.OFFICER,
    ),
}  # fmt: skip

_ROLE_INDEX = {compact(w): r for w, r in ROLE_WORDS.items()}
_YEAR = re.compile(r"^\d{4}$")


@dataclass(frozen=True, slots=True)
class PersonRow:
    """A checked row: clean values, the role, the mentor's name as written, the cohort year."""

    line: int
    full_name: str
    organisation: str
    position: str
    municipality: str
    role: Role
    mentor: str | None
    cohort_year: int | None

    @property
    def key(self) -> tuple[str, str, str]:
        """The person's identity: :func:`person_key` of this row."""
        return person_key(self.full_name, self.organisation, self.municipality)


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem (or a warning) of row ``line``, in Russian."""

    line: int
    message: str


def _text(value: str, name: str) -> tuple[str | None, str | None]:
    """(clean text, None) or (None, problem) for a text cell of field ``name``."""
    low, high = TEXT_LIMITS[name]
    text = " ".join(value.split())
    if not text:
        return None, tp.cell_problem(name, tp.CELL_EMPTY)
    if not low <= len(text) <= high:
        return None, tp.cell_problem(name, tp.bad_length(low, high))
    try:
        return clean_text(text, low, high), None
    except InputError as exc:
        return None, tp.cell_problem(name, exc.message)


def check_row(raw: RawRow, own_municipality: str | None) -> tuple[PersonRow | None, list[str]]:
    """Check one row; returns the clean row (or None) and its problems, in Russian.

    Names are checked as in registration (``validation.clean_full_name``), texts with
    ``validation.clean_text`` and the dialogue's limits. ``own_municipality`` is the importing
    municipal officer's: an empty municipality becomes it, another one is an error.
    """
    problems: list[str] = []
    values = raw.values
    full_name = mentor = None
    try:
        full_name = clean_full_name(values.get("full_name", ""))
    except InputError:
        problems.append(tp.cell_problem("full_name", tp.BAD_NAME))
    organisation, problem = _text(values.get("organisation", ""), "organisation")
    problems += [problem] if problem else []
    position, problem = _text(values.get("position", ""), "position")
    problems += [problem] if problem else []
    municipality: str | None = None
    written = values.get("municipality", "")
    if own_municipality is not None and (
        not written or compact(written) == compact(own_municipality)
    ):
        municipality = own_municipality
    else:
        municipality, problem = _text(written, "municipality")
        problems += [problem] if problem else []
        if municipality is not None and own_municipality is not None:
            problems.append(tp.outside_scope(municipality, own_municipality))
    role: Role | None = Role.RESERVIST
    if "role" in values:
        role = _ROLE_INDEX.get(compact(values["role"]))
        if role is None:
            problem = tp.CELL_EMPTY if not values["role"] else tp.BAD_ROLE
            problems.append(tp.cell_problem("role", problem))
    if values.get("mentor"):
        if role is not None and role != Role.RESERVIST:
            problems.append(tp.MENTOR_NOT_RESERVIST)
        try:
            mentor = clean_full_name(values["mentor"])
        except InputError:
            problems.append(tp.cell_problem("mentor", tp.BAD_NAME))
    year = None
    if values.get("cohort_year"):
        text = values["cohort_year"]
        low, high = YEAR_RANGE
        if not _YEAR.match(text) or not low <= int(text) <= high:
            problems.append(tp.BAD_YEAR)
        else:
            year = int(text)
    if (
        problems
        or full_name is None
        or organisation is None
        or position is None
        or municipality is None
        or role is None
    ):
        return None, problems
    return PersonRow(
        line=raw.line,
        full_name=full_name,
        organisation=organisation,
        position=position,
        municipality=municipality,
        role=role,
        mentor=mentor,
        cohort_year=year if role == Role.RESERVIST else None,
    ), []
