"""A person's own data and settings, in Russian: what /me shows, /delete_me and what it leaves
behind (ended mentoring, the title of an erased personal item, the consent journal's columns),
and /settings (time zone, reminders on or off). A chapter of :mod:`bot.texts`.

Messages are sent with HTML parse mode; values are escaped with :func:`bot.texts.common.esc`.
"""

from __future__ import annotations

from bot.texts.common import ROLE_NAMES, esc


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
