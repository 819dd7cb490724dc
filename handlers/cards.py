"""The plan item card, shown to its reservist and to their mentor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot import texts
from bot.config import Settings
from bot.services.clock import local_today, zone_of
from bot.services.plans import PlanService, display_status
from storage.models import PlanItem, User
from storage.repo import Repo


async def render_item_card(
    repo: Repo, item: PlanItem, viewer: User, settings: Settings, clock: Callable[[], datetime]
) -> str:
    """The card text of ``item`` as ``viewer`` sees it: dates in the viewer's zone, history with
    who did what (you / the mentor / an officer / the bot), the mentor's confirmation and
    comments."""
    zone = zone_of(viewer.timezone, settings.default_timezone)
    today = local_today(clock(), zone)
    people = await repo.users.by_ids(
        [actor for _, _, actor in await PlanService(repo).history(item) if actor is not None]
        + [c.author_id for c in await repo.mentoring.comments(item.id) if c.author_id is not None]
    )

    def who(user_id: int | None) -> str:
        if user_id is None:
            return "бот"
        if user_id == viewer.id:
            return "вы"
        person = people.get(user_id)
        return (person.full_name if person else None) or "—"

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
    for comment in await repo.mentoring.comments(item.id):
        stamp = f"{comment.created_at.astimezone(zone):%d.%m.%Y}"
        notes.append(texts.comment_line(who(comment.author_id), stamp, comment.text))
    evidence = None
    if item.evidence_kind:
        evidence = item.evidence_name or ("фото" if item.evidence_kind == "photo" else "файл")
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
        notes=notes,
    )
