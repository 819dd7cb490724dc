"""plan item indexes of the reminder scan

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

The reminder scan reads only the items that may owe a notice now (``storage.repo.OwingFilter``):
windows starting, items due, overdue repeats beginning within a few days, and the items changed
since the previous scan. Each term of that ``OR`` needs an index for the database to read those
rows rather than every item of every plan: ``due_on`` had one; ``starts_on`` and ``updated_at``
get theirs here. ``ix_plan_items_plan_id`` goes: the unique (plan_id, activity_id, occurrence)
index starts with ``plan_id`` and serves the same lookups, so it only cost every insert.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_plan_items_starts_on", "plan_items", ["starts_on"], unique=False)
    op.create_index("ix_plan_items_updated_at", "plan_items", ["updated_at"], unique=False)
    op.drop_index("ix_plan_items_plan_id", table_name="plan_items")


def downgrade() -> None:
    op.create_index("ix_plan_items_plan_id", "plan_items", ["plan_id"], unique=False)
    op.drop_index("ix_plan_items_updated_at", table_name="plan_items")
    op.drop_index("ix_plan_items_starts_on", table_name="plan_items")
