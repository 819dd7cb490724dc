"""The roadmap for officers, in Russian: /roadmap (the list, an activity's card and its edits),
the reply to a roadmap document with the importer's warnings, and the import's summary: which
activities go into reservists' plans and which the importer guessed. A chapter of
:mod:`bot.texts`.

Messages are sent with HTML parse mode; values are escaped with :func:`bot.texts.common.esc`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.texts.common import (
    KIND_NAMES,
    MESSAGE_LIMIT,
    cut,
    esc,
    fits_first,
    joined_size,
    more_lines,
)

# --- roadmap management (officers) -----------------------------------------------------------
BAD_SCHEDULE = (
    "Не удалось прочитать сроки. Напишите, например: «март», «Март июнь октябрь», "
    "«Декабрь-январь», «ежеквартально», «в течение года», «по запросу»."
)
ACTIVITY_EXISTS = "Такое мероприятие уже есть в дорожной карте."
ROADMAP_FILE_TYPE = "Дорожную карту можно загрузить файлом .docx или .txt."
ROADMAP_EMPTY = (
    "В дорожной карте пока нет мероприятий. Добавьте их кнопкой или пришлите файл .docx / .txt."
)
ASK_ACTIVITY_TITLE = "Название мероприятия?"
ASK_ACTIVITY_SCHEDULE = (
    "Сроки? Например: «март», «Март июнь октябрь», «Декабрь-январь», «ежеквартально», "
    "«в течение года», «по запросу»."
)
BTN_ADD_ACTIVITY = "➕ Добавить мероприятие"
BTN_RENAME = "Изменить название"
BTN_RESCHEDULE = "Изменить сроки"
BTN_REMOVE = "Удалить из дорожной карты"
BTN_TO_ROADMAP = "« К дорожной карте"
ACTIVITY_REMOVED = (
    "Мероприятие убрано из дорожной карты и из будущих планов. Выполненное резервистами сохранено."
)


def roadmap_not_read(reason: str) -> str:
    """A document with no activity table."""
    return f"Не удалось найти в файле таблицу мероприятий: {esc(reason)}. Ничего не изменено."


def roadmap_header(count: int, page: int, pages: int) -> str:
    """Title of /roadmap."""
    return (
        f"<b>Дорожная карта: {count} мероприятий</b>\nСтраница {page} из {pages}. "
        "Откройте мероприятие, чтобы изменить его; новую дорожную карту можно прислать файлом."
    )


def flag_button(name: str, on: bool) -> str:
    """A toggle's label."""
    return f"{name}: {'да' if on else 'нет'}"


FLAG_FOR_RESERVISTS = "В планах резервистов"
FLAG_NEEDS_CONFIRMATION = "Требует подтверждения наставника"


def activity_card(
    title: str, kind: str, schedule: str, section: str, for_reservists: bool, confirm: bool
) -> str:
    """An activity of the roadmap for officers."""
    lines = [
        f"<b>{esc(title)}</b>",
        f"Вид: {KIND_NAMES.get(kind, kind)}",
        f"Сроки: {esc(schedule)}",
    ]
    if section:
        lines.append(f"Раздел: {esc(section)}")
    lines.append(f"{FLAG_FOR_RESERVISTS}: {'да' if for_reservists else 'нет'}")
    lines.append(f"{FLAG_NEEDS_CONFIRMATION}: {'да' if confirm else 'нет'}")
    return "\n".join(lines)


def activity_saved(title: str, added: int) -> str:
    """An activity was added or changed."""
    tail = f" В планы добавлено пунктов: {added}." if added else ""
    return f"Сохранено: <b>{esc(title)}</b>. Планы резервистов обновлены.{tail}"


def roadmap_imported(
    name: str, activities: int, created: int, updated: int, archived: int, items: int,
    warnings: list[str],
) -> str:  # fmt: skip
    """The reply to a roadmap document."""
    lines = [
        f"<b>Дорожная карта загружена из «{esc(name)}»</b>",
        f"Мероприятий: {activities} (новых {created}, изменённых {updated}, убранных {archived}).",
        f"В планы резервистов добавлено пунктов: {items}.",
    ]
    if warnings:
        lines.append("\nПредупреждения:")
        shown = [esc(w) for w in warnings[:WARNINGS_SHOWN]]
        budget = MESSAGE_LIMIT - ROADMAP_REPLY_RESERVE - joined_size(lines) - 30
        kept = fits_first(shown, budget)
        lines.extend(shown[:kept])
        if kept < len(warnings):
            lines.append(more_lines(len(warnings) - kept))
    return "\n".join(lines)


WARNINGS_SHOWN = 20  # at most this many warnings in the reply to a roadmap document
ROADMAP_REPLY_RESERVE = 300  # room left for the line the handler puts above the reply
_WARNING_PATTERNS = (
    (
        re.compile(r"cells without a title were joined to the row at line (\d+)"),
        "ячейки без названия мероприятия присоединены к строке {0}",
    ),
    (
        re.compile(r"row has (\d+) cells but the table has (\d+) columns.*"),
        "в строке {0} ячеек, а в таблице {1} столбцов; лишние ячейки добавлены в последний",
    ),
    (
        re.compile(r"row (\d+) has no activity title; skipped"),
        "в строке №{0} нет названия мероприятия; пропущена",
    ),
    (
        re.compile(r"row has no activity title; skipped"),
        "в строке нет названия мероприятия; пропущена",
    ),
    (
        re.compile(r"empty schedule for '(.*)'; treated as on demand", re.S),
        "не указаны сроки мероприятия «{0}»; считается «по мере необходимости»",
    ),
    (
        re.compile(r"unreadable schedule '(.*)' for '(.*)'; treated as on demand", re.S),
        "не удалось прочитать сроки «{0}» мероприятия «{1}»; считается «по мере необходимости»",
    ),
)


def roadmap_warning(line: int, message: str) -> str:
    """A warning of the roadmap importer (its ``message`` is in English, for the command line)
    in Russian, with the values it quotes shortened; plain text (escaped by
    :func:`roadmap_imported`)."""
    for pattern, russian in _WARNING_PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return f"строка {line}: " + russian.format(*(cut(g, 60) for g in found.groups()))
    return f"строка {line}: строка прочитана не полностью"


# --- the import's summary: who the activities are for --------------------------------------------
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
