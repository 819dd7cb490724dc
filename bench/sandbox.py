"""Benchmark: the sandbox's start. ``python -m bot sandbox --fresh --port <free>`` in a fresh
folder, from the spawn to the page answering 200 (the target, < 5 s), and, for information, to
the demo district loaded and the bot polling (the page's status «Бот работает»). Then SIGTERM
and the exit. Prints min / median / max of the runs.

Usage: .venv/bin/python -m bench.sandbox [RUNS]
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time

import aiohttp

from bench.botproc import ROOT, spread, temp_home
from bot.config import settings_env_names

TARGET = 5.0
POLL = 0.02
LIMIT = 300.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def one_run() -> tuple[float, float, float]:
    """Seconds to the page's 200, to the bot polling, and from SIGTERM to the exit."""
    home = temp_home("bench-sandbox-")
    port = free_port()
    names = settings_env_names()
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING")
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sandbox", "--fresh", "--port", str(port),
        env=env, cwd=home, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    page = polling = 0.0
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while not page:
                if proc.returncode is not None:
                    raise RuntimeError(f"the sandbox exited with {proc.returncode}")
                try:
                    async with http.get(f"{url}/") as response:
                        if response.status == 200:
                            page = time.perf_counter() - started
                except (aiohttp.ClientError, TimeoutError):
                    await asyncio.sleep(POLL)
            while not polling:
                try:
                    async with http.get(f"{url}/api/state") as response:
                        state = await response.json()
                except (aiohttp.ClientError, TimeoutError):
                    state = {"status": {"status": "busy"}}
                if state["status"]["status"] == "running":
                    polling = time.perf_counter() - started
                elif time.perf_counter() - started > LIMIT or proc.returncode is not None:
                    raise RuntimeError("the bot did not start polling")
                else:
                    await asyncio.sleep(0.1)
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 60)
        if code != 0:
            raise RuntimeError(f"the sandbox exited with {code} on SIGTERM")
        return page, polling, time.perf_counter() - stopping
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def main(runs: int) -> None:
    pages: list[float] = []
    bots: list[float] = []
    stops: list[float] = []
    for _ in range(runs):
        page, polling, stopped = await one_run()
        pages.append(page)
        bots.append(polling)
        stops.append(stopped)
    print(
        f"python -m bot sandbox --fresh to the page answering 200: {spread(pages)} s "
        f"(min / median / max of {runs}; target < {TARGET:g} s)"
    )
    print(f"to the demo district loaded and the bot polling: {spread(bots)} s")
    print(f"SIGTERM to exit (bot stopped first): {spread(stops)} s")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
