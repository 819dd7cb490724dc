"""Importing a parsed roadmap into the database and syncing the plans with it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import structlog

from bot.config import Settings
from bot.services.clock import utcnow
from bot.services.plans import PlanService, SyncReport
from bot.services.roadmap import (
    DEFAULT_ROADMAP_PATH,
    ActivityKind,
    ParseResult,
    parse_roadmap_file,
)
from bot.services.scope import scoped_key
from bot.services.time_policy import TimePolicy
from storage.db import Database
from storage.models import RoadmapImport
from storage.repo import ActivityUpsert, Repo

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import changed: activities and the plans of the current year."""

    activities: ActivityUpsert
    plans: SyncReport
    kept: int = 0  # activities whose «in plans» or kind the officer set in the bot, kept
    ids: dict[str, int] = field(default_factory=dict)  # the parser's key -> the activity's id


def activity_rows(result: ParseResult) -> list[dict[str, Any]]:
    """Activity columns for :meth:`storage.repo.ActivityRepo.upsert`, in the roadmap's order.

    Two rows with the same key (the same title repeated in one section) keep the first.
    """
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, activity in enumerate(result.activities):
        if activity.key in seen:
            continue
        seen.add(activity.key)
        rows.append(
            {
                "key": activity.key,
                "title": activity.title,
                "kind": str(activity.kind),
                "schedule": activity.schedule.to_storage(),
                "responsible": activity.responsible,
                "result": activity.result,
                "section": activity.section,
                "source_line": activity.source_line,
                "position": position,
                "for_reservists": activity.for_reservists,
            }
        )
    return rows


async def import_roadmap(
    repo: Repo,
    result: ParseResult,
    source_name: str,
    data: bytes,
    today: date,
    municipality: str | None = None,
) -> ImportReport:
    """Upsert the activities of ``result`` and sync this year's plans (and next year's, if any).

    ``municipality`` None imports the regional roadmap; a name imports that municipality's own
    roadmap (its reservists' plans follow it from then on). Re-importing the same file changes
    nothing; a changed file updates activities in place and archives the ones of the same
    roadmap it no longer has; nothing reservists logged is deleted.
    """
    rows = activity_rows(result)
    parsed_keys = {scoped_key(row["key"], municipality): row["key"] for row in rows}
    for row in rows:
        row["key"] = scoped_key(row["key"], municipality)
        row["municipality"] = municipality or None
    choices = await officer_choices(repo, list(parsed_keys))
    kept = 0
    for row in rows:
        chosen = {
            name: value
            for name, value in choices.get(row["key"], {}).items()
            if row[name] != value
        }
        row.update(chosen)
        kept += bool(chosen)
    upsert = await repo.activities.upsert(rows, municipality)
    await repo.activities.log_import(
        RoadmapImport(
            source_name=source_name,
            checksum=hashlib.sha256(data).hexdigest(),
            activities=len(result.activities),
            created=upsert.created,
            updated=upsert.updated,
            archived=upsert.archived,
            imported_at=utcnow(),
        )
    )
    plans = PlanService(repo)
    report = await plans.sync_year(today.year, today)
    nxt = await plans.sync_year(today.year + 1, today)
    total = SyncReport(
        report.added + nxt.added, report.updated + nxt.updated, report.archived + nxt.archived
    )
    stored = await repo.activities.by_keys(list(parsed_keys))
    ids = {parsed_keys[activity.key]: activity.id for activity in stored}
    return ImportReport(upsert, total, kept, ids)


async def officer_choices(repo: Repo, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The officer's last word on «in reservists' plans» and on the kind of the activities with
    these keys: ``roadmap.edit`` entries of the audit log that set ``for_reservists`` (the
    toggle in ``/roadmap``) or ``kind``. A re-import of the document keeps them over what the
    importer decided."""
    if not keys:
        return {}
    by_target = {
        f"activity:{activity.id}": activity.key for activity in await repo.activities.by_keys(keys)
    }
    if not by_target:
        return {}
    entries = await repo.audit.entries_on("roadmap.edit", list(by_target))
    kinds = {kind.value for kind in ActivityKind}
    choices: dict[str, dict[str, Any]] = {}
    for entry in entries:
        details = entry.details or {}
        if entry.target is None:
            continue
        chosen = choices.setdefault(by_target[entry.target], {})
        if isinstance(details.get("for_reservists"), bool):
            chosen["for_reservists"] = details["for_reservists"]
        if details.get("kind") in kinds:
            chosen["kind"] = details["kind"]
    return choices


async def ensure_default_roadmap(db: Database, settings: Settings) -> bool:
    """Load the shipped default roadmap (Petrovsky district) when the database has none.

    Returns True when it was loaded.
    """
    async with db.session() as repo:
        if await repo.activities.count(include_archived=True) > 0:
            return False
        result = parse_roadmap_file(DEFAULT_ROADMAP_PATH)
        today = TimePolicy.from_settings(settings).today(utcnow())
        await import_roadmap(
            repo, result, DEFAULT_ROADMAP_PATH.name, DEFAULT_ROADMAP_PATH.read_bytes(), today
        )
    log.info("default roadmap loaded", activities=len(result.activities))
    return True
