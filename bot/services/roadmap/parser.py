"""Roadmap tables (text converted from Word, or .docx) -> activities and warnings.

A roadmap (дорожная карта / план мероприятий) is a Word document with one activity table among
other tables (indicators, passports, structures). In the text form every table row is a line
of tab-separated cells; a row broken by a page break continues on the next line(s), possibly
with a leading (merged) column lost. The rules below come from the roadmaps in the seeds:
Petrovsky district 2022, Kamyshin district 2022 and the Khabarovsk region project 2023.

- An activity table starts at a header row that has a title column ("Мероприятия",
  "Наименование мероприятия", "Мероприятие (содержание деятельности)") and a schedule column
  ("Сроки", "Сроки реализации / исполнения / выполнения"); responsible, result, "№" and
  "Направление работы" columns are optional. Other tables are ignored.
- In text, the table ends at a non-blank line without a tab; blank lines inside it are page
  breaks and are skipped.
- A row of column numbers ("1 2 3 4") is skipped. A section row (text in the first cell only)
  sets the section of the rows below it; the "Направление работы" column, when present, is
  the section instead (its merged cell is carried down).
- A short row is aligned to the right (the last cell is the last column). A row without "№"
  continues the previous row (each non-empty cell is appended to the same field of that row)
  when its schedule and responsible cells are empty, when it has no schedule and its title
  or responsible cell goes on in lower case (or the previous title has an open quote), and
  when its title goes on in lower case (see ``_continues``). A row with no "№" and no title
  but a schedule or responsible cell is joined the same way, with a warning (a row needs a
  title).
- A lower-case piece alone in the first cell after a row is a continuation, not a section,
  when the row lost leading columns or the first column is not "№".
- Every data row becomes an activity or a warning that names its line.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from bot.services.file_limits import decode_text
from bot.services.roadmap.kinds import decide_audience, read_kind
from bot.services.roadmap.model import (
    ParsedActivity,
    ParseResult,
    ParseWarning,
    RoadmapFormatError,
)
from bot.services.roadmap.schedule import Recurrence, Schedule, clean_text, parse_schedule

__all__ = [
    "DEFAULT_ROADMAP_PATH",
    "activity_key",
    "parse_roadmap_docx",
    "parse_roadmap_file",
    "parse_roadmap_text",
]

DEFAULT_ROADMAP_PATH: Path = Path(__file__).resolve().parents[2] / "data" / "default_roadmap.txt"

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md"})
DOCX_SUFFIXES = frozenset({".docx"})

_MAX_HEADER_CELL = 80

# Header wordings of the seeds, matched in full against a lower-cased cell ("ё" -> "е").
_HEADER_ROLES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern))
    for role, pattern in (
        ("number", r"№\s*(?:п\s*[/.]?\s*п\.?)?|n|номер|п\s*/\s*п"),
        ("direction", r"направлени[ея]\s+(?:работы|деятельности)"),
        (
            "title",
            (
                r"(?:наименование\s+)?мероприяти[а-я]*(?:\s*\(.*\))?"
                r"|наименование|содержание\s+(?:работы|деятельности|мероприяти[а-я]*)"
            ),
        ),
        (
            "schedule",
            (
                r"срок[а-я]*(?:\s+(?:реализации|исполнения|выполнения|проведения))?"
                r"|дата(?:\s+проведения)?|период\s+проведения"
            ),
        ),
        (
            "responsible",
            (
                r"(?:ответственн[а-я]*|исполнител[а-я]*)"
                r"(?:\s+(?:исполнител[а-я]*|и|соисполнител[а-я]*|за\s+исполнение|лиц[оа]))*"
            ),
        ),
        (
            "result",
            (
                r"(?:(?:планируем|прогнозируем|ожидаем)[а-я]*\s+)?результат[а-я]*"
                r"(?:\s+(?:выполнения|реализации|мероприяти[а-я]*))?"
            ),
        ),
    )
)

_COLUMN_NUMBER_RE = re.compile(r"\d{1,2}\.?")
_NUMBERING_ONLY_RE = re.compile(r"[\d.\s)]+")
_KEY_NUMBERING_RE = re.compile(r"^\s*(?:\d+[.)]?\s*)+")
_KEY_PUNCT_RE = re.compile(r"[^\w\s]|_")


@dataclass(frozen=True, slots=True)
class _Layout:
    """Column positions of an activity table, from its header row."""

    width: int
    title: int
    schedule: int
    number: int | None = None
    direction: int | None = None
    responsible: int | None = None
    result: int | None = None


def _header_cell(text: str) -> str:
    return clean_text(text).lower().replace("ё", "е").strip(" .:")


def _detect_header(cells: Sequence[str]) -> _Layout | None:
    """Return the layout when ``cells`` is an activity table's header row, else None."""
    roles: dict[str, int] = {}
    for index, raw in enumerate(cells):
        text = _header_cell(raw)
        if len(text) > _MAX_HEADER_CELL:
            return None
        for role, pattern in _HEADER_ROLES:
            if role not in roles and pattern.fullmatch(text):
                roles[role] = index
                break
    if "title" not in roles or "schedule" not in roles:
        return None
    return _Layout(
        width=len(cells),
        title=roles["title"],
        schedule=roles["schedule"],
        number=roles.get("number"),
        direction=roles.get("direction"),
        responsible=roles.get("responsible"),
        result=roles.get("result"),
    )


