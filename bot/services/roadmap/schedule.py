"""When a roadmap activity happens: the ``Schedule`` value and the reading of Russian schedule
phrases of roadmap tables ("Сроки") into one.

A ``Schedule`` is plain data (months, years, ``Recurrence``, windows) that serialises to JSON
(``to_json``) and to the storage form (``to_storage``, read back by ``from_json``). The phrases
come from the "Сроки" column of real roadmaps: single months and ranges ("Декабрь-январь",
"с января по март"), lists ("Март июнь октябрь"), the "Ежегодно" prefix, years ("апрель 2023,
2024", "2023 – 2024 гг."), quarterly, continuous and on-demand wordings. Only ``re`` and a month
vocabulary are used.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Recurrence", "Schedule", "clean_text", "parse_schedule"]


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
    reread, _ok = parse_schedule(text)
    if reread.months == months:
        return reread.windows
    return tuple((month, month) for month in months)


_TAG_RE = re.compile(
    r"</?(?:p|br|b|i|u|s|em|strong|span|div|font|sup|sub|li|ul|ol|td|tr|th)\b[^<>]*/?>",
    re.IGNORECASE,
)


def clean_text(text: str) -> str:
    """Remove simple HTML tags (``<p>``, ``<br/>`` …), entities and ``**``; collapse whitespace."""
    text = _TAG_RE.sub(" ", text)
    text = html.unescape(text).replace("**", " ")
    return " ".join(text.split())


# Month vocabulary: every case and grammatical form starts with these stems; abbreviations
# ("янв.", "сент.") are matched as whole words. Keys are matched against lower-cased words.
_MONTH_WORD_RE: tuple[tuple[re.Pattern[str], int], ...] = tuple(
    (re.compile(pattern), number)
    for pattern, number in (
        (r"январ[а-я]*|янв", 1),
        (r"феврал[а-я]*|фев|февр", 2),
        (r"март[а-я]*|мар", 3),
        (r"апрел[а-я]*|апр", 4),
        (r"ма[йяею]", 5),
        (r"июн[а-я]*", 6),
        (r"июл[а-я]*", 7),
        (r"август[а-я]*|авг", 8),
        (r"сентябр[а-я]*|сен|сент", 9),
        (r"октябр[а-я]*|окт", 10),
        (r"ноябр[а-я]*|ноя|нояб", 11),
        (r"декабр[а-я]*|дек", 12),
    )
)

# Wordings that mean "whenever needed / by someone else's plan" (understood, no months).
_ON_DEMAND_RE = re.compile(
    r"по мере\b|по запрос|по заявк|по согласовани"
    r"|по (?:отдельному )?(?:плану|графику)|(?:в соответствии|согласно)\b.*\b(?:план|график)"
)
# Wordings that mean "all the time".
_CONTINUOUS_RE = re.compile(
    r"в течени[еи]\s+(?:всего\s+)?(?:(?:учебного|календарного|отчетного)\s+)?"
    r"(?:\d{4}\s*(?:-\s*\d{4}\s*)?)?(?:года|годов|гг|г\b|периода|срока|реализации)"
    r"|постоянно|систематически|на протяжении|весь период"
)
_QUARTERLY_RE = re.compile(
    r"ежекварт[а-я]*|поквартальн[а-я]*|(?:\d+|один)?\s*раза? в квартал|каждый квартал"
)
_HALF_YEARLY_RE = re.compile(
    r"ежеполугодн[а-я]*|(?:\d+|один)?\s*раза? в полугоди[а-я]*|каждое полугодие"
)
_YEARLY_RE = re.compile(r"ежегодн[а-я]*|(?:\d+|один)?\s*раза? в год\b|каждый год\b")

# Recurrence words that win wherever they stand in the cell, in this order, before anything
# else is read: "Ежеквартально (2023 г.)" is quarterly, "1 раз в полугодие" half-yearly.
_PERIODIC: tuple[tuple[re.Pattern[str], Recurrence, tuple[tuple[int, int], ...]], ...] = (
    (_QUARTERLY_RE, Recurrence.QUARTERLY, QUARTER_WINDOWS),
    (_HALF_YEARLY_RE, Recurrence.HALF_YEARLY, HALF_YEAR_WINDOWS),
)

_MONTH_NAMES = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip
# Dates and parts of the year rewritten as month words before the scan: "до 15.03.2024" ->
# "до март 2024", "IV квартал" -> "октябрь - декабрь", "I полугодие" -> "январь - июнь".
_FULL_DATE_RE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_DAY_MONTH_RE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\b(?!\.\d)")
_ORDINALS = {
    "i": 1, "1": 1, "перв": 1, "ii": 2, "2": 2, "втор": 2,
    "iii": 3, "3": 3, "трет": 3, "iv": 4, "4": 4, "четверт": 4,
}  # fmt: skip
_ORDINAL = r"(iv|i{1,3}|[1-4]|перв|втор|трет|четверт)[а-я]*(?:\s*-\s*?[а-я]{1,2}\b)?"
_QUARTER_RE = re.compile(rf"\b{_ORDINAL}\s*(?:квартал[а-я]*|кв\b\.?)")
_HALF_RE = re.compile(rf"\b{_ORDINAL}\s*полугоди[а-я]*")
_NOT_LATER_RE = re.compile(r"не позднее|не позже")

# Words that carry no meaning of their own in a schedule phrase.
_FILLER_WORDS = frozenset(
    {
        "с", "и", "в", "во", "г", "гг", "год", "года", "годы", "году", "годах", "годов",
        "месяц", "начиная", "срок", "не",
    }
)  # fmt: skip
_RANGE_WORDS = frozenset({"-", "по", "до"})
_TOKEN_RE = re.compile(r"\d+|[a-zа-я]+|-|[^\sa-zа-я\d-]")
_DASHES_RE = re.compile(r"[‐‑‒–—―−]")


@dataclass
class _Reading:
    """What the token scan found: months in order, windows, years, and leftover words."""

    months: list[int] = field(default_factory=list)
    windows: list[tuple[int, int]] = field(default_factory=list)
    years: set[int] = field(default_factory=set)
    year_range: bool = False
    unknown: list[str] = field(default_factory=list)

    def add_months(self, start: int, end: int) -> None:
        month = start
        while True:
            if month not in self.months:
                self.months.append(month)
            if month == end:
                break
            month = month % 12 + 1
        if (start, end) not in self.windows:
            self.windows.append((start, end))


def _month_number(word: str) -> int | None:
    for pattern, number in _MONTH_WORD_RE:
        if pattern.fullmatch(word):
            return number
    return None


def _year_number(token: str) -> int | None:
    if len(token) == 4 and token.isascii() and token.isdigit() and 1900 <= int(token) <= 2099:
        return int(token)
    return None


def _is_day_of_month(token: str, following: list[str]) -> bool:
    return (
        token.isascii()
        and token.isdigit()
        and 1 <= int(token) <= 31
        and bool(following)
        and _month_number(following[0]) is not None
    )


def _scan(phrase: str) -> _Reading:
    """Read months, month ranges, years and year ranges from a normalised phrase."""
    reading = _Reading()
    tokens = _TOKEN_RE.findall(phrase)
    # Classify tokens; punctuation (",", ".", ";", "(") only separates and is dropped.
    kinds: list[tuple[str, int]] = []  # ("month", n) | ("year", y) | ("range", 0)
    for position, token in enumerate(tokens):
        if (year := _year_number(token)) is not None:
            kinds.append(("year", year))
        elif (month := _month_number(token)) is not None:
            kinds.append(("month", month))
        elif _is_day_of_month(token, tokens[position + 1 : position + 2]):
            continue  # "до 15 января": the day is finer than a month window
        elif token in _RANGE_WORDS:
            kinds.append(("range", 0))
        elif token in _FILLER_WORDS or not (token.isalnum()):
            continue
        else:
            reading.unknown.append(token)

    index = 0
    while index < len(kinds):
        kind, value = kinds[index]
        if kind == "month":
            # A range: month [year…] (-|по|до) month, e.g. "сентябрь 2023 – май 2024".
            after = index + 1
            while after < len(kinds) and kinds[after][0] == "year":
                reading.years.add(kinds[after][1])
                after += 1
            if (
                after + 1 < len(kinds)
                and kinds[after][0] == "range"
                and kinds[after + 1][0] == "month"
            ):
                reading.add_months(value, kinds[after + 1][1])
                index = after + 2
                continue
            reading.add_months(value, value)
            index = after
            continue
        if kind == "year":
            if (
                index + 2 < len(kinds)
                and kinds[index + 1][0] == "range"
                and kinds[index + 2][0] == "year"
                and kinds[index + 2][1] >= value
            ):
                reading.years.update(range(value, kinds[index + 2][1] + 1))
                reading.year_range = True
                index += 3
                continue
            reading.years.add(value)
        index += 1
    return reading


def _normalise(text: str) -> str:
    return _DASHES_RE.sub("-", text.lower().replace("ё", "е"))


def _month_span(first: int, last: int) -> str:
    return f" {_MONTH_NAMES[first - 1]} - {_MONTH_NAMES[last - 1]} "


def _dates_as_months(phrase: str) -> str:
    """Rewrite full dates, quarters and half-years as month words (see ``_FULL_DATE_RE``)."""

    def full_date(match: re.Match[str]) -> str:
        day, month = int(match.group(1)), int(match.group(2))
        if 1 <= day <= 31 and 1 <= month <= 12:
            return f" {_MONTH_NAMES[month - 1]} {match.group(3)} "
        return match.group(0)

    def day_month(match: re.Match[str]) -> str:
        day, month = int(match.group(1)), int(match.group(2))
        if 1 <= day <= 31 and 1 <= month <= 12:
            return f" {_MONTH_NAMES[month - 1]} "
        return match.group(0)

    def quarter(match: re.Match[str]) -> str:
        number = _ORDINALS[match.group(1)]
        return _month_span(3 * number - 2, 3 * number)

    def half(match: re.Match[str]) -> str:
        number = _ORDINALS[match.group(1)]
        if number > 2:
            return match.group(0)
        return _month_span(6 * number - 5, 6 * number)

    phrase = _FULL_DATE_RE.sub(full_date, phrase)
    phrase = _DAY_MONTH_RE.sub(day_month, phrase)
    phrase = _QUARTER_RE.sub(quarter, phrase)
    phrase = _HALF_RE.sub(half, phrase)
    return _NOT_LATER_RE.sub(" до ", phrase)


def parse_schedule(text: str) -> tuple[Schedule, bool]:
    """Read a Russian schedule phrase ("Сроки" cell) into a ``Schedule``.

    Takes the cell text as written (tags and extra whitespace are cleaned here) and returns
    ``(schedule, understood)``. Rules, in this order:

    - "ежеквартально" / "1 раз в квартал" anywhere in the cell -> ``quarterly`` with the four
      quarters as windows; "1 раз в полугодие" / "ежеполугодно" -> ``half_yearly`` with the two
      half-years (these words win over months or years written beside them);
    - on-demand wordings ("По мере необходимости", "По запросу", "По плану отдела образования",
      "в соответствии с планом-графиком …") -> ``on_demand``, understood;
    - continuous wordings ("В течение (учебного) года", "Постоянно") -> ``continuous``;
    - otherwise months and years are read (full dates "до 15.03.2024" give their month and
      year, "IV квартал" October–December, "I полугодие" January–June): months without years
      -> ``yearly``; any year written -> ``once`` (it happens in those years); a bare year range
      ("2023 – 2024 гг.") -> ``continuous`` over those years;
    - "Ежегодно" / "каждый год" / "Раз в год" anywhere in the cell makes it ``yearly`` whatever
      else is written: "Ежегодно (Апрель-май, 2021 г.)" is yearly in April–May with
      ``first_year`` 2021 (one year written is the first year; a year range keeps its years).

    A range gives one window ("Декабрь-январь" -> (12, 1)), a list one window per month.
    Years written with the periodic, on-demand and continuous kinds are kept. A phrase with
    words it does not know ("когда-нибудь", "по итогам") or with nothing to read keeps its
    text, gets ``on_demand`` and ``understood`` is False; so does an empty phrase. Never raises.
    """
    written = clean_text(text)
    phrase = _normalise(written)

    if not phrase:
        return Schedule((), (), Recurrence.ON_DEMAND, written, ()), False
    for pattern, recurrence, windows in _PERIODIC:
        if pattern.search(phrase):
            years = tuple(sorted(_scan(_dates_as_months(phrase)).years))
            return Schedule((), years, recurrence, written, windows), True
    for pattern, recurrence in (
        (_ON_DEMAND_RE, Recurrence.ON_DEMAND),
        (_CONTINUOUS_RE, Recurrence.CONTINUOUS),
    ):
        if pattern.search(phrase):
            years = tuple(sorted(_scan(_dates_as_months(phrase)).years))
            return Schedule((), years, recurrence, written, ()), True

    yearly_said = bool(_YEARLY_RE.search(phrase))
    reading = _scan(_dates_as_months(_YEARLY_RE.sub(" ", phrase)))
    years = tuple(sorted(reading.years))
    if reading.unknown or not (reading.months or years or yearly_said):
        return Schedule((), years, Recurrence.ON_DEMAND, written, ()), False

    months = tuple(reading.months)
    windows = tuple(reading.windows)
    if yearly_said:
        if len(years) == 1 and not reading.year_range:
            return Schedule(months, (), Recurrence.YEARLY, written, windows, years[0]), True
        return Schedule(months, years, Recurrence.YEARLY, written, windows), True
    if months:
        recurrence = Recurrence.ONCE if years else Recurrence.YEARLY
        return Schedule(months, years, recurrence, written, windows), True
    recurrence = Recurrence.CONTINUOUS if reading.year_range else Recurrence.ONCE
    return Schedule((), years, recurrence, written, ()), True
