"""The reserve's indicators (показатели) for an officer's scope and a plan year.

Every indicator is a share D = K / O × 100 %, the form the roadmaps give their indicators in
(Khabarovsk Table 1: «D = K/O × 100 %, где K – количество …, O – общее количество …»). D is
rounded half up to one decimal; it is None when O is 0 (nothing to measure, not 0 %).

"In the reserve" means the reserve status ``included`` or ``training``; "ever included" adds
``appointed`` and ``excluded``. People deleted under 152-ФЗ (anonymised) keep their status,
municipality and plan statuses and are counted; they have no organisation any more.

1. ``support`` — methodical-support coverage (Petrovsky roadmap, «Основные показатели» 1:
   «Доля лиц, охваченных методическим сопровождением, по отношению к общему числу лиц,
   включённых в кадровый резерв»).
   K: people in the reserve with at least one done (non-archived) item in their plan of the
   year, or at least one *confirmed* consultation held in the calendar year.
   O: people in the reserve.
2. ``plan`` — individual-plan completion (Petrovsky, «Основные показатели» 2: «Доля лиц,
   успешно выполнивших индивидуальный план подготовки …»).
   K: people in the reserve whose plan of the year has at least one dated (not on-demand),
   non-archived item and all such items are done. Meaningful at the year's end (the Petrovsky
   interview is in December): mid-year, items not yet due are not done.
   O: people in the reserve.
3. ``mentor`` — mentor coverage (Khabarovsk 2.14 «Закрепление наставников за резервистами»).
   K: people in the reserve with an active mentor assignment (not ended) at the moment of the
   report — assignments are not per year — to a mentor who has not deleted their data
   (152-ФЗ: a deleted mentor's pairs end).
   O: people in the reserve.
4. ``appointed`` — appointment share (Khabarovsk Table 1, Track 2, indicator 3: «Доля
   претендентов, включенных в кадровый резерв …, назначены на должность руководителя или
   заместителя»). Cumulative, by current status, not per year.
   K: people whose status is ``appointed``.  O: people ever included.
5. ``training`` — trainings attendance (Petrovsky «Психологические тренинги», March, June,
   October).
   K: reservists (any status) with a done item of kind ``training`` in their plan of the year.
   O: reservists whose plan of the year has a (non-archived) item of kind ``training``.
6. ``organisations`` — organisations in mentoring programmes (Kamyshin programme, target
   indicator 3: «Не менее 10 % общеобразовательных организаций ежегодно включены в программы
   управленческого наставничества (менторства)»; target 10 %).
   K: distinct organisations (names compared case- and space-insensitively) of reservists with
   an active mentor.  O: distinct organisations of all reservists of the scope (any status).

The breakdown by group (for the chart and the export) applies the same formulas to the people
of each municipality (a regional officer) or each organisation (a municipal officer).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from bot.services.scope import normalise
from bot.texts import reports as tr
from storage.models import ReserveStatus
from storage.repo import Repo
from storage.reports_repo import GroupCounts, ItemStats, ReportsRepo

IN_RESERVE = frozenset({ReserveStatus.INCLUDED.value, ReserveStatus.TRAINING.value})
EVER_INCLUDED = IN_RESERVE | {ReserveStatus.APPOINTED.value, ReserveStatus.EXCLUDED.value}
CODES = ("support", "plan", "mentor", "appointed", "training", "organisations")
TARGETS = {"organisations": 10.0}
NO_STATS = ItemStats(0, 0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: ``k`` of ``o``, ``d`` = K / O × 100 in percent rounded to 0.1 (None when
    O is 0); ``title``, ``formula`` and ``source`` (the roadmap row) in Russian; ``target``: the
    roadmap's goal in percent, if it sets one."""

    code: str
    title: str
    k: int
    o: int
    d: float | None
    formula: str
    source: str
    target: float | None = None


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """What the reports know of one reservist for a plan year.

    ``stats`` counts the non-archived items of their plan of the year (zeros without a plan);
    ``consultations``: confirmed consultations held in the year; ``has_mentor``/``mentor``: an
    active assignment to a mentor who has not deleted their data, and the mentor's name.
    """

    user_id: int
    full_name: str | None
    organisation: str | None
    position: str | None
    municipality: str | None
    status: str | None
    cohort_year: int | None
    has_mentor: bool
    mentor: str | None
    stats: ItemStats
    consultations: int

    @property
    def in_reserve(self) -> bool:
        """Status ``included`` or ``training``."""
        return self.status in IN_RESERVE

    @property
    def supported(self) -> bool:
        """A done plan item or a confirmed consultation in the year (indicator 1)."""
        return self.stats.done > 0 or self.consultations > 0

    @property
    def plan_fulfilled(self) -> bool:
        """Every dated item of the year's plan is done, and there is at least one (indicator 2)."""
        return self.stats.dated > 0 and self.stats.dated_done == self.stats.dated


