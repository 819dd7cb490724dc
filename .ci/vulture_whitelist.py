"""Names vulture (the dead-code check of `.ci/run`) cannot see used: they are used by a framework
or a library by name, or they are columns the database keeps. Read by vulture, never run.
A name goes here only with its reason; dead code is deleted instead."""

# pydantic's validators are skipped with --ignore-decorators (pyproject's [tool.vulture]).

# SQLAlchemy: a TypeDecorator's hooks, the declarative base's type map, and columns written by
# the code (or by migrations) and kept for the record, never read back by the bot
impl  # storage/models.py
cache_ok
_.process_bind_param
_.process_result_value
type_annotation_map
checksum  # roadmap_imports: the imported file's digest
imported_at
assigned_by  # mentor_assignments: who paired, who ended the pair
ended_by
_.ended_by
reminded_at
changed_by  # status changes: who made them

# storage/sqlite.py: the overrides of SQLAlchemy's aiosqlite adapter and the worker thread
_.arraysize
_._make_new_cursor
_._aenter_cursor
_._execute_async
_._executemany_async
_._cursor
_.daemon

# storage/reports_repo.py: GroupCounts' counters, read by name (indicators.total("fulfilled"))
fulfilled
ever
trainees
trained

# openpyxl and python-docx objects configured by setting their attributes
_.hyperlink
_.style
_.space_before
_.orientation
_.page_height
_.page_width
_.alignment
_.last_modified_by
_.modified

# the emulator's multipart parser keeps the form field's name with each uploaded file
field_name

# pytest's hooks, autouse fixtures and marks, found by name
pytest_xdist_auto_num_workers
pytest_collection_modifyitems
pytest_configure
pytest_report_header
clean_settings_env
no_bot_process_left
pytestmark

# tests/conftest.py: read by the interpreter when it imports a module (bytecode caches)
_.dont_write_bytecode

# tests/mocked_bot.py: aiogram's BaseSession interface, overridden whole
_.stream_content
chunk_size
raise_for_status
_._me

# bot/services/exports.py: ActivityEntry is a NamedTuple written to its sheet as a row, so a
# field may never be read by name
_.confirmed_on
