"""The demo district of the sandbox (``python -m bot sandbox``): the data the sandbox starts with.

Every person here is fictional: the names, patronymics, schools, municipalities and the region
(«Северодольская область») are made up, drawn from lists of common Russian names by a seeded
random generator; any likeness to a real person is a coincidence. The Telegram ids are a fixed
range (from :data:`ID_BASE`) that no real account is meant to be reached at: the sandbox's
emulated Bot API serves them.

:func:`load_demo` fills an empty, migrated database with a year of a fictional district's
reserve, through the program's own services (registration by invite with the consent journal,
plans, logging, mentoring, lifecycle, broadcasts), so the data is what the bot itself would
have stored:

- the default roadmap (the one ``python -m bot run`` loads);
- a regional officer (sees every municipality) and a municipal officer;
- 3 municipalities with 4 schools each and 30 reservists (10 a municipality): each
  municipality's list imported by its officer in January–February (``PeopleImportService``),
  each person registered by their personal link, with the consent («Всё верно»); two late
  joiners mid-year by ordinary invite links. Some moved to «проходит подготовку», two
  appointed, one excluded. Their plans of the year are the ones registration makes (the items
  of windows not closed on the registration day), made in bulk just before;
- 5 mentors (school heads) registered by invite links, with 17 pairs assigned by the regional
  officer, one of them reassigned (the history is kept), one stalled (nothing for weeks);
- the plan year up to ``now``: items whose windows have passed are mostly logged done (dates,
  comments, some evidence; a share confirmed or commented on by the mentor), the rest overdue;
  how diligent people are differs by municipality, so the indicators differ too;
- consultations of each pair, most confirmed, a few declined, the latest awaiting the other
  side's confirmation;
- one finished broadcast with «Буду» / «Не смогу» answers (one recipient failed) and one
  running, with a few recipients still pending (the bot resumes it when it starts);
- in December, next year's plans (as the daily upkeep, :func:`scheduler.jobs.ensure_plans`).

No reminder was recorded: at its first start the bot's reminder scan sends each reservist
with overdue items one message listing them, and the mentoring digests go out. Evidence files
are URLs (``https://sandbox.invalid/demo/…``), which the Bot API accepts where a ``file_id``
goes: the sandbox's emulator serves them as empty files.

:func:`cast` gives the same people without a database: the sandbox shows a tab for each of
:attr:`DemoCast.tabs` (officer, reservist A, newcomer B, the mentor).

The moments the services stamp with the real clock (history entries, plans, consultations
logged, audit entries) are set afterwards to the demo's own moments
(:class:`storage.demo_repo.DemoRepo`): the same ``seed`` and ``now`` give the same rows.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import texts
from bot.config import Settings
from bot.services.audience import Audience, AudienceKind, recipients
from bot.services.broadcast import BroadcastService, ContentPart
from bot.services.delivery import RateLimiter
from bot.services.lifecycle import LifecycleService, StatusStep
from bot.services.mentoring import MentoringService
from bot.services.people import PeopleService, Profile
from bot.services.people_import import PeopleImportService, read_table
from bot.services.plans import PlanService, new_plan_rows
from bot.services.roadmap_import import ensure_default_roadmap
from bot.services.scope import roadmap_for
from bot.services.time_policy import TimePolicy
from bot.services.year_report import YearReportService
from scheduler.jobs import ensure_plans
from storage.broadcast_models import Broadcast, DeliveryState, RsvpAnswer
from storage.broadcast_repo import DeliveryResult
from storage.db import Database, current_session
from storage.models import ItemStatus, PlanItem, ReserveStatus, Role, User
from storage.repo import Repo

#: Telegram ids of the demo: officers from ``ID_BASE + 1``, mentors from ``+ 11``, reservists
#: from ``+ 101``, the newcomer ``+ 201``.
ID_BASE = 700_000_000
REGION = "Северодольская область"
#: The bot's username in the links of the imported lists (the links are not kept, only codes).
BOT_USERNAME = "reserve_demo_bot"

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

#: How diligent the reservists of each municipality are on average (share of items logged).
_DILIGENCE = (0.86, 0.68, 0.48)
#: Pairs by municipality: (mentor indexes, how many of its reservists have a mentor).
_PAIRED = (8, 6, 3)
#: Reservists of each municipality who log everything (the plan's indicator has someone).
_BEST = (2, 1, 1)
#: Reservists of each municipality who never log anything (and have no mentor).
_IDLE = (0, 1, 2)
_MENTORS_BY_AREA = ((0, 1), (2, 3), (4,))

_ITEM_COMMENTS = (
    "Выполнено по плану.",
    "Подготовлен конспект, материалы в методическом кабинете.",
    "Приняла участие, получены рекомендации.",
    "Принял участие, получил рекомендации.",
    "Выступление на секции, 15 минут.",
    "Сертификат участника получен.",
    "Итоги обсуждены с наставником.",
)
_MENTOR_COMMENTS = (
    "Хорошая работа. Обратите внимание на планирование внеурочной деятельности.",
    "Рекомендую подготовить краткий анализ по итогам и обсудить на консультации.",
    "Отлично! Предлагаю выступить с этим опытом на районном методическом объединении.",
    "Принято. Дополните, пожалуйста, выводами о том, что возьмёте в свою работу.",
)
_TOPICS = (
    "Планирование работы школы на учебный год",
    "Нормативно-правовая база деятельности руководителя",
    "Подготовка к педагогическому совету",
    "Внутришкольный контроль: план и формы",
    "Работа с родительским сообществом",
    "Финансово-хозяйственная деятельность школы",
    "Управление конфликтами в педагогическом коллективе",
    "Подготовка публичного доклада",
    "Организация методической работы",
    "Анализ результатов ВПР и ОГЭ",
    "Тайм-менеджмент руководителя",
    "Итоги выполнения индивидуального плана",
)
_DECLINE_REASONS = (
    "Консультация была перенесена, в этот день не встречались.",
    "Указана неверная дата, внесите ещё раз, пожалуйста.",
)
_CONCLUSIONS = (
    (
        "Индивидуальный план выполнен в полном объёме. Рекомендовать к дальнейшей подготовке "
        "и включению в кадровый резерв на следующий год; рассмотреть назначение на должность "
        "заместителя директора."
    ),
    (
        "План выполнен. Проявляет лидерские качества, активно участвует в методической работе. "
        "Рекомендовать продолжить подготовку с наставником."
    ),
)
_FINISHED_BROADCAST = (
    "<b>Психологический тренинг для резервистов</b>\n\n"
    "Уважаемые коллеги! Приглашаем вас на очередной психологический тренинг «Лидерство и "
    "командообразование». Место: МКУ «Центр оценки качества образования», ауд. 12. "
    "Начало в 14:00.\n\nОтметьте, пожалуйста, сможете ли вы прийти."
)
_RUNNING_BROADCAST = (
    "<b>Секция руководителей образовательных учреждений</b>\n\n"
    "Коллеги, напоминаем: материалы секции «Нормативно-правовая база деятельности "
    "руководителя» размещены на виртуальной площадке. Просим ознакомиться до конца месяца."
)


class DemoNotEmptyError(Exception):
    """The database already has people: the demo is loaded only into an empty one."""


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


# --------------------------------------------------------------------------- the loader


class _NoTransport:
    """The broadcast service's transport while the demo is loaded: nothing is sent then (the
    running broadcast is sent by the bot once it starts)."""

    async def send_part(
        self,
        chat_id: int,  # noqa: ARG002
        part: ContentPart,  # noqa: ARG002
        *,
        rsvp: int | None = None,  # noqa: ARG002
    ) -> None:
        raise RuntimeError("the demo loader sends nothing")

    async def send_content(
        self,
        chat_id: int,  # noqa: ARG002
        parts: Sequence[ContentPart],  # noqa: ARG002
        *,
        rsvp: int | None = None,  # noqa: ARG002
    ) -> None:
        raise RuntimeError("the demo loader sends nothing")


@dataclass
class _Timeline:
    """The demo's calendar: local dates in the district's zone (of ``policy``) turned into aware
    UTC moments before ``now``, and the moments the loader stamps rows with afterwards."""

    now: datetime
    policy: TimePolicy
    rng: random.Random
    zone: ZoneInfo = field(init=False)
    today: date = field(init=False)
    events: dict[tuple[int, str], datetime] = field(default_factory=dict)
    consultations: list[tuple[int, datetime]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.zone = self.policy.zone()
        self.today = self.policy.today(self.now)

    def moment(self, day: date, *, after: datetime | None = None) -> datetime:
        """A working-hours moment of local ``day`` (9:00-19:00), not before ``after`` and
        before ``now`` (then a few minutes before it)."""
        local = datetime.combine(
            day, time(self.rng.randint(9, 18), self.rng.randint(0, 59)), tzinfo=self.zone
        )
        at = local.astimezone(UTC)
        if after is not None and at <= after:
            at = after + timedelta(minutes=self.rng.randint(3, 90))
        if at >= self.now:
            at = self.now - timedelta(minutes=self.rng.randint(5, 30))
            if after is not None and at <= after:
                at = after + (self.now - after) / 2
        return at

    def day_of(self, moment: datetime) -> date:
        """The local date of an aware moment."""
        return moment.astimezone(self.zone).date()

    def between(self, first: date, last: date) -> date:
        """A random date from ``first`` to ``last`` (``first`` when ``last`` is before it),
        a weekday when the span has one before it."""
        span = (last - first).days
        day = first + timedelta(days=self.rng.randint(0, span)) if span > 0 else first
        return self.weekday(day, first)

    @staticmethod
    def weekday(day: date, first: date) -> date:
        """``day``, or the Friday before it when it is a weekend and that is not before
        ``first``."""
        friday = day - timedelta(days=max(0, day.weekday() - 4))
        return friday if friday >= first else day


async def load_demo(
    db: Database, settings: Settings, *, now: datetime, seed: int = 2026
) -> DemoCast:
    """Fill an empty, migrated database with the demo district (see the module docstring) in
    one transaction, through the program's services.

    Args:
        db: the database, migrated to head, with no user (the default roadmap may be loaded;
            it is loaded when missing).
        settings: the bot's settings (the default zone dates everything; the invite TTL).
        now: the bot's clock, aware UTC: the plan year is its year in the default zone, and
            everything logged happened before it.
        seed: the random generator's seed; the same seed and ``now`` give the same rows.

    Returns:
        The cast (as :func:`cast` with ``seed``).

    Raises:
        DemoNotEmptyError: a user exists in the database; nothing is changed.
        ValueError: ``now`` is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        msg = "naive datetime"
        raise ValueError(msg)
    now = now.astimezone(UTC)
    roster = _roster(seed)
    async with db.raw_session() as session, session.begin():
        token = current_session.set(session)  # the services join this one transaction
        try:
            repo = Repo(session)
            if await repo.demo.has_users():
                raise DemoNotEmptyError
            await _Loader(db, settings, repo, roster, now, seed).load()
        finally:
            current_session.reset(token)
    return _cast_of(roster)


