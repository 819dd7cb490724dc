"""Texts of officers' scope: whose roadmap an officer edits, and the refusals that name the
true reason when an officer reaches past their municipality (roadmap activities, broadcasts,
mentor pairs). Callback answers (alerts) stay within Telegram's 200 characters: names are
shortened there."""

from __future__ import annotations

from html import escape


def _name(name: str | None, limit: int = 40) -> str:
    text = " ".join((name or "").split()) or "—"
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- /roadmap: which roadmap the list shows ---------------------------------------------------
ROADMAP_REGIONAL = (
    "Региональная дорожная карта: по ней строятся планы резервистов муниципалитетов без своей."
)


def roadmap_own(area: str) -> str:
    """A municipal officer's own roadmap."""
    return f"Дорожная карта муниципалитета «{escape(_name(area, 100))}»."


def roadmap_follows_region(area: str) -> str:
    """A municipal officer whose municipality follows the regional roadmap."""
    return (
        f"Муниципалитет «{escape(_name(area, 100))}» следует региональной дорожной карте: "
        "её изменяет только региональный специалист. Чтобы вести свою, пришлите боту её "
        "документ .docx или .txt."
    )


# --- refusals (alerts, ≤ 200 characters) ------------------------------------------------------
ACTIVITY_REGIONAL = (
    "Это мероприятие региональной дорожной карты: её изменяет только региональный специалист."
)
ADD_FOLLOWS_REGION = (
    "Ваш муниципалитет следует региональной дорожной карте, её изменяет только региональный "
    "специалист; свою дорожную карту пришлите документом .docx или .txt."
)


def activity_other_area(area: str | None) -> str:
    """An activity of another municipality's own roadmap."""
    return (
        f"Это мероприятие дорожной карты муниципалитета «{_name(area)}»: вы изменяете только "
        "дорожную карту своего муниципалитета."
    )


def broadcast_other_area(own: str) -> str:
    """A broadcast to another municipality (or to the region)."""
    return (
        "Эта рассылка не в ваш муниципалитет: вы видите и останавливаете только рассылки "
        f"муниципалитета «{_name(own)}»."
    )


def pair_other_area(own: str) -> str:
    """Ending the pair of a reservist of another municipality."""
    return (
        "Этот резервист не из вашего муниципалитета: вы завершаете только пары "
        f"муниципалитета «{_name(own)}»."
    )


def roadmap_imported_for(area: str | None) -> str:
    """The first line of an import's summary: which roadmap the file became."""
    if area is None:
        return "Загружена региональная дорожная карта."
    return f"Загружена дорожная карта муниципалитета «{escape(_name(area, 100))}»."
