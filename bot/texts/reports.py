"""Every user-facing string of the department's reports, in Russian: the indicators (titles,
formulas, roadmap sources), the export's sheets and headers, the year-end report (.docx), the
chart and the officers' commands /export, /kpi, /report: a chapter of :mod:`bot.texts`.

Messages are sent with HTML parse mode; values are escaped with :func:`bot.texts.common.esc`.
Strings written into files (xlsx, csv, docx, png) are plain text and are not escaped.
"""

from __future__ import annotations

from bot.texts.common import esc

# --- reserve statuses ------------------------------------------------------------------------
RESERVE_STATUS_NAMES = {
    "candidate": "кандидат",
    "included": "включён в резерв",
    "training": "проходит подготовку",
    "appointed": "назначен на должность",
    "excluded": "исключён из резерва",
}
NO_STATUS = "не указан"
NO_MUNICIPALITY = "муниципалитет не указан"
NO_ORGANISATION = "организация не указана"
ANONYMISED = "(данные удалены)"
DASH = "—"

# --- indicators ------------------------------------------------------------------------------
PETROVSKY = (
    "Дорожная карта по формированию резерва управленческих кадров Петровского района "
    "(приказ № 159 от 03.08.2022)"
)
KHABAROVSK = "Проект Хабаровского края по формированию резерва управленческих кадров (2023)"
KAMYSHIN = "Программа развития управленческих кадров Камышинского района (2022)"

INDICATOR_TITLES = {
    "support": "Охват методическим сопровождением",
    "plan": "Выполнение индивидуальных планов",
    "mentor": "Обеспеченность наставниками",
    "appointed": "Назначены на должность руководителя (заместителя)",
    "training": "Участие в тренингах",
    "organisations": "Организации в программах наставничества",
}
INDICATOR_SHORT = {
    "support": "Методическое сопровождение",
    "plan": "Выполнили ИП",
    "mentor": "С наставником",
    "appointed": "Назначены",
    "training": "Тренинги",
    "organisations": "ОО в наставничестве",
}
IN_RESERVE = "резервисты, включённые в резерв или проходящие подготовку"


def indicator_formula(code: str, year: int) -> str:
    """The formula of an indicator in words: D = K / O × 100 % and what K and O count."""
    k_and_o = {
        "support": (
            (
                f"{IN_RESERVE}, у которых в {year} году выполнен хотя бы один пункт "
                "индивидуального плана или подтверждена консультация с наставником"
            ),
            f"все {IN_RESERVE}",
        ),
        "plan": (
            (
                f"{IN_RESERVE}, выполнившие все пункты плана на {year} год, имеющие срок "
                "(без пунктов «по запросу»)"
            ),
            f"все {IN_RESERVE}",
        ),
        "mentor": (
            f"{IN_RESERVE}, за которыми закреплён действующий наставник",
            f"все {IN_RESERVE}",
        ),
        "appointed": (
            "лица, назначенные на должность руководителя или заместителя руководителя",
            (
                "все лица, когда-либо включённые в резерв (в резерве, на подготовке, "
                "назначенные, исключённые)"
            ),
        ),
        "training": (
            f"резервисты, выполнившие в {year} году хотя бы один пункт плана вида «тренинг»",
            f"резервисты, в плане которых на {year} год есть тренинги",
        ),
        "organisations": (
            "образовательные организации, резервист которых работает в паре с наставником",
            "образовательные организации, в которых работают резервисты",
        ),
    }
    k, o = k_and_o[code]
    return f"D = K / O × 100 %, где K — {k}; O — {o}"


INDICATOR_SOURCES = {
    "support": f"{PETROVSKY}, основной показатель 1",
    "plan": f"{PETROVSKY}, основной показатель 2",
    "mentor": f"{KHABAROVSK}, мероприятие 2.14 «Закрепление наставников за резервистами»",
    "appointed": f"{KHABAROVSK}, таблица 1, трек 2, показатель 3",
    "training": f"{PETROVSKY}, «Психологические тренинги» (март, июнь, октябрь)",
    "organisations": (
        f"{KAMYSHIN}, целевой показатель 3: не менее 10 % общеобразовательных организаций "
        "ежегодно включены в программы управленческого наставничества"
    ),
}