@dataclass(frozen=True, slots=True)
class GroupIndicators:
    """The indicators of the people of one municipality or organisation (``label``)."""

    label: str
    people: int
    indicators: list[Indicator]


@dataclass(frozen=True, slots=True)
class IndicatorReport:
    """The indicators of a scope (``area``: a municipality, or None for the whole region) for
    plan ``year``, and the same by group: ``by`` is ``municipality`` or ``organisation``."""

    year: int
    area: str | None
    people: int
    indicators: list[Indicator]
    by: str
    groups: list[GroupIndicators]


def share(k: int, o: int) -> float | None:
    """K / O × 100 rounded half up to one decimal; None when ``o`` is 0.

    Raises:
        ValueError: a negative count, or K greater than O.
    """
    if k < 0 or o < 0 or k > o:
        msg = f"bad share {k}/{o}"
        raise ValueError(msg)
    if o == 0:
        return None
    value = (Decimal(k) * 100 / Decimal(o)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return float(value)


def _indicator(code: str, k: int, o: int, year: int) -> Indicator:
    return Indicator(
        code=code,
        title=tr.INDICATOR_TITLES[code],
        k=k,
        o=o,
        d=share(k, o),
        formula=tr.indicator_formula(code, year),
        source=tr.INDICATOR_SOURCES[code],
        target=TARGETS.get(code),
    )


def tally(people: Sequence[PersonFacts]) -> list[GroupCounts]:
    """The indicators' counts of ``people`` per stored spelling of municipality and
    organisation, as :meth:`ReportsRepo.group_counts` reads them from the database."""
    found: dict[tuple[str | None, str | None], list[int]] = {}
    for p in people:
        reserve = p.in_reserve
        counts = found.setdefault((p.municipality, p.organisation), [0] * 10)
        for index, flag in enumerate(
            (
                True,
                reserve,
                reserve and p.supported,
                reserve and p.plan_fulfilled,
                reserve and p.has_mentor,
                p.status in EVER_INCLUDED,
                p.status == ReserveStatus.APPOINTED,
                p.stats.trainings > 0,
                p.stats.trainings_done > 0,
                p.has_mentor,
            )
        ):
            counts[index] += flag
    return [GroupCounts(m, o, *counts) for (m, o), counts in found.items()]


def indicators_of(counts: Iterable[GroupCounts], year: int) -> list[Indicator]:
    """The six indicators (see the module docstring) over the people ``counts`` count, in
    :data:`CODES` order."""
    rows = list(counts)

    def total(field: str) -> int:
        return sum(getattr(r, field) for r in rows)

    reserve = total("reserve")
    organisations = {normalise(r.organisation) for r in rows} - {""}
    mentored = {normalise(r.organisation) for r in rows if r.with_mentor} & organisations
    values = {
        "support": (total("supported"), reserve),
        "plan": (total("fulfilled"), reserve),
        "mentor": (total("mentored"), reserve),
        "appointed": (total("appointed"), total("ever")),
        "training": (total("trained"), total("trainees")),
        "organisations": (len(mentored), len(organisations)),
    }
    return [_indicator(code, *values[code], year) for code in CODES]


def compute_indicators(people: Sequence[PersonFacts], year: int) -> list[Indicator]:
    """The six indicators (see the module docstring) over ``people``, in :data:`CODES` order."""
    return indicators_of(tally(people), year)


def group_key(by: str) -> Callable[[GroupCounts], str | None]:
    """The raw value people are grouped by: ``municipality`` or ``organisation``."""
    if by == "municipality":
        return lambda c: c.municipality
    if by == "organisation":
        return lambda c: c.organisation
    msg = f"unknown grouping {by!r}"
    raise ValueError(msg)


def groups_of(
    counts: Iterable[GroupCounts], year: int, by: str, limit: int | None = None
) -> list[GroupIndicators]:
    """The indicators per municipality or organisation (``by``), biggest groups first.

    Names are grouped case- and space-insensitively and shown in their most frequent spelling
    (of equally frequent ones, the first in alphabetical order); people without a value form
    the group «… не указан(а)». With ``limit``, the groups after the first ``limit - 1`` are
    merged into «Прочие» (a chart stays readable).
    """
    raw = group_key(by)
    members: dict[str, list[GroupCounts]] = {}
    sizes: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for row in counts:
        value = raw(row)
        key = normalise(value)
        members.setdefault(key, []).append(row)
        sizes[key] += row.people
        if value and key:
            spellings.setdefault(key, Counter())[" ".join(value.split())] += row.people
    empty = tr.NO_MUNICIPALITY if by == "municipality" else tr.NO_ORGANISATION

    def label(key: str) -> str:
        if key not in spellings:
            return empty
        return min(spellings[key].items(), key=lambda s: (-s[1], s[0].casefold(), s[0]))[0]

    ordered = sorted(members, key=lambda k: (-sizes[k], label(k).casefold()))
    if limit is not None and len(ordered) > limit:
        head, tail = ordered[: max(limit - 1, 0)], ordered[max(limit - 1, 0) :]
        rest = [r for k in tail for r in members[k]]
        groups = [(label(k), members[k]) for k in head] + [(tr.CHART_OTHERS, rest)]
    else:
        groups = [(label(k), members[k]) for k in ordered]
    return [
        GroupIndicators(name, sum(r.people for r in rows), indicators_of(rows, year))
        for name, rows in groups
    ]


def group_indicators(
    people: Sequence[PersonFacts], year: int, by: str, limit: int | None = None
) -> list[GroupIndicators]:
    """:func:`groups_of` the ``people``."""
    return groups_of(tally(people), year, by, limit)


async def scope_municipalities(reports: ReportsRepo, area: str | None) -> list[str] | None:
    """The stored spellings of municipality ``area`` (compared case- and space-insensitively,
    as :mod:`bot.services.scope` does), or None for the whole region (``area`` None or "")."""
    if not area:
        return None
    target = normalise(area)
    return [m for m in await reports.reservist_municipalities() if normalise(m) == target]


class IndicatorService:
    """Indicators over a :class:`Repo` (one transaction); a handful of queries per call."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    async def people(self, area: str | None, year: int, today: date) -> list[PersonFacts]:
        """The reservists of the scope (``area``: a municipality, None = region) with their
        facts for plan ``year``; ``today`` (the viewer's local date) decides what is overdue.
        Ordered by name, anonymised people last."""
        scope = await scope_municipalities(self.repo.reports, area)
        rows = await self.repo.reports.reservists(scope)
        stats = await self.repo.reports.item_stats(year, today, scope)
        consultations = await self.repo.reports.confirmed_consultations(year, scope)
        mentors = await self.repo.reports.active_mentors(scope)
        return [
            PersonFacts(
                user_id=r.id,
                full_name=r.full_name,
                organisation=r.organisation,
                position=r.position,
                municipality=r.municipality,
                status=r.reserve_status,
                cohort_year=r.cohort_year,
                # a mentor who deleted their data has no name; their pairs end on deletion,
                # and one left by older data does not count as mentoring (indicator 3)
                has_mentor=mentors.get(r.id) is not None,
                mentor=mentors.get(r.id),
                stats=stats.get(r.id, NO_STATS),
                consultations=consultations.get(r.id, 0),
            )
            for r in rows
        ]

    async def report(
        self,
        area: str | None,
        year: int,
        today: date,  # noqa: ARG002 - kept for the callers; no indicator depends on it
        *,
        group_limit: int | None = None,
        people: Sequence[PersonFacts] | None = None,
    ) -> IndicatorReport:
        """The indicators of the scope for ``year`` and their breakdown: by municipality for a
        regional scope (``area`` None), by organisation inside one municipality. ``people``
        may pass facts already loaded by :meth:`people` with the same arguments; otherwise the
        counts are aggregated in the database (:meth:`ReportsRepo.group_counts`: two queries,
        whatever the number of people). ``today`` does not change the indicators."""
        if people is not None:
            counts = tally(people)
        else:
            scope = await scope_municipalities(self.repo.reports, area)
            counts = await self.repo.reports.group_counts(
                year,
                scope,
                in_reserve=sorted(IN_RESERVE),
                ever_included=sorted(EVER_INCLUDED),
                appointed=ReserveStatus.APPOINTED.value,
            )
        by = "organisation" if area else "municipality"
        return IndicatorReport(
            year=year,
            area=area or None,
            people=sum(c.people for c in counts),
            indicators=indicators_of(counts, year),
            by=by,
            groups=groups_of(counts, year, by, group_limit),
        )
