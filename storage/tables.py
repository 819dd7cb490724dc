"""Every table of the schema on one ``MetaData``: :data:`metadata`.

The models are declared on one declarative ``Base`` in two modules: :mod:`storage.models` (the
reserve: people, plans, mentoring, reminders, personal data) and :mod:`storage.broadcast_models`
(officers' broadcasts), which takes ``Base`` from the first; imports point that way only. A
model's table is on ``Base.metadata`` once its module is imported, so whatever needs every table
(Alembic's autogenerate in ``storage/migrations/env.py``, the sandbox demo's dump, the tests'
schema checks) takes :data:`metadata` from here: this module imports both.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from storage import broadcast_models  # noqa: F401 - imported for its tables
from storage.models import Base

#: Every table: those of :mod:`storage.models` and of :mod:`storage.broadcast_models`.
metadata: MetaData = Base.metadata

__all__ = ["metadata"]
