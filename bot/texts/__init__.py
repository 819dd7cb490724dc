"""Every user-facing string of the bot, in Russian, in one place: this module and its chapters
(:mod:`bot.texts.people` for the bulk import of people, and the others beside it).

Handlers and services take their words from here; nothing the user reads is written elsewhere.
Plain constants are complete messages; functions format the ones that carry values. Messages
are sent with HTML parse mode, so values inserted here are escaped with :func:`esc`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from html import escape

CONSENT_VERSION = "2026-11"

MONTHS = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)  # fmt: skip

ROLE_NAMES = {"reservist": "резервист", "mentor": "наставник", "officer": "специалист отдела"}
KIND_NAMES = {
    "diagnostics": "диагностика",
    "training": "тренинг",
    "seminar": "семинар",
    "competition": "конкурс",
    "self_government_day": "день самоуправления",
    "internship": "стажировка",
    "courses": "курсы",
    "consultation": "консультация",
    "interview": "собеседование",
    "planning": "планирование",
    "monitoring": "мониторинг",
    "other": "другое",
}


def esc(value: object) -> str:
    """HTML-escape a value for a message sent with parse_mode=HTML."""
    return escape(str(value), quote=False)


def fmt_date(value: date) -> str:
    """A date as ДД.ММ.ГГГГ."""
    return value.strftime("%d.%m.%Y")


# --- Telegram's limits (Bot API): every text built here keeps within them ----------------------
MESSAGE_LIMIT = 4096  # a message text; counted here with its HTML markup, which errs safe
CAPTION_LIMIT = 1024  # a photo's or document's caption
ALERT_LIMIT = 200  # the text of answerCallbackQuery (an alert or a toast)
CALLBACK_DATA_LIMIT = 64  # bytes of a button's callback data
NAME_SHOWN = 100  # a person's name inside a list line
CARD_HISTORY_BUDGET = 2500  # a person's card keeps the newest steps of its history in this
TITLE_SHOWN = 200  # an item's title inside a list line (the card shows it whole)


def cut(value: str, limit: int) -> str:
    """``value`` shortened to ``limit`` characters with «…» (before escaping)."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def more_lines(count: int) -> str:
    """The line standing for ``count`` lines of a list that did not fit."""
    return f"…и ещё {count}"


def earlier_lines(count: int) -> str:
    """The line standing for ``count`` earlier entries that did not fit."""
    return f"…и ещё {count} раньше"


def _size(lines: list[str]) -> int:
    return sum(len(line) + 1 for line in lines)


def fits_first(lines: list[str], budget: int, more: Callable[[int], str] = more_lines) -> int:
    """How many of the first ``lines`` fit in ``budget`` characters (joined by line breaks),
    leaving room for ``more(rest)`` when not all of them fit."""
    if _size(lines) <= budget:
        return len(lines)
    kept = 0
    while kept < len(lines) and _size([*lines[: kept + 1], more(len(lines))]) <= budget:
        kept += 1
    return kept


def fit_first(lines: list[str], budget: int, more: Callable[[int], str] = more_lines) -> list[str]:
    """The first ``lines`` that fit in ``budget`` characters, followed by ``more(rest)`` when
    some did not fit."""
    kept = fits_first(lines, budget, more)
    if kept == len(lines):
        return list(lines)
    return [*lines[:kept], more(len(lines) - kept)]


def fits_last(lines: list[str], budget: int, more: Callable[[int], str] = earlier_lines) -> int:
    """How many of the last ``lines`` fit in ``budget`` characters (joined by line breaks),
    leaving room for ``more(rest)`` when not all of them fit."""
    if _size(lines) <= budget:
        return len(lines)
    kept = 0
    for line in reversed(lines):
        if _size([more(len(lines)), line]) + _size(lines[len(lines) - kept :]) > budget:
            break
        kept += 1
    return kept


def fit_last(
    lines: list[str], budget: int, more: Callable[[int], str] = earlier_lines
) -> list[str]:
    """The last ``lines`` that fit in ``budget`` characters, preceded by ``more(rest)`` when
    earlier ones did not fit."""
    kept = fits_last(lines, budget, more)
    if kept == len(lines):
        return list(lines)
    return [more(len(lines) - kept), *lines[len(lines) - kept :]]


