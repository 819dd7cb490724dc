"""Data model of an imported roadmap (дорожная карта): activities, schedules, warnings.

Everything here is plain data: frozen dataclasses and string enums that serialise to JSON
(``to_json``) and to the storage form (``Schedule.to_storage``) without any database or bot code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ActivityKind",
    "ParseResult",
    "ParseWarning",
    "ParsedActivity",
    "Recurrence",
    "RoadmapFormatError",
    "Schedule",
]


class ActivityKind(StrEnum):
    """What sort of activity a roadmap row describes (see ``kinds.classify_kind``)."""

    DIAGNOSTICS = "diagnostics"
    TRAINING = "training"
    SEMINAR = "seminar"
    COMPETITION = "competition"
    SELF_GOVERNMENT_DAY = "self_government_day"
    INTERNSHIP = "internship"
    COURSES = "courses"
    CONSULTATION = "consultation"
    INTERVIEW = "interview"
    PLANNING = "planning"
    MONITORING = "monitoring"
    OTHER = "other"


class Recurrence(StrEnum):
    """How often an activity happens, as read from its schedule phrase."""

    YEARLY = "yearly"  # every year in the given months ("Ежегодно декабрь", "январь")
    QUARTERLY = "quarterly"  # "ежеквартально", "1 раз в квартал"
    HALF_YEARLY = "half_yearly"  # "1 раз в полугодие", "ежеполугодно": January–June, July–December
    ONCE = "once"  # in the years written ("апрель 2023, 2024", "2023г.")
    CONTINUOUS = "continuous"  # "в течение года", "постоянно", a bare year range
    ON_DEMAND = "on_demand"  # "по запросу", "по плану отдела образования", unreadable phrases


QUARTER_WINDOWS: tuple[tuple[int, int], ...] = ((1, 3), (4, 6), (7, 9), (10, 12))
HALF_YEAR_WINDOWS: tuple[tuple[int, int], ...] = ((1, 6), (7, 12))


class RoadmapFormatError(ValueError):
    """The input holds no recognisable activity table; the message says why."""


def _int_tuple(value: object, field: str) -> tuple[int, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"schedule field {field!r} must be a list, got {type(value).__name__}")
    items: list[int] = []
    for item in value:
        if not isinstance(item, int) or isinstance(item, bool):
            raise ValueError(f"schedule field {field!r} must hold integers, got {item!r}")
        items.append(item)
    return tuple(items)


def _check_month(month: int, field: str) -> None:
    if not 1 <= month <= 12:
        raise ValueError(f"schedule field {field!r} holds {month}, not a month number 1..12")


@dataclass(frozen=True, slots=True)
class Schedule:
    """When an activity happens.

    ``months`` are month numbers in the order written, without duplicates; ``years`` are sorted
    (empty when none are written). ``windows`` are the (start_month, end_month) spans a reservist
    must act in: one per range or per listed month, the four quarters for ``quarterly``, and none
    for continuous, on-demand and year-only schedules. A window may wrap the year end, (12, 1).
    ``first_year`` is the year a yearly activity starts in when the phrase names one
    ("Ежегодно (Апрель-май, 2021 г.)": yearly from 2021); ``years`` stays empty then, because
    ``years`` limit an activity to the years written.
    """

    months: tuple[int, ...]
    years: tuple[int, ...]
    recurrence: Recurrence
    text: str
    windows: tuple[tuple[int, int], ...] = ()
    first_year: int | None = None

    def to_json(self) -> dict[str, object]:
        """Return ``{"months", "years", "recurrence", "text"}`` as plain JSON values.

        ``"first_year"`` is added only when set, so schedules stored before it existed compare
        equal to the same schedule read again.
        """
        data: dict[str, object] = {
            "months": list(self.months),
            "years": list(self.years),
            "recurrence": self.recurrence.value,
            "text": self.text,
        }
        if self.first_year is not None:
            data["first_year"] = self.first_year
        return data

    def to_storage(self) -> dict[str, object]:
        """Return ``to_json()`` plus ``"windows": [[start, end], ...]``; ``from_json`` reads it."""
        data = self.to_json()
        data["windows"] = [[start, end] for start, end in self.windows]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Schedule:
        """Build a schedule from ``to_storage()`` (or ``to_json()``) output.

        When ``"windows"`` is missing (a ``to_json()`` dict) the windows are worked out again:
        the quarters for ``quarterly``, the windows of the re-read ``text`` when it gives the same
        months, otherwise one window per month. Raises ``ValueError`` on a malformed mapping
        (missing key, wrong type, unknown recurrence, month outside 1..12).
        """
        try:
            raw_months = data["months"]
            raw_years = data["years"]
            raw_recurrence = data["recurrence"]
            raw_text = data["text"]
        except KeyError as exc:
            raise ValueError(f"schedule is missing the field {exc.args[0]!r}") from exc
        months = _int_tuple(raw_months, "months")
        years = tuple(sorted(_int_tuple(raw_years, "years")))
        for month in months:
            _check_month(month, "months")
        if not isinstance(raw_recurrence, str):
            raise ValueError(f"schedule field 'recurrence' must be a string: {raw_recurrence!r}")
        try:
            recurrence = Recurrence(raw_recurrence)
        except ValueError as exc:
            raise ValueError(f"unknown recurrence {raw_recurrence!r}") from exc
        if not isinstance(raw_text, str):
            raise ValueError(f"schedule field 'text' must be a string: {raw_text!r}")
        first_year = data.get("first_year")
        if first_year is not None and (
            not isinstance(first_year, int) or isinstance(first_year, bool)
        ):
            raise ValueError(f"schedule field 'first_year' must be a year: {first_year!r}")

        if "windows" in data:
            raw_windows = data["windows"]
            if not isinstance(raw_windows, list | tuple):
                raise ValueError("schedule field 'windows' must be a list of [start, end] pairs")
            windows: list[tuple[int, int]] = []
            for pair in raw_windows:
                bounds = _int_tuple(pair, "windows")
                if len(bounds) != 2:
                    raise ValueError(f"schedule window must be [start, end], got {pair!r}")
                for month in bounds:
                    _check_month(month, "windows")
                windows.append((bounds[0], bounds[1]))
            return cls(months, years, recurrence, raw_text, tuple(windows), first_year)
        windows_again = _derive_windows(months, recurrence, raw_text)
        return cls(months, years, recurrence, raw_text, windows_again, first_year)


def _derive_windows(
    months: tuple[int, ...], recurrence: Recurrence, text: str
) -> tuple[tuple[int, int], ...]:
    """Windows for a stored schedule that did not keep them (see ``Schedule.from_json``)."""
    if recurrence is Recurrence.QUARTERLY:
        return QUARTER_WINDOWS
    if recurrence is Recurrence.HALF_YEARLY:
        return HALF_YEAR_WINDOWS
    if not months or recurrence in (Recurrence.CONTINUOUS, Recurrence.ON_DEMAND):
        return ()
    from bot.services.roadmap.schedule import parse_schedule  # noqa: PLC0415 (import cycle)

    reread, _ok = parse_schedule(text)
    if reread.months == months:
        return reread.windows
    return tuple((month, month) for month in months)


@dataclass(frozen=True, slots=True)
class ParsedActivity:
    """One activity row of a roadmap table.

    ``section`` is the heading row above the row (or the "Направление работы" column),
    ``source_line`` the 1-based line of the row's first piece in a text file (for .docx the
    1-based row number over all rows of all tables), ``key`` a stable identity for re-import
    derived from the normalised section and title. ``kind_reason`` and ``audience_reason`` say
    which rule gave the kind and ``for_reservists`` (see ``kinds``); ``kind_certain`` and
    ``audience_certain`` are False when no rule on the title decided (a guess an officer
    should look at).
    """

    title: str
    kind: ActivityKind
    schedule: Schedule
    responsible: str
    result: str
    section: str
    source_line: int
    for_reservists: bool
    key: str
    kind_reason: str = ""
    audience_reason: str = ""
    kind_certain: bool = True
    audience_certain: bool = True

    def to_json(self) -> dict[str, object]:
        """Return the row as JSON values (``key`` is not included)."""
        return {
            "title": self.title,
            "kind": self.kind.value,
            "schedule": self.schedule.to_json(),
            "responsible": self.responsible,
            "result": self.result,
            "section": self.section,
            "source_line": self.source_line,
            "kind_reason": self.kind_reason,
            "for_reservists": self.for_reservists,
            "audience_reason": self.audience_reason,
        }


@dataclass(frozen=True, slots=True)
class ParseWarning:
    """Something the importer skipped or could not read; ``message`` is in English."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ParseResult:
    """The activities of a roadmap and what went wrong while reading it.

    ``tables`` counts the activity tables found, ``rows`` the data rows seen in them after
    joining continuation lines (section rows and column-number rows are not counted). Every
    data row is either an activity or the subject of a warning naming its line.
    """

    activities: tuple[ParsedActivity, ...]
    warnings: tuple[ParseWarning, ...]
    tables: int
    rows: int

    def in_plans(self) -> tuple[ParsedActivity, ...]:
        """The activities that go into reservists' plans (``for_reservists``)."""
        return tuple(activity for activity in self.activities if activity.for_reservists)

    def guessed(self) -> tuple[ParsedActivity, ...]:
        """Activities an officer should check: no rule on the wording decided whether they go
        into plans, or they go into plans with a kind no rule on the title decided."""
        return tuple(
            activity
            for activity in self.activities
            if not activity.audience_certain
            or (activity.for_reservists and not activity.kind_certain)
        )

    def counts_by_kind(self) -> dict[ActivityKind, int]:
        """Number of activities per kind, in ``ActivityKind`` order; kinds absent are left out."""
        counts = dict.fromkeys(ActivityKind, 0)
        for activity in self.activities:
            counts[activity.kind] += 1
        return {kind: count for kind, count in counts.items() if count}
