"""consent journal: consent texts by version, each user's consent and withdrawal; repair of
data that /delete_me used to leave behind

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

``consent_texts`` stores the wording of the consent to the processing of personal data
(152-ФЗ, art. 9) by version; the current one (``2026-11``) is loaded here, copied from the
catalogue (``bot.texts.CONSENT`` at this revision: a migration never imports application code,
which changes). ``consents`` is the journal: one row per consent given, with its withdrawal
(/delete_me), keyed by the user's internal id only. Existing users' consents are copied into
it, withdrawn at their deletion for people already deleted.

Data repair for people deleted before this revision (issue 8): the free texts and identifiers
the old /delete_me left behind are erased as the new one does (consultation texts, comments by
and about them, personal item titles, interview conclusions, reserve history texts, audit
details naming them, broadcast chat ids and RSVP answers), and pairs with a deleted side are
ended. The downgrade drops the two tables; erased data cannot come back.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSENT_VERSION = "2026-11"
CONSENT_PUBLISHED = datetime(2026, 11, 1, tzinfo=UTC)
CONSENT_TEXT = (
    "<b>Согласие на обработку персональных данных</b>\n\n"
    "Для участия в сопровождении кадрового резерва отдел образования обрабатывает ваши "
    "персональные данные: ФИО, место работы, должность, муниципалитет, отметки о выполнении "
    "индивидуального плана и прикреплённые вами файлы. Данные используются только для "
    "сопровождения резерва и отчётов отдела образования (Федеральный закон от 27.07.2006 "
    "№ 152-ФЗ «О персональных данных»). Согласие можно отозвать командой /delete_me.\n\n"
    "Вы даёте согласие?"
)
UNKNOWN_TEXT = "(текст этой версии не сохранён)"
ERASED_ITEM_TITLE = "Личный пункт плана (данные удалены)"


def _naive(moment: datetime, dialect: str) -> datetime:
    """The value as the UTC column type stores it (SQLite keeps naive UTC)."""
    return moment.replace(tzinfo=None) if dialect == "sqlite" else moment


def upgrade() -> None:
    consent_texts = op.create_table(
        "consent_texts",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_consent_texts")),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_consents_user_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["version"],
            ["consent_texts.version"],
            name=op.f("fk_consents_version_consent_texts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_user_id"), ["user_id"], unique=False)

    bind = op.get_bind()
    dialect = bind.dialect.name
    published = _naive(CONSENT_PUBLISHED, dialect)
    op.bulk_insert(
        consent_texts,
        [{"version": CONSENT_VERSION, "text": CONSENT_TEXT, "published_at": published}],
    )
    # versions users agreed to before the texts were stored (none in practice)
    older = bind.execute(
        sa.text(
            "SELECT DISTINCT consent_version FROM users "
            "WHERE consent_version IS NOT NULL AND consent_version <> :current"
        ),
        {"current": CONSENT_VERSION},
    ).scalars()
    rows = [{"version": v, "text": UNKNOWN_TEXT, "published_at": published} for v in older]
    if rows:
        op.bulk_insert(consent_texts, rows)
    op.execute(
        "INSERT INTO consents (user_id, version, accepted_at, withdrawn_at) "
        "SELECT id, consent_version, COALESCE(consent_at, registered_at, created_at), "
        "anonymised_at FROM users WHERE consent_version IS NOT NULL ORDER BY id"
    )
    _repair_deleted_people(_naive(datetime.now(UTC), dialect))


# the columns the repair touches, as they are at this revision
users = sa.table("users", sa.column("id"), sa.column("anonymised_at"))
pairs = sa.table(
    "mentor_assignments",
    sa.column("reservist_id"),
    sa.column("mentor_id"),
    sa.column("ended_at"),
)
consultations = sa.table(
    "consultations",
    sa.column("reservist_id"),
    sa.column("mentor_id"),
    sa.column("status"),
    sa.column("decided_at"),
    sa.column("topic"),
    sa.column("note"),
    sa.column("decline_reason"),
)
comments = sa.table("item_comments", sa.column("author_id"), sa.column("item_id"))
plans = sa.table(
    "individual_plans", sa.column("id"), sa.column("user_id"), sa.column("interview_conclusion")
)
items = sa.table(
    "plan_items", sa.column("id"), sa.column("plan_id"), sa.column("personal"), sa.column("title")
)
history = sa.table(
    "reserve_status_changes",
    sa.column("user_id"),
    sa.column("order_number"),
    sa.column("post"),
    sa.column("organisation"),
    sa.column("reason"),
)
audit = sa.table("audit_log", sa.column("target"), sa.column("details", sa.JSON()))
deliveries = sa.table(
    "broadcast_deliveries", sa.column("user_id"), sa.column("chat_id"), sa.column("last_error")
)
answers = sa.table("broadcast_answers", sa.column("user_id"))
broadcasts = sa.table("broadcasts", sa.column("created_by"), sa.column("progress_chat_id"))


def _repair_deleted_people(now: datetime) -> None:
    """Erase what the /delete_me of earlier revisions left of deleted people."""
    gone = sa.select(users.c.id).where(users.c.anonymised_at.is_not(None))
    their_items = (
        sa.select(items.c.id)
        .join(plans, plans.c.id == items.c.plan_id)
        .where(plans.c.user_id.in_(gone))
    )
    op.execute(
        pairs.update()
        .where(
            pairs.c.ended_at.is_(None),
            sa.or_(pairs.c.reservist_id.in_(gone), pairs.c.mentor_id.in_(gone)),
        )
        .values(ended_at=now)
    )
    theirs = sa.or_(consultations.c.reservist_id.in_(gone), consultations.c.mentor_id.in_(gone))
    op.execute(
        consultations.update()
        .where(theirs, consultations.c.status == "pending")
        .values(status="declined", decided_at=now)
    )
    op.execute(
        consultations.update().where(theirs).values(topic="", note=None, decline_reason=None)
    )
    op.execute(
        comments.delete().where(
            sa.or_(comments.c.author_id.in_(gone), comments.c.item_id.in_(their_items))
        )
    )
    op.execute(
        items.update()
        .where(items.c.personal.is_(True), items.c.id.in_(their_items))
        .values(title=ERASED_ITEM_TITLE)
    )
    op.execute(plans.update().where(plans.c.user_id.in_(gone)).values(interview_conclusion=None))
    op.execute(
        history.update()
        .where(history.c.user_id.in_(gone))
        .values(order_number=None, post=None, organisation=None, reason=None)
    )
    targets = sa.select(sa.literal("user:") + sa.cast(users.c.id, sa.String(20))).where(
        users.c.anonymised_at.is_not(None)
    )
    op.execute(
        audit.update().where(audit.c.target.in_(targets)).values(details={"redacted": True})
    )
    op.execute(
        deliveries.update()
        .where(deliveries.c.user_id.in_(gone))
        .values(chat_id=0, last_error=None)
    )
    op.execute(answers.delete().where(answers.c.user_id.in_(gone)))
    op.execute(
        broadcasts.update().where(broadcasts.c.created_by.in_(gone)).values(progress_chat_id=None)
    )


def downgrade() -> None:
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_user_id"))
    op.drop_table("consents")
    op.drop_table("consent_texts")
