"""Bulk import of people from a department's reserve list (Excel ``.xlsx`` or ``.csv``).

Departments keep their reserve lists in spreadsheets. Each row of such a list becomes a person
awaiting registration (a :class:`User` with no Telegram id) with a personal, single-use invite
link (``Invite.person_id``); the officer gets the same table back with a link column added, ready
to mail out. Opening the link registers exactly that person (``PeopleService.register``).

The table (see :func:`read_table`, in :mod:`~bot.services.people_import.reading`):

- the header row is one of the first :data:`HEADER_SEARCH_ROWS` rows: the first one with an
  «ФИО» cell; header cells are matched case-insensitively, ignoring punctuation and text in
  parentheses, against :data:`HEADER_SYNONYMS`;
- required columns: ФИО, организация, должность, and муниципалитет (optional for a municipal
  officer: an empty or missing municipality is theirs); роль is optional (every row is then a
  reservist), as are наставник and год включения; other columns are kept and ignored;
- a ``.csv`` may be UTF-8 (with or without BOM), Windows-1251 or UTF-16, separated by ``;``,
  ``,`` or tabs; the output csv is UTF-8 with BOM and ``;`` (what Excel in Russian expects).

Rules of the import (:meth:`PeopleImportService.import_people`):

- all or nothing: every row is checked first; any error (reported by row number, in Russian)
  means nothing is written; the writes happen in the caller's one transaction;
- idempotent: a row is the same person as an existing one when the normalised ФИО, организация
  and муниципалитет match (case, «ё», spaces and punctuation ignored). Such a person is «уже в
  базе»: nothing of them changes, their still valid personal link is given again; an expired
  (or missing) one is replaced by a fresh link; a registered person gets no link;
- scope (``bot.services.scope``): a municipal officer imports only people of their own
  municipality; the command line (no officer) imports anyone;
- reservists get the reserve status «included», the cohort year (from the file or the current
  year) and a ``ReserveStatusChange`` step; the «наставник» column names a mentor by ФИО (full,
  or surname and initials) among the mentors of the same file and the existing mentors in
  scope; the assignment is stored right away (it refers to user ids, registered or not) and
  audited like ``/assign``; an existing reservist's other current mentor is not replaced (a
  warning says so);
- the import and each assignment go to the audit log.
The package, one module per seam:

- :mod:`~bot.services.people_import.reading`: the file read into a :class:`PeopleTable` (format,
  header row, reading limits);
- :mod:`~bot.services.people_import.rows`: the check of one row (:func:`check_row`);
- :mod:`~bot.services.people_import.matching`: who is who: the folded form keys compare, the
  person key, a mentor written by name (:func:`mentor_matches`);
- :mod:`~bot.services.people_import.service`: :class:`PeopleImportService`, the import itself;
- :mod:`~bot.services.people_import.output`: the table returned with the link column.
"""

from bot.services.people_import.matching import mentor_matches
from bot.services.people_import.output import output_name, render_output
from bot.services.people_import.reading import (
    MAX_FILE_BYTES,
    ImportFormatError,
    PeopleTable,
    RawRow,
    TableKind,
    header_field,
    read_table,
    table_kind,
)
from bot.services.people_import.rows import PersonRow, RowError, check_row
from bot.services.people_import.service import (
    ImportResult,
    PeopleImportService,
    RowOutcome,
    RowStatus,
)

__all__ = [
    "MAX_FILE_BYTES",
    "ImportFormatError",
    "ImportResult",
    "PeopleImportService",
    "PeopleTable",
    "PersonRow",
    "RawRow",
    "RowError",
    "RowOutcome",
    "RowStatus",
    "TableKind",
    "check_row",
    "header_field",
    "mentor_matches",
    "output_name",
    "read_table",
    "render_output",
    "table_kind",
]
