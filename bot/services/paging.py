"""Page arithmetic for every paged list of the bot (plans, roadmap, people pickers, reports):
pages are 1-based, a requested page is clamped to the pages there are, and an empty list still
has one (empty) page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def page_count(total: int, size: int) -> int:
    """How many pages of ``size`` rows ``total`` rows fill: at least 1."""
    return max(1, -(-total // size))


def clamp_page(total: int, page: int, size: int) -> tuple[int, int]:
    """Page ``page`` (1-based) clamped to the pages ``total`` rows fill in pages of ``size``:
    (the page, the number of pages — at least 1). A list read a page at a time from the
    database clamps with this before asking for the page's rows."""
    pages = page_count(total, size)
    return min(max(1, page), pages), pages


def cut_page(rows: Sequence[T], page: int, size: int) -> tuple[Sequence[T], int, int]:
    """Page ``page`` (1-based, clamped to the pages there are) of ``rows`` in pages of
    ``size``: (its rows, the page, the number of pages — at least 1)."""
    page, pages = clamp_page(len(rows), page, size)
    return rows[(page - 1) * size : page * size], page, pages
