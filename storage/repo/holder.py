""":class:`Repo`: every repository of the program over one session (one transaction).

A ``Repo`` is built once per update (:mod:`bot.middlewares`) and once per
:meth:`storage.db.Database.session`, so building one stays cheap: each repository only keeps the
session, nothing is read until a method is called.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcast_repo import BroadcastRepo
from storage.demo_repo import DemoRepo
from storage.monitoring import MonitoringRepo
from storage.people_repo import PeopleRepo
from storage.repo.activities import ActivityRepo
from storage.repo.mentoring import MentoringRepo
from storage.repo.notices import NoticeRepo
from storage.repo.plans import PlanRepo
from storage.repo.privacy import AuditRepo, ConsentRepo, ErasureRepo
from storage.repo.users import InviteRepo, UserRepo
from storage.reports_repo import ReportsRepo


class Repo:
    """All repositories over one session (one transaction); none of them commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepo(session)
        self.invites = InviteRepo(session)
        self.activities = ActivityRepo(session)
        self.plans = PlanRepo(session)
        self.notices = NoticeRepo(session)
        self.mentoring = MentoringRepo(session)
        self.audit = AuditRepo(session)
        self.consents = ConsentRepo(session)
        self.erasure = ErasureRepo(session)
        self.broadcasts = BroadcastRepo(session)
        self.people = PeopleRepo(session)
        self.reports = ReportsRepo(session)
        self.demo = DemoRepo(session)
        self.monitoring = MonitoringRepo(session)

    @property
    def database_url(self) -> str:
        """The URL of the database this session works on, password included: for the
        program's own process that opens the same database (the export's child). Never log
        it."""
        return self.session.get_bind().engine.url.render_as_string(hide_password=False)

    async def flush(self) -> None:
        """Send pending changes to the database without committing."""
        await self.session.flush()

    async def rollback(self) -> None:
        """Undo everything this transaction did so far (a dry run that must leave no trace)."""
        await self.session.rollback()
