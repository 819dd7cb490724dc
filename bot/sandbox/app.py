"""The sandbox's supervisor: ``python -m bot sandbox [--port 8080] [--fresh]``.

One process tree, no token, no network beyond 127.0.0.1:

1. the Bot API emulator (:mod:`bot.sandbox.emulator`, Telegram's limits on) on a free
   loopback port;
2. the chat page (:mod:`bot.sandbox.web`) on ``127.0.0.1:PORT``, answering from the first
   second (it shows «Бот запускается…» until the bot polls);
3. the demo district (:mod:`bot.sandbox.demo`) in ``data/sandbox/sandbox.db`` (below the folder
   the command runs in), loaded into a new database on the first start or with ``--fresh``;
4. the bot itself, unchanged: ``python -m bot run`` as a child process (by way of
   :mod:`bot.sandbox.child`, which makes it stop if the supervisor dies) with
   ``TELEGRAM_API_URL`` pointing at the emulator, a token only the emulator knows, the sandbox
   database and ``OFFICER_IDS`` of the demo officer. It runs in ``data/sandbox``, so a ``.env``
   of the folder the sandbox started in is not read; no setting of the shell reaches it
   except ``LOG_LEVEL`` / ``LOG_FORMAT``.

The time machine (the page's control) restarts the bot with ``CLOCK_START`` at the chosen
moment (the bot's documented setting): the bot's start-up runs the reminder scan, the
mentoring digests and the plan upkeep at once, so what falls due on that day is sent and shows
on the page. The clock then runs on from there, also across later restarts of the bot.

Refusals: a ``DATABASE_URL`` in the environment that is not the sandbox's own (exit 2: the
sandbox never touches a real database); a second sandbox in the same folder, or a port in use
(exit 1). Ctrl-C or SIGTERM stop the bot (SIGTERM, then SIGKILL after
:data:`BOT_STOP_SECONDS`), the page and the emulator, and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib
import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web

import bot
from bot.sandbox.emulator import FakeTelegramServer, RateLimit, WaitTimeoutError
from bot.sandbox.web import BusyError, Hub, Tab, build_app

log = structlog.get_logger("bot.sandbox")

#: The sandbox's folder, below the working directory, and its database file in it.
FOLDER = Path("data/sandbox")
DB_FILE = "sandbox.db"
#: The chats' command menus the bot set, kept across starts as Telegram keeps them.
MENUS_FILE = "menus.json"
#: A token of the right shape that only the emulator accepts (Telegram never sees it).
TOKEN = "1000000001:SANDBOX_local_emulator_token_not_for_telegram"  # noqa: S105 - not a secret
BOT_USERNAME = "reserve_sandbox_bot"
BOT_NAME = "Кадровый резерв (песочница)"
ZONE = ZoneInfo("Europe/Moscow")
HOST = "127.0.0.1"
#: Seconds the bot has to stop on SIGTERM before it is killed.
BOT_STOP_SECONDS = 15.0
#: The bot's own grace for updates in flight when it stops (restarts stay quick).
BOT_GRACE_SECONDS = "3"
#: Seconds the bot may take from its start to its first getUpdates.
BOT_START_SECONDS = 120.0

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_SETTINGS = 2

BANNER = (
    "SANDBOX: the bot talks to a local Telegram emulator, never to Telegram; "
    "its data are the demo district's"
)


class SandboxError(Exception):
    """The sandbox cannot start; ``code`` is the exit code, the message one line."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class DemoPersonLike(Protocol):
    """What the sandbox reads of a demo person (:class:`bot.sandbox.demo.DemoPerson`)."""

    @property
    def user_id(self) -> int: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def label(self) -> str: ...


class DemoCastLike(Protocol):
    """What the sandbox reads of the demo cast (:class:`bot.sandbox.demo.DemoCast`)."""

    @property
    def people(self) -> tuple[DemoPersonLike, ...]: ...
    @property
    def tabs(self) -> tuple[DemoPersonLike, ...]: ...


def own_database_url(folder: Path = FOLDER) -> str:
    """The sandbox's database URL: ``sqlite+aiosqlite:///`` and the absolute path of
    ``folder/sandbox.db``."""
    return f"sqlite+aiosqlite:///{(folder / DB_FILE).resolve()}"