def _normalise_for_key(text: str) -> str:
    text = clean_text(text).casefold().replace("ё", "е")
    text = _KEY_NUMBERING_RE.sub("", text)
    text = _KEY_PUNCT_RE.sub(" ", text)
    return " ".join(text.split())


def activity_key(section: str, title: str) -> str:
    """Stable identity of a roadmap row: sha1 hex prefix (16) of normalised section + title.

    Normalisation casefolds, reads "ё" as "е", drops tags, leading numbering ("1.", "2.14."),
    punctuation and quotes, and collapses spaces, so the same row in a slightly reformatted
    file gets the same key.
    """
    material = f"{_normalise_for_key(section)}\x1f{_normalise_for_key(title)}"
    return hashlib.sha1(material.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


@dataclass(slots=True)
class _RawRow:
    """A data row being assembled from its line and continuation lines."""

    line: int
    heading: str
    number: str = ""
    direction: str = ""
    title: str = ""
    schedule: str = ""
    responsible: str = ""
    result: str = ""


def _join(first: str, more: str) -> str:
    return f"{first} {more}" if first and more else first or more


def _starts_lower(text: str) -> bool:
    return bool(text) and text[0].islower()


def _unfinished(text: str) -> bool:
    """A cell cut by a page break: a quote or parenthesis opened and not closed."""
    return text.count("«") > text.count("»") or text.count("(") > text.count(")")


def _continues(last: _RawRow, title: str, schedule: str, responsible: str) -> bool:
    """Whether a row without "№" is the rest of ``last``, cut by a page break.

    It is when it has neither schedule nor responsible (only the title or the result goes
    on); when it has no schedule but its title or responsible cell goes on in lower case
    («…руководителей образовательных» / «организаций», «администрации …») or the title of
    ``last`` has an open quote or parenthesis; and when its title goes on in lower case even
    with a schedule piece («Ежегодно (Апрель-май,» / «2021 г.)»). A row with a capitalised
    title and its own schedule is a new row.
    """
    if not (schedule or responsible):
        return True
    lower = _starts_lower(title)
    if not schedule:
        return lower or _starts_lower(responsible) or (bool(title) and _unfinished(last.title))
    return lower


@dataclass(slots=True)
class _Collector:
    """Accumulates activities, warnings and counts over all tables of one document."""

    activities: list[ParsedActivity] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)
    tables: int = 0
    rows: int = 0
    keys: dict[str, int] = field(default_factory=dict)

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(ParseWarning(line, message))

    def key_for(self, section: str, title: str) -> str:
        base = activity_key(section, title)
        seen = self.keys.get(base, 0) + 1
        self.keys[base] = seen
        if seen == 1:
            return base
        # The same section and title twice in one roadmap: later copies get their own key.
        return activity_key(section, f"{title}#{seen}")

    def result(self) -> ParseResult:
        return ParseResult(
            activities=tuple(self.activities),
            warnings=tuple(sorted(self.warnings, key=lambda warning: warning.line)),
            tables=self.tables,
            rows=self.rows,
        )


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _TableReader:
    """Reads the data rows of one activity table (text lines or .docx rows)."""

    def __init__(self, layout: _Layout, collector: _Collector) -> None:
        self.layout = layout
        self.collector = collector
        self.heading = ""
        self.rows: list[_RawRow] = []
        self.last: _RawRow | None = None
        collector.tables += 1

    def feed(self, line: int, raw_cells: Sequence[str]) -> None:
        """Take one row of cells; ``line`` is its line (text) or row number (.docx)."""
        cells = [clean_text(cell) for cell in raw_cells]
        filled = [index for index, cell in enumerate(cells) if cell]
        if not filled:
            return
        if len(filled) >= 2 and all(_COLUMN_NUMBER_RE.fullmatch(cells[i]) for i in filled):
            return  # a row of column numbers: "1 2 3 4", " 2 3"
        if filled == [0] and self._is_section(cells[0], short=len(cells) < self.layout.width):
            self.heading = cells[0]
            self.last = None
            return
        values = self._align(line, cells)
        number, schedule, responsible = (
            self._cell(values, self.layout.number),
            self._cell(values, self.layout.schedule),
            self._cell(values, self.layout.responsible),
        )
        title = self._cell(values, self.layout.title)
        if (
            self.last is not None
            and not number
            and _continues(self.last, title, schedule, responsible)
        ):
            self._append(self.last, values)  # a continuation line after a page break
            return
        if self.last is not None and not number and not title:
            # A schedule or responsible cell broken by a page break (a row needs a title).
            self._append(self.last, values)
            self.collector.warn(
                line,
                f"cells without a title were joined to the row at line {self.last.line}",
            )
            return
        row = _RawRow(
            line=line,
            heading=self.heading,
            number=number,
            direction=self._cell(values, self.layout.direction),
            title=title,
            schedule=schedule,
            responsible=responsible,
            result=self._cell(values, self.layout.result),
        )
        self.rows.append(row)
        self.last = row

    def _append(self, row: _RawRow, values: Sequence[str]) -> None:
        layout = self.layout
        row.direction = _join(row.direction, self._cell(values, layout.direction))
        row.title = _join(row.title, self._cell(values, layout.title))
        row.schedule = _join(row.schedule, self._cell(values, layout.schedule))
        row.responsible = _join(row.responsible, self._cell(values, layout.responsible))
        row.result = _join(row.result, self._cell(values, layout.result))

    def _is_section(self, text: str, *, short: bool) -> bool:
        """Whether a row with text in its first cell only is a section heading."""
        if _NUMBERING_ONLY_RE.fullmatch(text):
            return False  # "2.8." alone is a row without a title, not a heading
        # A lower-case piece after a row is the rest of a broken cell, not a heading, when the
        # row lost leading columns or its first column holds data rather than "№".
        broken = short or self.layout.number != 0
        return not (broken and self.last is not None and text[0].islower())

    def _align(self, line: int, cells: list[str]) -> list[str]:
        width = self.layout.width
        if len(cells) < width:
            return [""] * (width - len(cells)) + cells  # lost leading column(s): align right
        if len(cells) > width:
            if any(cells[width:]):
                self.collector.warn(
                    line,
                    f"row has {len(cells)} cells but the table has {width} columns; "
                    "the extra cells were added to the last column",
                )
                return [*cells[: width - 1], " ".join(c for c in cells[width - 1 :] if c)]
            return cells[:width]
        return cells

    @staticmethod
    def _cell(values: Sequence[str], index: int | None) -> str:
        return values[index] if index is not None else ""

    def close(self) -> None:
        """Turn the assembled rows into activities and warnings."""
        collector = self.collector
        carried = ""
        heading = ""
        for row in self.rows:
            collector.rows += 1
            if row.heading != heading:
                heading, carried = row.heading, ""
            if row.direction:
                carried = row.direction
            section = carried or row.heading
            if not row.title:
                label = f"row {row.number}" if row.number else "row"
                collector.warn(row.line, f"{label} has no activity title; skipped")
                continue
            schedule = self._schedule(row)
            kind = read_kind(row.title, row.result)
            audience = decide_audience(row.title, section, kind.kind, row.result)
            collector.activities.append(
                ParsedActivity(
                    title=row.title,
                    kind=kind.kind,
                    schedule=schedule,
                    responsible=row.responsible,
                    result=row.result,
                    section=section,
                    source_line=row.line,
                    for_reservists=audience.for_reservists,
                    key=collector.key_for(section, row.title),
                    kind_reason=kind.reason,
                    audience_reason=audience.reason,
                    kind_certain=kind.certain,
                    audience_certain=audience.certain,
                )
            )
        self.rows = []
        self.last = None

    def _schedule(self, row: _RawRow) -> Schedule:
        if not row.schedule:
            self.collector.warn(
                row.line, f"empty schedule for '{_short(row.title)}'; treated as on demand"
            )
            return Schedule((), (), Recurrence.ON_DEMAND, "", ())
        schedule, understood = parse_schedule(row.schedule)
        if not understood:
            self.collector.warn(
                row.line,
                f"unreadable schedule '{schedule.text}' for '{_short(row.title)}'; "
                "treated as on demand",
            )
        return schedule