def percent(value: float | None) -> str:
    """D for people: «75,0 %», or «нет данных» when O is zero."""
    if value is None:
        return "нет данных"
    return f"{value:.1f}".replace(".", ",") + " %"


# --- /kpi ------------------------------------------------------------------------------------
def scope_name(area: str | None) -> str:
    """Whose data a report covers."""
    return area if area else "все муниципалитеты"


def kpi_header(year: int, area: str | None) -> str:
    """Title of /kpi."""
    return f"<b>Показатели кадрового резерва за {year} год</b>\nОхват: {esc(scope_name(area))}"


def kpi_line(
    number: int, title: str, k: int, o: int, d: float | None, target: float | None
) -> str:
    """One indicator of /kpi: K of O — D."""
    goal = f" (цель — не менее {percent(target)})" if target is not None else ""
    return f"{number}. {esc(title)}: <b>{percent(d)}</b> — {k} из {o}{goal}"


KPI_FOOTER = "D = K / O × 100 %. Формулы и источники — в выгрузке /export, лист «Показатели»."
KPI_EMPTY = "В вашей зоне ответственности пока нет резервистов. Пригласите их: /invite reservist"


def kpi_chart_caption(year: int, by_organisation: bool) -> str:
    """Caption of the chart photo."""
    by = "образовательным организациям" if by_organisation else "муниципалитетам"
    return f"Показатели за {year} год по {by}, D в %"


def chart_title(year: int, area: str | None) -> str:
    """Title inside the chart image (plain text)."""
    return f"Показатели кадрового резерва за {year} год — {scope_name(area)}"


CHART_Y_LABEL = "D, %"
CHART_NO_DATA = "Нет данных"
CHART_OTHERS = "Прочие"

YEAR_USAGE = "Год укажите четырьмя цифрами, например: /kpi 2026."


def export_usage(low: int, high: int) -> str:
    """/export with wrong arguments."""
    return (
        "Использование: /export [csv] [год]\n"
        f"Год — от {low} до {high}. Например: <code>/export 2026</code> — файл Excel, "
        "<code>/export csv</code> — таблица резервистов в CSV."
    )


def bad_year(low: int, high: int) -> str:
    """A year argument out of range."""
    return f"Год должен быть от {low} до {high}."


def export_caption(year: int, area: str | None, rows: int) -> str:
    """Caption of the exported file."""
    return f"Кадровый резерв, {year} год. Охват: {esc(scope_name(area))}. Резервистов: {rows}."


EXPORT_FAILED = (
    "Не удалось подготовить выгрузку. Попробуйте ещё раз через несколько минут; если ошибка "
    "повторится, сообщите администратору бота."
)


# --- the workbook ----------------------------------------------------------------------------
SHEET_RESERVISTS = "Резервисты"
SHEET_INDICATORS = "Показатели"
SHEET_BY_MUNICIPALITY = "По муниципалитетам"
SHEET_BY_ORGANISATION = "По организациям"
RESERVIST_HEADERS = (
    "ФИО",
    "Организация",
    "Должность",
    "Муниципалитет",
    "Статус в резерве",
    "Год включения",
    "Наставник",
    "Пунктов плана всего",
    "Выполнено",
    "Подтверждено наставником",
    "Просрочено",
    "Подтверждённых консультаций",
    "Последняя активность",
)
ACTIVITY_HEADERS = (
    "ФИО",
    "Организация",
    "Муниципалитет",
    "Дата выполнения",
    "Подтверждено наставником",
    "Подтверждающий файл",
)
INDICATOR_HEADERS = (
    "№",
    "Показатель",
    "K",
    "O",
    "D, %",
    "Целевое значение, %",
    "Формула",
    "Источник",
)
GROUP_HEADER_MUNICIPALITY = "Муниципалитет"
GROUP_HEADER_ORGANISATION = "Организация"
GROUP_PEOPLE = "Резервистов"
PHOTO = "фото"
FILE = "файл"


def evidence_label(kind: str | None, name: str | None) -> str | None:
    """The evidence of a plan item in a file: its name, or «фото» / «файл», or None."""
    if name:
        return name
    if kind:
        return PHOTO if kind == "photo" else FILE
    return None


YES = "да"


