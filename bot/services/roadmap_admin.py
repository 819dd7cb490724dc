"""Officers manage the roadmap in the bot: add, edit and remove activities, or import a new
roadmap document. Every change reaches the plans of this year and the next (and so the
reminders, which are computed from the plans) and goes to the audit log.

Scope: a regional officer edits the regional roadmap (and may edit any activity); a municipal
officer edits only their municipality's own roadmap, which they start by importing a document
(until then their municipality follows the region's, which they can read but not change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import PurePath

from bot import texts
from bot.services.errors import AccessDeniedError, InputError, NotFoundError
from bot.services.file_limits import (
    Deadline,
    FileLimitError,
    check_archive,
    check_size,
    decode_text,
    off_loop,
)
from bot.services.plans import PlanService, SyncReport
from bot.services.roadmap import (
    ActivityKind,
    ParseResult,
    RoadmapFormatError,
    activity_key,
    classify_kind,
    parse_roadmap_docx,
    parse_roadmap_text,
    parse_schedule,
)
from bot.services.roadmap.parser import ReadLimits, RoadmapLimitError
from bot.services.roadmap_import import ImportReport, import_roadmap
from bot.services.scope import (
    has_own_roadmap,
    may_edit_activity,
    normalise,
    roadmap_area,
    roadmap_for,
    scoped_key,
)
from bot.services.validation import clean_text
from bot.texts import files as tf
from bot.texts import scope as ts
from storage.models import Activity, Role, User
from storage.repo import Repo

ADDED_SECTION = "Добавлено в боте"
DOCUMENT_SUFFIXES = (".docx", ".txt")
MAX_ROWS = 500  # table rows of a roadmap document, all tables together
MAX_COLUMNS = 30
MAX_CELL = 5000  # characters


@dataclass(frozen=True, slots=True)
class DocumentImport:
    """A roadmap document imported by an officer: what was read and what changed."""

    result: ParseResult
    report: ImportReport


class RoadmapAdmin:
    """Roadmap changes over a :class:`Repo` (one transaction), each by an officer."""

    def __init__(self, repo: Repo, officer: User) -> None:
        if officer.role != Role.OFFICER:
            raise AccessDeniedError(officer.id)
        self.repo = repo
        self.officer = officer
        self.area = roadmap_area(officer)

    async def roadmap(self) -> tuple[list[Activity], bool]:
        """The roadmap this officer works on: the region's for a regional officer; for a
        municipal one their municipality's own, or the region's it follows. Also whether the
        officer may change it."""
        activities = await self.repo.activities.active()
        if self.area is None:
            return roadmap_for(activities, None), True
        return roadmap_for(activities, self.area), has_own_roadmap(activities, self.area)

    async def activity(self, activity_id: int, *, edit: bool = False) -> Activity:
        """An activity of a current roadmap: one the officer may read (``edit``: change).

        Raises:
            NotFoundError: no such activity, or it was removed.
            InputError: outside the officer's scope; the message says whose roadmap it is.
        """
        found = await self.repo.activities.get(activity_id)
        if found is None or found.archived:
            raise NotFoundError(activity_id)
        if self.area is None or may_edit_activity(self.officer, found):
            return found
        if normalise(found.municipality):
            raise InputError(ts.activity_other_area(found.municipality))
        if edit:
            raise InputError(ts.ACTIVITY_REGIONAL)
        return found

    async def _sync(self, today: date) -> SyncReport:
        plans = PlanService(self.repo)
        now = await plans.sync_year(today.year, today)
        nxt = await plans.sync_year(today.year + 1, today)
        return SyncReport(
            now.added + nxt.added, now.updated + nxt.updated, now.archived + nxt.archived
        )

    async def check_can_add(self) -> None:
        """Whether the officer may add an activity to their roadmap.

        Raises:
            InputError: a municipal officer whose municipality follows the regional roadmap.
        """
        if self.area is not None and not has_own_roadmap(
            await self.repo.activities.active(), self.area
        ):
            raise InputError(ts.ADD_FOLLOWS_REGION)

    async def add(self, title: str | None, schedule_text: str | None, today: date) -> Activity:
        """Add an activity for reservists with its schedule phrase ("март", "Март июнь октябрь").

        Raises:
            InputError: a bad title, or a schedule the parser cannot read.
        """
        await self.check_can_add()
        title = clean_text(title, 3, 500)
        schedule, understood = parse_schedule(clean_text(schedule_text, 2, 200))
        if not understood:
            raise InputError(texts.BAD_SCHEDULE)
        key = scoped_key(activity_key(ADDED_SECTION, title), self.area)
        if await self.repo.activities.by_key(key) is not None:
            raise InputError(texts.ACTIVITY_EXISTS)
        activity = await self.repo.activities.add(
            Activity(
                key=key,
                title=title,
                kind=str(classify_kind(title)),
                schedule=schedule.to_storage(),
                responsible="",
                result="",
                section=ADDED_SECTION,
                source_line=0,
                position=await self.repo.activities.next_position(),
                for_reservists=True,
                needs_confirmation=False,
                archived=False,
                municipality=self.area,
            )
        )
        await self._audit("roadmap.add", activity, {"title": title, "schedule": schedule.text})
        await self._sync(today)
        return activity

    async def rename(self, activity_id: int, title: str | None, today: date) -> Activity:
        """Change an activity's title (planned items follow; done ones keep theirs)."""
        activity = await self.activity(activity_id, edit=True)
        activity.title = clean_text(title, 3, 500)
        await self._audit("roadmap.edit", activity, {"title": activity.title})
        await self._sync(today)
        return activity

    async def reschedule(
        self, activity_id: int, schedule_text: str | None, today: date
    ) -> Activity:
        """Change an activity's schedule phrase.

        Raises:
            InputError: the parser cannot read the phrase.
        """
        activity = await self.activity(activity_id, edit=True)
        schedule, understood = parse_schedule(clean_text(schedule_text, 2, 200))
        if not understood:
            raise InputError(texts.BAD_SCHEDULE)
        activity.schedule = schedule.to_storage()
        await self._audit("roadmap.edit", activity, {"schedule": schedule.text})
        await self._sync(today)
        return activity

    async def toggle(self, activity_id: int, flag: str, today: date) -> Activity:
        """Flip ``for_reservists`` or ``needs_confirmation``.

        Raises:
            InputError: another flag name.
        """
        if flag not in ("for_reservists", "needs_confirmation"):
            raise InputError(texts.STALE_BUTTON)
        activity = await self.activity(activity_id, edit=True)
        setattr(activity, flag, not getattr(activity, flag))
        await self._audit("roadmap.edit", activity, {flag: getattr(activity, flag)})
        await self._sync(today)
        return activity

    async def set_kind(self, activity_id: int, kind: str, today: date) -> Activity:
        """Set an activity's kind: the officer's word, which a re-import of the same document
        keeps (see :func:`bot.services.roadmap_import.officer_choices`).

        Raises:
            InputError: not a kind (a forged button: the stale-button text).
        """
        if kind not in {k.value for k in ActivityKind}:
            raise InputError(texts.STALE_BUTTON)
        activity = await self.activity(activity_id, edit=True)
        activity.kind = kind
        await self._audit("roadmap.edit", activity, {"kind": kind})
        await self._sync(today)
        return activity

    async def remove(self, activity_id: int, today: date) -> Activity:
        """Remove an activity from the roadmap (archived: logged work on it is kept)."""
        activity = await self.activity(activity_id, edit=True)
        activity.archived = True
        await self._audit("roadmap.remove", activity, {})
        await self._sync(today)
        return activity

    async def import_document(self, name: str, data: bytes, today: date) -> DocumentImport:
        """Import a roadmap sent as a .docx or .txt document (the command-line importer's rules)
        as the officer's roadmap: the region's, or their municipality's own. The file is parsed
        in a worker thread within the reading limits (:func:`parse_document`).

        Raises:
            InputError: another file type, over a reading limit (size, unpacked size, rows,
                columns, cell length, time), or no recognisable activity table (nothing is
                changed then).
        """
        suffix = PurePath(name).suffix.casefold()
        if suffix not in DOCUMENT_SUFFIXES:
            raise InputError(texts.ROADMAP_FILE_TYPE)
        try:
            result = await off_loop(parse_document, suffix, data, Deadline())
        except FileLimitError as exc:
            raise InputError(exc.message) from exc
        except RoadmapFormatError as exc:
            raise InputError(texts.roadmap_not_read(str(exc))) from exc
        report = await import_roadmap(self.repo, result, name, data, today, self.area)
        await self.repo.audit.record(
            self.officer.id,
            "import",
            f"roadmap:{name}",
            {"activities": len(result.activities), "warnings": len(result.warnings)},
        )
        return DocumentImport(result, report)

    async def _audit(self, action: str, activity: Activity, details: dict[str, object]) -> None:
        await self.repo.audit.record(self.officer.id, action, f"activity:{activity.id}", details)