def check_database_url(value: str | None, folder: Path = FOLDER) -> None:
    """Refuse a ``DATABASE_URL`` that is not the sandbox's own.

    Args:
        value: ``DATABASE_URL`` of the environment (None or empty: unset, which is fine).
        folder: the sandbox's folder.

    Raises:
        SandboxError: (exit code 2) ``value`` names another database.
    """
    if not value or not value.strip():
        return
    prefix = "sqlite+aiosqlite:///"
    own = (folder / DB_FILE).resolve()
    if value.startswith(prefix):
        path = value.removeprefix(prefix).split("?", 1)[0]
        if path and path != ":memory:" and Path(path).resolve() == own:
            return
    raise SandboxError(
        f"error: DATABASE_URL is set to another database; the sandbox uses only its own "
        f"({prefix}{own}) and never a real one. Unset it (env -u DATABASE_URL python -m bot "
        "sandbox) or run the real bot with python -m bot run",
        EXIT_SETTINGS,
    )


def main(
    port: int = 8080,
    *,
    fresh: bool = False,
    folder: Path = FOLDER,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the sandbox until Ctrl-C or SIGTERM.

    Args:
        port: the page's port on 127.0.0.1 (0: a free one; the address is printed).
        fresh: load the demo district anew (the sandbox database is deleted first).
        folder: the sandbox's folder (its database, its lock).
        environ: the environment (default ``os.environ``); only ``DATABASE_URL``,
            ``LOG_LEVEL`` and ``LOG_FORMAT`` are read from it.

    Returns:
        The exit code: 0 after a stop, 1 when it could not start, 2 for a foreign
        ``DATABASE_URL``.
    """
    from bot.logs import configure_logging  # noqa: PLC0415

    env = dict(os.environ if environ is None else environ)
    try:
        check_database_url(env.get("DATABASE_URL"), folder)
    except SandboxError as exc:
        print(exc, file=sys.stderr)
        return exc.code
    level, fmt = _log_settings(env)
    configure_logging(level, fmt)
    sandbox = Sandbox(port=port, fresh=fresh, folder=folder, environ=env)
    try:
        return asyncio.run(sandbox.run())
    except SandboxError as exc:
        print(exc, file=sys.stderr)
        return exc.code


def _lock(path: Path) -> int:
    """An exclusive ``flock`` on ``path`` (one sandbox per folder), held until its descriptor
    is closed or the process ends; the descriptor is not inherited by the bot.

    Raises:
        SandboxError: another process holds it.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise SandboxError(
            f"error: another sandbox runs in {path.parent.resolve()}; stop it first"
        ) from None
    return fd


def _log_settings(env: Mapping[str, str]) -> tuple[str, str]:
    level = env.get("LOG_LEVEL", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        level = "INFO"
    fmt = env.get("LOG_FORMAT", "console").lower()
    return level, fmt if fmt in {"console", "json"} else "console"


@dataclass
class _Clock:
    """The bot's clock: real time, or from a moment set by the time machine, running on."""

    origin: datetime | None = None
    set_at: float = 0.0

    def now(self) -> datetime:
        if self.origin is None:
            return datetime.now(UTC)
        return self.origin + timedelta(seconds=time.monotonic() - self.set_at)

    def set(self, moment: datetime) -> None:
        self.origin, self.set_at = moment.astimezone(UTC), time.monotonic()


class Sandbox:
    """The supervisor: emulator, page, demo data and the bot process (see the module).

    Args:
        port: the page's port on 127.0.0.1 (0: a free one).
        fresh: load the demo district anew.
        folder: the sandbox's folder.
        environ: the environment the bot's ``LOG_LEVEL`` / ``LOG_FORMAT`` come from.
        demo: the demo module (``load_demo``, ``cast``); default :mod:`bot.sandbox.demo`.
    """

    def __init__(
        self,
        *,
        port: int = 8080,
        fresh: bool = False,
        folder: Path = FOLDER,
        environ: Mapping[str, str] | None = None,
        demo: Any = None,
    ) -> None:
        self.port = port
        self.fresh = fresh
        self.folder = folder
        self.environ = dict(os.environ if environ is None else environ)
        self._demo = demo
        self.clock = _Clock()
        self.address = ""
        self.emulator = FakeTelegramServer(
            TOKEN, bot_username=BOT_USERNAME, bot_first_name=BOT_NAME, rate_limit=RateLimit()
        )
        self.hub = Hub(self.emulator, ZONE, self.clock.now)
        self.officer_id: int | None = None
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._restart: asyncio.Task[None] | None = None
        self._stopping_bot = False

    # ------------------------------------------------------------------ Control (the page)

    def bot_now(self) -> datetime:
        """The bot's clock now (aware, UTC)."""
        return self.clock.now()

    async def travel(self, moment: datetime) -> None:
        """Move the bot's clock to ``moment``: the bot restarts with ``CLOCK_START`` there (in
        the background; the page follows the status).

        Raises:
            BusyError: the bot is restarting already, or not started yet.
        """
        if (self._restart is not None and not self._restart.done()) or not self.ready.is_set():
            raise BusyError
        self.clock.set(moment)
        log.info("sandbox time travel", to=moment.astimezone(UTC).isoformat())
        self._restart = asyncio.create_task(self._restart_bot(), name="sandbox-restart")

    def stop(self) -> None:
        """Ask :meth:`run` to stop (as Ctrl-C does)."""
        self._stop.set()

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        """Start everything, run until :meth:`stop` / a signal, stop everything.

        Returns:
            0 after a stop.

        Raises:
            SandboxError: another sandbox uses the folder, the port is taken, or the demo
                district could not be loaded.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = _lock(self.folder / "sandbox.lock")
        self._install_signals()
        runner: web.AppRunner | None = None
        try:
            await self.emulator.start(HOST, 0)
            runner = await self._serve_page()
            print(f"Sandbox: open {self.address}  (Ctrl-C stops it)", flush=True)
            log.warning(BANNER, page=self.address, api=self.emulator.base_url)
            try:
                await self._load()
            except Exception as exc:
                log.exception("the demo district could not be loaded")
                raise SandboxError(
                    f"error: the demo district could not be loaded ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''}); see the log above"
                ) from None
            self.ready.set()
            if not self._stop.is_set():
                await self._start_bot()
            await self._stop.wait()
        finally:
            log.info("sandbox stopping")
            self._stopping_bot = True
            if self._restart is not None and not self._restart.done():
                self._restart.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._restart
            await self._stop_bot()
            if self.ready.is_set():
                self._keep_menus()
            self.hub.close()
            if runner is not None:
                await runner.cleanup()
            await self.emulator.stop()
            os.close(lock)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError):
                    loop.remove_signal_handler(sig)
            log.info("sandbox stopped")
        return EXIT_OK

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self._stop.set)

    async def _serve_page(self) -> web.AppRunner:
        runner = web.AppRunner(build_app(self.hub, self), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, HOST, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise SandboxError(
                f"error: cannot listen on {HOST}:{self.port} ({exc.strerror}); "
                "choose another port with --port"
            ) from None
        port = int(runner.addresses[0][1])
        self.address = f"http://{HOST}:{port}"
        return runner

    # ------------------------------------------------------------------ demo data

    def _demo_module(self) -> Any:
        return self._demo or importlib.import_module("bot.sandbox.demo")

    async def _load(self) -> None:
        """The demo district: loaded into a new (or, with ``--fresh``, emptied) database,
        or only its cast read for an existing one; the people become the emulator's users
        and the four tabs the page's."""
        # imported in a thread: seconds of imports must not stall the page being served
        demo = await asyncio.to_thread(self._demo_module)
        path = self.folder / DB_FILE
        if self.fresh:
            for suffix in ("", "-wal", "-shm", "-journal"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
            (self.folder / MENUS_FILE).unlink(missing_ok=True)
        cast: DemoCastLike
        if path.exists():
            cast = demo.cast()
        else:
            self.hub.set_status("starting", "загружается демо-район…")
            cast = demo.cast()
            started = time.perf_counter()
            try:
                # in a thread with its own event loop: loading is seconds of CPU, and the
                # page's loop must keep answering meanwhile
                cast = await asyncio.to_thread(
                    asyncio.run, self._load_demo(demo, cast.tabs[0].user_id, self.clock.now())
                )
            except BaseException:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    path.with_name(path.name + suffix).unlink(missing_ok=True)
                raise
            log.info(
                "sandbox demo district loaded",
                people=len(cast.people),
                seconds=round(time.perf_counter() - started, 2),
            )
        for person in cast.people:
            self.emulator.user(person.user_id, person.first_name, last_name=person.last_name)
        self._restore_menus(cast)
        self.officer_id = cast.tabs[0].user_id
        self.hub.set_tabs(
            [Tab(p.user_id, p.first_name, p.last_name, p.role, p.label) for p in cast.tabs]
        )

    def _restore_menus(self, cast: DemoCastLike) -> None:
        """The command menus of the chats: those the bot set in earlier starts (Telegram keeps
        them; the emulator starts empty), or, for a new demo district, each demo person's
        role's menu, as the bot sets it at registration (``handlers.commands``)."""
        kept = self.folder / MENUS_FILE
        try:
            self.emulator.restore_menus(json.loads(kept.read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError):
            from bot import texts  # noqa: PLC0415 - the catalogue, no aiogram

            for person in cast.people:
                menu = texts.COMMANDS_BY_ROLE.get(person.role)
                if menu is not None:
                    self.emulator.set_chat_menu(person.user_id, menu.items())
            self._keep_menus()

    def _keep_menus(self) -> None:
        """Write the emulator's command menus to :data:`MENUS_FILE` (a failure is logged)."""
        try:
            (self.folder / MENUS_FILE).write_text(
                json.dumps(self.emulator.menus(), ensure_ascii=False), encoding="utf-8"
            )
        except OSError as exc:
            log.warning("sandbox menus not kept", error=str(exc))

    async def _load_demo(self, demo: Any, officer_id: int, now: datetime) -> DemoCastLike:
        """Migrate the new database and load the demo district into it (in the loader
        thread's event loop; ``self.emulator`` is not touched)."""
        from bot.config import load_settings  # noqa: PLC0415
        from storage import migrate  # noqa: PLC0415
        from storage.db import Database  # noqa: PLC0415

        settings = load_settings(
            _env_file=None,
            bot_token=TOKEN,
            database_url=own_database_url(self.folder),
            officer_ids=(officer_id,),
            default_timezone=ZONE.key,
            clock_start=None,
        )
        db = Database(settings.database_url)
        try:
            await migrate.upgrade(db.engine)
            cast: DemoCastLike = await demo.load_demo(db, settings, now=now)
        finally:
            await db.dispose()
        return cast

    # ------------------------------------------------------------------ the bot process

    def bot_env(self) -> dict[str, str]:
        """The bot process's environment: the shell's without any setting of the bot, and
        the sandbox's settings explicit."""
        from bot.config import settings_env_names  # noqa: PLC0415

        names = settings_env_names()
        env = {k: v for k, v in self.environ.items() if k.upper() not in names}
        level, fmt = _log_settings(self.environ)
        root = str(Path(bot.__file__).resolve().parents[1])
        env.update(
            BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=self.emulator.base_url,
            DATABASE_URL=own_database_url(self.folder),
            OFFICER_IDS=str(self.officer_id or ""),
            DEFAULT_TIMEZONE=ZONE.key,
            SHUTDOWN_GRACE_SECONDS=BOT_GRACE_SECONDS,
            LOG_LEVEL=level,
            LOG_FORMAT=fmt,
            PYTHONPATH=os.pathsep.join(p for p in (root, self.environ.get("PYTHONPATH")) if p),
            SANDBOX_SUPERVISOR_PID=str(os.getpid()),
        )
        if self.clock.origin is not None:
            env["CLOCK_START"] = self.clock.now().astimezone(ZONE).isoformat()
        return env

    async def _start_bot(self, status: str = "starting") -> bool:
        """Start ``python -m bot run`` and wait for its first getUpdates; False when it
        exited first (the page says so)."""
        self.hub.set_status(status)
        env = self.bot_env()
        log.warning(BANNER, api=self.emulator.base_url, clock=env.get("CLOCK_START", "real time"))
        polls = self.emulator.poll_count
        self._stopping_bot = False
        # python -m bot run, tied to this process (bot.sandbox.child)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.sandbox.child", env=env, cwd=self.folder,
        )  # fmt: skip
        self._proc = proc
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BOT_START_SECONDS
        while True:
            try:
                await self.emulator.wait_polling(0.2, newer_than=polls)
                break
            except WaitTimeoutError:
                if proc.returncode is not None or self._stop.is_set():
                    break
                if loop.time() > deadline:
                    log.error("the bot did not start polling", seconds=BOT_START_SECONDS)
                    break
        if proc.returncode is not None:
            self._bot_exited(proc.returncode)
            return False
        if self._stop.is_set():
            return False
        asyncio.create_task(self._watch(proc), name="sandbox-bot-watch")  # noqa: RUF006
        self.hub.set_status("running")
        log.info("sandbox bot polling", pid=proc.pid)
        return True

    async def _watch(self, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if proc is self._proc and not self._stopping_bot:
            self._bot_exited(code)

    def _bot_exited(self, code: int) -> None:
        log.error("the bot exited", code=code)
        self.hub.set_status(
            "stopped", f"код выхода {code}; перенеситесь во времени, чтобы перезапустить"
        )

    async def _stop_bot(self) -> None:
        """SIGTERM to the bot, SIGKILL after :data:`BOT_STOP_SECONDS`."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        self._stopping_bot = True
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), BOT_STOP_SECONDS)
        except TimeoutError:
            log.error("the bot did not stop in time; killed", seconds=BOT_STOP_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def _restart_bot(self) -> None:
        self.hub.set_status("restarting")
        await self._stop_bot()
        if not self._stop.is_set():
            await self._start_bot("restarting")
