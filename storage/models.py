"""SQLAlchemy 2 models of the reserve. Every timestamp is stored in UTC (timezone-aware);
calendar dates of plan items are plain dates in the reservist's own zone.

The schema is created and changed only by Alembic migrations (`storage/migrations`). The
broadcast tables are declared on the same ``Base`` in :mod:`storage.broadcast_models`;
:data:`storage.tables.metadata` has every table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current moment as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite keeps no zone, so values are normalised to UTC on the way in and marked UTC on the
    way out; a naive value given to it is a programming error and raises ValueError.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to a UTC column"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}  # noqa: RUF012


class Role(StrEnum):
    """A person's role; officers work in the education department (отдел образования)."""

    RESERVIST = "reservist"
    MENTOR = "mentor"
    OFFICER = "officer"


class ItemStatus(StrEnum):
    """Stored status of a plan item; "overdue" is derived from the due date, never stored."""

    PLANNED = "planned"
    DONE = "done"


class User(Base):
    """A person known to the bot: invited and registered, or an officer from OFFICER_IDS.

    After /delete_me the personal fields are cleared (``anonymised_at`` set) and the row stays,
    so that the department's counts keep it without a name.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str | None] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(300))
    position: Mapped[str | None] = mapped_column(String(200))
    municipality: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None]
    invite_id: Mapped[int | None] = mapped_column(Integer)  # the invite used; no FK: cycle
    registered_at: Mapped[datetime | None]
    anonymised_at: Mapped[datetime | None]
    reserve_status: Mapped[str | None] = mapped_column(String(16))
    cohort_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invite(Base):
    """An invitation link (`t.me/<bot>?start=<code>`) for one role; single- or multi-use."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    municipality: Mapped[str | None] = mapped_column(String(200))
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # a personal invite of a person imported from a list: opening it registers that person
    person_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class RoadmapImport(Base):
    """One import of a roadmap file: what was read and when (the department's calendar history)."""

    __tablename__ = "roadmap_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_name: Mapped[str] = mapped_column(String(300))
    checksum: Mapped[str] = mapped_column(String(64))
    activities: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Activity(Base):
    """An activity (мероприятие) of the department's roadmap.

    ``key`` is the importer's stable identity of a row, so that a re-import updates in place.
    Activities missing from a newer import are archived, never deleted: plan items point at them.
    ``municipality`` is None for the regional roadmap, or the municipality whose own roadmap
    the activity belongs to (see :func:`bot.services.scope.roadmap_for`).
    """

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    schedule: Mapped[dict[str, Any]]
    responsible: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[str] = mapped_column(Text, default="")
    section: Mapped[str] = mapped_column(Text, default="")
    source_line: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    for_reservists: Mapped[bool] = mapped_column(Boolean, default=True)
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # None: the regional roadmap; a name: that municipality's own roadmap (migration 0008)
    municipality: Mapped[str | None] = mapped_column(String(200))