# --- commands menu (setMyCommands); Telegram allows 3-256 chars per description -------------
COMMANDS_GUEST = {"start": "Начать", "help": "Что умеет бот"}
COMMANDS_RESERVIST = {
    "plan": "Мой индивидуальный план",
    "log": "Отметить выполненное",
    "consult": "Записать консультацию с наставником",
    "settings": "Часовой пояс и напоминания",
    "me": "Мои данные",
    "help": "Помощь",
    "cancel": "Отменить действие",
}
COMMANDS_MENTOR = {
    "mentees": "Мои подопечные и их планы",
    "consult": "Записать консультацию",
    "settings": "Часовой пояс и напоминания",
    "me": "Мои данные",
    "help": "Помощь",
    "cancel": "Отменить действие",
}
COMMANDS_OFFICER = {
    "invite": "Пригласить участника",
    "find": "Найти человека",
    "assign": "Назначить наставника резервисту",
    "pairs": "Пары «резервист – наставник»",
    "broadcast": "Рассылка",
    "export": "Выгрузка в Excel",
    "kpi": "Показатели дорожной карты",
    "report": "Итоговая справка по плану",
    "roadmap": "Дорожная карта",
    "settings": "Часовой пояс и напоминания",
    "me": "Мои данные",
    "help": "Помощь",
    "cancel": "Отменить действие",
}
#: The menu a registered user gets, by role (the values of ``storage.models.Role``).
COMMANDS_BY_ROLE = {
    "reservist": COMMANDS_RESERVIST,
    "mentor": COMMANDS_MENTOR,
    "officer": COMMANDS_OFFICER,
}

# --- access ---------------------------------------------------------------------------------
NO_ACCESS = (
    "Здравствуйте! Этот бот сопровождает кадровый резерв руководителей образовательных "
    "организаций. Доступ к нему открывается по личной ссылке-приглашению от отдела образования. "
    "Если вы участник резерва или наставник, попросите ссылку у специалиста отдела."
)
INVITE_UNKNOWN = (
    "Ссылка-приглашение не найдена. Попросите новую ссылку у специалиста отдела образования."
)
INVITE_EXPIRED = (
    "Срок действия этой ссылки истёк. Попросите новую ссылку у специалиста отдела образования."
)
INVITE_USED = (
    "Эта ссылка уже использована. Попросите новую ссылку у специалиста отдела образования."
)
ALREADY_REGISTERED = "Вы уже зарегистрированы. Команды — в меню, справка — /help."
# the same refusal for a button press: an alert holds at most 200 characters (Bot API)
NO_ACCESS_ALERT = (
    "Доступ к боту открывается по личной ссылке-приглашению от отдела образования. "
    "Попросите её у специалиста отдела."
)
DENIED = "Эта команда вам недоступна."
STALE_BUTTON = "Кнопка устарела или относится не к вам. Ничего не изменено."
UNKNOWN_COMMAND = "Не понимаю это сообщение. Список команд — /help."
CANCELLED = "Действие отменено, ничего не сохранено."
NOTHING_TO_CANCEL = "Отменять нечего."
ERROR = "Что-то пошло не так. Попробуйте ещё раз чуть позже; введённые данные не потеряны."


def welcome_back(name: str | None) -> str:
    """Greeting for a registered user who sends /start."""
    who = f", {esc(name)}" if name else ""
    return f"Здравствуйте{who}! Команды — в меню, справка — /help."


