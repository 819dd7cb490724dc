"""Build ``lesnoy-roadmap-2024.docx``: a made-up roadmap in the shape many departments' Word files
have. Run from the repository root: ``.venv/bin/python tests/data/make_lesnoy_docx.py``.

The activity table has a header row marked to repeat on every page (``w:tblHeader``), a row of
column numbers, section rows merged across all columns («Раздел 1. …») or across all but "№"
(«2.» | «Подготовка лиц, включённых в кадровый резерв»), a responsible cell merged down over
two rows, the header and the column numbers typed again where a page begins (as when pages were
pasted together), and the rest of the table after a page break as a second table with the same
header. Before it: the order's text and a table of indicators (not an activity table).
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from pathlib import Path

import docx
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.table import Table

OUT = Path(__file__).with_name("lesnoy-roadmap-2024.docx")
HEADER = (
    "№ п/п",
    "Наименование мероприятия",
    "Сроки проведения",
    "Ответственные исполнители",
    "Планируемый результат",
)
NUMBERS = ("1", "2", "3", "4", "5")


def _repeat_as_header(table: Table, index: int) -> None:
    properties = table.rows[index]._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    properties.append(flag)


def _row(table: Table, *cells: str) -> int:
    row = table.add_row()  # type: ignore[no-untyped-call]
    for cell, text in zip(row.cells, cells, strict=True):
        cell.text = text
    return len(table.rows) - 1


def _section(table: Table, text: str, *, number: str = "") -> None:
    index = _row(table, number, "", "", "", "")
    row = table.rows[index]
    first = 1 if number else 0
    merged = row.cells[first].merge(row.cells[4])
    merged.text = text


def _new_table(document: docx.document.Document) -> Table:
    table: Table = document.add_table(rows=0, cols=5)
    table.style = "Table Grid"
    _row(table, *HEADER)
    _repeat_as_header(table, 0)
    _row(table, *NUMBERS)
    return table


def build() -> bytes:
    document = docx.Document()
    document.add_paragraph("АДМИНИСТРАЦИЯ ЛЕСНОГО ГОРОДСКОГО ОКРУГА")
    document.add_paragraph("КОМИТЕТ ПО ОБРАЗОВАНИЮ")
    document.add_paragraph("РАСПОРЯЖЕНИЕ от 22.12.2023 № 341-р")
    document.add_paragraph(
        "Об утверждении плана мероприятий (дорожной карты) по работе с резервом управленческих "
        "кадров образовательных организаций Лесного городского округа на 2024 год"
    )
    document.add_paragraph("Целевые показатели:")
    indicators = document.add_table(rows=0, cols=3)
    _row(indicators, "№", "Показатель", "Значение на 2024 год")
    _row(indicators, "1", "Доля резервистов, выполнивших индивидуальный план", "не менее 80 %")
    _row(indicators, "2", "Доля руководителей, назначенных из резерва", "не менее 50 %")

    document.add_paragraph("План мероприятий (дорожная карта)")
    table = _new_table(document)
    _section(table, "Раздел 1. Организационно-управленческие мероприятия")
    _row(
        table,
        "1.1.",
        "Утверждение состава муниципального кадрового резерва руководителей ОО",
        "январь 2024 г.",
        "Комитет по образованию",
        "Распоряжение об утверждении состава резерва",
    )
    _row(
        table,
        "1.2.",
        "Реализация системы назначения руководителей ОО",
        "в течение года",
        "Комитет по образованию",
        "Назначения на вакантные должности",
    )
    _row(
        table,
        "1.3.",
        "Назначение руководителей ОО из числа резерва",
        "по мере освобождения должностей",
        "Комитет по образованию",
        "Распоряжения о назначении",
    )
    _row(
        table,
        "1.4.",
        "Формирование программы подготовки резерва",
        "IV квартал 2024 г.",
        "МКУ «Методический центр»",
        "Программа подготовки резерва на 2025 год",
    )
    _section(table, "Подготовка лиц, включённых в кадровый резерв", number="2.")
    _row(
        table,
        "2.1.",
        "Составление индивидуального плана развития резервиста",
        "январь – февраль",
        "Резервист, наставник",
        "Индивидуальный план развития",
    )
    first = _row(
        table,
        "2.2.",
        "Экспресс-диагностика управленческих компетенций",
        "ежегодно, сентябрь",
        "МКУ «Методический центр»",
        "Карта компетенций резервиста",
    )
    second = _row(
        table,
        "2.3.",
        "Обучение на КПК «Управление образовательной организацией»",
        "II полугодие 2024 г.",
        "",
        "Удостоверение о повышении квалификации",
    )
    table.cell(first, 3).merge(table.cell(second, 3)).text = "МКУ «Методический центр»"
    # a new page: the header and the column numbers typed again
    _row(table, *HEADER)
    _row(table, *NUMBERS)
    _row(
        table,
        "2.4.",
        "Участие в Дне самоуправления «Один день из жизни руководителя»",
        "октябрь",
        "Руководители ОО",
        "Выполнение роли руководителя",
    )
    _row(
        table,
        "2.5.",
        "Стажировка резервистов в должности заместителя руководителя",
        "1 раз в полугодие",
        "Руководители ОО",
        "Отчёт о стажировке",
    )

    # the rest after a page break, as a second table with the same header
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_paragraph("Продолжение приложения")
    table = _new_table(document)
    _row(
        table,
        "2.6.",
        "Семинар-практикум «Управленческие решения» для резервистов",
        "ежеквартально",
        "МКУ «Методический центр»",
        "Материалы семинара",
    )
    _row(
        table,
        "2.7.",
        "Собеседование по итогам года",
        "декабрь",
        "Комитет по образованию",
        "Протокол собеседования",
    )
    _section(table, "Раздел 3. Мониторинг эффективности работы с резервом")
    _row(
        table,
        "3.1.",
        "Мониторинг выполнения индивидуальных планов резервистов",
        "ежеквартально",
        "МКУ «Методический центр»",
        "Аналитическая справка",
    )
    _row(
        table,
        "3.2.",
        "Оказание адресной методической помощи резервистам по результатам мониторинга",
        "в течение года",
        "МКУ «Методический центр»",
        "Методические рекомендации",
    )
    _row(
        table,
        "3.3.",
        "Обновление банка данных кадрового резерва",
        "декабрь 2024 г.",
        "Комитет по образованию",
        "Актуальный банк данных",
    )
    _row(
        table,
        "3.4.",
        "Подготовка аналитической справки об итогах работы с резервом",
        "до 25.12.2024",
        "МКУ «Методический центр»",
        "Аналитическая справка",
    )
    properties = document.core_properties
    properties.author = properties.last_modified_by = "reserve-bot tests"
    properties.created = properties.modified = datetime(2024, 1, 1)
    properties.revision = 1
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


if __name__ == "__main__":
    OUT.write_bytes(build())
    print(f"written {OUT}")
