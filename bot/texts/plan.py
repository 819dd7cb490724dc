"""The individual plan, in Russian: /plan with its pages and item cards (history, the mentor's
comments), logging a completed item (/log) and adding a personal item (/plan add). A chapter of
:mod:`bot.texts`.

Messages are sent with HTML parse mode; values are escaped with :func:`bot.texts.common.esc`.
"""

from __future__ import annotations

from datetime import date

from bot.texts.common import (
    KIND_NAMES,
    MESSAGE_LIMIT,
    MONTHS,
    TITLE_SHOWN,
    cut,
    esc,
    fit_last,
    fmt_date,
    joined_size,
)

# --- plan -------------------------------------------------------------------------------------
STATUS_ICON = {"planned": "▫️", "done": "✅", "overdue": "⚠️"}
STATUS_NAME = {"planned": "запланировано", "done": "выполнено", "overdue": "просрочено"}
PLAN_EMPTY = "В вашем плане пока нет пунктов. Добавьте личный пункт: /plan add"


def plan_header(year: int, done: int, total: int, overdue: int) -> str:
    """Title and progress line of /plan."""
    extra = f", просрочено: {overdue}" if overdue else ""
    return f"<b>Индивидуальный план на {year} год</b>\nВыполнено {done} из {total}{extra}"


def plan_year_usage(year: int) -> str:
    """/plan with a wrong argument."""
    return (
        f"Можно посмотреть план на {year - 1}, {year} или {year + 1} год: "
        f"например, /plan {year + 1}. Добавить пункт — /plan add."
    )


def list_page_footer(page: int, pages: int) -> str:
    """Page counter of a long list (/pairs, /mentees)."""
    return f"Страница {page} из {pages}."


def plan_page_footer(page: int, pages: int) -> str:
    """Page counter of a long plan."""
    return f"Страница {page} из {pages}. Нажмите на пункт, чтобы открыть его."


def when_text(starts: date | None, due: date | None) -> str:
    """The month or range of a plan item: «март», «декабрь 2025 – январь», «в течение года»."""
    if due is None:
        return "по мере необходимости"
    if starts is None or (starts.year == due.year and starts.month == due.month):
        return f"{MONTHS[due.month - 1]} {due.year}"
    if starts.month == 1 and due.month == 12 and starts.year == due.year:
        return f"в течение {due.year} года"
    left = MONTHS[starts.month - 1] + (f" {starts.year}" if starts.year != due.year else "")
    return f"{left} – {MONTHS[due.month - 1]} {due.year}"


def plan_line(
    icon_status: str, title: str, when: str, done_on: date | None, *, confirmed: bool = False
) -> str:
    """One line of /plan; 🏅 marks an item its mentor confirmed."""
    tail = f" — выполнено {fmt_date(done_on)}" if done_on else f" — {when}"
    mark = " 🏅" if confirmed else ""
    return f"{STATUS_ICON[icon_status]} {esc(cut(title, TITLE_SHOWN))}{tail}{mark}"


def item_card(
    *,
    title: str,
    kind: str,
    status: str,
    when: str,
    due: date | None,
    done_on: date | None,
    comment: str | None,
    evidence: str | None,
    personal: bool,
    history: list[str],
    notes: list[str] | None = None,
) -> str:
    """The card of one plan item; ``notes`` are the confirmation and comments lines."""
    lines = [f"<b>{esc(title)}</b>", f"Вид: {KIND_NAMES.get(kind, kind)}"]
    if personal:
        lines.append("Личный пункт плана")
    lines.append(f"Срок: {esc(when)}" + (f" (до {fmt_date(due)})" if due else ""))
    lines.append(f"Статус: {STATUS_NAME[status]}")
    if done_on:
        lines.append(f"Дата выполнения: {fmt_date(done_on)}")
    if comment:
        lines.append(f"Комментарий: {esc(comment)}")
    if evidence:
        lines.append(f"Подтверждение: {esc(evidence)}")
    history = fit_last(history, HISTORY_BUDGET)
    if notes:
        lines.extend(
            fit_last(notes, MESSAGE_LIMIT - joined_size(lines) - joined_size(history) - 20)
        )
    if history:
        lines.append("\n<i>История</i>")
        lines.extend(history)
    return "\n".join(lines)


