"""The command line: ``python -m bot run | sandbox | migrate | roadmap import | reminders scan |
backup | check | ...``.

Exit codes: 0 success, 1 a failed operation (e.g. a file with no roadmap table, a failed
``check``), 2 a missing or malformed setting or wrong arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from bot.config import Settings, SettingsError, load_settings
from bot.logs import configure_logging

if TYPE_CHECKING:
    from bot.services.exports import ExportFile
    from bot.services.people_import import ImportResult as PeopleImportResult
    from bot.services.people_import import PeopleTable
    from bot.services.roadmap import ParseResult
    from bot.services.roadmap_import import ImportReport
    from storage.db import Database

log = structlog.get_logger("bot")


@asynccontextmanager
async def open_database(settings: Settings, *, upgrade: bool = True) -> AsyncIterator[Database]:
    """The database at ``settings.database_url`` for one command, disposed of on exit.

    Args:
        settings: the settings (``DATABASE_URL``).
        upgrade: apply the migrations up to head first (the commands that read or write data);
            False for ``migrate`` and ``check``, which look at the revision themselves.

    Yields:
        The :class:`storage.db.Database`.
    """
    from storage import migrate
    from storage.db import Database

    db = Database(settings.database_url)
    try:
        if upgrade:
            await migrate.upgrade(db.engine)
        yield db
    finally:
        await db.dispose()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Telegram bot for the management-personnel reserve of school systems.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="apply migrations and run the bot (long polling)")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="take updates on a webhook (WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_LISTEN)",
    )

    sandbox = sub.add_parser(
        "sandbox",
        help="try the bot in a browser, without Telegram: a local emulator and a demo district",
        description="Starts a local Bot API emulator, the bot pointed at it (data in "
        "data/sandbox/) and a chat page on 127.0.0.1; needs no token and no network.",
    )
    sandbox.add_argument(
        "--port", type=_port, default=8080, help="the page's port (default 8080; 0: a free one)"
    )
    sandbox.add_argument(
        "--fresh", action="store_true", help="load the demo district anew (its data are deleted)"
    )

    mig = sub.add_parser("migrate", help="apply (or revert) database migrations")
    mig.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    mig.add_argument("--down", action="store_true", help="revert down to REVISION (base = all)")

    roadmap = sub.add_parser("roadmap", help="the department's roadmap")
    rsub = roadmap.add_subparsers(dest="roadmap_command", required=True, metavar="ACTION")
    imp = rsub.add_parser("import", help="import a roadmap (.txt with tab tables, or .docx)")
    imp.add_argument("path", type=Path)
    imp.add_argument("--year", type=int, help="plan year to sync plans for (default: this year)")
    imp.add_argument("--json", action="store_true", help="print the activities as JSON only")
    imp.add_argument("--dry-run", action="store_true", help="parse and report, write nothing")

    rem = sub.add_parser("reminders", help="reminders")
    remsub = rem.add_subparsers(dest="reminders_command", required=True, metavar="ACTION")
    scan = remsub.add_parser("scan", help="run one reminder scan as the scheduler would")
    scan.add_argument(
        "--at", type=_moment, help="the moment, ISO 8601 (default: now, by CLOCK_START if set)"
    )
    scan.add_argument("--dry-run", action="store_true", help="print who would get what")

    people = sub.add_parser("people", help="people of the reserve")
    psub = people.add_subparsers(dest="people_command", required=True, metavar="ACTION")
    pimp = psub.add_parser(
        "import",
        help="import a list (.xlsx or .csv) of people with personal invite links",
        description="Each row (ФИО, организация, должность, муниципалитет, роль; optionally "
        "наставник, год включения) becomes a person awaiting registration with a personal "
        "invite link; the table is written again with a link column. All or nothing; "
        "importing the same file again changes nothing.",
    )
    pimp.add_argument("path", type=Path)
    pimp.add_argument(
        "--bot-username",
        help="the bot's username for the links (default: asked from Telegram with BOT_TOKEN)",
    )
    pimp.add_argument(
        "--out", type=Path, help="where to write the table with links (default: FILE_ссылки.EXT)"
    )

    cons = sub.add_parser(
        "consents",
        help="export the consent journal (152-ФЗ) as CSV",
        description="One row per consent given: version of the text, given and withdrawn "
        "(UTC), the user's internal id, and the name of people who did not withdraw it.",
    )
    cons.add_argument("--out", type=Path, required=True, help="CSV file to write")

    bak = sub.add_parser(
        "backup",
        help="copy the SQLite database to OUT while the bot runs (PostgreSQL: use pg_dump)",
        description="A consistent copy of the SQLite database made with SQLite's online backup "
        "API; the bot may keep running. OUT must not exist. For PostgreSQL use pg_dump.",
    )
    bak.add_argument("out", type=Path, metavar="OUT", help="the file to write")

    sub.add_parser(
        "check",
        help="check settings, database, migrations and Telegram; one line each, exit 0 or 1",
    )

    exp = sub.add_parser("export", help="export the reserve to .xlsx (or .csv) for reports")
    exp.add_argument("--out", type=Path, required=True, help="file to write (.xlsx or .csv)")
    exp.add_argument("--municipality", help="only this municipality (default: the whole region)")
    exp.add_argument("--year", type=int, help="plan year (default: this year)")
    exp.add_argument("--csv", action="store_true", help="CSV of the reservists (also for .csv)")
    return parser


def _port(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        msg = f"not a port (0-65535): {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(value)


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        msg = f"not an ISO date-time: {value!r}"
        raise argparse.ArgumentTypeError(msg) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return _check()
    if args.command == "sandbox":
        from bot.sandbox.app import main as sandbox

        return sandbox(args.port, fresh=args.fresh)
    try:
        settings = load_settings()
        if args.command == "run" or (
            args.command == "reminders" and not getattr(args, "dry_run", False)
        ):
            settings.require_token()
        if args.command == "run" and args.webhook:
            settings.require_webhook()
    except SettingsError as exc:
        print(f"error: {exc.variable} {exc.reason}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "run":
        from bot.runner import run

        return asyncio.run(run(settings, webhook=args.webhook))
    if args.command == "migrate":
        return asyncio.run(_migrate(settings, args.revision, down=args.down))
    if args.command == "roadmap":
        return _roadmap_import(settings, args.path, args.year, as_json=args.json, dry=args.dry_run)
    if args.command == "people":
        return _people_import(settings, args.path, args.bot_username, args.out)
    if args.command == "consents":
        return _consents(settings, args.out)
    if args.command == "backup":
        return _backup(settings, args.out)
    if args.command == "export":
        as_csv = args.csv or args.out.suffix.casefold() == ".csv"
        return _export(settings, args.out, args.municipality, args.year, as_csv=as_csv)
    return asyncio.run(_scan(settings, args.at, dry=args.dry_run))


async def _migrate(settings: Settings, revision: str, *, down: bool) -> int:
    from storage import migrate

    async with open_database(settings, upgrade=False) as db:
        if down:
            await migrate.downgrade(db.engine, revision)
        else:
            await migrate.upgrade(db.engine, revision)
        print(f"database at revision {await migrate.current(db.engine)}")
    return 0


def _roadmap_import(
    settings: Settings, path: Path, year: int | None, *, as_json: bool, dry: bool
) -> int:
    from bot.services.roadmap import RoadmapFormatError, parse_roadmap_file

    try:
        data = path.read_bytes()
        result = parse_roadmap_file(path)
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    except RoadmapFormatError as exc:
        print(f"error: {path}: {exc}", file=sys.stderr)
        return 1
    if as_json:
        json.dump(
            [a.to_json() for a in result.activities], sys.stdout, ensure_ascii=False, indent=2
        )
        sys.stdout.write("\n")
    else:
        _print_summary(path, result)
    if dry:
        if not as_json:
            print("dry run: nothing written")
        return 0
    report = asyncio.run(_store_roadmap(settings, path, data, result, year))
    a, p = report.activities, report.plans
    print(
        f"imported: {a.created} new, {a.updated} updated, {a.unchanged} unchanged, "
        f"{a.archived} archived; plans: {p.added} items added, {p.updated} updated, "
        f"{p.archived} archived",
        file=sys.stderr if as_json else sys.stdout,
    )
    return 0


async def _store_roadmap(
    settings: Settings, path: Path, data: bytes, result: ParseResult, year: int | None
) -> ImportReport:
    from bot.services.clock import utcnow
    from bot.services.roadmap_import import import_roadmap
    from bot.services.time_policy import TimePolicy

    async with open_database(settings) as db:
        today = TimePolicy.from_settings(settings).today(utcnow())
        if year is not None:
            today = today.replace(year=year, month=1, day=1)
        async with db.session() as repo:
            return await import_roadmap(repo, result, path.name, data, today)


def _print_summary(path: Path, result: ParseResult) -> None:
    print(
        f"{path}: {result.tables} table(s), {result.rows} row(s), "
        f"{len(result.activities)} activities"
    )
    for kind, count in sorted(result.counts_by_kind().items(), key=lambda kv: -kv[1]):
        print(f"  {kind}: {count}")
    applies = len(result.in_plans())
    print(f"  for reservists' plans: {applies}")
    print(f"  department's work (not in plans): {len(result.activities) - applies}")
    guessed = result.guessed()
    if guessed:
        print(f"  to check (kind or audience not decided by the wording): {len(guessed)}")
        for a in guessed:
            where = "in plans" if a.for_reservists else "not in plans"
            print(f"    line {a.source_line}: {a.kind}, {where}: {a.title[:70]}")
    if result.warnings:
        print(f"warnings ({len(result.warnings)}):")
        for w in result.warnings:
            print(f"  line {w.line}: {w.message}")


async def _scan(settings: Settings, at: datetime | None, *, dry: bool) -> int:
    from bot.app import reminder_service
    from bot.services.clock import make_clock
    from bot.telegram import TelegramNotifier, create_bot

    bot = None if dry else create_bot(settings)
    try:
        async with open_database(settings) as db:
            notifier = TelegramNotifier(bot) if bot else None
            # without --at, "now" is the bot's clock (CLOCK_START, or the real one)
            clock = make_clock(settings.clock_start)
            report = await reminder_service(settings, db, notifier, clock=clock).scan(
                at, dry_run=dry
            )
    finally:
        if bot is not None:
            await bot.session.close()
    if dry:
        for who, title, kind, occasion in report.planned:
            print(f"{who}\t{kind}\t{occasion}\t{title}")
        print(f"{len(report.planned)} notice(s) would be recorded; nothing sent")
    else:
        print(
            f"recorded {report.recorded}, sent {report.sent}, waiting {report.deferred}, "
            f"skipped {report.skipped}, blocked {report.blocked}, failed {report.failed}"
        )
    return 0


def _people_import(
    settings: Settings, path: Path, bot_username: str | None, out: Path | None
) -> int:
    from bot.services.people_import import (
        ImportFormatError,
        output_name,
        read_table,
        render_output,
    )
    from bot.texts import people as texts_people

    if not bot_username and not settings.bot_token:
        print("error: --bot-username is needed when BOT_TOKEN is not set", file=sys.stderr)
        return 2
    try:
        table = read_table(path.name, path.read_bytes())
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    except ImportFormatError as exc:
        print(f"error: {path}: {exc.message}", file=sys.stderr)
        return 1
    try:
        result = asyncio.run(_store_people(settings, table, bot_username))
    except ImportFormatError as exc:
        print(f"error: {path}: {exc.message}", file=sys.stderr)
        return 1
    if result is None:
        return 1
    if not result.ok:
        for error in result.errors:
            print(texts_people.row_line(error.line, error.message), file=sys.stderr)
        print(f"error: {path}: {len(result.errors)} error(s); nothing imported", file=sys.stderr)
        return 1
    for warning in result.warnings:
        print(texts_people.row_line(warning.line, warning.message), file=sys.stderr)
    target = out or path.with_name(output_name(path.name))
    try:
        target.write_bytes(render_output(table, result))
    except OSError as exc:
        # the import is committed; running it again changes nothing and writes the table
        print(
            f"error: imported, but cannot write {target}: {exc.strerror}; run the command "
            "again (with --out) to get the table with links",
            file=sys.stderr,
        )
        return 1
    created = ", ".join(f"{role} {n}" for role, n in result.created.items()) or "none"
    print(
        f"imported {path}: {sum(result.created.values())} new ({created}), "
        f"{result.existing} already in the database ({result.registered} registered), "
        f"{result.renewed} links renewed, {result.assigned} mentor assignments"
    )
    print(f"table with links: {target}")
    return 0


async def _store_people(
    settings: Settings, table: PeopleTable, bot_username: str | None
) -> PeopleImportResult | None:
    from bot.services.clock import utcnow
    from bot.services.people_import import PeopleImportService
    from bot.services.time_policy import TimePolicy

    bot_username = bot_username or await _ask_bot_username(settings)
    if not bot_username:
        return None
    async with open_database(settings) as db:
        now = utcnow()
        async with db.session() as repo:
            return await PeopleImportService(repo).import_people(
                table,
                actor=None,
                bot_username=bot_username,
                now=now,
                today=TimePolicy.from_settings(settings).today(now),
                ttl=timedelta(days=settings.invite_ttl_days),
            )


async def _ask_bot_username(settings: Settings) -> str | None:
    """The bot's username from Telegram (getMe with BOT_TOKEN); None (reported) on failure."""
    from aiogram.exceptions import TelegramAPIError
    from aiohttp import ClientError

    from bot.telegram import create_bot

    bot = create_bot(settings)
    try:
        return (await bot.me()).username
    except (TelegramAPIError, ClientError, OSError) as exc:
        print(f"error: cannot ask Telegram for the bot's username: {exc}", file=sys.stderr)
        return None
    finally:
        await bot.session.close()


