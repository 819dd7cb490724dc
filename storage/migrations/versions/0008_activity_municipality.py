"""activity municipality: a municipality's own roadmap beside the region's

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

``activities.municipality`` is NULL for the regional roadmap (changed only by a regional
officer) and a municipality's name for the activities of that municipality's own roadmap
(changed by its municipal officers). A reservist's plan is built from their municipality's own
roadmap when it has one, otherwise from the region's.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("municipality", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_column("municipality")
