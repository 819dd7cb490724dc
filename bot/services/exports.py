"""The department's export (выгрузка) of the reserve: an Excel workbook or a CSV file.

The workbook (XlsxWriter in constant-memory mode: rows stream to temporary files, memory stays
flat) has the sheets, each with a bold header row that is frozen and has an autofilter, and column
widths fitted to the longest value (capped at :data:`MAX_WIDTH` characters):

- «Резервисты»: one row per reservist of the officer's scope (see :data:`RESERVIST_HEADERS` in
  :mod:`bot.texts.reports`): name, organisation, position, municipality, reserve status in
  Russian, year of inclusion, active mentor, plan items of the year in total / done /
  confirmed by the mentor / overdue on the report's date, confirmed consultations held in the
  year, and the last activity (date and time in the officer's zone);
- «Показатели»: the indicators of :mod:`bot.services.indicators` with K, O, D and the formula;
- «По муниципалитетам» (a regional officer) or «По организациям» (a municipal one): the
  indicators of each group;
- one sheet per roadmap activity of the plans (title row, then who did it and when); sheet
  names are at most 31 characters, unique (case-insensitively, as Excel compares them) and
  free of ``[]:*?/\\``.

The CSV holds the «Резервисты» sheet: UTF-8 with a BOM and ``;`` between fields, which Excel
opens correctly in a Russian locale. Text that a spreadsheet could run as a formula is written
as text (xlsx) or prefixed with an apostrophe (csv).

Data is read in a fixed handful of queries (:class:`storage.reports_repo.ReportsRepo`) and
the file is built in a child process (:mod:`bot.services.export_process`), which opens the
database itself: the bot's event loop (and its GIL) stays free for others meanwhile, and the
bot's memory does not grow with a region's rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, NamedTuple
from zoneinfo import ZoneInfo

from bot.services.export_process import ExportRequest, run_export
from bot.services.indicators import (
    IndicatorReport,
    IndicatorService,
    PersonFacts,
    scope_municipalities,
)
from bot.texts import reports as tr
from storage.repo import Repo

MAX_WIDTH = 60
MIN_WIDTH = 6
#: pixels of a digit of Excel's default font (Calibri 11): column widths are stored in these
DIGIT_PIXELS = 7
SHEET_NAME_LIMIT = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
PERCENT_FORMAT = "0.0"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv"
#: openpyxl's (``openpyxl.cell.cell``): the control characters a cell may not hold
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


class ActivityEntry(NamedTuple):
    """One person who did an activity: ``done_on`` their local date, ``confirmed_on`` the
    mentor's confirmation as a date in the officer's zone, ``evidence`` a file's name. A tuple
    in the order of :data:`bot.texts.reports.ACTIVITY_HEADERS`: it is the sheet's row as it is
    (a region has about 76,000 of them)."""

    full_name: str
    organisation: str | None
    municipality: str | None
    done_on: date | None
    confirmed_on: date | None
    evidence: str | None


@dataclass(frozen=True, slots=True)
class ActivitySheet:
    """A roadmap activity and who did it in the plan year."""

    title: str
    kind: str
    entries: list[ActivityEntry]


@dataclass(frozen=True, slots=True)
class ExportData:
    """Everything the export files show. ``generated_at`` is aware UTC; ``zone`` is the
    officer's zone, in which ``today`` and every shown date-time are."""

    year: int
    area: str | None
    zone: ZoneInfo
    today: date
    generated_at: datetime
    people: list[PersonFacts]
    last_activity: dict[int, datetime]
    activities: list[ActivitySheet]
    report: IndicatorReport


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A built export: ``content`` bytes to send as ``filename`` (``media_type``); ``rows``
    reservists in it."""

    filename: str
    content: bytes
    rows: int
    media_type: str


def display_name(person: PersonFacts) -> str:
    """The name for a file; «(данные удалены)» after /delete_me."""
    return person.full_name or tr.ANONYMISED


def status_name(status: str | None) -> str:
    """A reserve status in Russian words."""
    return tr.RESERVE_STATUS_NAMES.get(status or "", status or tr.NO_STATUS)


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """An aware moment as a naive date-time of ``zone`` (Excel keeps no zones)."""
    return moment.astimezone(zone).replace(tzinfo=None) if moment else None


def reservist_values(data: ExportData) -> Iterator[list[Any]]:
    """The «Резервисты» rows as Python values (str, int, naive local datetime or None), in the
    order of :data:`bot.texts.reports.RESERVIST_HEADERS`."""
    for p in data.people:
        yield [
            display_name(p),
            p.organisation,
            p.position,
            p.municipality,
            status_name(p.status),
            p.cohort_year,
            p.mentor or (tr.DASH if p.has_mentor else None),
            p.stats.total,
            p.stats.done,
            p.stats.confirmed,
            p.stats.overdue,
            p.consultations,
            _local(data.last_activity.get(p.user_id), data.zone),
        ]


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unused Excel sheet name made of ``name``; adds it (casefolded) to ``taken``.

    Drops ``[]:*?/\\`` and control characters, trims apostrophes at the ends, cuts to 31
    characters with «…», and appends « (2)», « (3)»… when the name is taken.
    """
    clean = " ".join(_BAD_SHEET_CHARS.sub(" ", ILLEGAL_CHARACTERS_RE.sub("", name)).split())
    clean = clean.strip("'").strip() or "Лист"
    number = 1
    while True:
        suffix = f" ({number})" if number > 1 else ""
        room = SHEET_NAME_LIMIT - len(suffix)
        base = clean if len(clean) <= room else clean[: room - 1].rstrip(" '") + "…"
        candidate = base + suffix
        if candidate.casefold() not in taken:
            taken.add(candidate.casefold())
            return candidate
        number += 1