def _export(
    settings: Settings, out: Path, municipality: str | None, year: int | None, *, as_csv: bool
) -> int:
    from bot.services.export_process import ExportError

    if not out.parent.is_dir():
        print(f"error: no folder {out.parent}", file=sys.stderr)
        return 1
    try:
        built = asyncio.run(_build_export(settings, municipality, year, as_csv=as_csv))
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        out.write_bytes(built.content)
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"exported {built.rows} reservist(s) to {out}")
    return 0


async def _build_export(
    settings: Settings, municipality: str | None, year: int | None, *, as_csv: bool
) -> ExportFile:
    from bot.services.clock import utcnow
    from bot.services.exports import ExportService
    from bot.services.time_policy import TimePolicy

    policy = TimePolicy.from_settings(settings)
    async with open_database(settings) as db:
        now = utcnow()
        today = policy.today(now)
        async with db.session() as repo:
            return await ExportService(repo).export(
                None,
                municipality or None,
                year or today.year,
                today=today,
                zone=policy.zone(),
                now=now,
                csv_format=as_csv,
            )


def _consents(settings: Settings, out: Path) -> int:
    """``consents --out FILE``: the consent journal as CSV (bot.services.people)."""
    if not out.parent.is_dir():
        print(f"error: no folder {out.parent}", file=sys.stderr)
        return 1
    content, rows = asyncio.run(_build_consents(settings))
    try:
        out.write_bytes(content)
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"exported {rows} consent record(s) to {out}")
    return 0


