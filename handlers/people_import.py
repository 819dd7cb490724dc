"""Officers send a reserve list (.xlsx or .csv) as a document: the people are imported with
personal invite links and the table comes back with a link column (bot.services.people_import).

Only documents that look like tables (by extension, or MIME type without one) and only outside
any dialogue are taken; any other document is left to the other routers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import StateFilter
from aiogram.types import BufferedInputFile, Document, Message
from aiohttp import ClientError

from bot.config import Settings
from bot.services.file_limits import Deadline, FileLimitError, off_loop
from bot.services.people_import import (
    MAX_FILE_BYTES,
    ImportFormatError,
    ImportResult,
    PeopleImportService,
    output_name,
    read_table,
    render_output,
    table_kind,
)
from bot.services.time_policy import TimePolicy
from bot.texts import files as tf
from bot.texts import people as tp
from handlers.filters import HasRole
from storage.models import Role, User
from storage.repo import Repo

log = structlog.get_logger(__name__)

MAX_ERRORS_SHOWN = 30  # keeps the report well inside Telegram's 4096 characters
CAPTION_LIMIT = 1024  # Bot API: a document's caption is 0-1024 characters


def is_table(document: Document | None) -> bool:
    """Whether a sent document is an .xlsx or .csv table (magic filters pass None too)."""
    if document is None:
        return False
    return table_kind(document.file_name, document.mime_type) is not None


def setup() -> Router:
    """The router of this module; officers only."""
    router = Router(name="people_import")
    router.message.filter(HasRole(Role.OFFICER))
    router.message.register(import_list, StateFilter(None), F.document.func(is_table))
    return router


async def import_list(
    message: Message,
    repo: Repo,
    user: User,
    bot: Bot,
    settings: Settings,
    clock: Callable[[], datetime],
    time_policy: TimePolicy,
    zone: ZoneInfo,
) -> None:
    """A table from an officer: import it all or nothing, answer with the table with links (or
    with the errors by row, nothing imported). The cohort year is the district's
    (``time_policy``); the summary is dated in the officer's ``zone``."""
    document = message.document
    assert document is not None
    name = document.file_name or "people.xlsx"
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        await message.answer(tp.file_error(name, tf.too_big(MAX_FILE_BYTES // 2**20)))
        return
    try:
        downloaded = await bot.download(document)
    except (TelegramAPIError, ClientError, OSError) as exc:
        log.warning("people import: download failed", error=str(exc))
        await message.answer(tp.DOWNLOAD_FAILED)
        return
    assert downloaded is not None
    now = clock()
    try:
        # parsing and writing workbooks is CPU work: off the event loop, within the reading
        # limits and the time limit (others are answered meanwhile)
        kind = table_kind(name, document.mime_type)
        table = await off_loop(read_table, name, downloaded.read(), kind, Deadline())
        result = await PeopleImportService(repo).import_people(
            table,
            actor=user,
            bot_username=(await bot.me()).username or "",
            now=now,
            today=time_policy.today(now),
            ttl=timedelta(days=settings.invite_ttl_days),
        )
    except (ImportFormatError, FileLimitError) as exc:
        await message.answer(tp.file_error(name, exc.message))
        return
    if not result.ok:
        shown = result.errors[:MAX_ERRORS_SHOWN]
        lines = [tp.row_error(e.line, e.message) for e in shown]
        await message.answer(tp.import_failed(name, lines, len(result.errors) - len(shown)))
        return
    summary = _summary(name, result, zone)
    fits = len(summary) <= CAPTION_LIMIT
    output = await asyncio.to_thread(render_output, table, result)
    await message.answer_document(
        BufferedInputFile(output, filename=output_name(name)),
        caption=summary if fits else None,
    )
    if not fits:
        await message.answer(summary)
    if result.warnings:
        lines = [tp.row_error(w.line, w.message) for w in result.warnings[:MAX_ERRORS_SHOWN]]
        await message.answer(tp.warnings(lines))


def _summary(name: str, result: ImportResult, zone: ZoneInfo) -> str:
    def day(moment: datetime | None) -> str:
        return f"{moment.astimezone(zone):%d.%m.%Y}" if moment else "—"

    return tp.import_done(
        name=name,
        created=result.created,
        existing=result.existing,
        registered=result.registered,
        renewed=result.renewed,
        assigned=result.assigned,
        expires_first=day(result.expires_first),
        expires_last=day(result.expires_last),
    )
