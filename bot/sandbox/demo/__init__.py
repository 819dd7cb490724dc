"""The demo district of the sandbox (``python -m bot sandbox``): the data the sandbox starts with.

Every person here is fictional: the names, patronymics, schools, municipalities and the region
(«Северодольская область») are made up, drawn from lists of common Russian names by a seeded
random generator; any likeness to a real person is a coincidence. The Telegram ids are a fixed
range (from :data:`ID_BASE`) that no real account is meant to be reached at: the sandbox's
emulated Bot API serves them.

:func:`load_demo` fills an empty, migrated database with a year of a fictional district's
reserve, through the program's own services (registration by invite with the consent journal,
plans, logging, mentoring, lifecycle, broadcasts), so the data is what the bot itself would
have stored:

- the default roadmap (the one ``python -m bot run`` loads);
- a regional officer (sees every municipality) and a municipal officer;
- 3 municipalities with 4 schools each and 30 reservists (10 a municipality): each
  municipality's list imported by its officer in January–February (``PeopleImportService``),
  each person registered by their personal link, with the consent («Всё верно»); two late
  joiners mid-year by ordinary invite links. Some moved to «проходит подготовку», two
  appointed, one excluded. Their plans of the year are the ones registration makes (the items
  of windows not closed on the registration day), made in bulk just before;
- 5 mentors (school heads) registered by invite links, with 17 pairs assigned by the regional
  officer, one of them reassigned (the history is kept), one stalled (nothing for weeks);
- the plan year up to ``now``: items whose windows have passed are mostly logged done (dates,
  comments, some evidence; a share confirmed or commented on by the mentor), the rest overdue;
  how diligent people are differs by municipality, so the indicators differ too;
- consultations of each pair, most confirmed, a few declined, the latest awaiting the other
  side's confirmation;
- one finished broadcast with «Буду» / «Не смогу» answers (one recipient failed) and one
  running, with a few recipients still pending (the bot resumes it when it starts);
- in December, next year's plans (as the daily upkeep, :func:`scheduler.jobs.ensure_plans`).

No reminder was recorded: at its first start the bot's reminder scan sends each reservist
with overdue items one message listing them, and the mentoring digests go out. Evidence files
are URLs (``https://sandbox.invalid/demo/…``), which the Bot API accepts where a ``file_id``
goes: the sandbox's emulator serves them as empty files.

:func:`cast` gives the same people without a database: the sandbox shows a tab for each of
:attr:`DemoCast.tabs` (officer, reservist A, newcomer B, the mentor).

The moments the services stamp with the real clock (history entries, plans, consultations
logged, audit entries) are set afterwards to the demo's own moments
(:class:`storage.demo_repo.DemoRepo`): the same ``seed`` and ``now`` give the same rows.

The package's modules: :mod:`~bot.sandbox.demo.roster` (the district and its people),
:mod:`~bot.sandbox.demo.timeline` (the demo's calendar), :mod:`~bot.sandbox.demo.writing`
(what the people write) and :mod:`~bot.sandbox.demo.load` (the loader, which alone imports
the other three).
"""

from bot.sandbox.demo.load import DemoNotEmptyError, load_demo
from bot.sandbox.demo.roster import DISTRICT, ID_BASE, DemoCast, DemoPerson, cast

__all__ = [
    "DISTRICT",
    "ID_BASE",
    "DemoCast",
    "DemoNotEmptyError",
    "DemoPerson",
    "cast",
    "load_demo",
]