HELP = {
    "reservist": (
        "<b>Что умеет бот</b>\n"
        "/plan — ваш индивидуальный план на год: мероприятия, сроки, отметки\n"
        "/plan add — добавить личный пункт плана\n"
        "/log — отметить выполненное мероприятие (дата, комментарий, подтверждающий файл)\n"
        "/consult — записать консультацию с наставником (он её подтвердит)\n"
        "/settings — часовой пояс, напоминания\n"
        "/me — какие данные о вас хранятся, /delete_me — удалить их\n"
        "/cancel — выйти из любого диалога\n\n"
        "Бот напоминает о мероприятиях заранее (за 7 дней и за день), о сроках (за 3 дня) "
        "и о просроченных пунктах (не чаще раза в неделю). Ночью (21:00–09:00) он молчит."
    ),
    "mentor": (
        "<b>Что умеет бот</b>\n"
        "Вы наставник резерва управленческих кадров.\n"
        "/mentees — ваши подопечные: выполнение планов, просрочки, консультации; из карточки "
        "пункта можно подтвердить выполнение и написать комментарий\n"
        "/consult — записать консультацию (подопечный её подтвердит)\n"
        "Консультации, которые записали подопечные, приходят вам на подтверждение.\n"
        "/settings — часовой пояс, напоминания\n"
        "/me — ваши данные, /delete_me — удалить их\n/cancel — выйти из диалога"
    ),
    "officer": (
        "<b>Что умеет бот</b>\n"
        "/invite reservist|mentor|officer [N] [муниципалитет] — ссылка-приглашение "
        "(N — сколько раз ею можно воспользоваться, по умолчанию 1)\n"
        "/find текст — поиск людей; в карточке — движение в резерве (включение, подготовка, "
        "назначение, исключение)\n"
        "/assign — закрепить, сменить или снять наставника резервиста\n"
        "/pairs — пары «резервист – наставник»: подтверждённые консультации, выполнение планов\n"
        "/broadcast — рассылка: сообщение, получатели, предпросмотр, ход отправки\n"
        "/export [csv] [год] — выгрузка статусов и показателей в Excel (или CSV)\n"
        "/kpi [год] — показатели дорожной карты (D = K / O × 100 %) с диаграммой\n"
        "/report [ФИО] — итоговая справка по индивидуальному плану (.docx) и заключение "
        "по итогам собеседования\n"
        "/roadmap — мероприятия дорожной карты: изменить, добавить, убрать\n"
        "/settings — часовой пояс, напоминания\n/me — ваши данные\n/cancel — выйти из диалога\n\n"
        "Пришлите боту файл .docx или .txt — он загрузит новую дорожную карту. "
        "Пришлите таблицу .xlsx или .csv со столбцами ФИО, организация, должность, "
        "муниципалитет, роль (по желанию — наставник, год включения) — бот вернёт её "
        "со столбцом личных ссылок-приглашений."
    ),
}

# --- registration -----------------------------------------------------------------------------
CONSENT = (
    "<b>Согласие на обработку персональных данных</b>\n\n"
    "Для участия в сопровождении кадрового резерва отдел образования обрабатывает ваши "
    "персональные данные: ФИО, место работы, должность, муниципалитет, отметки о выполнении "
    "индивидуального плана и прикреплённые вами файлы. Данные используются только для "
    "сопровождения резерва и отчётов отдела образования (Федеральный закон от 27.07.2006 "
    "№ 152-ФЗ «О персональных данных»). Согласие можно отозвать командой /delete_me.\n\n"
    "Вы даёте согласие?"
)
CONSENT_YES = "Согласен"
CONSENT_NO = "Не согласен"
CONSENT_REFUSED = (
    "Без согласия на обработку персональных данных участие в сопровождении резерва через бот "
    "невозможно. Мы ничего о вас не сохранили. Если передумаете, откройте ссылку ещё раз."
)
ASK_FULL_NAME = "Как вас зовут? Напишите фамилию, имя и отчество полностью."
ASK_ORGANISATION = "Ваша образовательная организация (полное или краткое название школы)?"
ASK_POSITION = "Ваша должность?"
ASK_MUNICIPALITY = "Муниципалитет (район, городской округ), где вы работаете?"
BAD_TEXT_EMPTY = "Ответ пустой. Напишите текстом, пожалуйста."
BAD_TEXT_COMMAND = "Здесь нужен ответ текстом, а не команда. Чтобы прервать, отправьте /cancel."
BAD_TEXT_NUL = "В ответе есть недопустимый символ (NUL). Напишите ответ обычным текстом."
BAD_TEXT_NOT_TEXT = "Пришлите ответ обычным текстовым сообщением."
BAD_FULL_NAME = "Укажите фамилию, имя и (если есть) отчество — хотя бы два слова, только буквы."


def bad_text_length(low: int, high: int) -> str:
    """A text answer is too short or too long."""
    return f"Ответ должен быть длиной от {low} до {high} символов."


def registered(role: str, name: str) -> str:
    """The end of registration."""
    if role == "reservist":
        return (
            f"Готово, {esc(name)}! Вы зарегистрированы как участник кадрового резерва.\n"
            "Ваш индивидуальный план на год составлен по дорожной карте отдела образования: "
            "/plan. Отмечайте выполненное командой /log. Справка — /help."
        )
    who = ROLE_NAMES.get(role, role)
    return f"Готово, {esc(name)}! Вы зарегистрированы ({who}). Справка — /help."


# --- invites ----------------------------------------------------------------------------------
INVITE_USAGE = (
    "Использование: /invite reservist|mentor|officer [N] [муниципалитет]\n"
    "Например: <code>/invite reservist 10 Петровский район</code> — ссылка для 10 резервистов."
)


