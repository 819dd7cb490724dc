"""The export's child process, seen from the bot: :func:`run_export` starts
``python -m bot.services.export_child`` (:mod:`bot.services.export_child`), which opens the
database itself, reads the rows and builds the file (at a region's scale: seconds of CPU and
about 100 MiB), so that the bot's event loop and its GIL stay free for other users meanwhile
and the bot's memory does not grow with a region's rows.

The request (:class:`ExportRequest`, the database URL with its password among it) goes to the
child as one JSON object on its standard input: never in its arguments or environment, which
``ps`` and ``/proc`` show. The child writes the file into a temporary folder this process made
(not to its standard output, which a library's stray print would corrupt) and prints one JSON
line: ``{"rows": N, "peak_mib": M}``, or ``{"error": "<exception type>"}`` with exit code 1.
Its standard error is discarded: a traceback may hold the values it was reading. A built file
is logged (``export built``: rows, seconds, the child's peak memory); a failure with the
exception's type and the exit code only, and raised as :class:`ExportError`.

The child is always ended before :func:`run_export` returns or raises: on the time limit
(:data:`EXPORT_SECONDS`) and on cancellation (the bot stopping) it is killed and reaped.
A bot process killed during an export leaves no child building on (the child dies with it:
:func:`bot.services.export_child.die_with_parent`), and a folder it left, perhaps holding a
finished file of personal data, is deleted by the next start (:func:`remove_left_folders`).
At most :data:`EXPORT_CHILDREN` children run at once in a bot process; another officer's export
waits for its turn (the wait counts towards nothing: the time limit starts with the child).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import weakref
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)

#: the module the child runs (``python -m``)
CHILD_MODULE = "bot.services.export_child"
#: the time limit of one export: a region of 10,000 reservists takes under 10 s on two cores
EXPORT_SECONDS = 300.0
#: the file's name in the temporary folder
FILE_NAME = "export"
#: the temporary folder's name begins with this, then the bot process's pid and a dash
FOLDER_PREFIX = "reserve-export-"
#: export children running at once per bot process: one. A region's export is seconds of one
#: core's CPU and about 100 MiB; two at once on a two-core server would take the core the bot
#: answers users with, and double the memory. A second officer's export waits for the first.
EXPORT_CHILDREN = 1

#: the semaphore of each event loop (tests run many loops in one process)
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


class ExportError(Exception):
    """The export could not be built (the child failed, ran out of time, or cannot read the
    database); the message names the cause by type only, never a value read."""


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What the child builds: the scope (``area``: a municipality, None = region), the plan
    ``year``, the officer's ``today`` and zone (``zone``: an IANA name), ``now`` aware UTC, the
    CSV instead of the workbook with ``csv_format``; ``database_url`` is where it reads."""

    database_url: str = field(repr=False)  # holds the password of a server's URL
    area: str | None
    year: int
    today: date
    zone: str
    now: datetime
    csv_format: bool

    def to_json(self) -> bytes:
        """The request as the JSON the child reads."""
        fields = asdict(self)
        fields["today"] = self.today.isoformat()
        fields["now"] = self.now.isoformat()
        return json.dumps(fields).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> ExportRequest:
        """The request :meth:`to_json` wrote."""
        fields: dict[str, Any] = json.loads(raw)
        fields["today"] = date.fromisoformat(fields["today"])
        fields["now"] = datetime.fromisoformat(fields["now"])
        return cls(**fields)


def shareable(database_url: str) -> bool:
    """Whether another process can open ``database_url``: False for an in-memory SQLite
    database, which lives inside the process that opened it."""
    url = make_url(database_url)
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


async def run_export(
    request: ExportRequest, *, seconds: float = EXPORT_SECONDS
) -> tuple[bytes, int]:
    """Build the file of ``request`` in a child process.

    Returns:
        The file's bytes and the number of reservists in it.

    Raises:
        ExportError: the database is in memory (a child cannot open it), the child failed
            (exit code other than 0) or took longer than ``seconds`` (it is killed). The
            ``seconds`` count from the child's start, not from waiting for a turn
            (:data:`EXPORT_CHILDREN`).
        asyncio.CancelledError: the caller was cancelled; the child is killed and reaped first.
    """
    if not shareable(request.database_url):
        raise ExportError("an in-memory SQLite database cannot be read by the export's process")
    loop = asyncio.get_running_loop()
    turn = _turns.get(loop)
    if turn is None:
        turn = _turns[loop] = asyncio.Semaphore(EXPORT_CHILDREN)
    async with turn:
        return await _run_child(request, seconds)


async def _run_child(request: ExportRequest, seconds: float) -> tuple[bytes, int]:
    prefix = f"{FOLDER_PREFIX}{os.getpid()}-"
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        target = Path(folder) / FILE_NAME
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", CHILD_MODULE, target,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(proc.communicate(request.to_json()), seconds)
        except TimeoutError:
            await _end(proc)
            log.error("export timed out", seconds=seconds)
            msg = f"the export took longer than {seconds:g} s"
            raise ExportError(msg) from None
        except BaseException:  # cancelled: the bot is stopping or the caller gave up
            await _end(proc)
            raise
        report = _report(out)
        if proc.returncode != 0 or "rows" not in report:
            error = str(report.get("error", "no report"))
            log.error("export failed", error=error, exit_code=proc.returncode)
            msg = f"the export's process failed: {error} (exit code {proc.returncode})"
            raise ExportError(msg)
        rows = int(report["rows"])
        log.info(
            "export built",
            rows=rows,
            seconds=round(time.monotonic() - started, 2),
            child_peak_mib=report.get("peak_mib"),
        )
        return target.read_bytes(), rows


def _report(out: bytes) -> dict[str, Any]:
    """The child's JSON line; empty when it printed none (it died before)."""
    lines = out.decode(errors="replace").strip().splitlines()
    with contextlib.suppress(ValueError):
        found = json.loads(lines[-1]) if lines else {}
        if isinstance(found, dict):
            return found
    return {}


async def _end(proc: asyncio.subprocess.Process) -> None:
    """Kill the child unless it has ended, and reap it (shielded: a second cancellation while
    waiting still leaves no process behind)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    await asyncio.shield(proc.wait())


def remove_left_folders(root: Path | None = None) -> int:
    """Delete the export folders (in ``root``, by default the system's temporary folder) of
    bot processes that no longer run: a bot killed during an export leaves its folder, with
    the finished file in it if the kill came after the build (personal data, 152-ФЗ: kept no
    longer than needed). The folders of running processes (this one, another instance on the
    same host) are left alone. Returns how many were deleted. Called at the bot's start."""
    removed = 0
    for folder in (root or Path(tempfile.gettempdir())).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
        if not pid.isdigit() or _running(int(pid)) or not folder.is_dir():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    if removed:
        log.info("left export folders removed", count=removed)
    return removed


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True
