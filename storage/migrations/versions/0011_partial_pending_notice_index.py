"""the pending-notice index holds only pending notices

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

``ix_notices_pending`` indexed every notice by (status, not_before), the sent ones kept for
the retention period included: about 570 bytes a reservist, 7 % of what a reservist costs. The
scan only looks up the pending ones, so the index is now partial (``WHERE status =
'pending'``), on (user_id, not_before): the scan reads its pages of users with notices due,
in the order of their ids, from this index alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending'"


def upgrade() -> None:
    op.drop_index("ix_notices_pending", table_name="notices")
    op.create_index(
        "ix_notices_pending",
        "notices",
        ["user_id", "not_before"],
        unique=False,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_notices_pending", table_name="notices")
    op.create_index("ix_notices_pending", "notices", ["status", "not_before"], unique=False)