def indicators_note(year: int, area: str | None, made: str) -> str:
    """The line under the indicators table."""
    return f"Год: {year}. Охват: {scope_name(area)}. Сформировано: {made}."


# --- /report and the year-end report (.docx) -------------------------------------------------
PICK_FOR_REPORT = (
    "Чей индивидуальный план проанализировать? Выберите резервиста или напишите часть "
    "фамилии, названия школы или муниципалитета."
)
NO_RESERVISTS_IN_SCOPE = "В вашей зоне ответственности нет резервистов."
BTN_CONCLUSION = "Заключение по итогам собеседования"
NO_PLAN = "У резервиста нет индивидуального плана на этот год — заключение записать не к чему."


CONCLUSION_MIN, CONCLUSION_MAX = 10, 3000


def conclusion_ask(name: str, year: int, current: str | None) -> str:
    """Ask for the interview's conclusion (and show the one stored, if any)."""
    now = f"\n\nСейчас записано:\n<i>{esc(current)}</i>" if current else ""
    return (
        f"Напишите заключение по итогам собеседования: <b>{esc(name)}</b>, {year} год — "
        f"от {CONCLUSION_MIN} до {CONCLUSION_MAX} символов одним сообщением. "
        f"Отменить — /cancel.{now}"
    )


def conclusion_saved(name: str) -> str:
    """The conclusion was stored."""
    return f"Заключение сохранено: {esc(name)}. Обновлённая справка — ниже."


def report_caption(name: str, year: int) -> str:
    """Caption of the .docx."""
    return f"Анализ результативности исполнения индивидуального плана: {esc(name)}, {year} год"


REPORT_TITLE = "Анализ результативности исполнения индивидуального плана"
REPORT_SUBTITLE = "подготовки к замещению должности руководителя образовательной организации"


def report_year(year: int) -> str:
    """The year line of the .docx."""
    return f"за {year} год"


REPORT_PERSON_ROWS = (
    "ФИО",
    "Организация",
    "Должность",
    "Муниципалитет",
    "Статус в резерве",
    "Наставник",
)
REPORT_ITEMS = "1. Выполнение мероприятий индивидуального плана"
REPORT_ITEM_HEADERS = (
    "№",
    "Мероприятие",
    "Срок",
    "Статус",
    "Дата выполнения",
    "Подтверждающий документ",
    "Подтверждение наставника",
    "Комментарии",
)
REPORT_NO_ITEMS = "Пунктов плана на этот год нет."
REPORT_NO_PLAN = "Индивидуальный план на этот год не составлен."


def report_summary(done: int, total: int, confirmed: int, overdue: int) -> str:
    """The line under the items table."""
    return (
        f"Выполнено {done} из {total}, подтверждено наставником: {confirmed}, "
        f"просрочено: {overdue}."
    )


REPORT_CONSULTATIONS = "2. Консультации с наставником"
REPORT_CONSULT_HEADERS = ("Дата", "Формат", "Тема", "Мин.", "Статус")
REPORT_NO_CONSULTATIONS = "Консультаций в этом году не было."
CONSULT_STATUS_NAMES = {
    "pending": "ждёт подтверждения",
    "confirmed": "подтверждена",
    "declined": "отклонена",
}
REPORT_CONCLUSION = "3. Заключение по итогам собеседования"
REPORT_CONCLUSION_EMPTY = "Заключение ещё не внесено."
REPORT_BLANK_LINE = "_" * 80


def report_concluded(who: str, when: str) -> str:
    """Who wrote the conclusion and when."""
    return f"Заключение внёс(ла): {who}, {when}"


def report_made(when: str) -> str:
    """The date the .docx was made."""
    return f"Дата составления справки: {when}"


REPORT_SIGNATURE = "Специалист отдела образования ____________________ / ____________________ /"


def confirmed_text(when: str, who: str | None) -> str:
    """The mentor's confirmation of an item in the report."""
    return f"подтверждено {when}" + (f" ({who})" if who else "")


def comment_text(author: str | None, when: str, text: str) -> str:
    """A mentor's comment in the report."""
    return f"{author or DASH}, {when}: {text}"


def reservist_comment(text: str) -> str:
    """The reservist's own comment on an item in the report."""
    return f"Резервист: {text}"
