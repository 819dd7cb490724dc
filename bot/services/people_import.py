"""Bulk import of people from a department's reserve list (Excel ``.xlsx`` or ``.csv``).

Departments keep their reserve lists in spreadsheets. Each row of such a list becomes a person
awaiting registration (a :class:`User` with no Telegram id) with a personal, single-use invite
link (``Invite.person_id``); the officer gets the same table back with a link column added, ready
to mail out. Opening the link registers exactly that person (``PeopleService.register``).

The table (see :func:`read_table`):

- the header row is one of the first :data:`HEADER_SEARCH_ROWS` rows: the first one with an
  «ФИО» cell; header cells are matched case-insensitively, ignoring punctuation and text in
  parentheses, against :data:`HEADER_SYNONYMS`;
- required columns: ФИО, организация, должность, and муниципалитет (optional for a municipal
  officer: an empty or missing municipality is theirs); роль is optional (every row is then a
  reservist), as are наставник and год включения; other columns are kept and ignored;
- a ``.csv`` may be UTF-8 (with or without BOM), Windows-1251 or UTF-16, separated by ``;``,
  ``,`` or tabs; the output csv is UTF-8 with BOM and ``;`` (what Excel in Russian expects).

Rules of the import (:meth:`PeopleImportService.import_people`):

- all or nothing: every row is checked first; any error (reported by row number, in Russian)
  means nothing is written; the writes happen in the caller's one transaction;
- idempotent: a row is the same person as an existing one when the normalised ФИО, организация
  and муниципалитет match (case, «ё», spaces and punctuation ignored). Such a person is «уже в
  базе»: nothing of them changes, their still valid personal link is given again; an expired
  (or missing) one is replaced by a fresh link; a registered person gets no link;
- scope (``bot.services.scope``): a municipal officer imports only people of their own
  municipality; the command line (no officer) imports anyone;
- reservists get the reserve status «included», the cohort year (from the file or the current
  year) and a ``ReserveStatusChange`` step; the «наставник» column names a mentor by ФИО (full,
  or surname and initials) among the mentors of the same file and the existing mentors in
  scope; the assignment is stored right away (it refers to user ids, registered or not) and
  audited like ``/assign``; an existing reservist's other current mentor is not replaced (a
  warning says so);
- the import and each assignment go to the audit log.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import PurePath
from typing import Any

from bot.services.errors import InputError
from bot.services.file_limits import MAX_FILE_BYTES as FILE_LIMIT_BYTES
from bot.services.file_limits import Deadline, FileLimitError, TimeLimitError, check_archive
from bot.services.people import CODE_BYTES
from bot.services.scope import officer_municipality
from bot.services.validation import clean_full_name, clean_text
from bot.texts import files as tf
from bot.texts import people as tp
from storage.models import (
    Invite,
    MentorAssignment,
    ReserveStatus,
    ReserveStatusChange,
    Role,
    User,
)
from storage.people_repo import PeopleRepo
from storage.repo import Repo

MAX_FILE_BYTES = FILE_LIMIT_BYTES  # 10 MB
MAX_ROWS = 5000  # people (data rows)
MAX_LINES = 10_000  # rows of the sheet read at all, empty ones included, all sheets together
MAX_COLUMNS = 50
MAX_CELL = 1000  # characters
MAX_FILLED = 100_000  # cells with a value, all sheets together (5,000 people × 20 columns)
HEADER_SEARCH_ROWS = 30
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMES = frozenset({"text/csv", "application/csv", "text/comma-separated-values"})
YEAR_RANGE = (2000, 2100)

# Field limits follow the registration dialogue (handlers/start.py QUESTIONS).
TEXT_LIMITS = {"organisation": (2, 300), "position": (2, 200), "municipality": (2, 200)}
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


def _fold(text: str) -> str:
    return text.casefold().replace("ё", "е")


def compact(text: str) -> str:
    """``text`` casefolded, «ё» as «е», letters and digits only: the form keys compare."""
    return "".join(ch for ch in _fold(text) if ch.isalnum())


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

_HEADER_INDEX = {compact(s): f for f, synonyms in HEADER_SYNONYMS.items() for s in synonyms}
_LINK_HEADERS = frozenset(compact(s) for s in LINK_SYNONYMS)
_ROLE_INDEX = {compact(w): r for w, r in ROLE_WORDS.items()}
_PARENS = re.compile(r"\([^)]*\)")
_YEAR = re.compile(r"^\d{4}$")
_WORDS = re.compile(r"[^\W\d_]+")


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


def output_name(name: str) -> str:
    """The file name of the table returned with links: ``список.xlsx`` → ``список_ссылки.xlsx``."""
    path = PurePath(name or "people.xlsx")
    return f"{path.stem}{tp.OUTPUT_SUFFIX}{path.suffix}"


def invite_link(bot_username: str, code: str) -> str:
    """The deep link of an invite: ``https://t.me/<bot>?start=<code>`` (Bot API deep linking)."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


