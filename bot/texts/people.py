"""User-facing texts of the bulk import of people and of registration by a personal link, in
Russian: a chapter of the catalogue :mod:`bot.texts`. Messages are sent with HTML parse mode, so
values are escaped with :func:`bot.texts.common.esc`.
"""

from __future__ import annotations

from bot.texts.common import MESSAGE_LIMIT, ROLE_NAMES, cut, esc, fit_first, fits_first

FILE_NAME_SHOWN = 100  # a file name quoted in a reply

# --- the table ------------------------------------------------------------------------------
# How each field is named in messages (the canonical header of its column).
COLUMN_NAMES = {
    "full_name": "ФИО",
    "organisation": "организация",
    "position": "должность",
    "municipality": "муниципалитет",
    "role": "роль",
    "mentor": "наставник",
    "cohort_year": "год включения",
}
LINK_HEADER = "Ссылка-приглашение"
LINK_REGISTERED = "уже зарегистрирован(а) в боте"
OUTPUT_SUFFIX = "_ссылки"

# --- problems of the whole file -------------------------------------------------------------
FILE_EMPTY = "Файл пустой."
FILE_BAD_XLSX = (
    "Не удалось прочитать файл Excel. Сохраните таблицу в формате .xlsx (Книга Excel) "
    "или .csv и отправьте ещё раз."
)
FILE_BAD_CSV = (
    "Не удалось прочитать файл CSV: сохраните его в кодировке UTF-8 или Windows-1251 "
    "с разделителем «;» или «,»."
)
FILE_KIND = "Принимаются таблицы .xlsx и .csv."
NO_HEADER = (
    "Не найдена строка заголовка: в одной из первых строк таблицы должен быть столбец «ФИО» "
    "(а также «организация», «должность», «муниципалитет», «роль»)."
)
NO_ROWS = "В таблице нет ни одной строки с данными под заголовком."
DOWNLOAD_FAILED = "Не удалось получить файл от Telegram. Попробуйте отправить его ещё раз."


def too_many_rows(limit: int) -> str:
    """More data rows than one import takes."""
    return f"Слишком много строк: за один раз можно загрузить не больше {limit}."


def missing_columns(names: list[str]) -> str:
    """Required columns not found in the header row."""
    listed = ", ".join(f"«{n}»" for n in names)
    return f"В таблице нет обязательных столбцов: {listed}."


def duplicate_column(field: str, first: str, second: str) -> str:
    """Two columns of the header mean the same field."""
    return (
        f"Два столбца для поля «{COLUMN_NAMES[field]}»: «{first}» и «{second}». "
        "Оставьте один из них."
    )


# --- problems of one row --------------------------------------------------------------------
CELL_EMPTY = "не заполнено"
BAD_NAME = "нужны фамилия, имя и (если есть) отчество — от двух до пяти слов, только буквы"
BAD_ROLE = "роль должна быть одной из: резервист, наставник, специалист"
BAD_YEAR = "год включения — четыре цифры, от 2000 до 2100"
MENTOR_NOT_RESERVIST = "наставник указывается только для резервистов"


def bad_length(low: int, high: int) -> str:
    """A cell's text is too short or too long."""
    return f"длина должна быть от {low} до {high} символов"


def cell_problem(field: str, problem: str) -> str:
    """A problem of one cell: «должность: не заполнено»."""
    return f"{COLUMN_NAMES[field]}: {problem}"


def outside_scope(municipality: str, own: str) -> str:
    """A municipal officer imports a person of another municipality."""
    return (
        f"муниципалитет «{municipality}» вне вашей зоны: "
        f"вы можете загружать только людей муниципалитета «{own}»"
    )


def duplicate_row(line: int) -> str:
    """The same person (ФИО, организация, муниципалитет) twice in the file."""
    return f"тот же человек, что в строке {line}"


def role_conflict(role: str) -> str:
    """The person is in the database with another role."""
    return f"этот человек уже есть в базе с ролью «{ROLE_NAMES.get(role, role)}»"


def mentor_not_found(name: str) -> str:
    """The mentor named in a row is neither in the file nor in the database."""
    return f"наставник «{name}» не найден ни в файле, ни среди наставников в базе"