#: The part of an item card its history may take (the newest entries are kept); the rest is
#: for the title, the comment and the mentor's comments.
HISTORY_BUDGET = 800
#: The part of an item card the mentor's comments may take; older ones page back.
COMMENTS_BUDGET = 2000
BTN_OLDER_COMMENTS = "‹ Более ранние комментарии"


def older_comments(count: int) -> str:
    """The card's line standing for comments that page back."""
    return f"Более ранних комментариев: {count} — кнопка ниже."


def comments_page(title: str, first: int, last: int, total: int) -> str:
    """The header of a page of an item's earlier comments (numbered from the oldest)."""
    return f"<b>{esc(cut(title, TITLE_SHOWN))}</b>\nКомментарии {first}–{last} из {total}"


def history_line(at: str, action: str, who: str) -> str:
    """One entry of an item's history."""
    return f"{esc(at)} — {esc(action)} ({esc(who)})"


HISTORY_ACTIONS = {
    "created": "добавлен",
    "done": "отмечен выполненным",
    "corrected": "отметка исправлена",
    "reopened": "открыт заново",
    "confirmed": "подтверждён наставником",
    "commented": "комментарий наставника",
}
BTN_DONE = "Отметить выполненным"
BTN_CORRECT = "Исправить отметку"
BTN_REOPEN = "Открыть заново"
BTN_BACK = "« К плану"
BTN_PREV = "‹ Назад"
BTN_NEXT = "Далее ›"
BTN_TODAY = "Сегодня"
BTN_SKIP = "Пропустить"
BTN_LATER = "Напомнить позже"
ITEM_REOPENED = "Пункт снова открыт. Прежняя отметка сохранена в истории."
ITEM_NOT_DONE = "Этот пункт ещё не отмечен выполненным."
ITEM_ALREADY_DONE = (
    "Этот пункт уже отмечен выполненным. Чтобы поменять дату или файл — «Исправить отметку»."
)

# --- logging ----------------------------------------------------------------------------------
LOG_PICK = "Какое мероприятие вы выполнили? Выберите пункт плана:"
LOG_NOTHING = "Все пункты плана отмечены выполненными. Отличная работа!"


def log_ask_date(title: str) -> str:
    """Step 1 of logging: the date."""
    return (
        f"<b>{esc(title)}</b>\nКогда выполнено? Нажмите «Сегодня» или напишите дату "
        "в виде ДД.ММ.ГГГГ."
    )


LOG_ASK_COMMENT = "Добавьте комментарий (что сделано, итог) или нажмите «Пропустить»."
LOG_ASK_EVIDENCE = (
    "Прикрепите подтверждение — фото или документ (сертификат, справку, программу) — "
    "или нажмите «Пропустить»."
)
BAD_DATE_FORMAT = "Не понял дату. Напишите её в виде ДД.ММ.ГГГГ, например 15.03.2026."
BAD_DATE_FUTURE = "Дата не может быть в будущем. Напишите дату выполнения в виде ДД.ММ.ГГГГ."


def bad_date_before(year: int) -> str:
    """A logged date is earlier than the plan year allows."""
    return f"Дата не может быть раньше {year} года плана. Напишите дату в виде ДД.ММ.ГГГГ."


BAD_EVIDENCE = "Пришлите фото или документ одним сообщением, или нажмите «Пропустить»."
BAD_COMMENT_LONG = "Комментарий слишком длинный (не больше 1000 символов). Сократите, пожалуйста."


def logged(title: str, done: int, total: int) -> str:
    """The end of logging."""
    return f"Отмечено: <b>{esc(title)}</b>.\nВыполнено {done} из {total}. Так держать!"


def corrected(title: str) -> str:
    """The end of a correction."""
    return f"Отметка исправлена: <b>{esc(title)}</b>. Прежняя сохранена в истории."


# --- personal items ---------------------------------------------------------------------------
ADD_ASK_TITLE = "Название личного пункта плана (например, «Выступить на педсовете»)?"
ADD_ASK_MONTH = "До какого месяца выполнить? Выберите месяц."


def added(title: str, month: int, year: int) -> str:
    """A personal item was added."""
    return f"Добавлено в план: <b>{esc(title)}</b> — {MONTHS[month - 1]} {year}."


BAD_MONTH = "Выберите месяц кнопкой ниже."