def invite_other_municipality(own: str) -> str:
    """A municipal officer tried to invite into another municipality."""
    return f"Вы можете приглашать только в свой муниципалитет: {esc(own)}."


def invite_created(role: str, link: str, uses: int, expires: str, municipality: str | None) -> str:
    """The officer's answer with a new invite link."""
    where = f"\nМуниципалитет: {esc(municipality)}" if municipality else ""
    times = "одного человека" if uses == 1 else f"{uses} человек"
    return (
        f"Ссылка-приглашение ({ROLE_NAMES.get(role, role)}) для {times}:\n{link}\n"
        f"Действует до {expires}.{where}"
    )


# --- profile ----------------------------------------------------------------------------------
def profile(
    *,
    role: str,
    full_name: str | None,
    organisation: str | None,
    position: str | None,
    municipality: str | None,
    timezone: str,
    muted: bool,
    consent: str | None,
    telegram_id: int | None,
) -> str:
    """What /me shows: every stored field."""
    dash = "—"
    return (
        "<b>Какие данные о вас хранятся</b>\n"
        f"Роль: {ROLE_NAMES.get(role, role)}\n"
        f"ФИО: {esc(full_name or dash)}\n"
        f"Организация: {esc(organisation or dash)}\n"
        f"Должность: {esc(position or dash)}\n"
        f"Муниципалитет: {esc(municipality or dash)}\n"
        f"Telegram ID: {telegram_id or dash}\n"
        f"Часовой пояс: {esc(timezone)}\n"
        f"Напоминания: {'выключены' if muted else 'включены'}\n"
        f"Согласие на обработку данных: {esc(consent or dash)}\n\n"
        "Также хранятся ваши отметки о выполнении плана и прикреплённые файлы. "
        "Удалить данные — /delete_me."
    )


def consent_line(version: str, published: str, accepted: str) -> str:
    """/me: which version of the consent text was accepted and when (local time)."""
    return f"версия {version} (текст от {published}), дано {accepted}"


DELETE_CONFIRM = (
    "Удалить ваши персональные данные и отозвать согласие на их обработку? ФИО, организация, "
    "должность, Telegram ID, ваши комментарии, темы и заметки консультаций, личные пункты "
    "плана, заключение собеседования и файлы будут удалены; наставничество завершится. "
    "Обезличенные отметки о выполнении плана останутся в отчётах отдела образования. После "
    "удаления бот перестанет вас узнавать."
)
DELETE_YES = "Да, удалить"
DELETE_NO = "Нет"
DELETED = "Ваши персональные данные удалены. Спасибо за участие!"
DELETE_KEPT = "Хорошо, ничего не удалено."
PAIR_ENDED_MENTOR_DELETED = (
    "Ваш наставник удалил свои данные из бота, наставничество завершено. "
    "Отдел образования может назначить вам нового наставника."
)
PAIR_ENDED_MENTEE_DELETED = (
    "Один из ваших подопечных удалил свои данные из бота, наставничество с ним завершено. "
    "Ваши подопечные — /mentees."
)
# the stored text of a consent version the bot has no wording of (see migration 0007)
CONSENT_TEXT_UNKNOWN = "(текст этой версии не сохранён)"
# the title a personal plan item keeps after its owner's deletion (the text they typed is gone)
ERASED_ITEM_TITLE = "Личный пункт плана (данные удалены)"
# the consent journal (python -m bot consents): columns of the CSV
CONSENTS_CSV_HEADER = ("Версия согласия", "Согласие дано (UTC)", "Согласие отозвано (UTC)",
                       "ID пользователя", "ФИО")  # fmt: skip

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
        lines.extend(fit_last(notes, MESSAGE_LIMIT - _size(lines) - _size(history) - 20))
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

# --- settings ---------------------------------------------------------------------------------
ZONES = (
    ("Europe/Kaliningrad", "Калининград (МСК−1)"),
    ("Europe/Moscow", "Москва (МСК)"),
    ("Europe/Samara", "Самара (МСК+1)"),
    ("Asia/Yekaterinburg", "Екатеринбург (МСК+2)"),
    ("Asia/Omsk", "Омск (МСК+3)"),
    ("Asia/Krasnoyarsk", "Красноярск (МСК+4)"),
    ("Asia/Irkutsk", "Иркутск (МСК+5)"),
    ("Asia/Yakutsk", "Якутск (МСК+6)"),
    ("Asia/Vladivostok", "Владивосток, Хабаровск (МСК+7)"),
    ("Asia/Magadan", "Магадан (МСК+8)"),
    ("Asia/Kamchatka", "Камчатка (МСК+9)"),
)


