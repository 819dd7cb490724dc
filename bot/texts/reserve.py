"""The reserve lifecycle for officers, in Russian: /find, a person's card with the movement in the
reserve, the status changes (included, training, appointed, excluded) and the notice the person
gets. A chapter of :mod:`bot.texts`.

Messages are sent with HTML parse mode; values are escaped with :func:`bot.texts.common.esc`.
"""

from __future__ import annotations

from bot.texts.common import CARD_HISTORY_BUDGET, ROLE_NAMES, esc, fit_last

# --- reserve lifecycle and /find (officers) -------------------------------------------------
STATUS_NAMES = {
    "candidate": "кандидат",
    "included": "включён в резерв",
    "training": "проходит подготовку",
    "appointed": "назначен на должность",
    "excluded": "исключён из резерва",
}
STATUS_ACTIONS = {
    "candidate": "Кандидат",
    "included": "Включить в резерв",
    "training": "Начало подготовки",
    "appointed": "Назначен на должность",
    "excluded": "Исключить из резерва",
}
BAD_STATUS_MOVE = "Такой переход статуса невозможен."
FIND_USAGE = (
    "Напишите после /find часть фамилии, названия школы или муниципалитета, "
    "например: /find Иванова"
)
FIND_TITLE = "Результаты поиска"
ASK_STATUS_DATE = "Дата (ДД.ММ.ГГГГ) — с какого дня действует изменение?"
ASK_ORDER_NUMBER = "Номер приказа о включении в резерв?"
ASK_POST = "На какую должность назначен(а)?"
ASK_POST_ORG = "В какую организацию?"
ASK_REASON = "Причина исключения из резерва?"


def person_card(
    *,
    name: str,
    role: str,
    organisation: str | None,
    position: str | None,
    municipality: str | None,
    status: str | None,
    cohort: int | None,
    registered: bool,
    mentor: str | None,
    progress: str | None,
    history: list[str],
) -> str:
    """An officer's card of a person."""
    lines = [f"<b>{esc(name)}</b> — {ROLE_NAMES.get(role, role)}"]
    lines.append(esc(", ".join(filter(None, (position, organisation, municipality))) or "—"))
    if status:
        cohort_text = f", год включения {cohort}" if cohort else ""
        lines.append(f"Статус: {STATUS_NAMES.get(status, status)}{cohort_text}")
    if not registered:
        lines.append("Ещё не зарегистрирован(а) в боте")
    if role == "reservist":
        lines.append(f"Наставник: {esc(mentor) if mentor else 'не назначен'}")
    if progress:
        lines.append(progress)
    if history:
        lines += ["", "<i>Движение в резерве</i>", *fit_last(history, CARD_HISTORY_BUDGET)]
    return "\n".join(lines)


def status_line(at: str, status: str, details: str) -> str:
    """One step of the lifecycle in a card."""
    tail = f" ({esc(details)})" if details else ""
    return f"{esc(at)} — {STATUS_NAMES.get(status, status)}{tail}"


def status_changed_officer(name: str, status: str) -> str:
    """The officer's confirmation."""
    return f"{esc(name)}: {STATUS_NAMES.get(status, status)}. Изменение сохранено в истории."


def status_changed_person(status: str, details: str) -> str:
    """The person is told about their new status."""
    tail = f" ({esc(details)})" if details else ""
    base = f"Ваш статус в кадровом резерве: <b>{STATUS_NAMES.get(status, status)}</b>{tail}."
    if status == "appointed":
        base += " Поздравляем! Напоминания резервиста больше не приходят."
    return base
