"""Registration by a personal invite link, in Russian: the consent to the processing of personal
data (and the version of its text), the questions of the form and the checks of typed answers,
the end of registration, and the officer's /invite. A chapter of :mod:`bot.texts`.

Messages are sent with HTML parse mode; values are escaped with :func:`bot.texts.common.esc`.
"""

from __future__ import annotations

from bot.texts.common import ROLE_NAMES, esc

CONSENT_VERSION = "2026-11"


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
