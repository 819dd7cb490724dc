"""Benchmark: the idle resident memory (RSS) of ``python -m bot run`` polling the fake Bot API,
with an empty database and with N reservists (their plans built), against a bare aiogram echo
bot started the same way in the same run. The RSS is read after the start-up jobs (plans,
reminder scan) had ``--settle`` seconds. Prints min / median / max of the runs and the target
(≤ 100 MB). The export's peak is measured by ``python -m bench.export`` (peak RSS).

Usage: .venv/bin/python -m bench.memory [N] [--runs R] [--settle S]
"""

from __future__ import annotations

import argparse
import asyncio

from bench.botproc import (
    TOKEN,
    bot_env,
    make_database,
    rss_mib,
    spread,
    start_bot,
    stop,
    temp_home,
)
from bot.sandbox.emulator import FakeTelegramServer


async def idle_rss(reservists: int, runs: int, settle: float) -> dict[str, list[float]]:
    """RSS (MiB) of the bot over an empty database, over ``reservists``, and of the echo bot."""
    found: dict[str, list[float]] = {"empty": [], "populated": [], "echo": []}
    empty_home, full_home = temp_home("bench-mem-"), temp_home("bench-mem-")
    empty_url = await make_database(empty_home, 0)
    full_url = await make_database(full_home, reservists)
    async with FakeTelegramServer(TOKEN) as server:
        for _ in range(runs):
            for key, home, url, echo in (
                ("empty", empty_home, empty_url, False),
                ("populated", full_home, full_url, False),
                ("echo", empty_home, empty_url, True),
            ):
                proc, _ = await start_bot(server, bot_env(server, url, home), echo=echo)
                try:
                    await asyncio.sleep(settle)
                    found[key].append(rss_mib(proc.pid))
                finally:
                    await stop(proc)
    return found


def main(args: argparse.Namespace) -> None:
    found = asyncio.run(idle_rss(args.reservists, args.runs, args.settle))
    fmt = "{:.0f}"
    print(f"idle RSS, min / median / max of {args.runs} runs (target ≤ 100 MB):")
    print(f"  python -m bot run, empty database: {spread(found['empty'], fmt)} MiB")
    print(
        f"  python -m bot run, {args.reservists} reservists: {spread(found['populated'], fmt)} MiB"
    )
    print(f"  bare aiogram echo bot: {spread(found['echo'], fmt)} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("reservists", nargs="?", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=10.0)
    main(parser.parse_args())