# --- reading ------------------------------------------------------------------------------------
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


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def _csv_variants(
    data: bytes, deadline: Deadline | None = None
) -> list[tuple[str, list[list[str]] | FileLimitError]]:
    """The file read with each separator, row by row within the limits; a separator whose
    reading passed a limit gives that error instead of rows (a wrong separator can make a
    whole line one long cell, so the limits decide only once the separator is known)."""
    try:
        text = _decode(data)
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
    Rows with no recognised value are skipped. Columns are described in the module docstring.

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


# --- checking rows ------------------------------------------------------------------------------
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


def name_words(full_name: str) -> list[str]:
    """The words of a name, casefolded with «ё» as «е» (initials become one-letter words)."""
    return _WORDS.findall(_fold(full_name))


def person_key(full_name: str, organisation: str, municipality: str) -> tuple[str, str, str]:
    """Who a person is for the import: normalised ФИО, организация and муниципалитет (case,
    «ё», spaces, quotes and other punctuation ignored)."""
    return " ".join(name_words(full_name)), compact(organisation), compact(municipality)


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


def mentor_matches(written: str, full_name: str) -> bool:
    """Whether a mentor written as ``written`` («Петров Иван Сергеевич», «Петров И.С.»,
    «Петров Иван») may be the person ``full_name``: the same surname, then each further word
    the same word or its initial."""
    query, full = name_words(written), name_words(full_name)
    if len(query) < 2 or len(query) > len(full) or query[0] != full[0]:
        return False
    return all(
        word == full[k] or (len(word) == 1 and full[k].startswith(word))
        for k, word in enumerate(query[1:], start=1)
    )


# --- the import ---------------------------------------------------------------------------------
class RowStatus(StrEnum):
    """What the import did with a row."""

    CREATED = "created"
    EXISTING = "existing"  # already in the database, awaiting registration: link kept or renewed
    REGISTERED = "registered"  # already in the database and registered: no link


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """A row's person, what happened, and the text of its link cell."""

    line: int
    person_id: int
    status: RowStatus
    link: str
    renewed: bool = False


