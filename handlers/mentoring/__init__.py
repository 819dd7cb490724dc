"""Mentoring in the bot: officers assign mentors (/assign) and see the pairs (/pairs);
reservists and mentors log and confirm consultations (/consult); mentors follow their mentees
(/mentees), confirm and comment on plan items. One module a side:
:mod:`~handlers.mentoring.officers`, :mod:`~handlers.mentoring.consultations` (both sides),
:mod:`~handlers.mentoring.mentors`."""

from __future__ import annotations

from aiogram import Router

from handlers.mentoring import consultations, mentors, officers


def setup() -> Router:
    """The router of mentoring, holding the officers', then both sides', then the mentors'
    handlers, tried in that order (one router, not one a module: an update passes no more
    routers than before the split)."""
    router = Router(name="mentoring")
    officers.register(router)
    consultations.register(router)
    mentors.register(router)
    return router
