"""plan item titles follow their activity while planned

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Every plan item kept its own copy of its activity's title: about 140 of a row's 275 bytes, the
largest part of what a reservist costs the database. ``plan_items.title`` is now NULL while a
roadmap item is planned and worded as its activity (``PlanItem.title`` reads the activity's
title then); done items, personal items and items whose wording differs keep their own. The
``titled`` check holds the database to that. Upgrading clears the copies that match; going
down writes them back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TITLED = "title IS NOT NULL OR (activity_id IS NOT NULL AND status = 'planned')"

items = sa.table(
    "plan_items",
    sa.column("activity_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("title", sa.Text),
)
activities = sa.table("activities", sa.column("id", sa.Integer), sa.column("title", sa.Text))
activity_title = (
    sa.select(activities.c.title).where(activities.c.id == items.c.activity_id).scalar_subquery()
)


def upgrade() -> None:
    with op.batch_alter_table("plan_items") as batch_op:
        batch_op.alter_column("title", existing_type=sa.Text(), nullable=True)
        batch_op.create_check_constraint("titled", TITLED)
    op.execute(
        items.update()
        .where(
            items.c.status == "planned",
            items.c.activity_id.is_not(None),
            items.c.title == activity_title,
        )
        .values(title=None)
    )


def downgrade() -> None:
    op.execute(items.update().where(items.c.title.is_(None)).values(title=activity_title))
    with op.batch_alter_table("plan_items") as batch_op:
        batch_op.drop_constraint("titled", type_="check")
        batch_op.alter_column("title", existing_type=sa.Text(), nullable=False)
