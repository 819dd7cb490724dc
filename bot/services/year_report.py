"""The year-end report on a reservist's individual plan: «Анализ результативности исполнения
индивидуального плана» — the document the Petrovsky roadmap expects from the December interview
(«Собеседование по итогам выполнения индивидуального плана», ежегодно декабрь; result «Справка
«Анализ результативности исполнения индивидуального плана»»), as a .docx (python-docx).

It shows the reservist (name, organisation, position, municipality, reserve status, current
mentor), a table of the plan's items (dates, status on the report's date, evidence file name,
the mentor's confirmation and comments), the consultations with the mentor held in the year
(date, format, topic, minutes, status: only confirmed ones count in the indicators), and the
interview's conclusion — or an empty field to fill in by hand. Officers type the conclusion in
the bot; it is kept on ``individual_plans.interview_conclusion`` with who and when.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import texts
from bot.services.errors import InputError, NotFoundError
from bot.services.plans import display_status
from bot.services.scope import normalise
from bot.texts import reports as tr
from storage.models import Role, User
from storage.repo import Repo

if TYPE_CHECKING:  # python-docx is imported by the build only (0.05 s at start-up)
    from docx.document import Document as DocxDocument
    from docx.table import Table

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReportItem:
    """A plan item as the report shows it: ``status`` planned | done | overdue on the report's
    date; ``when`` the window in words; ``confirmation`` and ``comments`` ready-made text."""

    title: str
    when: str
    status: str
    done_on: date | None
    evidence: str | None
    confirmation: str | None
    comments: list[str]


@dataclass(frozen=True, slots=True)
class ReportConsultation:
    """A consultation held in the year; ``format`` in_person | online | phone, ``status``
    pending | confirmed | declined."""

    held_on: date
    format: str
    topic: str
    minutes: int
    status: str


@dataclass(frozen=True, slots=True)
class YearReportData:
    """What the year-end report shows; dates are in the officer's zone (``made_on`` the day
    it is made); ``has_plan`` False when there is no plan of ``year``."""

    year: int
    reservist_id: int
    full_name: str
    organisation: str | None
    position: str | None
    municipality: str | None
    status: str | None
    mentor: str | None
    has_plan: bool
    items: list[ReportItem]
    consultations: list[ReportConsultation]
    conclusion: str | None
    concluded_by: str | None
    concluded_on: date | None
    made_on: date


def clean_conclusion(value: str | None) -> str:
    """The interview's conclusion as typed: spaces collapsed inside lines, line breaks kept
    (at most one empty line in a row), 10-3000 characters.

    Raises:
        InputError: not text, empty, a command, or too short / too long.
    """
    if value is None:
        raise InputError(texts.BAD_TEXT_NOT_TEXT)
    if "\x00" in value:
        raise InputError(texts.BAD_TEXT_NUL)
    lines = [" ".join(line.split()) for line in value.splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not text:
        raise InputError(texts.BAD_TEXT_EMPTY)
    if text.startswith("/"):
        raise InputError(texts.BAD_TEXT_COMMAND)
    if not tr.CONCLUSION_MIN <= len(text) <= tr.CONCLUSION_MAX:
        raise InputError(texts.bad_text_length(tr.CONCLUSION_MIN, tr.CONCLUSION_MAX))
    return text


def report_filename(full_name: str | None, year: int) -> str:
    """An ASCII file name such as ``plan-report-2026-ivanova.docx`` (the surname
    transliterated; Telegram clients show non-ASCII multipart names unreliably)."""
    surname = (full_name or "").split(" ", 1)[0].casefold()
    latin = "".join(_TRANSLIT.get(ch, ch) for ch in surname)
    latin = re.sub(r"[^a-z0-9]+", "", latin)
    return f"plan-report-{year}" + (f"-{latin}" if latin else "") + ".docx"


def _in_area(area: str | None, municipality: str | None) -> bool:
    return not area or normalise(municipality) == normalise(area)


class YearReportService:
    """The year-end report over a :class:`Repo` (one transaction). ``area`` is the officer's
    municipality (None: the whole region; see :mod:`bot.services.scope`)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    async def reservist(self, area: str | None, user_id: int) -> User:
        """The reservist ``user_id`` if the scope includes them.

        Raises:
            NotFoundError: no such user, not a reservist, anonymised, or out of scope (a
                forged or stale button).
        """
        user = await self.repo.users.get(user_id)
        if (
            user is None
            or user.role != Role.RESERVIST
            or user.anonymised_at is not None
            or not _in_area(area, user.municipality)
        ):
            raise NotFoundError(user_id)
        return user

    async def collect(
        self, area: str | None, reservist_id: int, year: int, today: date, zone: ZoneInfo
    ) -> YearReportData:
        """Read the report of the reservist's plan of ``year``. ``today`` (officer's local date)
        decides what is overdue; moments are shown as dates in ``zone``.

        Raises:
            NotFoundError: as :meth:`reservist`.
        """
        person = await self.reservist(area, reservist_id)
        plan = await self.repo.plans.plan(person.id, year)
        items = await self.repo.plans.items(plan.id) if plan else []
        comments = await self.repo.reports.comments_of_items([i.id for i in items])
        names = await self.repo.users.by_ids(
            [i.confirmed_by for i in items if i.confirmed_by is not None]
            + ([plan.concluded_by] if plan and plan.concluded_by else [])
        )
        assignment = await self.repo.mentoring.active_assignment(person.id)
        mentor = await self.repo.users.get(assignment.mentor_id) if assignment else None

        def day(moment: datetime) -> str:
            return texts.fmt_date(moment.astimezone(zone).date())

        report_items = []
        for item in items:
            evidence = tr.evidence_label(item.evidence_kind, item.evidence_name)
            confirmer = names.get(item.confirmed_by) if item.confirmed_by else None
            notes = [tr.reservist_comment(item.comment)] if item.comment else []
            notes += [
                tr.comment_text(c.author, day(c.created_at), c.text)
                for c in comments.get(item.id, [])
            ]
            report_items.append(
                ReportItem(
                    title=item.title,
                    when=texts.when_text(item.starts_on, item.due_on),
                    status=display_status(item, today),
                    done_on=item.done_on,
                    evidence=evidence,
                    confirmation=tr.confirmed_text(
                        day(item.confirmed_at), confirmer.full_name if confirmer else None
                    )
                    if item.confirmed_at
                    else None,
                    comments=notes,
                )
            )
        consultations = [
            ReportConsultation(c.held_on, c.format, c.topic, c.minutes, c.status)
            for c in await self.repo.mentoring.consultations_of(person.id, since=date(year, 1, 1))
            if c.held_on <= date(year, 12, 31)
        ]
        consultations.sort(key=lambda c: c.held_on)
        concluder = names.get(plan.concluded_by) if plan and plan.concluded_by else None
        return YearReportData(
            year=year,
            reservist_id=person.id,
            full_name=person.full_name or tr.ANONYMISED,
            organisation=person.organisation,
            position=person.position,
            municipality=person.municipality,
            status=person.reserve_status,
            mentor=mentor.full_name if mentor else None,
            has_plan=plan is not None,
            items=report_items,
            consultations=consultations,
            conclusion=plan.interview_conclusion if plan else None,
            concluded_by=concluder.full_name if concluder else None,
            concluded_on=plan.concluded_at.astimezone(zone).date()
            if plan and plan.concluded_at
            else None,
            made_on=today,
        )

    async def current_conclusion(
        self, area: str | None, reservist_id: int, year: int
    ) -> tuple[User, str | None]:
        """The reservist and the conclusion stored on their plan of ``year`` (None if none).

        Raises:
            NotFoundError: as :meth:`reservist`, or there is no plan of ``year``.
        """
        person = await self.reservist(area, reservist_id)
        plan = await self.repo.plans.plan(person.id, year)
        if plan is None:
            raise NotFoundError(reservist_id)
        return person, plan.interview_conclusion

    async def save_conclusion(
        self,
        officer_id: int,
        area: str | None,
        reservist_id: int,
        year: int,
        text: str | None,
        now: datetime,
    ) -> str:
        """Store the interview's conclusion on the reservist's plan of ``year`` with the officer
        and ``now`` (aware UTC), and record it in the audit log (``conclusion``). Returns the
        cleaned text.

        Raises:
            NotFoundError: as :meth:`current_conclusion`.
            InputError: as :func:`clean_conclusion`.
        """
        person = await self.reservist(area, reservist_id)
        plan = await self.repo.plans.plan(person.id, year)
        if plan is None:
            raise NotFoundError(reservist_id)
        clean = clean_conclusion(text)
        await self.repo.reports.set_conclusion(plan.id, clean, officer_id, now)
        await self.repo.audit.record(
            officer_id, "conclusion", f"user:{person.id}", {"year": year, "plan_id": plan.id}
        )
        return clean

    async def record_issue(self, officer_id: int | None, reservist_id: int, year: int) -> None:
        """Record in the audit log that the report (personal data) was made for an officer."""
        await self.repo.audit.record(
            officer_id, "export", f"user:{reservist_id}", {"format": "docx", "year": year}
        )