def settings_text(zone_label: str, muted: bool, quiet: str) -> str:
    """What /settings shows."""
    state = "выключены" if muted else "включены"
    return (
        f"<b>Настройки</b>\nЧасовой пояс: {esc(zone_label)}\nНапоминания: {state}\n"
        f"Тихие часы: {quiet} (в это время бот не присылает напоминаний)"
    )


BTN_ZONE = "Сменить часовой пояс"
BTN_MUTE = "Выключить напоминания"
BTN_UNMUTE = "Включить напоминания"
ZONE_PICK = "Выберите часовой пояс:"


def zone_set(label: str) -> str:
    """Confirmation of a new time zone."""
    return f"Часовой пояс: {esc(label)}. Напоминания будут приходить по этому времени."


MUTED = "Напоминания выключены. Включить снова — /settings."
UNMUTED = "Напоминания включены."

# --- reminders --------------------------------------------------------------------------------


def notice_window(title: str, starts: date, days: int) -> str:
    """An activity's window opens soon."""
    when = "завтра" if days == 1 else (f"через {days} дн." if days > 1 else "сегодня")
    return (
        f"🔔 Скоро мероприятие плана: <b>{esc(title)}</b>\nНачало — {when} ({fmt_date(starts)})."
    )


def notice_due(title: str, due: date, days: int) -> str:
    """A plan item is due soon."""
    left = "сегодня" if days <= 0 else ("завтра" if days == 1 else f"через {days} дн.")
    return (
        f"⏳ Срок пункта плана «{esc(title)}» истекает {left} ({fmt_date(due)}).\n"
        "Если уже выполнено — отметьте."
    )


def notice_overdue(title: str, due: date) -> str:
    """A plan item is overdue."""
    return (
        f"⚠️ Пункт плана «{esc(title)}» просрочен (срок был {fmt_date(due)}).\n"
        "Если он выполнен — отметьте, если нет — обсудите с наставником или отделом образования."
    )


def notice_snoozed(title: str) -> str:
    """A reminder the user asked to repeat later."""
    return f"🔔 Напоминание: пункт плана «{esc(title)}» ещё не отмечен выполненным."


def notices_digest(count: int) -> str:
    """The first line of one message that gathers several reminders for the same user."""
    return f"🔔 <b>Напоминания по плану ({count})</b>"


def notice_numbered(number: int, notice: str) -> str:
    """One reminder inside a gathered message, numbered like its buttons."""
    return f"{number}. {notice}"


def btn_notice_done(number: int, title: str) -> str:
    """The «mark done» button of the ``number``-th reminder of a gathered message."""
    return f"✅ {number}. {title}"


SNOOZED = "Хорошо, напомню завтра."
STEP_PASSED = "Этот шаг уже пройден."
SNOOZED_ALREADY = "Уже отложено: напомню завтра."

# --- mentoring: assignments (officers) ------------------------------------------------------
PICK_RESERVIST = (
    "Выберите резервиста. Чтобы найти, напишите часть фамилии, названия школы или муниципалитета."
)
PICK_MENTOR = (
    "Выберите наставника. Чтобы найти, напишите часть фамилии, названия школы или муниципалитета."
)
NOBODY_FOUND = "Никого не нашлось. Напишите другой запрос или отправьте /cancel."
NO_RESERVISTS = "В боте пока нет резервистов. Пригласите их: /invite reservist"
NO_MENTORS = "В боте пока нет наставников. Пригласите их: /invite mentor"
ALREADY_ASSIGNED = "Этот наставник уже закреплён за резервистом."
NO_ACTIVE_MENTOR = "У резервиста нет действующего наставника."
BTN_ASSIGN = "Назначить наставника"
BTN_REASSIGN = "Сменить наставника"
BTN_END = "Завершить наставничество"


def people_page(title: str, query: str | None, total: int, page: int, pages: int) -> str:
    """Header of a searchable list of people."""
    found = f"Поиск: «{esc(cut(query, NAME_SHOWN))}». " if query else ""
    return f"{title}\n\n{found}Найдено: {total}. Страница {page} из {pages}."


