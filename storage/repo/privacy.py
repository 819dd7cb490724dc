"""Personal data (152-ФЗ): the audit log of officers' actions (:class:`AuditRepo`), the consent
texts and journal (:class:`ConsentRepo`, :class:`ConsentRow`) and the deletion of a person's data
(:class:`ErasureRepo`, :class:`EndedPair`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcast_models import Broadcast, BroadcastAnswer, BroadcastDelivery, DeliveryState
from storage.dialect import insert_ignore
from storage.models import (
    AuditEntry,
    ConsentRecord,
    ConsentText,
    Consultation,
    ConsultationStatus,
    FsmState,
    IndividualPlan,
    Invite,
    ItemComment,
    MentorAssignment,
    PlanItem,
    PlanItemEvent,
    ReserveStatusChange,
    User,
)


class AuditRepo:
    """The audit log of officers' actions (append-only)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def record(
        self, actor_id: int | None, action: str, target: str | None, details: dict[str, Any]
    ) -> None:
        """Append an entry: who (user id), what (action, e.g. ``invite``), on what, details."""
        self.s.add(AuditEntry(actor_id=actor_id, action=action, target=target, details=details))
        await self.s.flush()

    async def entries(self, limit: int = 100) -> Sequence[AuditEntry]:
        """The newest entries first."""
        rows = await self.s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
        return rows.all()

    async def entries_on(self, action: str, targets: Collection[str]) -> Sequence[AuditEntry]:
        """The entries of ``action`` (e.g. ``roadmap.edit``) on any of ``targets`` (e.g.
        ``activity:7``), oldest first."""
        rows = await self.s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.target.in_(targets))
            .order_by(AuditEntry.id)
        )
        return rows.all()


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """One row of the consent journal with the person's name (None once they are deleted)."""

    user_id: int | None
    version: str
    accepted_at: datetime
    withdrawn_at: datetime | None
    full_name: str | None