def parse_document(suffix: str, data: bytes, deadline: Deadline) -> ParseResult:
    """Parse a roadmap document's bytes within the reading limits (run in a worker thread):
    at most 10 MB, 30 MB unpacked (.docx), :data:`MAX_ROWS` table rows, :data:`MAX_COLUMNS`
    cells in a row, :data:`MAX_CELL` characters in a cell, and the time of ``deadline``.

    Raises:
        FileLimitError: over a limit (the message names it).
        RoadmapFormatError: no recognisable activity table.
    """
    check_size(data)
    limits = ReadLimits(MAX_ROWS, MAX_COLUMNS, MAX_CELL, deadline.check)
    try:
        if suffix == ".docx":
            check_archive(data)
            return parse_roadmap_docx(data, limits)
        return parse_roadmap_text(_decode(data), limits)
    except RoadmapLimitError as exc:
        message = {
            "rows": tf.roadmap_too_many_rows(exc.limit),
            "columns": tf.too_many_columns(exc.limit),
        }.get(exc.what, tf.cell_too_long(exc.limit))
        raise FileLimitError(message) from exc


def _decode(data: bytes) -> str:
    """:func:`decode_text`, or UTF-8 with the unreadable bytes replaced (the parser then warns
    about what it cannot read rather than refusing the whole file)."""
    try:
        return decode_text(data)
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace")