def person_label(name: str | None, organisation: str | None) -> str:
    """A person in a button: name and school."""
    return f"{name or '—'} — {organisation}" if organisation else (name or "—")


def reservist_card(
    name: str, organisation: str | None, municipality: str | None, mentor: str | None,
    history: list[str],
) -> str:  # fmt: skip
    """An officer's card of a reservist with the mentor and the history of assignments."""
    lines = [
        f"<b>{esc(name)}</b>",
        esc(", ".join(filter(None, (organisation, municipality))) or "—"),
        f"Наставник: {esc(mentor) if mentor else 'не назначен'}",
    ]
    if history:
        lines += ["", "<i>История наставничества</i>", *fit_last(history, CARD_HISTORY_BUDGET)]
    return "\n".join(lines)


def assignment_line(mentor: str, since: str, until: str | None) -> str:
    """One past or current assignment."""
    return f"{esc(mentor)}: с {since}" + (f" по {until}" if until else " (действует)")


def assigned_officer(reservist: str, mentor: str) -> str:
    """The officer's confirmation."""
    return f"Наставник <b>{esc(mentor)}</b> закреплён за резервистом <b>{esc(reservist)}</b>."


def assigned_reservist(mentor: str, organisation: str | None) -> str:
    """The reservist is told who their mentor is."""
    org = f" ({esc(organisation)})" if organisation else ""
    return (
        f"Вам назначен наставник: <b>{esc(mentor)}</b>{org}.\n"
        "Записывайте консультации командой /consult — наставник их подтвердит."
    )


def assigned_mentor(reservist: str, organisation: str | None) -> str:
    """The mentor is told about a new mentee."""
    org = f" ({esc(organisation)})" if organisation else ""
    return (
        f"Вы назначены наставником резервиста <b>{esc(reservist)}</b>{org}.\n"
        "Ваши подопечные и их планы — /mentees."
    )


def assignment_ended(other: str) -> str:
    """Either side is told that the assignment ended."""
    return f"Наставничество в паре с {esc(other)} завершено отделом образования."


def ended_officer(reservist: str, mentor: str) -> str:
    """The officer's confirmation of an ended assignment."""
    return f"Наставничество {esc(mentor)} над резервистом {esc(reservist)} завершено."


# --- mentoring: consultations ---------------------------------------------------------------
FORMAT_NAMES = {"in_person": "очно", "online": "онлайн", "phone": "по телефону"}
CONSULT_NO_MENTOR = "Вам ещё не назначен наставник. Его закрепляет отдел образования."
CONSULT_NO_MENTEES = "За вами пока не закреплены резервисты."
CONSULT_PICK_MENTEE = "С кем была консультация?"
CONSULT_ASK_DATE = "Когда прошла консультация? Нажмите «Сегодня» или напишите дату ДД.ММ.ГГГГ."
CONSULT_ASK_FORMAT = "В каком формате?"
CONSULT_ASK_TOPIC = "Тема консультации?"
CONSULT_ASK_MINUTES = "Сколько минут она длилась? Напишите число от 5 до 480."
CONSULT_ASK_NOTE = "Заметка (договорённости, задания) — или нажмите «Пропустить»."
CONSULT_ASK_ITEM = "Связать консультацию с пунктом индивидуального плана?"
BTN_NO_ITEM = "Без привязки к плану"
BAD_MINUTES = "Укажите длительность в минутах — целое число от 5 до 480."
BAD_FORMAT = "Выберите формат кнопкой."
BAD_BUTTON_EXPECTED = "Выберите вариант кнопкой ниже или отправьте /cancel."
BTN_CONFIRM = "Подтвердить"
BTN_DECLINE = "Отклонить"
ALREADY_DECIDED = "По этой консультации уже принято решение."
DECLINE_ASK_REASON = "Почему отклоняете? Коротко напишите причину — её увидит другая сторона."
CONSULT_CONFIRMED_OK = "Консультация подтверждена. Спасибо!"
CONSULT_DECLINED_OK = "Консультация отклонена, причина передана."


def consult_summary(
    held_on: date, fmt: str, topic: str, minutes: int, note: str | None, item: str | None
) -> str:
    """The facts of a consultation."""
    lines = [
        f"Дата: {fmt_date(held_on)}, {FORMAT_NAMES.get(fmt, fmt)}, {minutes} мин.",
        f"Тема: {esc(topic)}",
    ]
    if note:
        lines.append(f"Заметка: {esc(note)}")
    if item:
        lines.append(f"Пункт плана: {esc(item)}")
    return "\n".join(lines)


