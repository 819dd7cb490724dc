"""What the mentoring routers share: their role filters, the page size of their lists and the
date stamp of their lines."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.filters import HasRole
from storage.models import Role

OFFICER = HasRole(Role.OFFICER)
PARTIES = HasRole(Role.RESERVIST, Role.MENTOR)
MENTOR = HasRole(Role.MENTOR)
#: Pairs (/pairs) or mentees (/mentees) a page: their lines shorten names, so a page of them
#: stays far within a message's 4096 characters.
LIST_PAGE = 10


def stamp(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """``moment`` as a date (dd.mm.yyyy) in ``zone`` (the reader's); None for None."""
    if moment is None:
        return None
    return f"{moment.astimezone(zone):%d.%m.%Y}"