class IndividualPlan(Base):
    """A reservist's individual plan (индивидуальный план подготовки) for one calendar year."""

    __tablename__ = "individual_plans"
    __table_args__ = (UniqueConstraint("user_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the year-end interview on the plan's results (собеседование по итогам, Petrovsky roadmap)
    interview_conclusion: Mapped[str | None] = mapped_column(Text)
    concluded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    concluded_at: Mapped[datetime | None]


class PlanItem(Base):
    """One item of an individual plan: a reservist's copy of an activity, or a personal item.

    ``starts_on``/``due_on`` bound the window the reservist acts in (None for on-demand items);
    ``occurrence`` numbers the windows of one activity within the year (trainings in March,
    June and October are three items).

    ``title`` is what the item is called: its own wording (``own_title``, the ``title``
    column) or, while that is None, its activity's current title. A roadmap item follows its
    activity while planned and stores nothing of its own (the title would be most of the row:
    about 140 of 275 bytes); marking it done copies the wording it was done under
    (:meth:`bot.services.plans.PlanService.mark_done`), so that a later renaming of the
    activity leaves it alone. Personal items and done items always have their own; the
    ``titled`` check holds the database to that.
    """

    __tablename__ = "plan_items"
    __table_args__ = (
        UniqueConstraint("plan_id", "activity_id", "occurrence"),
        CheckConstraint(
            "title IS NOT NULL OR (activity_id IS NOT NULL AND status = 'planned')",
            name="titled",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # looked up through the unique (plan_id, activity_id, occurrence) index: no index of its own
    plan_id: Mapped[int] = mapped_column(ForeignKey("individual_plans.id", ondelete="CASCADE"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    occurrence: Mapped[int] = mapped_column(Integer, default=0)
    own_title: Mapped[str | None] = mapped_column("title", Text)
    kind: Mapped[str] = mapped_column(String(32))
    # starts_on, due_on and updated_at are indexed for the reminder scan (OwingFilter)
    starts_on: Mapped[date | None] = mapped_column(Date, index=True)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.PLANNED)
    done_on: Mapped[date | None] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)
    evidence_file_id: Mapped[str | None] = mapped_column(String(256))
    evidence_kind: Mapped[str | None] = mapped_column(String(16))
    evidence_name: Mapped[str | None] = mapped_column(String(256))
    personal: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    # read-only: write own_title. Loaded with the item (a lookup of the activity by its key);
    # not expired by a flush, so that the async session never has to load it lazily
    title: Mapped[str] = column_property(
        func.coalesce(
            own_title,
            select(Activity.title).where(Activity.id == activity_id).scalar_subquery(),
        ),
        expire_on_flush=False,
    )


class PlanItemEvent(Base):
    """Append-only history of a plan item: who changed what and when. Never updated or deleted."""

    __tablename__ = "plan_item_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("plan_items.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Notice(Base):
    """A reminder owed to a user. The unique key (user, item, kind, occasion) makes each notice
    go out at most once; ``status`` moves pending -> sent | skipped | failed.
    ``not_before`` is the earliest moment (UTC) it may be sent ("Напомнить позже" moves it).
    """

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("user_id", "item_id", "kind", "occasion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("plan_items.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    occasion: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


#: A pending notice, as every query of pending notices says it: the status compared with a
#: literal rather than a bound parameter. A planner uses a partial index only where it can see
#: that the query implies the index's condition: SQLite plans with the bound values, but
#: PostgreSQL's generic plan of a prepared statement (asyncpg reuses them) cannot see them.
NOTICE_IS_PENDING = Notice.status == literal_column("'pending'")

# partial (migration 0011): only the few notices still to send, not the sent ones kept for the
# retention period; its condition is NOTICE_IS_PENDING itself, so the two cannot differ
Index(
    "ix_notices_pending",
    Notice.user_id,
    Notice.not_before,
    sqlite_where=NOTICE_IS_PENDING,
    postgresql_where=NOTICE_IS_PENDING,
)


class MentorAssignment(Base):
    """A mentor (наставник) assigned to a reservist by an officer. A reservist has at most one
    active assignment (``ended_at`` is None); ended ones stay as the history."""

    __tablename__ = "mentor_assignments"
    __table_args__ = (
        Index(
            "uq_mentor_assignments_active",
            "reservist_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservist_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ConsultationStatus(StrEnum):
    """A consultation counts in reports only when the other side confirmed it."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class Consultation(Base):
    """A consultation (консультация) of a reservist with their mentor, logged by either side
    and confirmed or declined (with a reason) by the other."""

    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservist_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    logged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    held_on: Mapped[date] = mapped_column(Date)
    format: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(Text)
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_items.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=ConsultationStatus.PENDING)
    decided_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemComment(Base):
    """A mentor's comment or recommendation on a plan item; the reservist is told its text."""

    __tablename__ = "item_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("plan_items.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestLog(Base):
    """Digests sent (confirmation reminders, the mentors' weekly digest): one per
    (user, kind, occasion), recorded so a restart never sends one twice."""

    __tablename__ = "digest_log"
    __table_args__ = (UniqueConstraint("user_id", "kind", "occasion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    occasion: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReserveStatus(StrEnum):
    """A person's way through the reserve (кадровый резерв): candidate → included (date, order
    number) → in training → appointed (post, organisation, date) or excluded (reason)."""

    CANDIDATE = "candidate"
    INCLUDED = "included"
    TRAINING = "training"
    APPOINTED = "appointed"
    EXCLUDED = "excluded"


class ReserveStatusChange(Base):
    """One step of a person's reserve lifecycle (the history; the current status is on User)."""

    __tablename__ = "reserve_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    effective_on: Mapped[date | None] = mapped_column(Date)
    order_number: Mapped[str | None] = mapped_column(String(64))
    post: Mapped[str | None] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """An officer's action (invite, assign, broadcast, status change, export, import): who,
    when, what. Append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ConsentText(Base):
    """A published wording of the consent to the processing of personal data (152-ФЗ, art. 9),
    by version; the text a user agreed to is the row of the version in their consent record."""

    __tablename__ = "consent_texts"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentRecord(Base):
    """The consent journal: a user's consent to a version of the text (``accepted_at``) and its
    withdrawal by /delete_me (``withdrawn_at``). Keyed by the user's internal id only, so after
    the deletion the row holds no personal data and still proves when consent was given and
    withdrawn (152-ФЗ, art. 9 part 3: the operator proves the consent)."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[str] = mapped_column(ForeignKey("consent_texts.version"))
    accepted_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]


class FsmState(Base):
    """A user's dialogue state (aiogram FSM) kept in the database, so a restart of the bot
    does not drop a half-finished registration or log entry. ``updated_at`` is the last
    change: a dialogue left unfinished for PENDING_DATA_DAYS is purged (storage.fsm)."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
