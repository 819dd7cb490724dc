"""Refusals of files over the bot's reading limits (people lists, roadmap documents): each is
one sentence that names the limit."""

from __future__ import annotations


def _n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def too_big(limit_mb: int) -> str:
    """The file is larger than the bot takes."""
    return f"Файл больше {limit_mb} МБ, а бот принимает файлы не больше {limit_mb} МБ."


def unpacked_too_big(limit_mb: int) -> str:
    """An .xlsx / .docx whose parts unpack to more than the limit (a zip bomb)."""
    return f"Содержимое файла после распаковки больше {limit_mb} МБ, а бот принимает не больше."


def too_many_parts(limit: int) -> str:
    """An .xlsx / .docx archive with too many parts."""
    return f"В файле больше {_n(limit)} вложенных частей, а бот принимает не больше."


def too_many_lines(limit: int) -> str:
    """A sheet with more rows than the bot reads (empty ones included)."""
    return f"В таблице больше {_n(limit)} строк, а бот читает не больше {_n(limit)}."


def too_many_columns(limit: int) -> str:
    """A row with more columns than the bot reads."""
    return f"В таблице больше {_n(limit)} столбцов, а бот читает не больше {_n(limit)}."


def cell_too_long(limit: int) -> str:
    """A cell longer than the bot reads."""
    return f"В ячейке таблицы больше {_n(limit)} символов, а бот принимает не больше {_n(limit)}."


def too_many_cells(limit: int) -> str:
    """A table with more filled cells than the bot reads."""
    return f"В таблице больше {_n(limit)} заполненных ячеек, а бот читает не больше {_n(limit)}."


def roadmap_too_many_rows(limit: int) -> str:
    """A roadmap document with more table rows than the bot reads."""
    return (
        f"В таблицах дорожной карты больше {_n(limit)} строк, а бот читает не больше {_n(limit)}."
    )


def _seconds(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "секунду"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "секунды"
    return "секунд"


def too_slow(seconds: int) -> str:
    """Reading the file took longer than the time limit."""
    return (
        f"Файл не удалось прочитать за {seconds} {_seconds(seconds)} — это предел времени "
        "на один файл."
    )