def _width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, float):
        return len(f"{value:.1f}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def _fitted(width: int) -> float:
    return float(min(max(width + 2, MIN_WIDTH), MAX_WIDTH))


class _Book:
    """The workbook being written: XlsxWriter in constant-memory mode (each row goes to a
    temporary file as it is written; twice as fast as openpyxl's write-only mode, see the
    README's Performance part), its cell formats, and a cache of cleaned strings (names,
    organisations and municipalities repeat on every activity sheet)."""

    def __init__(self, target: IO[bytes]) -> None:
        import xlsxwriter  # type: ignore[import-untyped]  # noqa: PLC0415 - the build only

        self.wb = xlsxwriter.Workbook(
            target,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.bold = self.wb.add_format({"bold": True})
        self.formats = {
            datetime: self.wb.add_format({"num_format": DATETIME_FORMAT}),
            date: self.wb.add_format({"num_format": DATE_FORMAT}),
            float: self.wb.add_format({"num_format": PERCENT_FORMAT}),
        }
        self.strings: dict[str, tuple[str, int]] = {}

    def text(self, value: str) -> tuple[str, int]:
        """``value`` without the control characters Excel refuses, and its width."""
        found = self.strings.get(value)
        if found is None:
            found = self.strings[value] = (ILLEGAL_CHARACTERS_RE.sub("", value), _width(value))
        return found

    def sheet(
        self,
        title: str,
        header: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        caption: str | None = None,
        footer: Sequence[Sequence[Any]] = (),
    ) -> None:
        """A sheet: an optional bold ``caption`` row, a frozen bold header, the rows under an
        autofilter with fitted column widths, then ``footer`` rows (notes). Every string is
        written as text: never a formula, a number or an error code."""
        ws = self.wb.add_worksheet(title)
        top = 2 if caption else 1
        row_number = 0
        if caption:
            ws.write_string(0, 0, self.text(caption)[0], self.bold)
            row_number = 1
        for index, name in enumerate(header):
            ws.write_string(row_number, index, name, self.bold)
        widths = [len(h) for h in header]
        count = 0
        for count, row in enumerate(rows, start=1):
            self._row(ws, row_number + count, row, widths)
        for number, row in enumerate(footer, start=row_number + count + 1):
            self._row(ws, number, row, None)  # below the table: outside the filter, not fitted
        for index, width in enumerate(widths):
            # pixels, so that the file stores exactly this width in characters
            ws.set_column_pixels(index, index, round(_fitted(width) * DIGIT_PIXELS))
        ws.freeze_panes(top, 0)
        ws.autofilter(top - 1, 0, top - 1 + max(count, 1), len(header) - 1)

    def _row(self, ws: Any, number: int, row: Sequence[Any], widths: list[int] | None) -> None:
        text, formats = self.text, self.formats
        for index, value in enumerate(row):
            kind = type(value)
            if kind is str:
                clean, width = text(value)
                ws.write_string(number, index, clean)
            elif value is None:
                continue
            elif kind is int:
                ws.write_number(number, index, value)
                width = len(str(value))
            elif kind is datetime or kind is date:
                ws.write_datetime(number, index, value, formats[kind])
                width = 16 if kind is datetime else 10
            elif kind is float:
                ws.write_number(number, index, value, formats[float])
                width = _width(value)
            else:  # nothing else is exported; written as its text
                clean, width = text(str(value))
                ws.write_string(number, index, clean)
            if widths is not None and width > widths[index]:
                widths[index] = width

    def close(self) -> None:
        """Write the file (the zip of the sheets) to the target."""
        self.wb.close()


def _indicator_rows(data: ExportData) -> list[list[Any]]:
    return [
        [n, i.title, i.k, i.o, i.d if i.d is not None else tr.percent(None), i.target,
         i.formula, i.source]
        for n, i in enumerate(data.report.indicators, start=1)
    ]  # fmt: skip


def _indicator_note(data: ExportData) -> list[list[Any]]:
    made = f"{data.generated_at.astimezone(data.zone):%d.%m.%Y %H:%M}"
    return [[], [None, tr.indicators_note(data.year, data.area, made)]]


def _group_sheet(data: ExportData) -> tuple[str, list[str], list[list[Any]]]:
    by_org = data.report.by == "organisation"
    title = tr.SHEET_BY_ORGANISATION if by_org else tr.SHEET_BY_MUNICIPALITY
    header = [tr.GROUP_HEADER_ORGANISATION if by_org else tr.GROUP_HEADER_MUNICIPALITY]
    header.append(tr.GROUP_PEOPLE)
    for code in (i.code for i in data.report.indicators):
        short = tr.INDICATOR_SHORT[code]
        header += [f"{short}: K", f"{short}: O", f"{short}: D, %"]
    rows: list[list[Any]] = []
    for group in data.report.groups:
        row: list[Any] = [group.label, group.people]
        for i in group.indicators:
            row += [i.k, i.o, i.d]
        rows.append(row)
    return title, header, rows


def build_workbook(data: ExportData) -> bytes:
    """The .xlsx file of ``data`` (see the module docstring for its sheets).

    CPU-bound (seconds at a region's scale): the bot builds it in the export's child process
    (:mod:`bot.services.export_child`), never on its event loop.
    """
    buffer = io.BytesIO()
    book = _Book(buffer)
    taken = {tr.SHEET_RESERVISTS.casefold(), tr.SHEET_INDICATORS.casefold()}
    book.sheet(tr.SHEET_RESERVISTS, tr.RESERVIST_HEADERS, reservist_values(data))
    book.sheet(
        tr.SHEET_INDICATORS,
        tr.INDICATOR_HEADERS,
        _indicator_rows(data),
        footer=_indicator_note(data),
    )
    title, header, rows = _group_sheet(data)
    taken.add(title.casefold())
    book.sheet(title, header, rows)
    for number, activity in enumerate(data.activities, start=1):
        name = sheet_title(f"{number}. {activity.title}", taken)
        book.sheet(name, tr.ACTIVITY_HEADERS, activity.entries, caption=activity.title)
    book.close()
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%d.%m.%Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    text = str(value)
    return "'" + text if text.startswith(_CSV_FORMULA_START) else text


def build_csv(data: ExportData) -> bytes:
    """The «Резервисты» sheet as CSV: UTF-8 with BOM, ``;``-separated, CRLF line ends, dates
    as ДД.ММ.ГГГГ (ЧЧ:ММ in the officer's zone)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(tr.RESERVIST_HEADERS)
    writer.writerows([_csv_value(v) for v in row] for row in reservist_values(data))
    return buffer.getvalue().encode("utf-8-sig")


class ExportService:
    """The export over a :class:`Repo` (one transaction)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    async def collect(
        self, area: str | None, year: int, today: date, zone: ZoneInfo, now: datetime
    ) -> ExportData:
        """Read what the export shows for the scope (``area``: a municipality, None = region)
        and plan ``year``; ``today`` and ``zone`` are the officer's, ``now`` aware UTC."""
        indicators = IndicatorService(self.repo)
        people = await indicators.people(area, year, today)
        report = await indicators.report(area, year, today, people=people)
        scope = await scope_municipalities(self.repo.reports, area)
        last = await self.repo.reports.last_activity(scope)
        # who did it, once per person rather than once per done item (a region has ~76,000)
        who = {p.user_id: (display_name(p), p.organisation, p.municipality) for p in people}
        entries: dict[int, list[ActivityEntry]] = {}
        async for batch in self.repo.reports.done_items(year, scope):
            for activity_id, user_id, done_on, confirmed_at, kind, name in batch:
                person = who.get(user_id)
                if person is None:
                    continue
                entries.setdefault(activity_id, []).append(
                    ActivityEntry(
                        *person,
                        done_on,
                        confirmed_at.astimezone(zone).date() if confirmed_at else None,
                        tr.evidence_label(kind, name),
                    )
                )
        activities = await self.repo.reports.activities(
            list(entries), None if scope is None else [*scope, area or ""]
        )
        sheets = [ActivitySheet(a.title, a.kind, entries.get(a.id, [])) for a in activities]
        return ExportData(
            year=year,
            area=area or None,
            zone=zone,
            today=today,
            generated_at=now,
            people=people,
            last_activity=last,
            activities=sheets,
            report=report,
        )

    async def export(
        self,
        actor_id: int | None,
        area: str | None,
        year: int,
        *,
        today: date,
        zone: ZoneInfo,
        now: datetime,
        csv_format: bool = False,
    ) -> ExportFile:
        """Build the .xlsx (or, with ``csv_format``, the .csv) of the scope and year, and
        record it in the audit log as ``export`` by ``actor_id`` (None: the command line) in
        the caller's transaction (a failure rolls the record back with it).

        The rows are read and the file is built in a child process
        (:func:`bot.services.export_process.run_export`) that opens this repository's database
        itself (:attr:`storage.repo.Repo.database_url`): it sees what is committed, not what
        the caller's transaction has written and not yet committed. The audit row is written
        after the file is built, so no write lock is held through the build; a failed build
        records nothing.

        Raises:
            ExportError: the build failed or ran out of time, or the database is an
                in-memory SQLite database, which a child process cannot open (there is no
                fallback: the bot's database is a file or a server).
        """
        request = ExportRequest(
            self.repo.database_url, area, year, today, str(zone), now, csv_format
        )
        content, rows = await run_export(request)
        await self.repo.audit.record(
            actor_id,
            "export",
            f"municipality:{area}" if area else "region",
            {"format": "csv" if csv_format else "xlsx", "year": year, "rows": rows},
        )
        suffix, media = ("csv", CSV_TYPE) if csv_format else ("xlsx", XLSX_TYPE)
        return ExportFile(f"reserve-{year}.{suffix}", content, rows, media)
