"""The department's roadmap activities: :class:`ActivityRepo`, and the counts of one roadmap
import (:class:`ActivityUpsert`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Activity, RoadmapImport


@dataclass(frozen=True, slots=True)
class ActivityUpsert:
    """Counts of one roadmap import."""

    created: int
    updated: int
    unchanged: int
    archived: int


class ActivityRepo:
    """The department's roadmap activities."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def count(self, *, include_archived: bool = False) -> int:
        """How many activities there are."""
        stmt = select(func.count()).select_from(Activity)
        if not include_archived:
            stmt = stmt.where(Activity.archived.is_(False))
        return int(await self.s.scalar(stmt) or 0)

    async def get(self, activity_id: int) -> Activity | None:
        """An activity by id, or None."""
        return await self.s.get(Activity, activity_id)

    async def by_key(self, key: str) -> Activity | None:
        """The activity with this importer key, or None."""
        return await self.s.scalar(select(Activity).where(Activity.key == key))

    async def by_keys(self, keys: Collection[str]) -> Sequence[Activity]:
        """The activities with any of these importer keys, in no particular order (a key that
        has no activity is skipped)."""
        rows = await self.s.scalars(select(Activity).where(Activity.key.in_(keys)))
        return rows.all()

    async def add(self, activity: Activity) -> Activity:
        """Insert an activity."""
        self.s.add(activity)
        await self.s.flush()
        return activity

    async def next_position(self) -> int:
        """A position after every existing activity."""
        return int(await self.s.scalar(select(func.max(Activity.position))) or 0) + 1

    async def active(self) -> Sequence[Activity]:
        """Activities of the current roadmap in the roadmap's order."""
        rows = await self.s.scalars(
            select(Activity).where(Activity.archived.is_(False)).order_by(Activity.position)
        )
        return rows.all()

    async def upsert(
        self, rows: Sequence[dict[str, Any]], municipality: str | None = None
    ) -> ActivityUpsert:
        """Bring the activities of one roadmap in line with an imported file, matched by ``key``.

        ``rows`` are dicts of Activity columns (key, title, kind, schedule, responsible, result,
        section, source_line, position, for_reservists). Rows with a known key are updated in
        place; new keys are inserted; activities of the same roadmap (the regional one, or
        ``municipality``'s own, names compared case- and space-insensitively) whose key is
        absent are archived, not deleted; other roadmaps are not touched.
        """
        area = " ".join((municipality or "").casefold().split())
        existing = {
            a.key: a
            for a in await self.s.scalars(select(Activity))
            if " ".join((a.municipality or "").casefold().split()) == area
        }
        created = updated = unchanged = 0
        seen: set[str] = set()
        for row in rows:
            seen.add(row["key"])
            current = existing.get(row["key"])
            if current is None:
                self.s.add(Activity(**row, archived=False))
                created += 1
                continue
            changes = {k: v for k, v in row.items() if getattr(current, k) != v}
            if current.archived:
                changes["archived"] = False
            for k, v in changes.items():
                setattr(current, k, v)
            # a row that only moved in the file (position, line) is not a change of content
            if set(changes) - {"position", "source_line"}:
                updated += 1
            else:
                unchanged += 1
        archived = 0
        for key, activity in existing.items():
            if key not in seen and not activity.archived:
                activity.archived = True
                archived += 1
        await self.s.flush()
        return ActivityUpsert(created, updated, unchanged, archived)

    async def log_import(self, record: RoadmapImport) -> None:
        """Record an import in the history."""
        self.s.add(record)
        await self.s.flush()
