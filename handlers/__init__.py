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


def setup_routers() -> Router:
    """A router holding every handler of the bot."""
    root = Router(name="root")
    root.include_routers(
        errors.setup(),
        start.setup(),
        officer.setup(),
        broadcast.setup(),
        reports.setup(),
        mentoring.setup(),
        reserve.setup(),
        roadmap.setup(),
        people_import.setup(),
        plan.setup(),
        settings.setup(),
        fallback.setup(),
    )
    return root
