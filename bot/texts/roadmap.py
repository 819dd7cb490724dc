"""The roadmap import's summary for the officer: which activities go into reservists' plans and
which the importer guessed (a chapter of :mod:`bot.texts`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.texts import KIND_NAMES, cut, esc

GUESSES_SHOWN = 5  # at most this many activities to check are named
BTN_CHANGE_KIND = "Изменить вид"
PICK_KIND = "Выберите вид мероприятия «{title}». Повторная загрузка того же файла его сохранит."


def roadmap_audience(
    total: int, in_plans: int, to_check: Sequence[tuple[str, str, bool]], kept: int = 0
) -> str:
    """Who the imported activities are for; ``to_check`` holds (title, kind, in plans) of the
    activities no rule on the wording decided (their buttons open their cards); ``kept``
    counts the activities whose «in plans» the officer had set and the import kept."""
    lines = [
        f"В планы резервистов входят мероприятий: {in_plans} из {total}.",
        (
            f"Остальные ({total - in_plans}) — работа отдела с резервом (формирование резерва, "
            "назначения, мониторинг): они остаются в дорожной карте."
        ),
    ]
    if kept:
        lines.append(f"Ваше решение «в планах / не в планах» сохранено для мероприятий: {kept}.")
    if to_check:
        lines.append(
            f"\nПроверьте ({len(to_check)}): вид или адресат определены по разделу, а не по "
            "формулировке. Кнопка открывает мероприятие: там его можно включить в планы или "
            "убрать из них и изменить вид."
        )
        for title, kind, planned in to_check[:GUESSES_SHOWN]:
            where = "в планах" if planned else "не в планах"
            lines.append(f"• {esc(cut(title, 80))} — {KIND_NAMES.get(kind, kind)}, {where}")
        if len(to_check) > GUESSES_SHOWN:
            lines.append(f"…и ещё {len(to_check) - GUESSES_SHOWN}")
    return "\n".join(lines)


def pick_kind(title: str) -> str:
    """The prompt above the kinds of an activity."""
    return PICK_KIND.format(title=esc(cut(title, 200)))
