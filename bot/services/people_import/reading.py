"""Reading a list of people: the file (``.xlsx`` or ``.csv``) within the reading limits, the
header row and its columns, and the data rows as text (:func:`read_table` -> :class:`PeopleTable`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import PurePath
from typing import Any

from bot.services.file_limits import MAX_FILE_BYTES as FILE_LIMIT_BYTES
from bot.services.file_limits import (
    Deadline,
    FileLimitError,
    TimeLimitError,
    check_archive,
    decode_text,
)
from bot.services.people_import.matching import compact
from bot.texts import files as tf
from bot.texts import people as tp

__all__ = [
    "CSV_MIMES",
    "HEADER_SEARCH_ROWS",
    "HEADER_SYNONYMS",
    "LINK_SYNONYMS",
    "MAX_CELL",
    "MAX_COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_FILLED",
    "MAX_LINES",
    "MAX_ROWS",
    "REQUIRED",
    "XLSX_MIME",
    "ImportFormatError",
    "PeopleTable",
    "RawRow",
    "TableKind",
    "header_field",
    "read_table",
    "table_kind",
]

MAX_FILE_BYTES = FILE_LIMIT_BYTES  # 10 MB
MAX_ROWS = 5000  # people (data rows)
MAX_LINES = 10_000  # rows of the sheet read at all, empty ones included, all sheets together
MAX_COLUMNS = 50
MAX_CELL = 1000  # characters
MAX_FILLED = 100_000  # cells with a value, all sheets together (5,000 people × 20 columns)
HEADER_SEARCH_ROWS = 30
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMES = frozenset({"text/csv", "application/csv", "text/comma-separated-values"})
REQUIRED = ("full_name", "organisation", "position")


class TableKind(StrEnum):
    """A spreadsheet format the import reads and writes."""

    XLSX = "xlsx"
    CSV = "csv"


class ImportFormatError(Exception):
    """The file as a whole cannot be imported; ``message`` says why, in Russian."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Header cells, compared in :func:`compact` form after dropping text in parentheses.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "full_name": (
        "ФИО", "Ф.И.О.", "Фамилия Имя Отчество", "Фамилия, имя, отчество", "ФИО резервиста",
        "ФИО участника", "ФИО полностью", "Full name", "Name",
    ),
    "organisation": (
        "Организация", "Образовательная организация", "Наименование организации",
        "Наименование ОО", "ОО", "Место работы", "Школа", "Учреждение", "Organisation",
        "Organization",
    ),
    "position": ("Должность", "Занимаемая должность", "Position"),
    "municipality": (
        "Муниципалитет", "Муниципальное образование", "Муниципальный район",
        "Муниципальный округ", "Городской округ", "Район", "МО", "Территория", "Municipality",
    ),
    "role": ("Роль", "Роль в боте", "Категория", "Role"),
    "mentor": ("Наставник", "ФИО наставника", "Mentor"),
    "cohort_year": (
        "Год включения", "Год включения в резерв", "Год зачисления", "Год", "Cohort",
        "Cohort year", "Year",
    ),
}  # fmt: skip
LINK_SYNONYMS = (tp.LINK_HEADER, "Ссылка", "Ссылка для регистрации", "Link", "Invite link")

_HEADER_INDEX = {compact(s): f for f, synonyms in HEADER_SYNONYMS.items() for s in synonyms}
_LINK_HEADERS = frozenset(compact(s) for s in LINK_SYNONYMS)
_PARENS = re.compile(r"\([^)]*\)")


def header_field(cell: str) -> str | None:
    """The field a header cell names (``full_name``, ``organisation``, …), ``link`` for the
    link column of an earlier output, or None."""
    key = compact(_PARENS.sub(" ", cell))
    if key in _LINK_HEADERS:
        return "link"
    return _HEADER_INDEX.get(key)