def mentor_ambiguous(name: str) -> str:
    """The mentor's name fits several mentors."""
    return (
        f"наставников с ФИО «{name}» несколько; укажите ФИО полностью "
        "или назначьте наставника командой /assign"
    )


def row_line(line: int, message: str) -> str:
    """One line of the error report, plain text (the command line)."""
    return f"Строка {line}: {message}"


def row_error(line: int, message: str) -> str:
    """One line of the error report for a message sent with HTML parse mode."""
    return esc(row_line(line, message))


def import_failed(name: str, lines: list[str], more: int) -> str:
    """The file had errors: nothing was imported."""
    head = (
        f"<b>Файл «{esc(cut(name, FILE_NAME_SHOWN))}» не загружен</b> — в нём есть ошибки. "
        "Ничего не сохранено: исправьте строки и отправьте файл целиком ещё раз.\n\n"
    )
    kept = fits_first(lines, MESSAGE_LIMIT - len(head) - 40, lambda _n: "")
    more += len(lines) - kept
    tail = f"\n…и ещё ошибок: {more}" if more else ""
    return head + "\n".join(lines[:kept]) + tail


def file_error(name: str, message: str) -> str:
    """The file as a whole could not be read."""
    return f"<b>Файл «{esc(cut(name, FILE_NAME_SHOWN))}» не загружен.</b> {esc(message)}"


# --- the result -----------------------------------------------------------------------------
def import_done(
    *,
    name: str,
    created: dict[str, int],
    existing: int,
    registered: int,
    renewed: int,
    assigned: int,
    expires_first: str,
    expires_last: str,
) -> str:
    """The officer's summary of a successful import (the caption of the returned table)."""
    total_new = sum(created.values())
    lines = [f"<b>Список «{esc(cut(name, FILE_NAME_SHOWN))}» загружен.</b>"]
    if total_new:
        parts = [
            f"{ROLE_NAMES.get(role, role)} — {count}" for role, count in created.items() if count
        ]
        lines.append(f"Новых людей: {total_new} ({', '.join(parts)}).")
    else:
        lines.append("Новых людей нет.")
    if existing:
        lines.append(f"Уже в базе: {existing}, из них зарегистрированы в боте: {registered}.")
    if renewed:
        lines.append(f"Выданы новые ссылки взамен истёкших: {renewed}.")
    if assigned:
        lines.append(f"Закреплено наставников: {assigned}.")
    if expires_first == expires_last:
        until = f"она действует до {expires_first}"
    else:
        until = f"ссылки действуют до {expires_first}–{expires_last}, у каждой свой срок"
    lines.append(
        f"В таблице добавлен столбец «{LINK_HEADER}»: у каждого своя ссылка, {until}. "
        "Разошлите ссылки адресатам: открыв её, человек даёт согласие на обработку данных "
        "и подтверждает свои данные."
    )
    return "\n".join(lines)


def mentor_differs(name: str, current: str) -> str:
    """A warning: the reservist already has another mentor; the import does not change it."""
    return (
        f"у резервиста уже есть наставник {current}, в файле — {name}; "
        "наставник не изменён, сменить — /assign"
    )


def warnings(lines: list[str]) -> str:
    """Warnings that did not stop the import."""
    return "<b>Обратите внимание</b>\n" + "\n".join(fit_first(lines, MESSAGE_LIMIT - 100))


# --- registration by a personal link --------------------------------------------------------
BTN_PROFILE_OK = "Всё верно"
BTN_PROFILE_FIX = "Исправить"
PROFILE_FIX = "Хорошо, уточним данные."


def profile_check(
    *, role: str, full_name: str, organisation: str, position: str, municipality: str | None
) -> str:
    """The pre-filled profile a person opening a personal link is asked to confirm."""
    return (
        "<b>Проверьте ваши данные</b>\n"
        f"ФИО: {esc(full_name)}\n"
        f"Организация: {esc(organisation)}\n"
        f"Должность: {esc(position)}\n"
        f"Муниципалитет: {esc(municipality or '—')}\n"
        f"Роль: {ROLE_NAMES.get(role, role)}\n\n"
        "Всё верно? Если нет, нажмите «Исправить» — бот спросит ФИО, организацию и должность."
    )