def consult_logged(other: str) -> str:
    """The logger is told the consultation awaits confirmation."""
    return (
        f"Консультация записана и отправлена на подтверждение: {esc(other)}. "
        "В отчётах она учитывается после подтверждения."
    )


def consult_request(who: str, summary: str) -> str:
    """The other side is asked to confirm."""
    return f"🤝 {esc(who)} записал(а) консультацию с вами:\n{summary}\n\nПодтвердите, пожалуйста."


def consult_confirmed(who: str, summary: str) -> str:
    """The logger is told it was confirmed."""
    return f"✅ {esc(who)} подтвердил(а) консультацию:\n{summary}"


def consult_declined(who: str, summary: str, reason: str) -> str:
    """The logger is told it was declined and why."""
    return f"❌ {esc(who)} отклонил(а) консультацию:\n{summary}\nПричина: {esc(reason)}"


def confirm_digest(count: int) -> str:
    """The daily digest of unanswered confirmations."""
    return (
        f"🔔 Ждут вашего подтверждения консультации: {count}. "
        "Подтвердите или отклоните их кнопками ниже."
    )


def digest_line(who: str, held_on: date, topic: str) -> str:
    """One consultation in a digest button."""
    return f"{fmt_date(held_on)} · {who} · {topic}"


# --- mentoring: the mentor's view ------------------------------------------------------------
MENTEES_EMPTY = "За вами пока не закреплены резервисты."
STALLED_MARK = "⏸ нет активности 30 дней"


def mentees_header(count: int) -> str:
    """Title of /mentees."""
    return f"<b>Ваши подопечные: {count}</b>"


def mentee_line(
    name: str, done: int, total: int, confirmed: int, overdue: int, consultations: int,
    last: str | None, stalled: bool,
) -> str:  # fmt: skip
    """One mentee in /mentees."""
    who = esc(cut(name, NAME_SHOWN))
    parts = [f"<b>{who}</b>: выполнено {done} из {total}, подтверждено {confirmed}"]
    if overdue:
        parts.append(f"просрочено {overdue}")
    parts.append(f"консультаций в этом году: {consultations}")
    parts.append(f"последняя активность: {last or '—'}")
    line = ", ".join(parts)
    return f"{line}\n{STALLED_MARK}" if stalled else line


def mentee_plan_header(name: str, year: int, done: int, total: int, confirmed: int) -> str:
    """Title of a mentee's plan seen by the mentor."""
    return (
        f"<b>План резервиста {esc(name)} на {year} год</b>\n"
        f"Выполнено {done} из {total}, подтверждено наставником: {confirmed}"
    )


BTN_CONFIRM_ITEM = "Подтвердить выполнение"
BTN_COMMENT = "Комментарий / рекомендация"
BTN_EVIDENCE = "Показать подтверждающий файл"
BTN_TO_MENTEE = "« К плану подопечного"
ITEM_CONFIRMED_OK = "Выполнение подтверждено."
ITEM_ALREADY_CONFIRMED = "Этот пункт уже подтверждён."
ITEM_NOT_CONFIRMABLE = (
    "Подтверждают пункты, отмеченные выполненными, которые по дорожной карте требуют "
    "подтверждения или к которым приложен файл."
)
COMMENT_ASK = "Напишите комментарий или рекомендацию — резервист получит его текст."
COMMENT_SAVED = "Комментарий отправлен резервисту."
NO_EVIDENCE = "К этому пункту не приложен файл."


def item_confirmed(title: str, mentor: str) -> str:
    """The reservist is told the mentor confirmed an item."""
    return f"🏅 Наставник {esc(mentor)} подтвердил выполнение: <b>{esc(title)}</b>."


def item_commented(title: str, mentor: str, text: str) -> str:
    """The reservist gets the mentor's comment."""
    return f"💬 Наставник {esc(mentor)} о пункте «{esc(title)}»:\n{esc(text)}"


def comment_line(author: str, at: str, text: str) -> str:
    """A comment in an item card."""
    return f"💬 {esc(author)}, {esc(at)}: {esc(text)}"


def confirmed_line(at: str) -> str:
    """The confirmation line of an item card."""
    return f"🏅 Подтверждено наставником {esc(at)}"