class _Loader:
    """One load of the demo into ``repo``'s transaction."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        repo: Repo,
        roster: _Roster,
        now: datetime,
        seed: int,
    ) -> None:
        self.db = db
        self.settings = settings
        self.repo = repo
        self.demo = repo.demo
        self.roster = roster
        self.now = now
        self.rng = random.Random(f"reserve-demo-{seed}")
        self.t = _Timeline(now, TimePolicy.from_settings(settings), self.rng)
        self.year = self.t.today.year
        self.year_start = datetime.combine(
            date(self.year, 1, 1), time(0), tzinfo=self.t.zone
        ).astimezone(UTC)
        self.users: dict[int, User] = {}  # by Telegram id
        self.registered: dict[int, datetime] = {}  # by Telegram id
        self.status_on: dict[int, date] = {}  # reservists who left the reserve: since when
        self.pair_start: dict[int, datetime] = {}  # reservist tg -> current pair's start
        self.invite_codes: list[tuple[int, str]] = []
        self.seed = seed
        #: the reassigned reservist: (tg, first mentor's tg, first pair's start, change moment)
        self.first_pair: tuple[int, int, datetime, datetime] = (0, 0, now, now)
        #: the reservist of a stalled pair (nothing logged, no consultation) and since when
        self.quiet = 0
        self.quiet_since = self.t.today
        #: what each reservist logged done: tg -> [(item id, moment, with evidence)]
        self.done: dict[int, list[tuple[int, datetime, bool]]] = {}

    # ------------------------------------------------------------------ the whole load

    async def load(self) -> None:
        await ensure_default_roadmap(self.db, self.settings)
        await self.demo.retime_roadmap(self.year_start)
        await self.register_people()
        await self.move_statuses()
        await self.assign_pairs()
        await self.log_items()
        await self.consult()
        await self.review_items()
        await self.conclude()
        await self.broadcasts()
        await ensure_plans(self.db, self.settings, self.now)  # next year's plans in December
        await self.retime()

    def campaign_day(self, fraction: float) -> date:
        """A day of the registration campaign: ``fraction`` of the way from 1 January to the
        earlier of 15 February and a quarter of the year so far."""
        end = min(
            datetime.combine(date(self.year, 2, 15), time(12), tzinfo=self.t.zone).astimezone(UTC),
            self.year_start + (self.now - self.year_start) / 4,
        )
        return self.t.day_of(self.year_start + (end - self.year_start) * fraction)

    def year_day(self, fraction: float) -> date:
        """The local date ``fraction`` of the way from 1 January to ``now``."""
        return self.t.day_of(self.year_start + (self.now - self.year_start) * fraction)

    async def stamp_audit(self, at: datetime) -> None:
        await self.demo.stamp_last_audit(at)

    # ------------------------------------------------------------------ people

    async def register_people(self) -> None:
        """The regional officer (an OFFICER_IDS officer who filled in a profile and gave the
        consent), then everyone else by personal invite links, as the bot registers them."""
        roster = self.roster
        officer = roster.officer
        at = self.t.moment(self.campaign_day(0.05), after=self.year_start)
        await self.repo.users.ensure_officers([officer.user_id])
        user = await self.repo.users.by_telegram(officer.user_id)
        assert user is not None
        consent_at = at - timedelta(minutes=2)
        await self.repo.users.update(
            user,
            full_name=officer.full_name,
            organisation=officer.organisation,
            position=officer.position,
            consent_version=texts.CONSENT_VERSION,
            consent_at=consent_at,
            registered_at=at,
        )
        await PeopleService(self.repo).journal_consent(user, texts.CONSENT_VERSION, consent_at)
        self.users[officer.user_id] = user
        self.registered[officer.user_id] = at
        area1 = roster.municipal_officer.municipality
        await self.register(roster.municipal_officer, self.campaign_day(0.06), officer)
        mentor_days = {
            m.user_id: self.campaign_day(self.rng.uniform(0.08, 0.2)) for m in roster.mentors
        }
        for mentor in sorted(roster.mentors, key=lambda m: (mentor_days[m.user_id], m.user_id)):
            await self.register(mentor, mentor_days[mentor.user_id], officer)
        # the reserve's lists, one a municipality, imported by its officer; the people open
        # their personal links within the links' validity
        for index, (area, _schools) in enumerate(DISTRICT):
            importer = roster.municipal_officer if area == area1 else officer
            listed = [
                r
                for r in roster.reservists
                if r.municipality == area and r.user_id not in roster.late
            ]
            await self.import_list(importer, listed, self.campaign_day(0.25 + 0.1 * index))
        for tg in roster.late:  # two joined later with an ordinary invite link
            person = next(r for r in roster.reservists if r.user_id == tg)
            inviter = roster.municipal_officer if person.municipality == area1 else officer
            await self.register(person, self.year_day(self.rng.uniform(0.35, 0.45)), inviter)

    async def import_list(self, importer: _Person, listed: Sequence[_Person], day: date) -> None:
        """``importer`` sends the bot a list of reservists (a .csv) on ``day``; each person
        opens their personal link and confirms the stored profile."""
        at = self.t.moment(day, after=self.registered[importer.user_id])
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow(["ФИО", "Организация", "Должность", "Муниципалитет"])
        for person in listed:
            writer.writerow(
                [person.full_name, person.organisation, person.position, person.municipality]
            )
        table = read_table("Кадровый резерв.csv", buffer.getvalue().encode("utf-8-sig"))
        ttl = timedelta(days=self.settings.invite_ttl_days)
        result = await PeopleImportService(self.repo).import_people(
            table,
            actor=self.users[importer.user_id],
            bot_username=BOT_USERNAME,
            now=at,
            today=self.t.day_of(at),
            ttl=ttl,
        )
        if result.errors:  # the demo's own list: a mistake of this module
            msg = f"the demo's list was refused: {result.errors}"
            raise RuntimeError(msg)
        await self.stamp_audit(at)
        ids = {p.user_id: o.person_id for p, o in zip(listed, result.outcomes, strict=True)}
        invites = await self.repo.people.personal_invites(ids.values())
        window = min(ttl, (self.now - at) / 2)
        moments = {
            tg: self.t.moment(self.t.day_of(at + window * self.rng.uniform(0.02, 0.85)), after=at)
            for tg in ids
        }
        await self.prepare_plans(
            [(ids[p.user_id], p.municipality, self.t.day_of(moments[p.user_id])) for p in listed]
        )
        for tg in sorted(ids, key=lambda tg: (moments[tg], tg)):
            registered_at = moments[tg]
            consent_at = registered_at - (registered_at - at) * self.rng.uniform(0.001, 0.01)
            invite = invites[ids[tg]]
            user = await PeopleService(self.repo).register(
                tg,
                invite.code,
                None,  # «Всё верно»: the profile of the list
                consent_version=texts.CONSENT_VERSION,
                consent_at=consent_at,
                now=registered_at,
                today=self.t.day_of(registered_at),
            )
            self.users[tg] = user
            self.registered[tg] = registered_at
            self.invite_codes.append((invite.id, self.invite_code()))

    async def prepare_plans(self, owners: Sequence[tuple[int, str | None, date]]) -> None:
        """Make the plans of the year that the registrations of ``owners`` (user id,
        municipality, registration day) would make, in bulk, as the daily upkeep
        (:meth:`PlanService.create_missing_batch`) does: the items of the roadmap whose windows
        are not closed on the day. ``PeopleService.register`` then finds them made."""
        activities = list(await self.repo.activities.active())
        created = await self.repo.plans.create_plans([o[0] for o in owners], self.year)
        rows: list[dict[str, Any]] = []
        for user_id, municipality, day in owners:
            template = new_plan_rows(roadmap_for(activities, municipality), self.year, day)
            rows.extend({**row, "plan_id": created[user_id]} for row in template)
        await self.demo.insert_plan_items(rows, source="roadmap")

    def invite_code(self) -> str:
        """A fixed invite code for the next invite (the service's are random)."""
        return f"demo{self.seed}x{len(self.invite_codes) + 1:03d}"

    async def register(self, person: _Person, day: date, inviter: _Person) -> None:
        """``inviter`` makes a personal invite link; ``person`` opens it, consents and answers
        the questions."""
        after = self.registered[inviter.user_id]
        invited_at = self.t.moment(day, after=after)
        ttl = timedelta(days=self.settings.invite_ttl_days)
        invite = await PeopleService(self.repo).create_invite(
            self.users[inviter.user_id],
            Role(person.role),
            now=invited_at,
            ttl=ttl,
            municipality=person.municipality,
        )
        await self.stamp_audit(invited_at)
        self.invite_codes.append((invite.id, self.invite_code()))
        registered_at = invited_at + timedelta(minutes=self.rng.randint(20, 600))
        registered_at = min(registered_at, invited_at + (self.now - invited_at) / 2)
        consent_at = registered_at - timedelta(minutes=self.rng.randint(2, 6))
        consent_at = max(consent_at, invited_at + (registered_at - invited_at) / 2)
        user = await PeopleService(self.repo).register(
            person.user_id,
            invite.code,
            Profile(person.full_name, person.organisation, person.position, person.municipality),
            consent_version=texts.CONSENT_VERSION,
            consent_at=consent_at,
            now=registered_at,
            today=self.t.day_of(registered_at),
        )
        self.users[person.user_id] = user
        self.registered[person.user_id] = registered_at

    async def move_statuses(self) -> None:
        """Some reservists move to «проходит подготовку»; two are appointed, one excluded."""
        roster = self.roster
        lifecycle = LifecycleService(self.repo)
        officer = self.users[roster.officer.user_id]
        steps: list[tuple[int, StatusStep]] = []
        for tg in roster.training:
            day = max(self.year_day(0.3), self.t.day_of(self.registered[tg]))
            steps.append((tg, StatusStep(ReserveStatus.TRAINING, day)))
        schools = {area: list(s) for area, s in DISTRICT}
        for tg in roster.appointed:
            person = next(r for r in roster.reservists if r.user_id == tg)
            assert person.municipality is not None
            day = max(self.year_day(0.6), self.t.day_of(self.registered[tg]))
            post = (
                "заместитель директора по УВР"
                if person.position.startswith("учитель")
                else ("директор")
            )
            school = next(s for s in schools[person.municipality] if s != person.organisation)
            steps.append(
                (tg, StatusStep(ReserveStatus.APPOINTED, day, post=post, organisation=school))
            )
            self.status_on[tg] = day
        for tg in roster.excluded:
            day = max(self.year_day(0.5), self.t.day_of(self.registered[tg]))
            reason = "Личное заявление об исключении из резерва (смена места работы)."
            steps.append((tg, StatusStep(ReserveStatus.EXCLUDED, day, reason=reason)))
            self.status_on[tg] = day
        for tg, step in steps:
            at = self.t.moment(step.effective_on, after=self.registered[tg])
            await lifecycle.change(officer, self.users[tg].id, step, at)
            await self.stamp_audit(at)

    async def assign_pairs(self) -> None:
        """The officer assigns the mentors (one reservist's mentor is changed later)."""
        roster = self.roster
        mentoring = MentoringService(self.repo)
        officer = self.users[roster.officer.user_id]
        changed, first_mentor = roster.reassigned
        for tg in sorted(roster.mentor_of):
            mentor_tg = first_mentor if tg == changed else roster.mentor_of[tg]
            ready = max(self.registered[tg], self.registered[mentor_tg])
            at = self.t.moment(self.t.day_of(ready) + timedelta(days=self.rng.randint(3, 20)),
                               after=ready)  # fmt: skip
            await mentoring.assign(officer, self.users[tg].id, self.users[mentor_tg].id, at)
            await self.stamp_audit(at)
            self.pair_start[tg] = at
        # the change: after a few consultations with the first mentor (see consult())
        at = self.t.moment(self.year_day(0.55), after=self.pair_start[changed])
        self.first_pair = (changed, first_mentor, self.pair_start[changed], at)

    async def change_mentor(self) -> None:
        roster = self.roster
        changed, _first, _start, at = self.first_pair
        await MentoringService(self.repo).assign(
            self.users[roster.officer.user_id],
            self.users[changed].id,
            self.users[roster.mentor_of[changed]].id,
            at,
        )
        await self.stamp_audit(at)
        self.pair_start[changed] = at

    # ------------------------------------------------------------------ plans

    def diligence(self, person: _Person) -> float:
        area = next(i for i, (name, _s) in enumerate(DISTRICT) if name == person.municipality)
        value = self.rng.gauss(_DILIGENCE[area], 0.12)
        return min(0.98, max(0.15, value))

    async def log_items(self) -> None:
        """Each reservist logs the items of their plan whose windows have come: most of the
        past ones (by how diligent they are), some of the current ones, a few on-demand ones.
        The most diligent (:data:`_BEST`) log everything that has started, and
        :data:`_IDLE` people of a municipality log nothing."""
        roster = self.roster
        plans = PlanService(self.repo)
        today = self.t.today
        diligence = {r.user_id: self.diligence(r) for r in roster.reservists}
        for area_index, (area, _schools) in enumerate(DISTRICT):
            here = [
                r.user_id
                for r in roster.reservists
                if r.municipality == area
                and r.user_id in roster.mentor_of
                and r != roster.reservist_a  # A's plan shows every status
            ]
            here.sort(key=lambda tg: (-diligence[tg], tg))
            for tg in here[: _BEST[area_index]]:
                diligence[tg] = 1.0
        diligence[roster.reservist_a.user_id] = max(diligence[roster.reservist_a.user_id], 0.8)
        last_area = DISTRICT[-1][0]
        quiet = [
            r.user_id
            for r in roster.reservists
            if r.municipality == last_area and r.user_id in roster.mentor_of
        ]
        self.quiet = min(quiet, key=lambda tg: (diligence[tg], tg))
        self.quiet_since = self.year_day(0.7)
        for area_index, (area, _schools) in enumerate(DISTRICT):
            idle = [
                r.user_id
                for r in roster.reservists
                if r.municipality == area
                and r.user_id not in roster.mentor_of
                and r.user_id not in self.status_on
            ]
            for tg in self.rng.sample(idle, min(len(idle), _IDLE[area_index])):
                diligence[tg] = 0.0  # registered and never logged anything
        for reservist in roster.reservists:
            tg = reservist.user_id
            user = self.users[tg]
            plan = await self.repo.plans.plan(user.id, self.year)
            if plan is None:
                continue
            joined = self.t.day_of(self.registered[tg])
            last_day = min(today, self.status_on.get(tg, today))
            if tg == self.quiet:  # a stalled pair: nothing since
                last_day = min(last_day, self.quiet_since)
            chance = diligence[tg]
            items = await self.repo.plans.items(plan.id)
            passed = [i.id for i in items if i.due_on is not None and i.due_on < today]
            missed = passed[-1] if tg == roster.reservist_a.user_id and passed else None
            for item in items:
                done_on = self.done_day(item, tg, joined, last_day, chance)
                if done_on is None or item.id == missed:  # A has one overdue item at least
                    continue
                evidence = None
                if self.rng.random() < 0.35:
                    evidence = self.evidence(item, len(self.t.events))
                comment = self.rng.choice(_ITEM_COMMENTS) if self.rng.random() < 0.4 else None
                await plans.mark_done(
                    user, item.id, done_on=done_on, comment=comment, evidence=evidence, today=today
                )
                at = self.t.moment(done_on, after=self.registered[tg])
                self.t.events[(item.id, "done")] = at
                self.done.setdefault(tg, []).append((item.id, at, evidence is not None))

    def done_day(
        self, item: PlanItem, tg: int, joined: date, last_day: date, chance: float
    ) -> date | None:
        """The day the reservist ``tg`` logged ``item`` done, or None (not logged)."""
        first = max(joined, item.starts_on) if item.starts_on else joined
        if item.activity_id is not None and item.kind == "consultation":
            start = self.pair_start.get(tg)
            if start is None:
                return None  # «Подбор наставника»: done once a mentor is assigned
            first = max(first, self.t.day_of(start))
            wanted = chance > 0.99 or self.rng.random() < 0.9
            return first if first <= last_day and wanted else None
        if item.due_on is None:  # on demand: a competition, the courses
            wanted = chance > 0.99 or self.rng.random() < 0.3 * chance
            return self.t.between(first, last_day) if wanted and first <= last_day else None
        if item.starts_on is not None and item.starts_on > last_day:
            return None  # its window has not come
        last = min(item.due_on, last_day)
        if first > last:
            return None
        if item.due_on <= last_day:  # the window has passed
            return self.t.between(first, last) if self.rng.random() < chance else None
        # the window is open: the longer it has been open, the likelier it is done
        opened = item.starts_on or first
        share = (last_day - opened).days / max(1, (item.due_on - opened).days)
        if chance > 0.99 or self.rng.random() < chance * share:
            return self.t.between(first, last)
        return None

    def evidence(self, item: PlanItem, n: int) -> tuple[str, str, str | None]:
        """A Telegram file of the evidence: (file_id, kind, name). The ids are URLs, which the
        Bot API accepts where a file_id goes (the sandbox's emulator makes an empty file)."""
        if self.rng.random() < 0.4:
            return f"https://sandbox.invalid/demo/photo-{n:04d}.jpg", "photo", None
        name = {
            "training": "Сертификат участника тренинга.pdf",
            "diagnostics": "Результаты диагностики.pdf",
            "seminar": "Программа секции.pdf",
            "self_government_day": "Отчёт о Дне самоуправления.docx",
            "planning": "Индивидуальный план.docx",
            "interview": "Справка по итогам собеседования.pdf",
            "competition": "Диплом участника конкурса.pdf",
            "courses": "Диплом о переподготовке.pdf",
        }.get(item.kind, "Отчёт.docx")
        suffix = name.rsplit(".", 1)[1]
        return f"https://sandbox.invalid/demo/document-{n:04d}.{suffix}", "document", name

    async def review_items(self) -> None:
        """Mentors confirm most items logged with evidence and comment on some."""
        mentoring = MentoringService(self.repo)
        for tg in sorted(self.roster.mentor_of):
            mentor = self.users[self.roster.mentor_of[tg]]
            start = self.pair_start[tg]
            for item_id, done_at, has_evidence in self.done.get(tg, []):
                base = max(done_at, start)
                day = self.t.day_of(base) + timedelta(days=self.rng.randint(1, 6))
                if day > self.t.today:
                    continue
                at = self.t.moment(day, after=base)
                if has_evidence and self.rng.random() < 0.7:
                    await mentoring.confirm_item(mentor, item_id, at)
                    self.t.events[(item_id, "confirmed")] = at
                if self.rng.random() < 0.15:
                    at += timedelta(minutes=self.rng.randint(1, 30))
                    if at < self.now:
                        text = self.rng.choice(_MENTOR_COMMENTS)
                        await mentoring.comment_item(mentor, item_id, text, at)
                        self.t.events[(item_id, "commented")] = at

    async def conclude(self) -> None:
        """In December the officer writes the interview's conclusion of those interviewed."""
        reports = YearReportService(self.repo)
        officer = self.users[self.roster.officer.user_id]
        written = 0
        for reservist in self.roster.reservists:
            if written == len(_CONCLUSIONS):
                break
            user = self.users[reservist.user_id]
            plan = await self.repo.plans.plan(user.id, self.year)
            if plan is None:
                continue
            items = await self.repo.plans.items(plan.id)
            interview = [i for i in items if i.kind == "interview" and i.status == ItemStatus.DONE]
            if not interview:
                continue
            done_at = self.t.events[(interview[0].id, "done")]
            at = done_at + timedelta(hours=self.rng.randint(1, 20))
            if at >= self.now:
                continue
            await reports.save_conclusion(
                officer.id, None, user.id, self.year, _CONCLUSIONS[written], at
            )
            await self.stamp_audit(at)
            written += 1

    # ------------------------------------------------------------------ consultations

    async def consult(self) -> None:
        """Each pair meets every three to six weeks; most consultations are confirmed, a few
        declined, the ones of the last days await the other side. Reservist A has one awaiting
        the mentor's confirmation (and one logged by the mentor awaiting A's)."""
        changed, first_mentor, first_start, change_at = self.first_pair
        # the reassigned reservist's consultations with the first mentor come first
        await self.consult_pair(changed, first_mentor, first_start, change_at, recent=False)
        await self.change_mentor()
        a = self.roster.reservist_a.user_id
        for tg in sorted(self.roster.mentor_of):
            mentor_tg = self.roster.mentor_of[tg]
            await self.consult_pair(tg, mentor_tg, self.pair_start[tg], self.now, recent=tg != a)
        await self.awaiting_for_tabs(a, self.roster.mentor_of[a])

    async def consult_pair(
        self, tg: int, mentor_tg: int, start: datetime, end: datetime, *, recent: bool
    ) -> None:
        """Consultations of the pair held from ``start`` to ``end``."""
        if tg in self.status_on:
            end = min(end, self.t.moment(self.status_on[tg]))
        if tg == self.quiet:
            end, recent = min(end, self.t.moment(self.quiet_since)), False
        area = next(i for i, (n, _s) in enumerate(DISTRICT) if n == self.users[tg].municipality)
        gap = (28, 42, 56)[area]
        day = self.t.day_of(start) + timedelta(days=self.rng.randint(2, 12))
        last = self.t.day_of(end) - timedelta(days=1)
        while day <= last:
            pending = (self.t.today - day).days <= 6
            if pending and not recent:
                break
            held = self.t.weekday(day, self.t.day_of(start))
            await self.consultation(tg, mentor_tg, held, pending=pending)
            day += timedelta(days=self.rng.randint(gap - 7, gap + 7))
        if recent and day > last and self.rng.random() < 0.3:
            # one of the last days, still awaiting the other side
            day = max(self.t.day_of(start), self.t.today - timedelta(days=self.rng.randint(1, 5)))
            await self.consultation(tg, mentor_tg, day, pending=True)

    async def consultation(
        self, tg: int, mentor_tg: int, day: date, *, pending: bool, by_mentor: bool | None = None
    ) -> None:
        """One consultation held on ``day``, logged by one side and, unless ``pending``,
        decided by the other."""
        mentoring = MentoringService(self.repo)
        reservist, mentor = self.users[tg], self.users[mentor_tg]
        if by_mentor is None:
            by_mentor = self.rng.random() < 0.3
        actor, other = (mentor, reservist) if by_mentor else (reservist, mentor)
        logged_at = self.t.moment(day + timedelta(days=self.rng.randint(0, 1)),
                                  after=self.t.moment(day))  # fmt: skip
        consultation, _ = await mentoring.log_consultation(
            actor,
            reservist_id=reservist.id,
            held_on=day,
            fmt=self.rng.choice(("in_person", "in_person", "online", "phone")),
            topic=self.rng.choice(_TOPICS),
            minutes=self.rng.choice((30, 45, 45, 60, 60, 90)),
            note="Договорились о следующей встрече." if self.rng.random() < 0.2 else None,
            item_id=None,
            today=self.t.today,
        )
        self.t.consultations.append((consultation.id, logged_at))
        if pending:
            return
        decided_on = self.t.day_of(logged_at) + timedelta(days=self.rng.randint(0, 2))
        if decided_on > self.t.today:
            return
        decided_at = self.t.moment(decided_on, after=logged_at)
        confirm = self.rng.random() < 0.92
        await mentoring.decide(
            other,
            consultation.id,
            confirm=confirm,
            reason=None if confirm else self.rng.choice(_DECLINE_REASONS),
            now=decided_at,
        )

    async def awaiting_for_tabs(self, a: int, mentor_tg: int) -> None:
        """Reservist A logged a consultation of the last days that awaits the mentor's
        confirmation, and the mentor one that awaits A's."""
        start = self.t.day_of(self.pair_start[a])
        first = max(start, self.t.today - timedelta(days=9))
        second = max(start, self.t.today - timedelta(days=2))
        await self.consultation(a, mentor_tg, first, pending=True, by_mentor=True)
        await self.consultation(a, mentor_tg, second, pending=True, by_mentor=False)

    # ------------------------------------------------------------------ broadcasts

    async def broadcasts(self) -> None:
        """A finished broadcast to every reservist with «Буду» / «Не смогу» (one recipient
        failed), and one to reservist A's municipality still running: a few recipients (A
        and the mentor among them) are pending, for the bot to send when it starts."""
        officer = self.users[self.roster.officer.user_id]
        clock = [self.now]
        service = BroadcastService(self.db, _NoTransport(), RateLimiter(), lambda: clock[0])
        broadcasts = self.repo.broadcasts

        # the finished one
        created = self.t.moment(self.year_day(0.8), after=max(self.registered.values()))
        clock[0] = created
        audience = Audience(AudienceKind.RESERVISTS)
        people = await recipients(self.repo, officer, audience, self.t.day_of(created))
        first = await self.create_broadcast(service, officer, audience, people, True, created)
        claimed = await broadcasts.claim(first.id, first.total)
        failed = self.rng.choice(
            [d for d in claimed if d.user_id != self.users[self.roster.reservist_a.user_id].id]
        )
        at = created + timedelta(seconds=2)
        results = []
        for n, delivery in enumerate(claimed):
            moment = at + timedelta(milliseconds=40 * n)
            if delivery is failed:
                error = "Telegram server says - Bad Request: chat not found"
                results.append(DeliveryResult(delivery.id, DeliveryState.FAILED, 1, error, moment))
            else:
                results.append(DeliveryResult(delivery.id, DeliveryState.SENT, 1, None, moment))
        await broadcasts.finish(results)
        await broadcasts.finish_if_settled(first.id, at + timedelta(seconds=3))
        reached = [d.user_id for d in claimed if d is not failed]
        self.rng.shuffle(reached)
        yes, no = round(len(reached) * 0.6), max(1, round(len(reached) * 0.15))
        answers = [RsvpAnswer.YES] * yes + [RsvpAnswer.NO] * no  # the rest did not answer
        for user_id, answer in zip(reached, answers, strict=False):
            clock[0] = min(at + timedelta(minutes=self.rng.randint(2, 3000)), self.now)
            await service.answer(first.id, user_id, answer)

        # the running one
        created = self.now - timedelta(minutes=3)
        clock[0] = created
        area = self.roster.reservist_a.municipality
        audience = Audience(AudienceKind.MUNICIPALITY, area)
        people = await recipients(self.repo, officer, audience, self.t.today)
        second = await self.create_broadcast(service, officer, audience, people, False, created)
        claimed = await broadcasts.claim(second.id, second.total)
        keep = {
            self.users[self.roster.reservist_a.user_id].id,
            self.users[self.roster.mentor_of[self.roster.reservist_a.user_id]].id,
        }
        others = [d.user_id for d in claimed if d.user_id not in keep]
        keep |= set(self.rng.sample(others, min(2, len(others))))
        results = []
        for n, delivery in enumerate(claimed):
            if delivery.user_id in keep:
                results.append(DeliveryResult(delivery.id, DeliveryState.PENDING, 0))
            else:
                moment = created + timedelta(seconds=1, milliseconds=40 * n)
                results.append(DeliveryResult(delivery.id, DeliveryState.SENT, 1, None, moment))
        await broadcasts.finish(results)

    async def create_broadcast(
        self,
        service: BroadcastService,
        officer: User,
        audience: Audience,
        people: Sequence[User],
        rsvp: bool,
        at: datetime,
    ) -> Broadcast:
        """Store and launch a broadcast as the officer's «Отправить» does."""
        text = _FINISHED_BROADCAST if rsvp else _RUNNING_BROADCAST
        parts = [ContentPart.of_text(text)]
        broadcast = await service.create(
            created_by=officer.id,
            parts=parts,
            user_ids=[p.id for p in people],
            audience={
                **audience.to_json(),
                "label": texts.audience_label(audience.kind, audience.value),
                "scope": officer.municipality or None,
            },
            rsvp=rsvp,
        )
        await self.repo.audit.record(
            officer.id,
            "broadcast",
            f"broadcast:{broadcast.id}",
            {"audience": audience.to_json(), "recipients": broadcast.total, "parts": len(parts)},
        )
        await self.stamp_audit(at)
        await service.launch(broadcast.id)
        return broadcast

    # ------------------------------------------------------------------ moments

    async def retime(self) -> None:
        """Set the moments the services stamped with the real clock to the demo's ones."""
        created_of_plan: dict[tuple[int, int], datetime] = {}
        by_user = {u.id: tg for tg, u in self.users.items()}
        plan_rows = []
        for plan_id, user_id, year in await self.demo.plans():
            registered = self.registered[by_user[user_id]]
            made = registered if self.t.day_of(registered).year == year else self.now
            created_of_plan[(user_id, year)] = made
            plan_rows.append((plan_id, made))
        await self.demo.retime_plans(plan_rows)
        item_rows = []
        event_rows = []
        for item_id, user_id, year in await self.demo.plan_items():
            created = created_of_plan[(user_id, year)]
            event_rows.append((item_id, "created", created))
            updated = created
            for action in ("done", "confirmed", "commented"):
                at = self.t.events.get((item_id, action))
                if at is not None:
                    event_rows.append((item_id, action, at))
                    updated = max(updated, at)
            item_rows.append((item_id, created, updated))
        await self.demo.retime_events(event_rows)
        await self.demo.retime_items(item_rows)
        await self.demo.retime_consultations(self.t.consultations)
        await self.demo.users_created_at_registration()
        await self.demo.set_invite_codes(self.invite_codes)


__all__ = ["ID_BASE", "DemoCast", "DemoNotEmptyError", "DemoPerson", "cast", "load_demo"]
