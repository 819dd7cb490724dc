"""Repositories: the program's queries, grouped by area, all reachable from one :class:`Repo`.

A ``Repo`` wraps one ``AsyncSession`` (one transaction) and holds a repository per area:
``repo.users`` and ``repo.invites`` (:mod:`~storage.repo.users`); ``repo.activities``, the
roadmap (:mod:`~storage.repo.activities`); ``repo.plans`` (:mod:`~storage.repo.plans`);
``repo.notices``, the reminders (:mod:`~storage.repo.notices`); ``repo.mentoring``
(:mod:`~storage.repo.mentoring`); ``repo.audit``, ``repo.consents`` and ``repo.erasure``, the
personal data (:mod:`~storage.repo.privacy`); and the repositories kept in modules of their own:
``repo.broadcasts`` (:mod:`storage.broadcast_repo`), ``repo.people``, the bulk import of people
(:mod:`storage.people_repo`), ``repo.reports`` (:mod:`storage.reports_repo`), ``repo.demo``,
the sandbox's demo district (:mod:`storage.demo_repo`), and ``repo.monitoring``, the queue
lengths of the metrics (:mod:`storage.monitoring`). :class:`Repo` itself is in
:mod:`~storage.repo.holder`; build the repositories through it, not over ``repo.session``.

Repositories work inside the caller's transaction and never commit. Methods return model
instances that stay usable after the session closes (``expire_on_commit=False``) or plain frozen
rows; relationships are never lazy-loaded.
"""

from storage.repo.activities import ActivityRepo, ActivityUpsert
from storage.repo.holder import Repo
from storage.repo.mentoring import MentoringRepo
from storage.repo.notices import NoticeRepo, NoticeRow
from storage.repo.plans import OpenItem, OwingFilter, PlanLine, PlanRepo
from storage.repo.privacy import AuditRepo, ConsentRepo, ConsentRow, EndedPair, ErasureRepo
from storage.repo.users import InviteRepo, UserRepo

__all__ = [
    "ActivityRepo",
    "ActivityUpsert",
    "AuditRepo",
    "ConsentRepo",
    "ConsentRow",
    "EndedPair",
    "ErasureRepo",
    "InviteRepo",
    "MentoringRepo",
    "NoticeRepo",
    "NoticeRow",
    "OpenItem",
    "OwingFilter",
    "PlanLine",
    "PlanRepo",
    "Repo",
    "UserRepo",
]
