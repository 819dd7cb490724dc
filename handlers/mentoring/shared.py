"""What the mentoring routers share: their role filters, the page size of their lists and the
date stamp of their lines."""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.services.clock import zone_of
from handlers.filters import HasRole
from storage.models import Role, User

OFFICER = HasRole(Role.OFFICER)
PARTIES = HasRole(Role.RESERVIST, Role.MENTOR)
MENTOR = HasRole(Role.MENTOR)
#: Pairs (/pairs) or mentees (/mentees) a page: their lines shorten names, so a page of them
#: stays far within a message's 4096 characters.
LIST_PAGE = 10


def stamp(moment: datetime | None, user: User, settings: Settings) -> str | None:
    """``moment`` as a date (dd.mm.yyyy) in ``user``'s time zone; None for None."""
    if moment is None:
        return None
    return f"{moment.astimezone(zone_of(user.timezone, settings.default_timezone)):%d.%m.%Y}"
