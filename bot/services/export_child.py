"""The export's child process: ``python -m bot.services.export_child FILE``, started by
:func:`bot.services.export_process.run_export`.

It reads an :class:`~bot.services.export_process.ExportRequest` as JSON from its standard
input, opens the database of the request itself, reads the rows
(:meth:`bot.services.exports.ExportService.collect`) and closes the database, then builds the
workbook or the CSV and writes it to ``FILE``. It prints one JSON line: ``{"rows": N,
"peak_mib": M}`` (exit code 0; M its peak memory), or ``{"error": "<exception type>"}`` (exit
code 1) and nothing of the values it read. It imports no aiogram: it is the domain and the
storage only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import signal
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.services.export_process import ExportRequest
from bot.services.exports import ExportService, build_csv, build_workbook
from storage.db import Database


async def build(request: ExportRequest) -> tuple[bytes, int]:
    """The file of ``request`` and the number of reservists in it. The database's session
    ends before the build, so no read snapshot is held through the seconds of it."""
    db = Database(request.database_url, pool_size=1)
    try:
        async with db.session() as repo:
            data = await ExportService(repo).collect(
                request.area, request.year, request.today, ZoneInfo(request.zone), request.now
            )
    finally:
        await db.dispose()
    builder = build_csv if request.csv_format else build_workbook
    return builder(data), len(data.people)


#: prctl(2)'s option: the signal this process gets when its parent ends (Linux)
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """On Linux, have the kernel kill this process when the bot's process ends: a bot killed
    during an export leaves no child building a file nobody will read. (Had the bot ended
    before this call, its end of the standard input is closed: reading the request fails and
    the child exits.) Elsewhere nothing is done."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main(target: Path) -> int:
    """Build the requested file into ``target``; the exit code (0: done, 1: failed).

    The cyclic garbage collector is off in this short-lived process: reading a region creates
    some 100,000 objects that all stay alive until the build, and every collection walked them
    all again, about a quarter of the reading's time. Memory is still freed by reference
    counting; the few reference cycles left live until the process ends, seconds later (its
    peak memory did not grow)."""
    gc.disable()
    die_with_parent()
    try:
        request = ExportRequest.from_json(sys.stdin.buffer.read())
        content, rows = asyncio.run(build(request))
        target.write_bytes(content)
    except Exception as exc:  # reported by its type only: its message may hold values
        print(json.dumps({"error": type(exc).__name__}), flush=True)
        return 1
    print(json.dumps({"rows": rows, "peak_mib": peak_mib()}), flush=True)
    return 0


def peak_mib() -> float | None:
    """This process's peak resident set size in MiB (``VmHWM``: of this program alone, unlike
    ``ru_maxrss``, which counts the bot's memory the process started with); None without
    ``/proc``."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