@dataclass
class ImportResult:
    """The outcome of :meth:`PeopleImportService.import_people`. With ``errors`` nothing was
    written; otherwise ``outcomes`` has one entry per data row."""

    name: str
    errors: list[RowError] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)
    existing: int = 0
    registered: int = 0
    renewed: int = 0
    assigned: int = 0
    expires_first: datetime | None = None
    expires_last: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the list was imported."""
        return not self.errors


# Who a mentor named in a row is: ("user", user id) or ("row", line of a new mentor's row).
_Ref = tuple[str, int]


@dataclass
class _Planned:
    row: PersonRow
    existing: User | None
    mentor: _Ref | None = None
    person: User | None = None


@dataclass(frozen=True, slots=True)
class _MentorCandidate:
    ref: _Ref
    full_name: str
    municipality: str


class PeopleImportService:
    """Imports lists of people over a :class:`Repo` (the caller's one transaction)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.people = PeopleRepo(repo.session)

    async def import_people(
        self,
        table: PeopleTable,
        *,
        actor: User | None,
        bot_username: str,
        now: datetime,
        today: date,
        ttl: timedelta,
    ) -> ImportResult:
        """Import ``table`` all or nothing (rules in the module docstring).

        Args:
            actor: the importing officer (their scope applies, they are the audit's actor),
                or None for the command line (every municipality, no actor).
            bot_username: the bot's username, for the links.
            now: the aware UTC moment; links are valid until ``now + ttl`` (INVITE_TTL_DAYS).
            today: the department's local date; its year is the default cohort year.

        Returns:
            The result; with ``errors`` (sorted by row) nothing was written.

        Raises:
            PermissionError: ``actor`` is not an officer.
            ImportFormatError: no «муниципалитет» column and ``actor`` is not a municipal
                officer.
        """
        own = officer_municipality(actor) if actor is not None else None
        if own is None and "municipality" not in table.columns:
            raise ImportFormatError(tp.missing_columns([tp.COLUMN_NAMES["municipality"]]))
        result = ImportResult(table.name)
        checked: list[PersonRow] = []
        for raw in table.rows:
            row, problems = check_row(raw, own)
            result.errors += [RowError(raw.line, p) for p in problems]
            if row is not None:
                checked.append(row)
        known = await self.people.named_people()
        planned = self._match(checked, known, result)
        self._resolve_mentors(planned, known, own, result)
        if result.errors:
            result.errors.sort(key=lambda e: e.line)
            return result
        await self._write(planned, result, actor, bot_username, now, today, ttl)
        return result

    def _match(
        self, rows: list[PersonRow], known: Sequence[User], result: ImportResult
    ) -> list[_Planned]:
        index: dict[tuple[str, str, str], User] = {}
        for user in known:
            key = person_key(
                user.full_name or "", user.organisation or "", user.municipality or ""
            )
            index.setdefault(key, user)
        seen: dict[tuple[str, str, str], int] = {}
        planned = []
        for row in rows:
            if row.key in seen:
                result.errors.append(RowError(row.line, tp.duplicate_row(seen[row.key])))
                continue
            seen[row.key] = row.line
            existing = index.get(row.key)
            if existing is not None and existing.role != row.role:
                result.errors.append(RowError(row.line, tp.role_conflict(existing.role)))
                continue
            planned.append(_Planned(row, existing))
        return planned

    def _resolve_mentors(
        self,
        planned: list[_Planned],
        known: Sequence[User],
        own: str | None,
        result: ImportResult,
    ) -> None:
        candidates: dict[_Ref, _MentorCandidate] = {}
        for user in known:
            if user.role == Role.MENTOR and (
                own is None or compact(user.municipality or "") == compact(own)
            ):
                ref = ("user", user.id)
                candidates[ref] = _MentorCandidate(
                    ref, user.full_name or "", user.municipality or ""
                )
        for p in planned:
            if p.row.role == Role.MENTOR:
                ref = ("user", p.existing.id) if p.existing else ("row", p.row.line)
                candidates[ref] = _MentorCandidate(ref, p.row.full_name, p.row.municipality)
        pool = list(candidates.values())
        for p in planned:
            written = p.row.mentor
            if written is None:
                continue
            exact = [c for c in pool if name_words(c.full_name) == name_words(written)]
            found = exact or [c for c in pool if mentor_matches(written, c.full_name)]
            if len(found) > 1:
                local = [
                    c for c in found if compact(c.municipality) == compact(p.row.municipality)
                ]
                found = local or found
            if not found:
                result.errors.append(RowError(p.row.line, tp.mentor_not_found(written)))
            elif len(found) > 1:
                result.errors.append(RowError(p.row.line, tp.mentor_ambiguous(written)))
            else:
                p.mentor = found[0].ref

    async def _write(
        self,
        planned: list[_Planned],
        result: ImportResult,
        actor: User | None,
        bot_username: str,
        now: datetime,
        today: date,
        ttl: timedelta,
    ) -> None:
        actor_id = actor.id if actor is not None else None
        new = [p for p in planned if p.existing is None]
        for p in new:
            reservist = p.row.role == Role.RESERVIST
            p.person = User(
                telegram_id=None,
                role=p.row.role,
                full_name=p.row.full_name,
                organisation=p.row.organisation,
                position=p.row.position,
                municipality=p.row.municipality,
                active=False,
                muted=False,
                reserve_status=ReserveStatus.INCLUDED if reservist else None,
                cohort_year=(p.row.cohort_year or today.year) if reservist else None,
                created_at=now,
            )
        await self.people.add_people([p.person for p in new if p.person is not None])
        await self.people.add_status_changes(
            [
                ReserveStatusChange(
                    user_id=p.person.id,
                    status=ReserveStatus.INCLUDED,
                    changed_by=actor_id,
                    changed_at=now,
                )
                for p in new
                if p.person is not None and p.row.role == Role.RESERVIST
            ]
        )
        for p in planned:
            p.person = p.person or p.existing
        links = await self._links(planned, result, actor_id, bot_username, now, ttl)
        result.outcomes = links
        await self._assign(planned, result, actor_id, now)
        created: dict[str, int] = {}
        for p in new:
            created[p.row.role] = created.get(p.row.role, 0) + 1
        result.created = {r.value: created[r] for r in Role if r in created}
        await self.repo.audit.record(
            actor_id,
            "import",
            f"people:{result.name}"[:200],
            {
                "file": result.name,
                "rows": len(planned),
                "created": len(new),
                "existing": result.existing,
                "renewed": result.renewed,
                "assigned": result.assigned,
                "person_ids": [p.person.id for p in new if p.person is not None],
            },
        )

    async def _links(
        self,
        planned: list[_Planned],
        result: ImportResult,
        actor_id: int | None,
        bot_username: str,
        now: datetime,
        ttl: timedelta,
    ) -> list[RowOutcome]:
        waiting = [p for p in planned if p.existing is not None and not _registered(p.existing)]
        current = await self.people.personal_invites(
            p.existing.id for p in waiting if p.existing is not None
        )
        fresh: list[Invite] = []
        outcomes: list[RowOutcome] = []
        expiries: list[datetime] = []
        for p in planned:
            person = p.person
            assert person is not None
            if p.existing is not None and _registered(p.existing):
                result.existing += 1
                result.registered += 1
                outcomes.append(
                    RowOutcome(p.row.line, person.id, RowStatus.REGISTERED, tp.LINK_REGISTERED)
                )
                continue
            invite = current.get(person.id)
            renewed = False
            if invite is None or invite.expires_at <= now or invite.uses >= invite.max_uses:
                renewed = p.existing is not None
                invite = Invite(
                    code=secrets.token_urlsafe(CODE_BYTES),
                    role=person.role,
                    municipality=person.municipality,
                    max_uses=1,
                    uses=0,
                    expires_at=now + ttl,
                    created_by=actor_id,
                    created_at=now,
                    revoked=False,
                    person_id=person.id,
                )
                fresh.append(invite)
            if p.existing is not None:
                result.existing += 1
                result.renewed += int(renewed)
            expiries.append(invite.expires_at)
            status = RowStatus.EXISTING if p.existing is not None else RowStatus.CREATED
            outcomes.append(
                RowOutcome(
                    p.row.line, person.id, status, invite_link(bot_username, invite.code), renewed
                )
            )
        await self.people.add_invites(fresh)
        if expiries:
            result.expires_first, result.expires_last = min(expiries), max(expiries)
        return outcomes

    async def _assign(
        self, planned: list[_Planned], result: ImportResult, actor_id: int | None, now: datetime
    ) -> None:
        by_line = {p.row.line: p for p in planned}
        pairs: list[tuple[_Planned, int]] = []
        for p in planned:
            if p.mentor is None:
                continue
            kind, value = p.mentor
            mentor = by_line[value].person if kind == "row" else None
            pairs.append((p, mentor.id if mentor is not None else value))
        current = await self.people.active_assignments(
            p.person.id for p, _ in pairs if p.existing is not None and p.person is not None
        )
        mentors = await self.repo.users.by_ids(a.mentor_id for a in current.values())
        new: list[MentorAssignment] = []
        for p, mentor_id in pairs:
            assert p.person is not None
            active = current.get(p.person.id)
            if active is not None:
                if active.mentor_id != mentor_id:
                    other = mentors.get(active.mentor_id)
                    message = tp.mentor_differs(p.row.mentor or "", _name(other))
                    result.warnings.append(RowError(p.row.line, message))
                continue
            new.append(
                MentorAssignment(
                    reservist_id=p.person.id,
                    mentor_id=mentor_id,
                    assigned_by=actor_id,
                    started_at=now,
                )
            )
        await self.people.add_assignments(new)
        for assignment in new:
            await self.repo.audit.record(
                actor_id,
                "assign",
                f"user:{assignment.reservist_id}",
                {
                    "mentor_id": assignment.mentor_id,
                    "previous_mentor_id": None,
                    "source": "import",
                },
            )
        result.assigned = len(new)


def _registered(user: User) -> bool:
    return user.registered_at is not None or user.telegram_id is not None


def _name(user: User | None) -> str:
    return (user.full_name if user is not None else None) or "—"


# --- the output table ---------------------------------------------------------------------------
def render_output(table: PeopleTable, result: ImportResult) -> bytes:
    """The imported table with the link column (:data:`bot.texts.people.LINK_HEADER`) filled in:
    the column of an earlier output is reused, else one is added after the last column.

    ``.xlsx`` in, ``.xlsx`` out (the same workbook, formatting kept, links clickable); ``.csv``
    in, ``.csv`` out in UTF-8 with BOM and ``;``.
    """
    links = {o.line: o.link for o in result.outcomes}
    if table.kind == TableKind.XLSX:
        return _xlsx_output(table, links)
    return _csv_output(table, links)


def _link_column(table: PeopleTable) -> int:
    if table.link_column is not None:
        return table.link_column
    return max((len(r) for r in table.cells), default=0)


def _csv_output(table: PeopleTable, links: dict[int, str]) -> bytes:
    column = _link_column(table)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for line, row in enumerate(table.cells, start=1):
        cells = list(row)
        value = tp.LINK_HEADER if line == table.header_line else links.get(line)
        if value is not None:
            cells += [""] * (column + 1 - len(cells))
            cells[column] = value
        writer.writerow(cells)
    return out.getvalue().encode("utf-8-sig")


def _xlsx_output(table: PeopleTable, links: dict[int, str]) -> bytes:
    from copy import copy  # noqa: PLC0415

    from openpyxl import load_workbook  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    book = load_workbook(io.BytesIO(table.data))
    sheet = book.active
    column = _link_column(table) + 1
    head = sheet.cell(row=table.header_line, column=column, value=tp.LINK_HEADER)
    if column > 1:
        left = sheet.cell(row=table.header_line, column=column - 1)
        for attr in ("font", "fill", "border", "alignment"):
            setattr(head, attr, copy(getattr(left, attr)))
    for line, link in links.items():
        cell = sheet.cell(row=line, column=column, value=link)
        if link.startswith("https://"):
            cell.hyperlink = link
            cell.style = "Hyperlink"
    sheet.column_dimensions[get_column_letter(column)].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
