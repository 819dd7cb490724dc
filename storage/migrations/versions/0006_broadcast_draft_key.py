"""broadcast draft key: the idempotency key of a broadcast's «Отправить» button

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

``broadcasts.draft_key`` is generated when an officer composes a draft and travels in the
confirm button's callback data; the unique constraint makes a second press (any delay, any
process, after a restart) unable to create a second broadcast.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft_key", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_broadcasts_draft_key"), ["draft_key"])


def downgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_broadcasts_draft_key"), type_="unique")
        batch_op.drop_column("draft_key")
