"""The people pickers read a page at a time (/report, /assign, /find): a page costs a fixed
number of statements and at most one page of ``User`` rows however many people there are, and
the SQL search finds exactly what the former Python search over every person found (words of
the name, organisation or municipality in any letter case, Cyrillic included; the officer's
scope; the order by name; the page clamped)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, event, insert, literal, select, union_all

from bot.services.mentoring import PAGE, Pool, search_people
from bot.services.paging import cut_page
from bot.services.scope import within_scope
from storage.db import Database
from storage.models import Role, User
from storage.repo import Repo
from storage.repo.people_search import fold_class, glob_pattern, regex_pattern
from tests.sql_counter import counting

AT = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
POOLS = (Pool(Role.RESERVIST), Pool(Role.MENTOR), Pool(role=None, registered=False))

#: names, schools and municipalities in mixed case: Russian (Ё), Ukrainian (Ї, Є), Latin,
#: Greek (final sigma), the Kelvin sign, GLOB's and LIKE's special characters
NAMES = [
    "Иванова Анна Петровна",
    "ИВАНОВ Пётр",
    "иванов ёжик",
    "Ёлкин Семён",
    "Їжакова Євгенія",
    "Smith John",
    "SMITHSON kelvin",
    "Οδυσσέας ΠΑΠΑΔΟΠΟΥΛΟΣ",
    "Петров [a-z]*?",
    "Сидоров 100% _x_ ^-]",
    "Kelvin 5K",
]
SCHOOLS = [None, "МБОУ СОШ № 5", "мбоу сош №12", "Гимназия «Логос»", "School No. 3", ""]
AREAS = [None, "Энский район", "ЭНСКИЙ  РАЙОН", " энский район ", "Город N", "город n", ""]
QUERIES = [
    None,
    "иван",
    "ИВАН",
    "Иванов",
    "ё",
    "Ё",
    "е",
    "їжак",
    "ЄВГЕН",
    "smith",
    "SMITH john",
    "кельвин",
    "K",
    "k",
    "ς",
    "σ",
    "παπαδοπουλος",
    "ΟΔΥΣΣΈΑΣ",
    "[a-z]*?",
    "*",
    "?",
    "[",
    "]",
    "%",
    "_",
    "^-]",
    "сош 5",
    "МБОУ",
    "энский",
    "РАЙОН энский",
    "город",
    "N",
    "3",
    "нет такого",
]


async def _people(db: Database, count: int, first: int = 0) -> None:
    """``count`` people of every role, registered or not, some anonymised, named from
    :data:`NAMES` in several municipalities (in one statement)."""
    roles = [Role.RESERVIST, Role.RESERVIST, Role.MENTOR, Role.OFFICER]
    rows = [
        {
            "telegram_id": 100_000 + n,
            "role": roles[n % len(roles)],
            "full_name": f"{NAMES[n % len(NAMES)]} {n % 7}" if n % 13 else None,
            "organisation": SCHOOLS[n % len(SCHOOLS)],
            "municipality": AREAS[n % len(AREAS)],
            "registered_at": AT if n % 5 else None,
            "anonymised_at": AT if n % 17 == 3 else None,
        }
        for n in range(first, first + count)
    ]
    async with db.session() as repo:
        await repo.session.execute(insert(User), rows)


async def _officers(db: Database) -> list[User]:
    """A regional officer and municipal officers (their municipality spelt unlike the
    people's), all registered."""
    officers = []
    async with db.session() as repo:
        for n, area in enumerate([None, "энский район", "ГОРОД N", "   ", "Нигде"]):
            officer = User(
                telegram_id=900 + n,
                role=Role.OFFICER,
                full_name=f"Офицер {n}",
                municipality=area,
                registered_at=AT,
            )
            officers.append(await repo.users.add(officer))
    return officers


def _old_search(people: Sequence[User], query: str | None, page: int) -> tuple[list[int], int]:
    """The search as it was before it moved to SQL: every person filtered in Python; the ids
    of page ``page`` and the number found."""
    words = (query or "").casefold().split()

    def matches(user: User) -> bool:
        hay = " ".join(
            filter(None, (user.full_name, user.organisation, user.municipality))
        ).casefold()
        return all(w in hay for w in words)

    found = [u for u in people if matches(u)]
    chunk, _page, _pages = cut_page(found, page, PAGE)
    return [u.id for u in chunk], len(found)


async def _old_candidates(repo: Repo, officer: User, pool: Pool) -> Sequence[User]:
    """A picker's candidates as they were loaded before: every person of the pool, by name,
    in the officer's scope."""
    if pool.role is None:
        people = await repo.users.everyone()
    else:
        people = await repo.users.by_role(pool.role)
    return within_scope(officer, people)


async def test_the_sql_search_finds_what_the_python_search_found(db: Database) -> None:
    await _people(db, 400)
    officers = await _officers(db)
    checked = 0
    async with db.session() as repo:
        for officer in officers:
            for pool in POOLS:
                candidates = await _old_candidates(repo, officer, pool)
                for query in QUERIES:
                    _ids, total = _old_search(candidates, query, 1)
                    last = -(-total // PAGE)
                    for page in sorted({0, 2, last + 1}):
                        ids, _total = _old_search(candidates, query, page)
                        found = await search_people(repo, officer, pool, query, page)
                        assert [p.id for p in found.people] == ids, (officer.id, pool, query)
                        assert found.total == total
                        assert found.pool == len(candidates)
                        assert found.page == min(max(1, page), max(1, last))
                        assert found.pages == max(1, last)
                        checked += 1
    assert checked > 1000


@contextmanager
def _users_loaded() -> Iterator[list[int]]:
    """The ids of the ``User`` rows the ORM builds inside the block."""
    loaded: list[int] = []

    def load(target: User, _context: Any) -> None:
        loaded.append(target.id)

    event.listen(User, "load", load)
    try:
        yield loaded
    finally:
        event.remove(User, "load", load)


async def _page_cost(
    db: Database, officer: User, pool: Pool, query: str | None
) -> tuple[int, int]:
    """Statements sent and ``User`` rows loaded for page 2 of a picker (a session of its own)."""
    with counting(db) as statements, _users_loaded() as loaded:
        async with db.session() as repo:
            found = await search_people(repo, officer, pool, query, 2)
    assert found.people
    return len(statements), len(loaded)


async def test_a_picker_page_costs_one_page_of_rows_at_any_size(db: Database) -> None:
    officers = await _officers(db)
    regional, municipal = officers[0], officers[1]
    cases = [
        (regional, Pool(Role.RESERVIST), None),
        (regional, Pool(Role.RESERVIST), "иван"),
        (municipal, Pool(Role.RESERVIST), None),
        (municipal, Pool(Role.MENTOR), "ИВАН 1"),
        (regional, Pool(role=None, registered=False), "сош"),
    ]
    costs = []
    for first, count in ((0, 60), (60, 240)):  # 60 people, then 300
        await _people(db, count, first)
        costs.append([await _page_cost(db, *case) for case in cases])
    small, large = costs
    assert [statements for statements, _rows in small] == [s for s, _r in large]
    # a regional officer: the counts and the page; a municipal one: also the municipalities
    assert all(statements <= 3 for statements, _rows in large)
    assert all(rows <= PAGE for _statements, rows in large)


def _cased() -> list[str]:
    """Every character below U+20000 that has another case or folds to something else."""
    return [
        c
        for c in map(chr, range(0x20000))
        if c.casefold() != c or c.upper() != c or c.lower() != c
    ]


def _pairs() -> list[tuple[str, str, bool]]:
    """(text, word, whether ``word.casefold() in text.casefold()``) for every cased character
    as a word against its own case variants and fold class as texts, and a few
    non-matches."""
    pairs = []
    for char in _cased():
        texts = {char, char.upper(), char.lower(), char.title(), char.casefold(), "x" + char}
        texts |= fold_class(char)
        texts.add("q" if char.casefold() != "q" else "z")
        for text in texts:
            pairs.append((text, char, char.casefold() in text.casefold()))
    return pairs


#: the characters whose casefold is more than one character: they match only their own case
#: variants (see storage.repo.people_search)
LONG_FOLDS = frozenset(c for c in map(chr, range(sys.maxunicode + 1)) if len(c.casefold()) > 1)


def test_fold_classes_are_python_casefold() -> None:
    for text, word, python in _pairs():
        if word in LONG_FOLDS or LONG_FOLDS.intersection(text):
            continue
        assert any(c in fold_class(word) for c in text) == python, (text, word)


async def test_a_word_matches_its_fold_class_in_sql(db: Database) -> None:
    pairs = [
        (text, word, any(c in fold_class(word) for c in text)) for text, word, _py in _pairs()
    ]
    assert len(pairs) > 10_000
    mismatches = []
    async with db.session() as repo:
        dialect = repo.session.get_bind().dialect.name
        pattern = glob_pattern if dialect == "sqlite" else regex_pattern
        for start in range(0, len(pairs), 250):
            chunk = pairs[start : start + 250]
            rows = union_all(
                *(
                    select(
                        literal(n, Integer).label("n"),
                        literal(text, String).label("t"),
                        literal(pattern(word), String).label("p"),
                    )
                    for n, (text, word, _e) in enumerate(chunk)
                )
            ).subquery("pairs")
            matched = (
                rows.c.t.op("GLOB")(rows.c.p)
                if dialect == "sqlite"
                else rows.c.t.regexp_match(rows.c.p)
            )
            result = await repo.session.execute(select(rows.c.n, matched))
            for n, hit in result:
                text, word, expected = chunk[n]
                if bool(hit) != expected:
                    mismatches.append((text, word, pattern(word)))
    assert not mismatches[:20]
