"""An officer's scope: a municipal officer (with a municipality) sees, messages and exports
only people of their municipality; a regional officer (no municipality, e.g. from OFFICER_IDS)
sees everyone. Municipality names are compared case- and space-insensitively."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from storage.models import Role, User

T = TypeVar("T", bound=User)


def normalise(name: str | None) -> str:
    """A municipality name for comparison: casefolded, single spaces."""
    return " ".join((name or "").casefold().split())


def officer_municipality(officer: User) -> str | None:
    """The officer's municipality, or None for a regional officer."""
    if officer.role != Role.OFFICER:
        msg = "not an officer"
        raise PermissionError(msg)
    return officer.municipality or None


def in_scope(officer: User, person: User) -> bool:
    """Whether ``officer`` may see ``person``."""
    area = officer_municipality(officer)
    return area is None or normalise(person.municipality) == normalise(area)


def within_scope(officer: User, people: Iterable[T]) -> list[T]:
    """The people ``officer`` may see, in the given order."""
    return [p for p in people if in_scope(officer, p)]
