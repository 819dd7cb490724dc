"""An officer's scope: a municipal officer (with a municipality) sees, messages and exports
only people of their municipality; a regional officer (no municipality, e.g. from OFFICER_IDS)
sees everyone. Municipality names are compared case- and space-insensitively.

Roadmaps: the regional roadmap (activities with no municipality) is changed only by regional
officers; a municipality may have its own roadmap (activities with its name), changed by its
municipal officers. A reservist's plan follows their municipality's own roadmap when it has an
active activity, otherwise the region's. Broadcasts: a municipal officer sees and controls only
broadcasts to their municipality (composed by an officer of it, or addressed to it)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from bot.services.errors import AccessDeniedError
from storage.models import Activity, Role, User

T = TypeVar("T", bound=User)


def normalise(name: str | None) -> str:
    """A municipality name for comparison: casefolded, single spaces."""
    return " ".join((name or "").casefold().split())


def officer_municipality(officer: User) -> str | None:
    """The officer's municipality, or None for a regional officer.

    Raises:
        AccessDeniedError: ``officer`` is not an officer.
    """
    if officer.role != Role.OFFICER:
        raise AccessDeniedError(officer.id)
    return officer.municipality or None


def in_scope(officer: User, person: User) -> bool:
    """Whether ``officer`` may see ``person``."""
    area = officer_municipality(officer)
    return area is None or normalise(person.municipality) == normalise(area)


def within_scope(officer: User, people: Iterable[T]) -> list[T]:
    """The people ``officer`` may see, in the given order."""
    return [p for p in people if in_scope(officer, p)]


def same_area(a: str | None, b: str | None) -> bool:
    """Whether two municipality names are the same (None and "" are the region)."""
    return normalise(a) == normalise(b)


def roadmap_area(officer: User) -> str | None:
    """The roadmap an officer edits: their municipality's, or None for the regional one."""
    return officer_municipality(officer)


def may_edit_activity(officer: User, activity: Activity) -> bool:
    """A regional officer edits any activity; a municipal one only their municipality's."""
    area = officer_municipality(officer)
    return area is None or same_area(activity.municipality, area)


def roadmap_for(activities: Iterable[Activity], municipality: str | None) -> list[Activity]:
    """The activities that make the roadmap of ``municipality``'s people: its own active
    activities when it has any, otherwise the regional ones (None: the regional roadmap)."""
    active = [a for a in activities if not a.archived]
    if normalise(municipality):
        own = [a for a in active if same_area(a.municipality, municipality)]
        if own:
            return own
    return [a for a in active if not normalise(a.municipality)]


def has_own_roadmap(activities: Iterable[Activity], municipality: str | None) -> bool:
    """Whether ``municipality`` has a roadmap of its own (an active activity of it)."""
    return bool(normalise(municipality)) and any(
        not a.archived and same_area(a.municipality, municipality) for a in activities
    )


def scoped_key(key: str, municipality: str | None) -> str:
    """An activity's importer key within a municipality's own roadmap (keys are unique across
    roadmaps: the same row in a district's file and the region's are two activities)."""
    area = normalise(municipality)
    if not area:
        return key
    digest = hashlib.sha1(area.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]
    return f"{key}:{digest}"


def broadcast_area(audience: Mapping[str, Any], creator: User | None) -> str | None:
    """The municipality a broadcast went to, or None for a regional one: the composing officer's
    municipality (kept in the audience as ``scope``; older broadcasts: the creator's), or the
    municipality a regional officer addressed."""
    if audience.get("kind") == "municipality" and normalise(audience.get("value")):
        return str(audience["value"])
    if "scope" in audience:
        scope = audience.get("scope")
        return str(scope) if normalise(scope) else None
    if creator is not None and creator.role == Role.OFFICER and normalise(creator.municipality):
        return creator.municipality
    return None


def broadcast_in_scope(officer: User, audience: Mapping[str, Any], creator: User | None) -> bool:
    """Whether ``officer`` may see, stop, resume or resend a broadcast."""
    area = officer_municipality(officer)
    return area is None or same_area(broadcast_area(audience, creator), area)
