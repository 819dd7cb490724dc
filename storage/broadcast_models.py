"""Models of officers' broadcasts (рассылки): the broadcast, one delivery row per recipient (the
durable queue the sender works through) and the recipients' RSVP answers.

They live on the same declarative ``Base`` as :mod:`storage.models` (same naming convention,
aware UTC datetimes), imported from there (:mod:`storage.tables` gathers both modules' tables);
the tables are created by migration ``0003``, ``broadcasts.draft_key`` by ``0006``.

A delivery moves ``pending -> sending -> sent | blocked | failed``. ``sending`` is written (and
committed) before the message goes out and replaced right after Telegram answered, so after a
crash only rows still ``sending`` are in doubt: they are sent again when the broadcast resumes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class BroadcastStatus(StrEnum):
    """``draft`` (created, not started), ``running`` (being sent, or to be resumed at start-up),
    ``stopped`` (an officer stopped it: pending recipients wait for an explicit resume),
    ``done`` (no recipient is pending any more)."""

    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"
    DONE = "done"


class DeliveryState(StrEnum):
    """State of one recipient of a broadcast."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    BLOCKED = "blocked"
    FAILED = "failed"


class RsvpAnswer(StrEnum):
    """A recipient's answer to an RSVP broadcast: «Буду» or «Не смогу»."""

    YES = "yes"
    NO = "no"


class Broadcast(Base):
    """An announcement from an officer to many users.

    ``content`` is ``{"parts": [{"kind": "text" | "photo" | "document", "text": ...,
    "file_id": ...}, ...]}`` (see :class:`bot.services.broadcast.ContentPart`); ``audience``
    describes who it went to, for display only (the recipients are the delivery rows);
    ``total`` is the number of recipients. ``progress_chat_id``/``progress_message_id`` name the
    officer's progress message, so that a resumed broadcast keeps editing it. ``draft_key`` is
    the idempotency key of the draft's «Отправить» button (unique, migration ``0006``): a second
    press with the same key cannot create a second broadcast.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.DRAFT)
    content: Mapped[dict[str, Any]]
    audience: Mapped[dict[str, Any]]
    rsvp: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[int] = mapped_column(Integer, default=0)
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    draft_key: Mapped[str | None] = mapped_column(String(32), unique=True)


class BroadcastDelivery(Base):
    """One recipient of a broadcast and how far its delivery got (:class:`DeliveryState`).

    ``chat_id`` is the user's Telegram id when the broadcast was created. ``attempts`` counts
    the send attempts, ``last_error`` keeps Telegram's last error text.
    """

    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id"),
        Index("ix_broadcast_deliveries_queue", "broadcast_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class BroadcastAnswer(Base):
    """A recipient's RSVP answer (:class:`RsvpAnswer`); answering again replaces it."""

    __tablename__ = "broadcast_answers"
    __table_args__ = (UniqueConstraint("broadcast_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


__all__ = [
    "Broadcast",
    "BroadcastAnswer",
    "BroadcastDelivery",
    "BroadcastStatus",
    "DeliveryState",
    "RsvpAnswer",
]