def _parse_tables(tables: Iterable[Iterable[tuple[int, Sequence[str]]]], what: str) -> ParseResult:
    """Shared table logic: ``tables`` yields tables, each yielding (line, cells) rows."""
    collector = _Collector()
    seen_tables = 0
    first_rows: list[str] = []
    # A table continued after a page break as a new table with the same header keeps the
    # section it was in.
    carried: tuple[_Layout, str] | None = None
    for table in tables:
        seen_tables += 1
        reader: _TableReader | None = None
        first = True
        for line, cells in table:
            if first:
                first = False
                if len(first_rows) < 3:
                    shown = " | ".join(_short(clean_text(c), 30) for c in cells)
                    first_rows.append(f"'{shown}' (line {line})")
            layout = _detect_header(cells)
            if layout is not None:
                if reader is not None and reader.layout == layout:
                    continue  # the header repeated on a new page
                if reader is not None:
                    reader.close()
                reader = _TableReader(layout, collector)
                if carried is not None and carried[0] == layout:
                    reader.heading = carried[1]
                carried = None
            elif reader is not None:
                reader.feed(line, cells)
        if reader is not None:
            reader.close()
            carried = (reader.layout, reader.heading)

    if collector.tables == 0:
        if seen_tables == 0:
            raise RoadmapFormatError(f"no activity table: {what}")
        raise RoadmapFormatError(
            f"no activity table among {seen_tables} table(s): an activity table needs a header "
            "row with a title column (Мероприятия / Наименование мероприятия) and a schedule "
            "column (Сроки …); tables seen start with " + "; ".join(first_rows)
        )
    if collector.rows == 0:
        raise RoadmapFormatError("the activity table has a header but no rows")
    return collector.result()


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """How much of a file the bot reads: table rows in all, cells in a row, characters in a
    cell; ``check_time`` is called now and then and raises when the time is up."""

    rows: int = 500
    columns: int = 30
    cell: int = 5000
    check_time: Callable[[], None] | None = None


