"""aiogram routers by role. :func:`setup_routers` returns them in the order they must run:
dialogues and role routers first, the deny-by-default fallback last."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    broadcast,
    errors,
    fallback,
    mentoring,
    officer,
    people_import,
    plan,
    reports,
    reserve,
    roadmap,
    settings,
    start,
)
from handlers.filters import HasRole
from storage.models import Role


def setup_routers() -> Router:
    """A router holding every handler of the bot."""
    root = Router(name="root")
    root.include_routers(
        errors.setup(),
        start.setup(),
        officers(),
        broadcast.setup_answers(),
        mentoring.setup(),
        plan.setup(),
        settings.setup(),
        fallback.setup(),
    )
    return root


def officers() -> Router:
    """The officers' routers, in their order, behind one check of the role.

    A reservist's or a mentor's update skips them all after that one filter instead of walking
    each officers' router (and /assign's and /pairs' handlers) to be refused by its own role
    filter: a reservist's ``/plan`` passes 7 routers instead of 11
    (``tests/test_update_path.py``; the figures are in the README's Performance part).

    Nothing here serves another role (the audience's answers to a broadcast and mentoring's
    other side have routers of their own, after this one), so no one else's update is answered
    differently, and an officer tries the officers' handlers in the same order as before. Only
    mentoring's other side (:func:`handlers.mentoring.setup`) now comes after the reserve,
    roadmap and import routers rather than before them: it answers reservists and mentors, and
    dialogue states that only /consult (theirs) enters. Each router keeps its own role filter
    too, so that none of them depends on where it is included.
    """
    branch = Router(name="officers")
    branch.message.filter(HasRole(Role.OFFICER))
    branch.callback_query.filter(HasRole(Role.OFFICER))
    branch.include_routers(
        officer.setup(),
        broadcast.setup(),
        reports.setup(),
        mentoring.setup_officers(),
        reserve.setup(),
        roadmap.setup(),
        people_import.setup(),
    )
    return branch
