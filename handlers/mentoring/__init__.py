"""Mentoring in the bot: officers assign mentors (/assign) and see the pairs (/pairs);
reservists and mentors log and confirm consultations (/consult); mentors follow their mentees
(/mentees), confirm and comment on plan items. One module a side:
:mod:`~handlers.mentoring.officers`, :mod:`~handlers.mentoring.consultations` (both sides),
:mod:`~handlers.mentoring.mentors`."""

from __future__ import annotations

from aiogram import Router

from handlers.mentoring import consultations, mentors, officers


def setup() -> Router:
    """The router of mentoring: officers', then consultations', then mentors' handlers, in the
    order they are tried."""
    router = Router(name="mentoring")
    router.include_routers(officers.setup(), consultations.setup(), mentors.setup())
    return router
