"""Data model of an imported roadmap (дорожная карта): activities, their kinds, warnings.

Everything here is plain data: frozen dataclasses and string enums that serialise to JSON
(``to_json``) without any database or bot code. An activity's ``Schedule`` (and its storage
form) lives in ``schedule``, next to the reading of schedule phrases it is built by.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.services.roadmap.schedule import Schedule

__all__ = [
    "ActivityKind",
    "ParseResult",
    "ParseWarning",
    "ParsedActivity",
    "RoadmapFormatError",
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


class RoadmapFormatError(ValueError):
    """The input holds no recognisable activity table; the message says why."""


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