def mentor_weekly(lines: list[str]) -> str:
    """The mentors' weekly digest."""
    return "<b>Подопечные, которым нужно внимание</b>\n" + "\n".join(
        fit_first(lines, MESSAGE_LIMIT - 100)
    )


def weekly_line(name: str, overdue: int, stalled: bool) -> str:
    """One mentee in the weekly digest."""
    reasons = []
    if overdue:
        reasons.append(f"просрочено пунктов: {overdue}")
    if stalled:
        reasons.append("нет активности 30 дней")
    return f"• {esc(cut(name, NAME_SHOWN))}: " + ", ".join(reasons)


# --- mentoring: officers' report ----------------------------------------------------------
PAIRS_EMPTY = "Пока нет закреплённых пар «резервист – наставник». Назначить — /assign."


def pairs_header(count: int, confirmed: int, stalled: int) -> str:
    """Title of /pairs."""
    return (
        f"<b>Пары «резервист – наставник»: {count}</b>\n"
        f"Подтверждённых консультаций в этом году: {confirmed}. Без активности 30 дней: {stalled}."
    )


def pair_line(
    reservist: str, mentor: str, confirmed: int, pending: int, done: int, total: int,
    stalled: bool,
) -> str:  # fmt: skip
    """One pair in /pairs."""
    line = (
        f"{esc(cut(reservist, NAME_SHOWN))} ← {esc(cut(mentor, NAME_SHOWN))}: "
        f"консультаций подтверждено {confirmed}"
        + (f", ждут подтверждения {pending}" if pending else "")
        + f"; план: {done} из {total}"
    )
    return f"{line} {STALLED_MARK}" if stalled else line


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
        budget = MESSAGE_LIMIT - ROADMAP_REPLY_RESERVE - _size(lines) - 30
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


# --- broadcasts: composing (the progress and report texts are in bot.texts.broadcast) --------
BROADCAST_COMPOSE = (
    "Пришлите сообщение для рассылки: текст (с форматированием), фото или документ — "
    "одно или несколько. Когда всё готово, нажмите «Готово»."
)
BTN_BROADCAST_DONE = "Готово"
BTN_BROADCAST_CANCEL = "Отмена"
BROADCAST_NOTHING_YET = "Сначала пришлите хотя бы одно сообщение."
BROADCAST_UNSUPPORTED = "В рассылку можно добавить текст, фото или документ."
BROADCAST_PICK_AUDIENCE = "Кому отправить?"
AUDIENCE_NAMES = {
    "all": "Всем",
    "reservists": "Резервистам",
    "mentors": "Наставникам",
    "municipality": "Муниципалитету…",
    "organisation": "Организации…",
    "cohort": "Году включения…",
    "overdue": "Резервистам с просрочками",
}
BROADCAST_PICK_VALUE = "Выберите:"
BROADCAST_NO_VALUES = "Выбрать не из чего: в вашей зоне нет таких людей."
BROADCAST_ASK_RSVP = (
    "Добавить кнопки «Буду» / «Не смогу»? Ответы вы увидите в отчёте (/broadcasts)."
)
BTN_RSVP_YES = "С кнопками «Буду / Не смогу»"
BTN_RSVP_NO = "Без кнопок"
BROADCAST_PREVIEW = "Так увидят рассылку получатели:"
BTN_BROADCAST_SEND = "Отправить"
BROADCAST_EMPTY_AUDIENCE = "Получателей нет: выберите другую аудиторию или /cancel."
BROADCAST_STARTING = "📣 Рассылка начинается…"
BROADCAST_CANCELLED = "Рассылка отменена, ничего не отправлено."
BROADCASTS_EMPTY = "Рассылок пока не было. Новая — /broadcast."


def broadcast_added(count: int) -> str:
    """A part was added to the broadcast being composed."""
    return f"Добавлено сообщений: {count}. Пришлите ещё или нажмите «Готово»."


def broadcast_summary(label: str, recipients: int, parts: int, rsvp: bool) -> str:
    """The confirmation question before sending."""
    buttons = "с кнопками «Буду / Не смогу»" if rsvp else "без кнопок"
    return (
        f"<b>Рассылка</b>: {parts} сообщ., {buttons}\nКому: {esc(label)}\n"
        f"Получателей: <b>{recipients}</b>\n\nОтправить?"
    )


def audience_label(kind: str, value: str | None) -> str:
    """An audience in words."""
    base = AUDIENCE_NAMES.get(kind, kind).rstrip("…")
    return f"{base} «{value}»" if value else base
