"""The demo's roster: the fictional district (:data:`DISTRICT`, :data:`REGION`), the lists its
people's names are drawn from, and the roster a ``seed`` gives (who is who, who is paired with
whom, who is appointed, excluded, late) — pure, without a database.

:func:`cast` and its :class:`DemoCast` of :class:`DemoPerson` are what the sandbox reads;
``_Person``, ``_Roster``, ``_roster`` and ``_cast_of`` are the package's own, for the loader
(:mod:`bot.sandbox.demo.load`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

#: Telegram ids of the demo: officers from ``ID_BASE + 1``, mentors from ``+ 11``, reservists
#: from ``+ 101``, the newcomer ``+ 201``.
ID_BASE = 700_000_000
REGION = "Северодольская область"

#: The municipalities and their four schools each (fictional).
DISTRICT: tuple[tuple[str, tuple[str, str, str, str]], ...] = (
    (
        "Верхнедольский район",
        (
            "МБОУ СОШ № 1 г. Верхнедольска",
            "МБОУ СОШ № 3 г. Верхнедольска",
            "МБОУ «Гимназия № 2» г. Верхнедольска",
            "МБОУ СОШ с. Ключи",
        ),
    ),
    (
        "Калиновский район",
        (
            "МБОУ СОШ № 5 р. п. Калиновка",
            "МБОУ «Лицей» р. п. Калиновка",
            "МБОУ СОШ с. Никольское",
            "МБОУ ООШ с. Покровское",
        ),
    ),
    (
        "Заречный муниципальный округ",
        (
            "МБОУ СОШ № 1 г. Заречного",
            "МБОУ СОШ № 4 г. Заречного",
            "МБОУ «Лицей № 7» г. Заречного",
            "МБОУ СОШ п. Сосновка",
        ),
    ),
)

# fmt: off
_MALE = (
    "Алексей", "Андрей", "Дмитрий", "Сергей", "Михаил", "Иван", "Николай", "Павел", "Артём",
    "Евгений", "Владимир", "Игорь", "Максим", "Константин", "Роман", "Олег", "Денис", "Виктор",
)
_FEMALE = (
    "Анна", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Мария", "Екатерина",
    "Юлия", "Марина", "Галина", "Людмила", "Оксана", "Валентина", "Дарья", "Ксения", "Вера",
    "Надежда", "Алина",
)
#: Patronymics (male, female).
_PATRONYMICS = (
    ("Александрович", "Александровна"), ("Сергеевич", "Сергеевна"), ("Иванович", "Ивановна"),
    ("Петрович", "Петровна"), ("Николаевич", "Николаевна"), ("Владимирович", "Владимировна"),
    ("Михайлович", "Михайловна"), ("Андреевич", "Андреевна"), ("Викторович", "Викторовна"),
    ("Юрьевич", "Юрьевна"), ("Анатольевич", "Анатольевна"), ("Васильевич", "Васильевна"),
    ("Геннадьевич", "Геннадьевна"), ("Олегович", "Олеговна"), ("Борисович", "Борисовна"),
    ("Игоревич", "Игоревна"), ("Павлович", "Павловна"), ("Евгеньевич", "Евгеньевна"),
)
#: Surnames in the male form; the female form adds «а».
_SURNAMES = (
    "Петров", "Соколов", "Кузнецов", "Попов", "Лебедев", "Козлов", "Новиков", "Морозов", "Волков",
    "Соловьёв", "Васильев", "Зайцев", "Павлов", "Семёнов", "Голубев", "Виноградов", "Богданов",
    "Воробьёв", "Фёдоров", "Михайлов", "Беляев", "Тарасов", "Белов", "Комаров", "Орлов", "Киселёв",
    "Макаров", "Андреев", "Ковалёв", "Ильин", "Гусев", "Титов", "Баранов", "Куликов", "Степанов",
    "Яковлев", "Сорокин", "Романов", "Захаров", "Борисов", "Королёв", "Григорьев", "Лазарев",
    "Никитин", "Соболев", "Рябов", "Поляков", "Цветков", "Данилов", "Жуков", "Фролов", "Журавлёв",
    "Крылов", "Максимов", "Осипов", "Егоров", "Матвеев", "Калинин", "Антонов", "Тимофеев",
    "Филиппов", "Марков", "Миронов", "Казаков", "Громов", "Фомин", "Давыдов", "Мельников",
    "Карпов", "Власов", "Тихонов", "Гаврилов", "Котов",
)
# fmt: on
_POSITIONS = (
    "заместитель директора по УВР",
    "заместитель директора по ВР",
    "учитель математики",
    "учитель русского языка и литературы",
    "учитель истории и обществознания",
    "учитель начальных классов",
    "руководитель методического объединения",
    "педагог-организатор",
    "учитель физики",
    "учитель английского языка",
)
_ROLE_WORDS = {
    "officer": "Офицер",
    "reservist": "Резервист",
    "mentor": "Наставник",
    "newcomer": "Новичок",
}

#: Pairs by municipality: (mentor indexes, how many of its reservists have a mentor).
_PAIRED = (8, 6, 3)
_MENTORS_BY_AREA = ((0, 1), (2, 3), (4,))


@dataclass(frozen=True, slots=True)
class DemoPerson:
    """A person of the demo: ``user_id`` is their Telegram id; ``first_name`` and
    ``last_name`` as in their Telegram profile; ``role`` officer | reservist | mentor |
    newcomer (not in the database); ``label`` a short Russian label for the sandbox's tab,
    e.g. «Резервист · А. С. Петров»."""

    user_id: int
    first_name: str
    last_name: str
    role: str
    label: str


@dataclass(frozen=True, slots=True)
class DemoCast:
    """The demo's people. ``people``: every demo user (the newcomer too); ``tabs``: four, in
    this order: the regional officer, reservist A (registered, a year of data, paired with
    the mentor), newcomer B (not in the database: the visitor invites them), the mentor (a
    consultation with A awaits their confirmation)."""

    people: tuple[DemoPerson, ...]
    tabs: tuple[DemoPerson, ...]


@dataclass(frozen=True, slots=True)
class _Person:
    """A demo person with everything the loader needs."""

    user_id: int
    surname: str
    first: str
    patronymic: str
    role: str
    municipality: str | None
    organisation: str
    position: str
    label: str

    @property
    def full_name(self) -> str:
        return f"{self.surname} {self.first} {self.patronymic}"

    @property
    def public(self) -> DemoPerson:
        return DemoPerson(self.user_id, self.first, self.surname, self.role, self.label)


@dataclass(frozen=True, slots=True)
class _Roster:
    """The demo's people and who is paired with whom (Telegram ids)."""

    officer: _Person
    municipal_officer: _Person
    mentors: tuple[_Person, ...]
    reservists: tuple[_Person, ...]
    newcomer: _Person
    reservist_a: _Person
    mentor_of: dict[int, int]
    #: the reservist whose first mentor was changed: (reservist, first mentor)
    reassigned: tuple[int, int]
    appointed: tuple[int, ...]
    excluded: tuple[int, ...]
    training: tuple[int, ...]
    late: tuple[int, ...]

    @property
    def everyone(self) -> tuple[_Person, ...]:
        return (
            self.officer,
            self.municipal_officer,
            *self.mentors,
            *self.reservists,
            self.newcomer,
        )


