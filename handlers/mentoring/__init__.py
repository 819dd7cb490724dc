"""Mentoring in the bot: officers assign mentors (/assign) and see the pairs (/pairs);
reservists and mentors log and confirm consultations (/consult); mentors follow their mentees
(/mentees), confirm and comment on plan items. One module a side:
:mod:`~handlers.mentoring.officers`, :mod:`~handlers.mentoring.consultations` (both sides),
:mod:`~handlers.mentoring.mentors`."""

from __future__ import annotations

from aiogram import Router

from handlers.mentoring import consultations, mentors, officers


def setup_officers() -> Router:
    """The router of the officers' side (/assign, /pairs); it goes among the officers' routers,
    behind their role check (:func:`handlers.officers`)."""
    router = Router(name="mentoring_officers")
    officers.register(router)
    return router


def setup() -> Router:
    """The router of both sides' handlers, then the mentors', tried in that order (one router,
    not one a module: an update passes no more routers than it must)."""
    router = Router(name="mentoring")
    consultations.register(router)
    mentors.register(router)
    return router