def table_kind(file_name: str | None, mime_type: str | None) -> TableKind | None:
    """The format of a sent file: by its extension (``.xlsx``, ``.csv``), or by the MIME type
    when the name has no extension; None for anything else (left to other handlers)."""
    suffix = PurePath(file_name or "").suffix.casefold()
    if suffix == ".xlsx":
        return TableKind.XLSX
    if suffix == ".csv":
        return TableKind.CSV
    if suffix:
        return None
    if mime_type == XLSX_MIME:
        return TableKind.XLSX
    if mime_type in CSV_MIMES:
        return TableKind.CSV
    return None


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row: its row number in the sheet (1-based, as Excel shows it) and the text of
    each recognised column."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class PeopleTable:
    """A read list: the original file, every row as text, where the header is and which
    column holds which field (0-based), and the data rows."""

    name: str
    kind: TableKind
    data: bytes
    cells: list[list[str]]
    header_line: int
    columns: dict[str, int]
    link_column: int | None
    rows: list[RawRow]


@dataclass(frozen=True, slots=True)
class _Header:
    line: int
    columns: dict[str, int]
    headers: dict[str, str]
    link_column: int | None
    duplicate: tuple[str, str, str] | None


def _cell_text(value: Any) -> str:
    """A cell as text: numbers without a trailing ``.0``, dates as ДД.ММ.ГГГГ."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def _find_header(rows: Sequence[Sequence[str]]) -> _Header | None:
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        fields = [header_field(c) if c else None for c in row]
        if "full_name" not in fields:
            continue
        columns: dict[str, int] = {}
        headers: dict[str, str] = {}
        link_column = None
        duplicate = None
        for col, name in enumerate(fields):
            if name == "link":
                link_column = col if link_column is None else link_column
            elif name is not None and name in columns:
                duplicate = duplicate or (name, headers[name], row[col].strip())
            elif name is not None:
                columns[name] = col
                headers[name] = row[col].strip()
        return _Header(index + 1, columns, headers, link_column, duplicate)
    return None


class _Lines:
    """Counts the lines read against :data:`MAX_LINES`, checks each row's width and cells,
    and the time now and then."""

    def __init__(self, deadline: Deadline | None) -> None:
        self.deadline = deadline
        self.count = 0
        self.filled = 0

    def line(self, width: int) -> None:
        self.count += 1
        if self.count > MAX_LINES:
            raise FileLimitError(tf.too_many_lines(MAX_LINES))
        if width > MAX_COLUMNS:
            raise FileLimitError(tf.too_many_columns(MAX_COLUMNS))
        if self.deadline is not None and self.count % 200 == 0:
            self.deadline.check()

    def cells(self, cells: Sequence[str]) -> None:
        if any(len(c) > MAX_CELL for c in cells):
            raise FileLimitError(tf.cell_too_long(MAX_CELL))
        self.filled += sum(1 for c in cells if c)
        if self.filled > MAX_FILLED:
            raise FileLimitError(tf.too_many_cells(MAX_FILLED))


def _xlsx_rows(data: bytes, deadline: Deadline | None = None) -> list[list[str]]:
    """The active sheet's rows as text. The archive's unpacked size is checked first; the
    workbook is read in openpyxl's read-only mode row by row, its declared dimension ignored
    (a lone cell at XFD1048576 is one cell, not a billion), stopping at the limits. Every
    sheet is read within the limits (the answer is written from the whole workbook)."""
    from openpyxl import load_workbook  # noqa: PLC0415 - heavy; only the import needs it

    check_archive(data)
    lines = _Lines(deadline)
    rows: list[list[str]] = []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign file
        raise ImportFormatError(tp.FILE_BAD_XLSX) from exc
    try:
        active = book.active
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # never trust the declared <dimension>
            for row in sheet.iter_rows(values_only=True):
                lines.line(len(row))
                cells = [_cell_text(v) for v in row]
                lines.cells(cells)
                if sheet is active:
                    rows.append(cells)
    except FileLimitError:
        raise
    except Exception as exc:  # a damaged sheet
        raise ImportFormatError(tp.FILE_BAD_XLSX) from exc
    finally:
        book.close()
    return rows


def _csv_variants(
    data: bytes, deadline: Deadline | None = None
) -> list[tuple[str, list[list[str]] | FileLimitError]]:
    """The file read with each separator, row by row within the limits; a separator whose
    reading passed a limit gives that error instead of rows (a wrong separator can make a
    whole line one long cell, so the limits decide only once the separator is known)."""
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        raise ImportFormatError(tp.FILE_BAD_CSV) from exc
    variants: list[tuple[str, list[list[str]] | FileLimitError]] = []
    for delimiter in (";", ",", "\t"):
        lines = _Lines(deadline)
        rows: list[list[str]] = []
        try:
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                lines.line(len(row))
                lines.cells(row)
                rows.append(row)
        except TimeLimitError:
            raise
        except FileLimitError as exc:
            variants.append((delimiter, exc))
            continue
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                variants.append((delimiter, FileLimitError(tf.cell_too_long(MAX_CELL))))
                continue
            raise ImportFormatError(tp.FILE_BAD_CSV) from exc
        variants.append((delimiter, rows))
    return variants


def read_table(
    name: str, data: bytes, kind: TableKind | None = None, deadline: Deadline | None = None
) -> PeopleTable:
    """Read a list of people from ``data`` (the file's bytes; ``name`` is its file name).
    Runs in a worker thread (``deadline``: the time limit it stops at).

    ``kind`` defaults to :func:`table_kind` of ``name``. The active sheet of a workbook is read.
    Rows with no recognised value are skipped. Columns are described in the package docstring.

    Raises:
        ImportFormatError: unknown kind, empty, too big, unreadable, no header row, a column
            named twice, a required column (ФИО, организация, должность) missing, no data rows
            or more than :data:`MAX_ROWS` of them.
        FileLimitError: over a reading limit: 10 MB, 30 MB unpacked, :data:`MAX_LINES`
            lines, :data:`MAX_COLUMNS` columns, :data:`MAX_CELL` characters in a cell,
            :data:`MAX_FILLED` filled cells, time.
    """
    kind = kind or table_kind(name, None)
    if kind is None:
        raise ImportFormatError(tp.FILE_KIND)
    if not data.strip():
        raise ImportFormatError(tp.FILE_EMPTY)
    if len(data) > MAX_FILE_BYTES:
        raise FileLimitError(tf.too_big(MAX_FILE_BYTES // (1024 * 1024)))
    if kind == TableKind.XLSX:
        cells = _xlsx_rows(data, deadline)
        header = _find_header(cells)
    else:
        best: tuple[_Header, list[list[str]]] | None = None
        variants = _csv_variants(data, deadline)
        for _delimiter, variant in variants:
            if isinstance(variant, FileLimitError):
                continue
            found = _find_header(variant)
            # the separator that recognises the most columns wins (";" first on a tie)
            if found is not None and (best is None or len(found.columns) > len(best[0].columns)):
                best = (found, variant)
        if best is None:
            # no separator finds the header: a limit one of them passed is the reason
            over = [v for _d, v in variants if isinstance(v, FileLimitError)]
            if over:
                raise over[0]
        header, cells = best if best is not None else (None, [])
    if header is None:
        raise ImportFormatError(tp.NO_HEADER)
    if header.duplicate:
        raise ImportFormatError(tp.duplicate_column(*header.duplicate))
    missing = [tp.COLUMN_NAMES[f] for f in REQUIRED if f not in header.columns]
    if missing:
        raise ImportFormatError(tp.missing_columns(missing))
    rows: list[RawRow] = []
    for offset, row in enumerate(cells[header.line :]):
        values = {
            f: " ".join(row[c].split()) if c < len(row) else "" for f, c in header.columns.items()
        }
        if not any(values.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFormatError(tp.too_many_rows(MAX_ROWS))
        rows.append(RawRow(header.line + offset + 1, values))
    if not rows:
        raise ImportFormatError(tp.NO_ROWS)
    return PeopleTable(
        name=name,
        kind=kind,
        data=data,
        cells=cells,
        header_line=header.line,
        columns=header.columns,
        link_column=header.link_column,
        rows=rows,
    )