class RoadmapLimitError(RoadmapFormatError):
    """The file is over a reading limit: ``what`` is ``rows``, ``columns`` or ``cell``."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"more than {limit} {what}")
        self.what = what
        self.limit = limit


class _Counter:
    """Counts rows against :class:`ReadLimits` (no limits: counts only)."""

    def __init__(self, limits: ReadLimits | None) -> None:
        self.limits = limits
        self.rows = 0

    def row(self, width: int) -> None:
        limits = self.limits
        if limits is None:
            return
        self.rows += 1
        if self.rows > limits.rows:
            raise RoadmapLimitError("rows", limits.rows)
        if width > limits.columns:
            raise RoadmapLimitError("columns", limits.columns)
        if limits.check_time is not None and self.rows % 50 == 0:
            limits.check_time()

    def cells(self, cells: Sequence[str]) -> None:
        if self.limits is not None and any(len(c) > self.limits.cell for c in cells):
            raise RoadmapLimitError("cell", self.limits.cell)


def _text_tables(
    text: str, limits: ReadLimits | None = None
) -> list[list[tuple[int, Sequence[str]]]]:
    """Split text into tables: runs of tab-separated lines, ended by a non-blank tabless line."""
    tables: list[list[tuple[int, Sequence[str]]]] = []
    current: list[tuple[int, Sequence[str]]] | None = None
    counter = _Counter(limits)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # a page break inside a table, or just a blank line
        if "\t" not in line:
            current = None
            continue
        counter.row(line.count("\t") + 1)
        if current is None:
            current = []
            tables.append(current)
        cells = line.split("\t")
        counter.cells(cells)
        current.append((number, cells))
    return tables


def parse_roadmap_text(text: str, limits: ReadLimits | None = None) -> ParseResult:
    """Parse a roadmap converted from Word to plain text (table cells separated by tabs).

    Returns the activities of every activity table with warnings (line numbers are 1-based
    lines of ``text``) and counts. Raises ``RoadmapFormatError`` when the text has no
    tab-separated table, none of its tables is an activity table, or the activity table has
    no rows (``RoadmapLimitError`` when over ``limits``). See the module docstring for the
    table rules.
    """
    return _parse_tables(
        _text_tables(text, limits),
        "the text has no tab-separated table (save the Word document as plain text, "
        "or upload the .docx)",
    )


def _docx_rows(
    document: object, limits: ReadLimits | None = None
) -> list[list[tuple[int, Sequence[str]]]]:
    """Rows of every top-level table, in document order, as (row number, cell texts)."""
    tables: list[list[tuple[int, Sequence[str]]]] = []
    number = 0
    counter = _Counter(limits)
    for table in getattr(document, "tables", []):
        rows: list[tuple[int, Sequence[str]]] = []
        for row in table.rows:
            number += 1
            # the row's width from its XML before python-docx expands spans into cells
            counter.row(
                int(row.grid_cols_before)
                + int(row.grid_cols_after)
                + sum(int(tc.grid_span) for tc in row._tr.tc_lst)
            )
            cells: list[str] = [""] * int(row.grid_cols_before)
            previous: object = None
            for cell in row.cells:
                # A horizontally merged cell appears once per grid column: keep the first.
                cells.append("" if cell._tc is previous else str(cell.text))
                previous = cell._tc
            cells.extend([""] * int(row.grid_cols_after))
            counter.cells(cells)
            rows.append((number, _merged_section(row._tr.tc_lst, cells)))
        tables.append(rows)
    return tables


def _merged_section(tcs: Sequence[object], cells: list[str]) -> list[str]:
    """A section row merged across the table («Раздел 1. …», or «2.» | «Подготовка …» merged
    over all but "№") as a one-cell row, so that it reads as a section; other rows unchanged.

    A row is such a section when it has at most two cells and the last spans at least half the
    table's grid columns.
    """
    spans = [int(getattr(tc, "grid_span", 1)) for tc in tcs]
    if not spans or len(spans) > 2 or spans[-1] < 2 or 2 * spans[-1] < len(cells):
        return cells
    text = " ".join(cell for cell in cells if cell.strip())
    return [text] if text else cells


def parse_roadmap_docx(
    source: Path | bytes | BinaryIO, limits: ReadLimits | None = None
) -> ParseResult:
    """Parse a roadmap .docx: every table of the document, through the same table logic.

    ``source`` is a path, the file's bytes or a binary file object. ``source_line`` and warning
    lines are 1-based row numbers counted over all rows of all tables in document order.
    Horizontally merged cells count once (the first grid column keeps the text); vertically
    merged cells repeat the text of their top cell, as python-docx gives them. Raises
    ``RoadmapFormatError`` when the file is not a readable .docx or has no activity table
    (``RoadmapLimitError`` when over ``limits``).
    """
    import docx  # noqa: PLC0415 (python-docx is only needed for .docx input)

    opened: str | BinaryIO
    if isinstance(source, bytes):
        opened = io.BytesIO(source)
    elif isinstance(source, Path):
        opened = str(source)
    else:
        opened = source
    try:
        document = docx.Document(opened)
    except Exception as exc:  # python-docx raises several kinds for a bad package
        raise RoadmapFormatError(f"not a readable .docx file: {exc}") from exc
    return _parse_tables(_docx_rows(document, limits), "the document has no tables")


def parse_roadmap_file(path: Path) -> ParseResult:
    """Parse a roadmap file chosen by suffix: .txt/.text/.md as text, .docx as Word.

    Text is read by :func:`bot.services.file_limits.decode_text`. Raises
    ``RoadmapFormatError`` for any other suffix (.doc must be saved as .docx first) or when the
    file has no activity table, and ``OSError`` when it cannot be read.
    """
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return parse_roadmap_text(decode_text(path.read_bytes()))
    if suffix in DOCX_SUFFIXES:
        return parse_roadmap_docx(path)
    if suffix == ".doc":
        raise RoadmapFormatError("old Word format .doc is not supported: save it as .docx")
    raise RoadmapFormatError(
        f"unsupported file type {suffix or '(no suffix)'!r}: expected .txt, .text, .md or .docx"
    )