class ConsentRepo:
    """Consent texts by version and the consent journal (152-ФЗ, art. 9)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def publish(self, version: str, text: str, at: datetime) -> None:
        """Store the text of consent ``version`` unless that version is stored already (a
        version's text never changes once published)."""
        await insert_ignore(
            self.s,
            ConsentText.__table__,  # type: ignore[arg-type]
            [{"version": version, "text": text, "published_at": at}],
            ["version"],
        )

    async def text(self, version: str) -> ConsentText | None:
        """The stored text of ``version``, or None."""
        return await self.s.get(ConsentText, version)

    async def record(self, user_id: int, version: str, at: datetime) -> ConsentRecord:
        """Journal the consent of ``user_id`` to ``version`` given at ``at`` (aware UTC); the
        version's text must be stored (:meth:`publish`)."""
        row = ConsentRecord(user_id=user_id, version=version, accepted_at=at)
        self.s.add(row)
        await self.s.flush()
        return row

    async def current(self, user_id: int) -> tuple[ConsentRecord, ConsentText] | None:
        """The user's latest consent not withdrawn, with its text; None if there is none."""
        row = await self.s.execute(
            select(ConsentRecord, ConsentText)
            .join(ConsentText, ConsentText.version == ConsentRecord.version)
            .where(ConsentRecord.user_id == user_id, ConsentRecord.withdrawn_at.is_(None))
            .order_by(ConsentRecord.accepted_at.desc(), ConsentRecord.id.desc())
            .limit(1)
        )
        found = row.first()
        return (found[0], found[1]) if found else None

    async def withdraw(self, user_id: int, at: datetime) -> int:
        """Mark every consent of the user not yet withdrawn as withdrawn at ``at``; returns
        how many."""
        result = await self.s.execute(
            update(ConsentRecord)
            .where(ConsentRecord.user_id == user_id, ConsentRecord.withdrawn_at.is_(None))
            .values(withdrawn_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def journal(self) -> list[ConsentRow]:
        """Every consent, oldest first, with the name of people not deleted."""
        rows = await self.s.execute(
            select(
                ConsentRecord.user_id,
                ConsentRecord.version,
                ConsentRecord.accepted_at,
                ConsentRecord.withdrawn_at,
                User.full_name,
            )
            .outerjoin(User, User.id == ConsentRecord.user_id)
            .order_by(ConsentRecord.accepted_at, ConsentRecord.id)
        )
        return [ConsentRow(*r) for r in rows.all()]


@dataclass(frozen=True, slots=True)
class EndedPair:
    """A mentor pair ended by the deletion of one side; ``other`` is the side to tell."""

    other: User


class ErasureRepo:
    """The queries of deleting a person's data (/delete_me, 152-ФЗ art. 21): every free text
    and identifier that came from the person or names them, in every table."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def end_pairs(self, user_id: int, at: datetime) -> list[EndedPair]:
        """End the active mentor pairs the user is a side of (ended by them, at ``at``);
        returns each with the other side."""
        active = (
            await self.s.scalars(
                select(MentorAssignment).where(
                    MentorAssignment.ended_at.is_(None),
                    or_(
                        MentorAssignment.reservist_id == user_id,
                        MentorAssignment.mentor_id == user_id,
                    ),
                )
            )
        ).all()
        ended = []
        for assignment in active:
            assignment.ended_at = at
            assignment.ended_by = user_id
            other_id = (
                assignment.mentor_id
                if assignment.reservist_id == user_id
                else assignment.reservist_id
            )
            other = await self.s.get(User, other_id)
            if other is not None:
                ended.append(EndedPair(other))
        await self.s.flush()
        return ended

    async def erase(self, user_id: int, telegram_id: int | None, at: datetime, title: str) -> None:
        """Erase the person's texts and identifiers everywhere but the ``users`` row (the
        caller clears that): consultation topics, notes and decline reasons (pending ones are
        declined: nobody can confirm them), comments by and about them, the comments, evidence
        and history details of their items, the titles of their personal items (``title``
        instead), interview conclusions, the texts of their reserve history, audit details
        naming them, broadcast chat ids and RSVP answers, their personal invites (revoked, the
        code replaced), and their dialogue states."""
        theirs = or_(Consultation.reservist_id == user_id, Consultation.mentor_id == user_id)
        await self.s.execute(
            update(Consultation)
            .where(theirs, Consultation.status == ConsultationStatus.PENDING)
            .values(status=ConsultationStatus.DECLINED, decided_at=at)
        )
        await self.s.execute(
            update(Consultation).where(theirs).values(topic="", note=None, decline_reason=None)
        )
        items = (
            select(PlanItem.id)
            .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
            .where(IndividualPlan.user_id == user_id)
        )
        await self.s.execute(
            delete(ItemComment).where(
                or_(ItemComment.author_id == user_id, ItemComment.item_id.in_(items))
            )
        )
        await self.s.execute(
            update(PlanItem)
            .where(PlanItem.id.in_(items))
            .values(comment=None, evidence_file_id=None, evidence_kind=None, evidence_name=None)
        )
        await self.s.execute(
            update(PlanItem)
            .where(PlanItem.id.in_(items), PlanItem.personal.is_(True))
            .values(own_title=title)
        )
        await self.s.execute(
            update(PlanItemEvent)
            .where(PlanItemEvent.item_id.in_(items))
            .values(data={"redacted": True})
        )
        await self.s.execute(
            update(IndividualPlan)
            .where(IndividualPlan.user_id == user_id)
            .values(interview_conclusion=None)
        )
        await self.s.execute(
            update(ReserveStatusChange)
            .where(ReserveStatusChange.user_id == user_id)
            .values(order_number=None, post=None, organisation=None, reason=None)
        )
        await self.s.execute(
            update(AuditEntry)
            .where(AuditEntry.target == f"user:{user_id}")
            .values(details={"redacted": True})
        )
        await self._erase_broadcasts(user_id)
        for invite in await self.s.scalars(select(Invite).where(Invite.person_id == user_id)):
            invite.revoked = True
            invite.code = f"erased-{invite.id}"
        if telegram_id is not None:
            await self._erase_dialogues(telegram_id)
        await self.s.flush()

    async def _erase_broadcasts(self, user_id: int) -> None:
        """Deliveries keep their state without the chat id (queued ones are given up),
        RSVP answers are deleted, and the user's own broadcasts forget their progress chat."""
        await self.s.execute(
            update(BroadcastDelivery)
            .where(
                BroadcastDelivery.user_id == user_id,
                BroadcastDelivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
            )
            .values(state=DeliveryState.FAILED)
        )
        await self.s.execute(
            update(BroadcastDelivery)
            .where(BroadcastDelivery.user_id == user_id)
            .values(chat_id=0, last_error=None)
        )
        await self.s.execute(delete(BroadcastAnswer).where(BroadcastAnswer.user_id == user_id))
        await self.s.execute(
            update(Broadcast)
            .where(Broadcast.created_by == user_id)
            .values(progress_chat_id=None, progress_message_id=None)
        )

    async def _erase_dialogues(self, telegram_id: int) -> None:
        """Delete the dialogue states of chats or users with this Telegram id (aiogram keys
        ``fsm:<bot>:<chat>:[<thread>:]<user>:<destiny>``)."""
        tg = str(telegram_id)
        keys = await self.s.scalars(select(FsmState.key).where(FsmState.key.like(f"%:{tg}:%")))
        mine = [k for k in keys if tg in k.split(":")[2:-1]]
        if mine:
            await self.s.execute(delete(FsmState).where(FsmState.key.in_(mine)))
