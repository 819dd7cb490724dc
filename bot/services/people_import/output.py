"""The table returned with links: the imported file with the link column filled in
(:func:`render_output`) and its name (:func:`output_name`)."""

from __future__ import annotations

import csv
import io
from pathlib import PurePath

from bot.services.people_import.reading import PeopleTable, TableKind
from bot.services.people_import.service import ImportResult
from bot.texts import people as tp

__all__ = ["output_name", "render_output"]


def output_name(name: str) -> str:
    """The file name of the table returned with links: ``список.xlsx`` → ``список_ссылки.xlsx``."""
    path = PurePath(name or "people.xlsx")
    return f"{path.stem}{tp.OUTPUT_SUFFIX}{path.suffix}"


def render_output(table: PeopleTable, result: ImportResult) -> bytes:
    """The imported table with the link column (:data:`bot.texts.people.LINK_HEADER`) filled in:
    the column of an earlier output is reused, else one is added after the last column.

    ``.xlsx`` in, ``.xlsx`` out (the same workbook, formatting kept, links clickable); ``.csv``
    in, ``.csv`` out in UTF-8 with BOM and ``;``.
    """
    links = {o.line: o.link for o in result.outcomes}
    if table.kind == TableKind.XLSX:
        return _xlsx_output(table, links)
    return _csv_output(table, links)


def _link_column(table: PeopleTable) -> int:
    if table.link_column is not None:
        return table.link_column
    return max((len(r) for r in table.cells), default=0)


def _csv_output(table: PeopleTable, links: dict[int, str]) -> bytes:
    column = _link_column(table)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for line, row in enumerate(table.cells, start=1):
        cells = list(row)
        value = tp.LINK_HEADER if line == table.header_line else links.get(line)
        if value is not None:
            cells += [""] * (column + 1 - len(cells))
            cells[column] = value
        writer.writerow(cells)
    return out.getvalue().encode("utf-8-sig")


def _xlsx_output(table: PeopleTable, links: dict[int, str]) -> bytes:
    from copy import copy  # noqa: PLC0415

    from openpyxl import load_workbook  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    book = load_workbook(io.BytesIO(table.data))
    sheet = book.active
    column = _link_column(table) + 1
    head = sheet.cell(row=table.header_line, column=column, value=tp.LINK_HEADER)
    if column > 1:
        left = sheet.cell(row=table.header_line, column=column - 1)
        for attr in ("font", "fill", "border", "alignment"):
            setattr(head, attr, copy(getattr(left, attr)))
    for line, link in links.items():
        cell = sheet.cell(row=line, column=column, value=link)
        if link.startswith("https://"):
            cell.hyperlink = link
            cell.style = "Hyperlink"
    sheet.column_dimensions[get_column_letter(column)].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
