"""Benchmark: start-up. The import of ``bot.runner`` against aiogram's alone (each in a fresh
interpreter, alternated, in the same run), and ``python -m bot run`` from the spawn to its
first getUpdates on the fake Bot API (the database migrated beforehand), against a bare aiogram
echo bot started the same way. Prints min / median / max of the runs and the targets
(import ≤ 1.3 × aiogram's; ≤ 2 s to polling).

Usage: .venv/bin/python -m bench.startup [RUNS]
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time

from bench.botproc import ROOT, TOKEN, bot_env, make_database, spread, start_bot, stop, temp_home
from bot.sandbox.emulator import FakeTelegramServer


def import_seconds(module: str) -> float:
    """Wall time of ``python -c 'import MODULE'`` in a fresh interpreter."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT)
    return time.perf_counter() - started


async def polling_seconds(runs: int) -> tuple[list[float], list[float]]:
    """Seconds to the first getUpdates of the bot and of the echo bot, ``runs`` each."""
    home = temp_home("bench-startup-")
    url = await make_database(home, 0)
    bot_times: list[float] = []
    echo_times: list[float] = []
    async with FakeTelegramServer(TOKEN) as server:
        env = bot_env(server, url, home)
        for _ in range(runs):
            for echo, times in ((False, bot_times), (True, echo_times)):
                proc, seconds = await start_bot(server, env, echo=echo)
                times.append(seconds)
                await stop(proc)
    return bot_times, echo_times


def main(runs: int) -> None:
    bare = [import_seconds("sys") for _ in range(runs)]
    aiogram: list[float] = []
    runner: list[float] = []
    for _ in range(runs):
        aiogram.append(import_seconds("aiogram"))
        runner.append(import_seconds("bot.runner"))
    ratio = statistics.median(runner) / statistics.median(aiogram)
    print(f"interpreter alone: {spread(bare)} s (min / median / max of {runs})")
    print(f"import aiogram: {spread(aiogram)} s")
    print(f"import bot.runner: {spread(runner)} s")
    print(f"ratio of medians: {ratio:.2f} (target ≤ 1.3)")
    bot_times, echo_times = asyncio.run(polling_seconds(runs))
    print(f"python -m bot run to first getUpdates: {spread(bot_times)} s (target ≤ 2 s)")
    print(f"bare aiogram echo bot to first getUpdates: {spread(echo_times)} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
