"""The plan item card, shown to its reservist and to their mentor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot import texts
from bot.services.plans import PlanService, display_status
from storage.models import PlanItem, User
from storage.repo import Repo


class Card(NamedTuple):
    """An item card's text and how many earlier comments page back from it (0: none)."""

    text: str
    older: int


async def _comment_lines(
    repo: Repo, item: PlanItem, viewer: User, zone: ZoneInfo
) -> tuple[list[str], Callable[[int | None], str]]:
    """The item's comments as card lines (oldest first, dated in ``zone``) and the namer of
    people."""
    comments = await repo.mentoring.comments(item.id)
    people = await repo.users.by_ids(
        [actor for _, _, actor in await PlanService(repo).history(item) if actor is not None]
        + [c.author_id for c in comments if c.author_id is not None]
    )

    def who(user_id: int | None) -> str:
        if user_id is None:
            return "бот"
        if user_id == viewer.id:
            return "вы"
        person = people.get(user_id)
        return (person.full_name if person else None) or "—"

    lines = [
        texts.comment_line(
            texts.cut(who(c.author_id), texts.NAME_SHOWN),
            f"{c.created_at.astimezone(zone):%d.%m.%Y}",
            c.text,
        )
        for c in comments
    ]
    return lines, who


async def render_comments_page(
    repo: Repo, item: PlanItem, viewer: User, zone: ZoneInfo, before: int
) -> Card:
    """The comments of ``item`` before the ``before``-th (oldest first) that fit one message,
    newest of them last, dated in ``viewer``'s ``zone``; ``older`` counts those still
    earlier."""
    lines, _who = await _comment_lines(repo, item, viewer, zone)
    earlier = lines[: max(0, min(before, len(lines)))]
    kept = texts.fits_last(earlier, texts.MESSAGE_LIMIT - 400, lambda _n: "")
    first = len(earlier) - kept
    header = texts.comments_page(item.title, first + 1, len(earlier), len(lines))
    return Card("\n".join([header, "", *earlier[first:]]), first)


async def render_item_card(
    repo: Repo, item: PlanItem, viewer: User, today: date, zone: ZoneInfo
) -> Card:
    """The card of ``item`` as ``viewer`` sees it on their ``today``: dates in the viewer's
    ``zone``, history with who did what (you / the mentor / an officer / the bot), the mentor's
    confirmation and the newest comments that fit (:data:`bot.texts.COMMENTS_BUDGET`); earlier
    ones page back."""
    comment_lines, who = await _comment_lines(repo, item, viewer, zone)

    history = [
        texts.history_line(
            f"{at.astimezone(zone):%d.%m.%Y %H:%M}",
            texts.HISTORY_ACTIONS.get(action, action),
            who(actor),
        )
        for at, action, actor in await PlanService(repo).history(item)
    ]
    notes = []
    if item.confirmed_at is not None:
        notes.append(texts.confirmed_line(f"{item.confirmed_at.astimezone(zone):%d.%m.%Y}"))
    evidence = None
    if item.evidence_kind:
        evidence = item.evidence_name or ("фото" if item.evidence_kind == "photo" else "файл")

    def card(with_notes: list[str]) -> str:
        return texts.item_card(
            title=item.title,
            kind=item.kind,
            status=display_status(item, today),
            when=texts.when_text(item.starts_on, item.due_on),
            due=item.due_on,
            done_on=item.done_on,
            comment=item.comment,
            evidence=evidence,
            personal=item.personal,
            history=history,
            notes=with_notes,
        )

    # the newest comments that fit beside the rest of the card; the earlier ones page back
    room = texts.MESSAGE_LIMIT - len(card(notes)) - 40
    budget = min(texts.COMMENTS_BUDGET, room)
    older = len(comment_lines) - texts.fits_last(comment_lines, budget, texts.older_comments)
    if older:
        notes.append(texts.older_comments(older))
    return Card(card([*notes, *comment_lines[older:]]), older)
