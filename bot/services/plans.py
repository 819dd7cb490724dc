"""Individual plans (индивидуальный план подготовки): built from the roadmap, kept, logged.

A plan belongs to one reservist and one calendar year. Its items are the reservist's copies of
the roadmap activities that apply to reservists (``Activity.for_reservists``), one item per
window of the activity's schedule in that year (trainings "Март июнь октябрь" give three
items), plus personal items the reservist adds. Overdue is derived: a planned item whose due
date has passed in the reservist's own zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.services.clock import end_of_month
from bot.services.errors import InputError, NotFoundError
from bot.services.paging import cut_page, page_count
from bot.services.scope import normalise, roadmap_for
from storage.models import Activity, IndividualPlan, ItemStatus, PlanItem, User
from storage.repo import PlanLine, Repo

PAGE_SIZE = 8


@dataclass(frozen=True, slots=True)
class Window:
    """The dates a reservist acts in: ``starts_on`` to ``due_on`` inclusive (None: on demand)."""

    starts_on: date | None
    due_on: date | None


def windows_in_year(schedule: Mapping[str, Any], year: int) -> list[Window]:
    """Windows of an activity's schedule (``Schedule.to_storage()`` dict) within plan ``year``.

    Rules (from the roadmaps' wording, see bot.services.roadmap.schedule):
    - years written and ``year`` not among them: no window;
    - a yearly activity with a first year («Ежегодно (апрель-май, 2027 г.)»): none before it;
    - on_demand ("По запросу", "По плану …"): one undated window;
    - continuous ("В течение года") or no months ("Ежегодно", "2023 г."): the whole year;
    - each (start, end) month span: the 1st of start to the last day of end; a span that wraps
      the year ("Декабрь-январь") starts in December of the previous year, so the plan of
      ``year`` holds its drawing-up in December–January.
    """
    years = [int(y) for y in schedule.get("years") or []]
    if years and year not in years:
        return []
    first_year = schedule.get("first_year")
    if isinstance(first_year, int) and year < first_year:
        return []
    recurrence = schedule.get("recurrence")
    if recurrence == "on_demand":
        return [Window(None, None)]
    spans = [(int(a), int(b)) for a, b in schedule.get("windows") or []]
    if recurrence == "continuous" or not spans:
        return [Window(date(year, 1, 1), date(year, 12, 31))]
    result = []
    for start, end in spans:
        first = date(year - 1 if start > end else year, start, 1)
        result.append(Window(first, end_of_month(year, end)))
    return result


def display_status(item: PlanItem | PlanLine, today: date) -> str:
    """``done``, ``overdue`` (planned and past its due date on ``today``) or ``planned``."""
    if item.status == ItemStatus.DONE:
        return "done"
    if item.due_on is not None and item.due_on < today:
        return "overdue"
    return "planned"


@dataclass(frozen=True, slots=True)
class PlanView:
    """A plan as the reservist sees it on ``today`` (their local date); ``statuses`` is each
    item's :func:`display_status` on that day, by item id, derived from ``items``."""

    year: int
    items: Sequence[PlanLine]
    today: date
    statuses: dict[int, str] = field(init=False)

    def __post_init__(self) -> None:
        statuses = {item.id: display_status(item, self.today) for item in self.items}
        object.__setattr__(self, "statuses", statuses)  # frozen: set once, here

    @property
    def total(self) -> int:
        """How many items the plan has."""
        return len(self.items)

    @property
    def done(self) -> int:
        """How many are done."""
        return sum(1 for s in self.statuses.values() if s == "done")

    @property
    def overdue(self) -> int:
        """How many are overdue."""
        return sum(1 for s in self.statuses.values() if s == "overdue")

    @property
    def pages(self) -> int:
        """Pages of :data:`PAGE_SIZE` items (at least 1)."""
        return page_count(self.total, PAGE_SIZE)

    def loggable(self) -> list[PlanLine]:
        """The items /log offers to mark done: every item not done yet (planned, due soon,
        overdue), in the plan's order; a done one is corrected from its card instead."""
        return [line for line in self.items if line.status != "done"]

    def page(self, number: int) -> tuple[int, Sequence[PlanLine]]:
        """The items of page ``number`` (1-based, clamped to the existing pages)."""
        chunk, number, _pages = cut_page(self.items, number, PAGE_SIZE)
        return number, chunk


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a plan sync changed."""

    added: int = 0
    updated: int = 0
    archived: int = 0


def new_plan_rows(activities: Sequence[Activity], year: int, today: date) -> list[dict[str, Any]]:
    """The items (column dicts without ``plan_id``) of a new plan of ``year`` built from
    ``activities`` on ``today``: the rules of :meth:`PlanService.sync_plan` for an empty plan
    (windows whose due date is before ``today`` are left out). Pure: computed once per
    roadmap and shared by every new plan of it."""
    rows: list[dict[str, Any]] = []
    for activity in activities:
        if activity.archived or not activity.for_reservists:
            continue
        for index, window in enumerate(windows_in_year(activity.schedule, year)):
            if window.due_on is not None and window.due_on < today:
                continue
            rows.append(
                {
                    "activity_id": activity.id,
                    "occurrence": index,
                    "kind": activity.kind,
                    "starts_on": window.starts_on,
                    "due_on": window.due_on,
                    "status": ItemStatus.PLANNED,
                    "needs_confirmation": activity.needs_confirmation,
                }
            )
    return rows


class PlanService:
    """Plans of reservists over a :class:`Repo` (one transaction)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    async def ensure_plan(self, user: User, year: int, today: date) -> IndividualPlan:
        """Return the user's plan for ``year``, creating it from the roadmap when missing.

        A new plan gets the items whose due date is not before ``today`` (the reservist's local
        date): windows that closed before they joined are not theirs to miss.
        """
        plan = await self.repo.plans.plan(user.id, year)
        if plan is None:
            plan = await self.repo.plans.create_plan(user.id, year)
            activities = roadmap_for(await self.repo.activities.active(), user.municipality)
            await self.sync_plan(plan, activities, today)
        return plan

    async def create_missing_batch(
        self,
        year: int,
        today: date,
        activities: Sequence[Activity],
        *,
        after_id: int = 0,
        limit: int = 200,
    ) -> tuple[int, int | None]:
        """Create the missing plans of ``year`` of the next ``limit`` reservists (by id, after
        ``after_id``) in a fixed handful of statements whatever ``limit``: one page query, one
        ``INSERT`` of the plans, then per roadmap among their owners (the region's, or a
        municipality's own) one ``INSERT … SELECT`` of the items and one of their history,
        the rows made by the database from the roadmap's template (:func:`new_plan_rows`,
        computed once). ``activities`` are the active ones (read once by the caller). Returns
        (plans created, the last user id seen, or None when no reservist is left)."""
        owners = await self.repo.plans.missing_plan_owners(year, after_id=after_id, limit=limit)
        if not owners:
            return 0, None
        created = await self.repo.plans.create_plans([u for u, _ in owners], year)
        roadmaps: dict[str, tuple[int, ...]] = {}  # municipality -> its roadmap's activities
        templates: dict[tuple[int, ...], list[dict[str, Any]]] = {}
        plans: dict[tuple[int, ...], list[int]] = {}
        for user_id, municipality in owners:
            plan_id = created.get(user_id)
            if plan_id is None:
                continue  # made meanwhile (the reservist opened /plan): it has its items
            area = normalise(municipality)
            if area not in roadmaps:
                roadmap = roadmap_for(activities, municipality)
                roadmaps[area] = key = tuple(a.id for a in roadmap)
                if key not in templates:
                    templates[key] = new_plan_rows(roadmap, year, today)
            plans.setdefault(roadmaps[area], []).append(plan_id)
        for key, plan_ids in plans.items():
            await self.repo.plans.insert_roadmap_items(plan_ids, templates[key], source="roadmap")
        return len(created), owners[-1][0]

    async def sync_plan(
        self, plan: IndividualPlan, activities: Sequence[Activity], today: date
    ) -> SyncReport:
        """Bring a plan in line with the roadmap's current activities.

        New windows whose due date is not before ``today`` are added; planned items follow edits
        of their activity (title, kind, dates); planned items whose activity was archived or no
        longer applies to reservists are archived. Done items are never touched.
        """
        items = await self.repo.plans.items(plan.id, include_archived=True)
        by_key = {(i.activity_id, i.occurrence): i for i in items if i.activity_id is not None}
        wanted: set[tuple[int, int]] = set()
        new_items: list[PlanItem] = []
        updated = archived = 0
        for activity in activities:
            if activity.archived or not activity.for_reservists:
                continue
            for index, window in enumerate(windows_in_year(activity.schedule, plan.year)):
                key = (activity.id, index)
                wanted.add(key)
                item = by_key.get(key)
                if item is not None and item.needs_confirmation != activity.needs_confirmation:
                    # the roadmap's flag, not the reservist's data: it follows on every item
                    item.needs_confirmation = activity.needs_confirmation
                if item is None:
                    if window.due_on is not None and window.due_on < today:
                        continue
                    new_items.append(
                        PlanItem(
                            plan_id=plan.id,
                            activity_id=activity.id,
                            occurrence=index,
                            title=activity.title,  # in memory only: it follows the activity
                            kind=activity.kind,
                            starts_on=window.starts_on,
                            due_on=window.due_on,
                            status=ItemStatus.PLANNED,
                            needs_confirmation=activity.needs_confirmation,
                        )
                    )
                elif item.status == ItemStatus.PLANNED:
                    fresh = {
                        "own_title": None,  # a reopened item follows its activity again
                        "title": activity.title,  # in memory: read from the activity
                        "kind": activity.kind,
                        "starts_on": window.starts_on,
                        "due_on": window.due_on,
                        "archived": False,
                    }
                    changes = {k: v for k, v in fresh.items() if getattr(item, k) != v}
                    for name, value in changes.items():
                        setattr(item, name, value)
                    updated += bool(changes)
        for key, item in by_key.items():
            if key not in wanted and item.status == ItemStatus.PLANNED and not item.archived:
                item.archived = True
                archived += 1
        await self.repo.plans.add_items(new_items, actor_id=None, source="roadmap")
        return SyncReport(len(new_items), updated, archived)

    async def sync_year(self, year: int, today: date) -> SyncReport:
        """Sync every plan of ``year`` with its owner's roadmap (their municipality's own, or
        the region's) after an import or an edit."""
        activities = await self.repo.activities.active()
        areas = await self.repo.plans.owner_municipalities(year)
        roadmaps: dict[str, list[Activity]] = {}
        total = SyncReport()
        for plan in await self.repo.plans.plans_of_year(year):
            area = areas.get(plan.id)
            key = normalise(area)
            if key not in roadmaps:
                roadmaps[key] = roadmap_for(activities, area)
            report = await self.sync_plan(plan, roadmaps[key], today)
            total = SyncReport(
                total.added + report.added,
                total.updated + report.updated,
                total.archived + report.archived,
            )
        return total

    async def view(self, user: User, year: int, today: date) -> PlanView:
        """The user's plan of ``year`` with each item's status on ``today``; the plan is
        made from the roadmap when missing (:meth:`ensure_plan`)."""
        lines = await self.repo.plans.plan_lines(user.id, year)
        if lines is None:
            await self.ensure_plan(user, year, today)
            lines = await self.repo.plans.plan_lines(user.id, year) or []
        return PlanView(year=year, items=lines, today=today)

    async def item(self, user: User, item_id: int) -> PlanItem:
        """The user's own item.

        Raises:
            NotFoundError: no such item, or it is someone else's (a forged button).
        """
        item = await self.repo.plans.item_of_user(item_id, user.id)
        if item is None or item.archived:
            raise NotFoundError(item_id)
        return item

    async def earliest_date(self, item: PlanItem) -> date:
        """The first date a completion of ``item`` may carry: the plan year's 1 January, or the
        start of the item's window when that is earlier (December for a December–January item)."""
        plan = await self.repo.plans.get_plan(item.plan_id)
        plan_year = plan.year if plan else (item.due_on or item.created_at).year
        first = date(plan_year, 1, 1)
        if item.starts_on is not None and item.starts_on < first:
            return item.starts_on
        return first

    async def mark_done(
        self,
        user: User,
        item_id: int,
        *,
        done_on: date,
        comment: str | None,
        evidence: tuple[str, str, str | None] | None,
        today: date,
    ) -> PlanItem:
        """Log an item as done (or correct a done item), keeping the history. The item keeps
        the title it was done under from then on (see :class:`storage.models.PlanItem`).

        Args:
            done_on: the completion date, not after ``today`` and not before
                :meth:`earliest_date`.
            evidence: (Telegram file_id, "photo" | "document", file name or None), or None.

        Raises:
            NotFoundError: the item is not the user's.
            InputError: the date is out of range.
        """
        item = await self.item(user, item_id)
        earliest = await self.earliest_date(item)
        if done_on > today or done_on < earliest:
            raise InputError("date out of range")
        previous = _snapshot(item)
        action = "corrected" if item.status == ItemStatus.DONE else "done"
        if item.own_title is None:
            # done under this wording: a later renaming of the activity leaves it alone
            item.own_title = item.title
        item.status = ItemStatus.DONE
        item.done_on = done_on
        item.comment = comment
        if evidence is not None:
            item.evidence_file_id, item.evidence_kind, item.evidence_name = evidence
        elif action == "done":
            item.evidence_file_id = item.evidence_kind = item.evidence_name = None
        data: dict[str, Any] = {"after": _snapshot(item)}
        if action == "corrected":
            data["before"] = previous
        await self.repo.plans.add_event(item.id, user.id, action, data)
        return item

    async def reopen(self, user: User, item_id: int) -> PlanItem:
        """Reopen a done item; the old completion stays in the history.

        Raises:
            NotFoundError: the item is not the user's.
            InputError: the item is not done.
        """
        item = await self.item(user, item_id)
        if item.status != ItemStatus.DONE:
            raise InputError("not done")
        previous = _snapshot(item)
        item.status = ItemStatus.PLANNED
        item.done_on = None
        await self.repo.plans.add_event(item.id, user.id, "reopened", {"before": previous})
        return item

    async def add_personal(
        self, user: User, title: str, month: int, year: int, today: date
    ) -> PlanItem:
        """Add a personal item due at the end of ``month`` of ``year`` to the user's plan."""
        plan = await self.ensure_plan(user, year, today)
        item = await self.repo.plans.add_item(
            PlanItem(
                plan_id=plan.id,
                activity_id=None,
                occurrence=0,
                own_title=title,
                title=title,
                kind="other",
                starts_on=date(year, month, 1),
                due_on=end_of_month(year, month),
                status=ItemStatus.PLANNED,
                personal=True,
            )
        )
        await self.repo.plans.add_event(item.id, user.id, "created", {"source": "personal"})
        return item

    async def history(self, item: PlanItem) -> list[tuple[datetime, str, int | None]]:
        """(moment UTC, action, actor user id) of the item's history, oldest first."""
        return [(e.at, e.action, e.actor_id) for e in await self.repo.plans.events(item.id)]


def _snapshot(item: PlanItem) -> dict[str, Any]:
    return {
        "status": item.status,
        "done_on": item.done_on.isoformat() if item.done_on else None,
        "comment": item.comment,
        "evidence_file_id": item.evidence_file_id,
        "evidence_kind": item.evidence_kind,
        "evidence_name": item.evidence_name,
    }