async def _build_consents(settings: Settings) -> tuple[bytes, int]:
    from bot.services.people import consent_journal_csv

    async with open_database(settings) as db, db.session() as repo:
        rows = await repo.consents.journal()
    return consent_journal_csv(rows), len(rows)


def _backup(settings: Settings, out: Path) -> int:
    """``backup OUT``: the SQLite database copied to ``out`` by the online backup API (in a
    worker thread, so an event loop would not be blocked); 0, or 1 with one line on stderr
    (PostgreSQL, no database file, ``out`` exists or cannot be written)."""
    source = settings.sqlite_path()
    if source is None:
        if settings.database_url.startswith("postgresql"):
            print(
                "error: backup copies SQLite only; back up PostgreSQL with pg_dump "
                "(e.g. pg_dump -Fc -f reserve.dump DBNAME)",
                file=sys.stderr,
            )
        else:
            print("error: backup needs a SQLite file, not an in-memory database", file=sys.stderr)
        return 1
    if not source.is_file():
        print(f"error: no database file {source}", file=sys.stderr)
        return 1
    if out.exists():
        print(f"error: {out} already exists; choose a new file", file=sys.stderr)
        return 1
    if not out.parent.is_dir():
        print(f"error: no folder {out.parent}", file=sys.stderr)
        return 1
    from storage.backup import sqlite_backup

    try:
        size = asyncio.run(asyncio.to_thread(sqlite_backup, source, out))
    except (OSError, sqlite3.Error) as exc:
        print(f"error: backup of {source} to {out} failed: {exc}", file=sys.stderr)
        return 1
    print(f"backed up {source} to {out} ({size} bytes, integrity ok)")
    return 0