def _table(doc: DocxDocument, header: tuple[str, ...], widths: tuple[float, ...]) -> Table:
    from docx.shared import Cm  # noqa: PLC0415

    table: Table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text, width in zip(table.rows[0].cells, header, widths, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        cell.width = Cm(width)
    return table


def _row(table: Table, values: list[str], widths: tuple[float, ...]) -> None:
    from docx.shared import Cm  # noqa: PLC0415

    cells = table.add_row().cells  # type: ignore[no-untyped-call]
    for cell, value, width in zip(cells, values, widths, strict=True):
        cell.text = value
        cell.width = Cm(width)


def _heading(doc: DocxDocument, text: str) -> None:
    from docx.shared import Pt  # noqa: PLC0415

    paragraph = doc.add_paragraph()
    paragraph.paragraph_format.space_before = Pt(12)
    paragraph.add_run(text).bold = True


def build_year_report(data: YearReportData) -> bytes:
    """The .docx bytes of the report (A4 landscape, Times New Roman 11 pt)."""
    from docx import Document  # noqa: PLC0415 - heavy; only the build needs it
    from docx.enum.section import WD_ORIENT  # noqa: PLC0415
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415
    from docx.shared import Cm, Pt  # noqa: PLC0415

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(11)

    for text, bold in (
        (tr.REPORT_TITLE, True),
        (tr.REPORT_SUBTITLE, False),
        (tr.report_year(data.year), True),
    ):
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = paragraph.add_run(text)
        run.bold = bold
        run.font.size = Pt(14 if bold else 12)

    status = tr.RESERVE_STATUS_NAMES.get(data.status or "", data.status or tr.NO_STATUS)
    person = doc.add_table(rows=0, cols=2)
    person.style = "Table Grid"
    values = (
        data.full_name,
        data.organisation,
        data.position,
        data.municipality,
        status,
        data.mentor or tr.DASH,
    )
    for label, value in zip(tr.REPORT_PERSON_ROWS, values, strict=True):
        _row(person, [label, value or tr.DASH], (6.0, 20.0))

    _heading(doc, tr.REPORT_ITEMS)
    if not data.has_plan:
        doc.add_paragraph(tr.REPORT_NO_PLAN)
    elif not data.items:
        doc.add_paragraph(tr.REPORT_NO_ITEMS)
    else:
        widths = (0.9, 6.5, 3.2, 2.5, 2.4, 3.3, 3.2, 4.7)
        table = _table(doc, tr.REPORT_ITEM_HEADERS, widths)
        for number, item in enumerate(data.items, start=1):
            _row(
                table,
                [
                    str(number),
                    item.title,
                    item.when,
                    texts.STATUS_NAME[item.status],
                    texts.fmt_date(item.done_on) if item.done_on else tr.DASH,
                    item.evidence or tr.DASH,
                    item.confirmation or tr.DASH,
                    "\n".join(item.comments) or tr.DASH,
                ],
                widths,
            )
        statuses = [i.status for i in data.items]
        doc.add_paragraph(
            tr.report_summary(
                statuses.count("done"),
                len(statuses),
                sum(1 for i in data.items if i.confirmation),
                statuses.count("overdue"),
            )
        )

    _heading(doc, tr.REPORT_CONSULTATIONS)
    if not data.consultations:
        doc.add_paragraph(tr.REPORT_NO_CONSULTATIONS)
    else:
        consult_widths = (2.6, 2.8, 14.0, 1.6, 4.5)
        table = _table(doc, tr.REPORT_CONSULT_HEADERS, consult_widths)
        for c in data.consultations:
            _row(
                table,
                [
                    texts.fmt_date(c.held_on),
                    texts.FORMAT_NAMES.get(c.format, c.format),
                    c.topic,
                    str(c.minutes),
                    tr.CONSULT_STATUS_NAMES.get(c.status, c.status),
                ],
                consult_widths,
            )

    _heading(doc, tr.REPORT_CONCLUSION)
    if data.conclusion:
        for line in data.conclusion.split("\n"):
            doc.add_paragraph(line)
        if data.concluded_on is not None:
            who = data.concluded_by or tr.DASH
            doc.add_paragraph(tr.report_concluded(who, texts.fmt_date(data.concluded_on)))
    else:
        doc.add_paragraph(tr.REPORT_CONCLUSION_EMPTY)
        for _ in range(5):
            doc.add_paragraph(tr.REPORT_BLANK_LINE)

    doc.add_paragraph()
    doc.add_paragraph(tr.report_made(texts.fmt_date(data.made_on)))
    doc.add_paragraph(tr.REPORT_SIGNATURE)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
