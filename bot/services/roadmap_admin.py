"""Officers manage the roadmap in the bot: add, edit and remove activities, or import a new
roadmap document. Every change reaches the plans of this year and the next (and so the
reminders, which are computed from the plans) and goes to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import PurePath

from bot import texts
from bot.services.errors import AccessDeniedError, InputError, NotFoundError
from bot.services.plans import PlanService, SyncReport
from bot.services.roadmap import (
    ParseResult,
    RoadmapFormatError,
    activity_key,
    classify_kind,
    parse_roadmap_docx,
    parse_roadmap_text,
    parse_schedule,
)
from bot.services.roadmap_import import ImportReport, import_roadmap
from bot.services.validation import clean_text
from storage.models import Activity, Role, User
from storage.repo import Repo

ADDED_SECTION = "Добавлено в боте"
DOCUMENT_SUFFIXES = (".docx", ".txt")
MAX_DOCUMENT = 10 * 1024 * 1024


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

    async def activity(self, activity_id: int) -> Activity:
        """An activity of the current roadmap.

        Raises:
            NotFoundError: no such activity, or it was removed.
        """
        found = await self.repo.activities.get(activity_id)
        if found is None or found.archived:
            raise NotFoundError(activity_id)
        return found

    async def _sync(self, today: date) -> SyncReport:
        plans = PlanService(self.repo)
        now = await plans.sync_year(today.year, today)
        nxt = await plans.sync_year(today.year + 1, today)
        return SyncReport(
            now.added + nxt.added, now.updated + nxt.updated, now.archived + nxt.archived
        )

    async def add(self, title: str | None, schedule_text: str | None, today: date) -> Activity:
        """Add an activity for reservists with its schedule phrase ("март", "Март июнь октябрь").

        Raises:
            InputError: a bad title, or a schedule the parser cannot read.
        """
        title = clean_text(title, 3, 500)
        schedule, understood = parse_schedule(clean_text(schedule_text, 2, 200))
        if not understood:
            raise InputError(texts.BAD_SCHEDULE)
        key = activity_key(ADDED_SECTION, title)
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
            )
        )
        await self._audit("roadmap.add", activity, {"title": title, "schedule": schedule.text})
        await self._sync(today)
        return activity

    async def rename(self, activity_id: int, title: str | None, today: date) -> Activity:
        """Change an activity's title (planned items follow; done ones keep theirs)."""
        activity = await self.activity(activity_id)
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
        activity = await self.activity(activity_id)
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
        activity = await self.activity(activity_id)
        setattr(activity, flag, not getattr(activity, flag))
        await self._audit("roadmap.edit", activity, {flag: getattr(activity, flag)})
        await self._sync(today)
        return activity

    async def remove(self, activity_id: int, today: date) -> Activity:
        """Remove an activity from the roadmap (archived: logged work on it is kept)."""
        activity = await self.activity(activity_id)
        activity.archived = True
        await self._audit("roadmap.remove", activity, {})
        await self._sync(today)
        return activity

    async def import_document(self, name: str, data: bytes, today: date) -> DocumentImport:
        """Import a roadmap sent as a .docx or .txt document (the command-line importer's rules).

        Raises:
            InputError: another file type, too large, or no recognisable activity table
                (nothing is changed then).
        """
        suffix = PurePath(name).suffix.casefold()
        if suffix not in DOCUMENT_SUFFIXES:
            raise InputError(texts.ROADMAP_FILE_TYPE)
        if len(data) > MAX_DOCUMENT:
            raise InputError(texts.ROADMAP_FILE_BIG)
        try:
            result = (
                parse_roadmap_docx(data)
                if suffix == ".docx"
                else parse_roadmap_text(_decode(data))
            )
        except RoadmapFormatError as exc:
            raise InputError(texts.roadmap_not_read(str(exc))) from exc
        report = await import_roadmap(self.repo, result, name, data, today)
        await self.repo.audit.record(
            self.officer.id,
            "import",
            f"roadmap:{name}",
            {"activities": len(result.activities), "warnings": len(result.warnings)},
        )
        return DocumentImport(result, report)

    async def _audit(self, action: str, activity: Activity, details: dict[str, object]) -> None:
        await self.repo.audit.record(self.officer.id, action, f"activity:{activity.id}", details)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")