def _initials(first: str, patronymic: str, surname: str) -> str:
    return f"{first[0]}. {patronymic[0]}. {surname}"


def _roster(seed: int) -> _Roster:
    """The demo's people for ``seed`` (pure: no database)."""
    rng = random.Random(seed)
    surnames = rng.sample(_SURNAMES, 38)
    used: set[tuple[str, str]] = set()

    def person(
        n: int, role: str, municipality: str | None, organisation: str, position: str, **kw: Any
    ) -> _Person:
        female = kw.get("female", rng.random() < 0.7)  # the reserve of schools: mostly women
        while True:
            first = rng.choice(_FEMALE if female else _MALE)
            patronymic = rng.choice(_PATRONYMICS)[1 if female else 0]
            if (first, patronymic) not in used:
                used.add((first, patronymic))
                break
        surname = surnames.pop() + ("а" if female else "")
        word = kw.get("word", _ROLE_WORDS[role])
        label = f"{word} · {_initials(first, patronymic, surname)}"
        return _Person(
            ID_BASE + n,
            surname,
            first,
            patronymic,
            role,
            municipality,
            organisation,
            position,
            label,
        )

    officer = person(
        1,
        "officer",
        None,
        f"Министерство образования {REGION.replace('область', 'области')}",
        "главный специалист отдела кадрового обеспечения",
        female=True,
    )
    area1 = DISTRICT[1][0]
    municipal_officer = person(
        2,
        "officer",
        area1,
        f"Отдел образования администрации {area1.replace('район', 'района')}",
        "ведущий специалист",
        word="Офицер района",
    )
    mentors = []
    for area_index, indexes in enumerate(_MENTORS_BY_AREA):
        area, schools = DISTRICT[area_index]
        for k, mentor_index in enumerate(indexes):
            mentors.append(
                person(11 + mentor_index, "mentor", area, schools[k * 2 % 4], "директор")
            )
    reservists: list[_Person] = []
    by_area: list[list[_Person]] = []
    for area, schools in DISTRICT:
        here = []
        for k in range(10):
            school = schools[(0, 0, 0, 1, 1, 1, 2, 2, 3, 3)[k]]
            here.append(
                person(101 + len(reservists), "reservist", area, school, rng.choice(_POSITIONS))
            )
            reservists.append(here[-1])
        by_area.append(here)
    newcomer = person(201, "newcomer", DISTRICT[0][0], DISTRICT[0][1][1], "учитель биологии")

    # who has a mentor: the first _PAIRED[i] of a shuffled municipality, the rest not
    mentor_of: dict[int, int] = {}
    unpaired: list[list[_Person]] = []
    for area_index, here in enumerate(by_area):
        order = here[:]
        rng.shuffle(order)
        paired, rest = order[: _PAIRED[area_index]], order[_PAIRED[area_index] :]
        indexes = _MENTORS_BY_AREA[area_index]
        for k, reservist in enumerate(paired):
            mentor_of[reservist.user_id] = ID_BASE + 11 + indexes[k % len(indexes)]
        unpaired.append(rest)
    mentor = mentors[0]
    reservist_a = next(r for r in by_area[0] if mentor_of.get(r.user_id) == mentor.user_id)
    # in Калиновский район the first mentor of one reservist was changed for the other
    changed = next(
        r for r in by_area[1] if mentor_of.get(r.user_id) == ID_BASE + 11 + _MENTORS_BY_AREA[1][1]
    )
    reassigned = (changed.user_id, ID_BASE + 11 + _MENTORS_BY_AREA[1][0])
    appointed = (unpaired[0][0].user_id, unpaired[1][0].user_id)
    excluded = (unpaired[2][0].user_id,)
    late = (unpaired[0][1].user_id, unpaired[2][1].user_id)
    candidates = [
        r.user_id
        for r in reservists
        if r.user_id not in (*appointed, *excluded, reservist_a.user_id)
    ]
    training = tuple(sorted(rng.sample(candidates, 6)))
    return _Roster(
        officer=officer,
        municipal_officer=municipal_officer,
        mentors=tuple(mentors),
        reservists=tuple(reservists),
        newcomer=newcomer,
        reservist_a=reservist_a,
        mentor_of=mentor_of,
        reassigned=reassigned,
        appointed=appointed,
        excluded=excluded,
        training=training,
        late=late,
    )


def _cast_of(roster: _Roster) -> DemoCast:
    mentor = next(
        m for m in roster.mentors if m.user_id == roster.mentor_of[roster.reservist_a.user_id]
    )
    return DemoCast(
        people=tuple(p.public for p in roster.everyone),
        tabs=(
            roster.officer.public,
            roster.reservist_a.public,
            roster.newcomer.public,
            mentor.public,
        ),
    )


def cast(seed: int = 2026) -> DemoCast:
    """The demo's people for ``seed`` without a database: the same ids, names and roles
    :func:`load_demo` stores (and the newcomer, whom it does not)."""
    return _cast_of(_roster(seed))