def _check() -> int:
    """``check``: settings, database, migrations and Telegram, one line each on stdout
    (``ok`` or ``FAIL``); 0 when all pass, else 1. Secrets are not printed."""
    lines: list[tuple[bool, str]] = []
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"FAIL  settings: {exc.variable} {exc.reason}")
        return 1
    # stdout is the four lines; retries and errors are in them, other logs go to stderr
    configure_logging("ERROR", settings.log_format)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    if settings.bot_token:
        officers = len(settings.officer_ids)
        lines.append((True, f"settings: read, BOT_TOKEN set, {officers} officer id(s)"))
    else:
        lines.append((False, "settings: BOT_TOKEN is not set; get one from @BotFather"))
    lines += asyncio.run(_check_database(settings))
    lines.append(asyncio.run(_check_telegram(settings)))
    for ok, line in lines:
        print(f"{'ok  ' if ok else 'FAIL'}  {line}")
    return 0 if all(ok for ok, _ in lines) else 1


CHECK_TIMEOUT = 15.0  # seconds each remote check may take


async def _check_database(settings: Settings) -> list[tuple[bool, str]]:
    """The database line (reachable) and the migrations line (at head)."""
    from sqlalchemy.engine import make_url

    from storage import migrate
    from storage.monitoring import ping

    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    source = settings.sqlite_path()
    if source is not None and not source.is_file():  # connecting would create an empty file
        return [
            (False, f"database: no file {source} ({shown})"),
            (False, "migrations: no database; start the bot or run python -m bot migrate"),
        ]
    async with open_database(settings, upgrade=False) as db:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await ping(db.engine)
        except Exception as exc:  # any failure is the answer
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return [
                (False, f"database: unreachable ({shown}): {reason}"),
                (False, "migrations: not checked, the database is unreachable"),
            ]
        lines = [(True, f"database: reachable ({shown})")]
        head = migrate.HEAD
        at = await migrate.current(db.engine)
        if at == head:
            lines.append((True, f"migrations: at head {head}"))
        elif at is None:
            lines.append(
                (False, f"migrations: none applied (head is {head}); run python -m bot migrate")
            )
        else:
            lines.append(
                (False, f"migrations: at {at}, head is {head}; run python -m bot migrate")
            )
        return lines


async def _check_telegram(settings: Settings) -> tuple[bool, str]:
    """The Telegram line: getMe answered at TELEGRAM_API_URL within :data:`CHECK_TIMEOUT`."""
    where = settings.telegram_api_url
    if not settings.bot_token:
        return False, f"telegram: not checked, no BOT_TOKEN ({where})"
    # aiogram only now: its import is most of the check's 4-5 s (without a token: about 1 s)
    from bot.telegram import RetryMiddleware, create_bot

    bot = create_bot(settings, retry=RetryMiddleware(budget=CHECK_TIMEOUT / 3))
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            me = await bot.get_me()
    except Exception as exc:  # any failure is the answer
        reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return False, f"telegram: getMe failed at {where}: {str(reason).splitlines()[0]}"
    finally:
        await bot.session.close()
    return True, f"telegram: getMe answered, @{me.username} at {where}"
