"""Reading limits of files officers send (people lists .xlsx / .csv, roadmaps .docx / .txt).

The bytes are checked before any parser sees them: the size, and for the zip-based formats the
archive's declared uncompressed member sizes (``zipfile`` reads no more of a member than it
declares, so a member that claims little cannot unpack to more). Parsers then read row by row
and stop at the row, column and cell limits; no declared sheet dimension is trusted. Parsing
runs in a worker thread (:func:`off_loop`) under a time limit, checked by the parser itself
(:class:`Deadline`) and awaited with a timeout, so the bot answers others meanwhile. Text files
(.csv, .txt) are decoded by :func:`decode_text`.
"""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from collections.abc import Callable
from typing import TypeVar

from bot.texts import files as tf

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UNPACKED_BYTES = 30 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 1000
PARSE_SECONDS = 30.0

T = TypeVar("T")


class FileLimitError(Exception):
    """A file over a reading limit; ``message`` is one Russian sentence naming the limit."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TimeLimitError(FileLimitError):
    """The parse ran out of time."""


class Deadline:
    """The moment a parse must give up; :meth:`check` raises after it."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = PARSE_SECONDS if seconds is None else seconds
        self.at = time.monotonic() + self.seconds

    def check(self) -> None:
        """Raise :class:`FileLimitError` when the time is up."""
        if time.monotonic() > self.at:
            raise TimeLimitError(tf.too_slow(round(self.seconds)))


def check_size(data: bytes | int) -> None:
    """Refuse a file over :data:`MAX_FILE_BYTES` (``data`` or its size)."""
    size = data if isinstance(data, int) else len(data)
    if size > MAX_FILE_BYTES:
        raise FileLimitError(tf.too_big(MAX_FILE_BYTES // 2**20))


def check_archive(data: bytes) -> None:
    """Refuse a zip (an .xlsx or .docx) whose members declare more than
    :data:`MAX_UNPACKED_BYTES` in all, or that has more than :data:`MAX_ARCHIVE_MEMBERS`.
    Data that is not a zip passes: the format's own reader refuses it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise FileLimitError(tf.too_many_parts(MAX_ARCHIVE_MEMBERS))
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise FileLimitError(tf.unpacked_too_big(MAX_UNPACKED_BYTES // 2**20))


async def off_loop(func: Callable[..., T], *args: object, seconds: float | None = None) -> T:
    """Run ``func(*args)`` in a worker thread; give up after ``seconds`` (the function is
    expected to stop itself at its :class:`Deadline` too).

    Raises:
        FileLimitError: the time limit passed.
    """
    seconds = PARSE_SECONDS if seconds is None else seconds
    try:
        return await asyncio.wait_for(asyncio.to_thread(func, *args), seconds + 1)
    except TimeoutError as exc:
        raise TimeLimitError(tf.too_slow(round(seconds))) from exc


def decode_text(data: bytes) -> str:
    """The text of a file an officer sent: UTF-16 when it starts with a UTF-16 byte-order mark,
    else UTF-8 (with or without its BOM), else Windows-1251 (what Excel and Word save as «Текст»
    on a Russian Windows).

    Raises:
        UnicodeDecodeError: none of them reads it (Windows-1251 reads every byte but 0x98).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")
