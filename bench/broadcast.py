"""Benchmark: one broadcast to N recipients through the real aiogram Bot, the bot's
ThrottleMiddleware and the broadcast transport, against the fake Bot API server enforcing
Telegram's limits (30 messages/s in all, 1/s per chat) on a clock K times faster.

The limiter is configured for the same cap (RateLimiter(per_second=30*K, chat_interval=1/K)).
The fake server runs in a child process by default (``--same-loop`` puts it in the bot's event
loop), as Telegram is not in the bot's process either. Prints the sustained rate of
accepted sends against the cap (first to last accepted send, as the server saw them), the 429s,
the delays between the limiter's grant, the request's arrival at the server and the answer's
return (the jitter the limiter's arrival window absorbs; one-message broadcasts), the elapsed
time, and peak memory (ru_maxrss of the process, which includes the fake server; ``--memory``
adds tracemalloc's peak of Python allocations, in a slower run).

Usage: .venv/bin/python -m bench.broadcast [N] [--speed K] [--parts P] [--memory] [--same-loop]
       [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from bot.config import load_settings
from bot.sandbox.emulator import FakeTelegramServer, RateLimit, ServerStats
from bot.services.broadcast import BroadcastProgress, BroadcastService, ContentPart
from bot.services.delivery import Lane, RateLimiter, Slot
from bot.telegram import TelegramBroadcastTransport, create_bot
from storage import migrate
from storage.db import Database
from storage.models import Role, User

TOKEN = "123456:BENCH-token-for-the-fake-server-only"
FIRST_ID = 50_000_000


@dataclass
class ServerReport:
    """What the fake server saw: its counters and the accepted sends' (arrival time, chat)."""

    stats: ServerStats
    accepted: list[tuple[float, int]]


class TimedLimiter(RateLimiter):
    """The bot's limiter, keeping the last slot it granted to each chat (the attempt that
    Telegram accepted when a recipient gets one message)."""

    def __init__(self, per_second: float, chat_interval: float) -> None:
        super().__init__(per_second=per_second, chat_interval=chat_interval)
        self.slots: dict[int, Slot] = {}

    async def acquire(self, chat_id: int | None, lane: Lane | None = None) -> Slot:
        """:meth:`RateLimiter.acquire`, remembering the slot."""
        slot = await super().acquire(chat_id, lane)
        if chat_id is not None:
            self.slots[chat_id] = slot
        return slot


class Host(Protocol):
    """Where the fake server runs; ``base_url`` once started, ``report()`` at the end."""

    base_url: str

    async def report(self) -> ServerReport: ...


def _report_of(server: FakeTelegramServer) -> ServerReport:
    accepted = [
        (c.at, c.chat_id or 0) for c in server.calls if c.method.startswith("send") and c.ok
    ]
    return ServerReport(server.stats, accepted)


async def serve(count: int, speed: float) -> None:
    """Child mode: run the fake server, print its URL, print its report as JSON when a line
    arrives on stdin, then stop."""
    server = FakeTelegramServer(TOKEN, rate_limit=rate_limit(speed))
    for n in range(count):
        server.user(FIRST_ID + n)
    await server.start()
    print(server.base_url, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    report = _report_of(server)
    print(json.dumps({"stats": asdict(report.stats), "accepted": report.accepted}), flush=True)
    await server.stop()


class ChildProcessHost:
    """The fake server in a child process (``python -m bench.broadcast --serve``): Telegram is
    not in the bot's process either, and sharing one CPU-bound event loop would add jitter."""

    def __init__(self, proc: asyncio.subprocess.Process, base_url: str) -> None:
        self.proc = proc
        self.base_url = base_url

    async def report(self) -> ServerReport:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"report\n")
        await self.proc.stdin.drain()
        data = json.loads(await self.proc.stdout.readline())
        accepted = [(at, chat) for at, chat in data["accepted"]]
        return ServerReport(ServerStats(**data["stats"]), accepted)


@asynccontextmanager
async def child_server(count: int, speed: float) -> AsyncIterator[Host]:
    """Start the fake server in a child process (monotonic clocks agree across processes)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.broadcast", "--serve", str(count), "--speed", str(speed),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**28,
    )  # fmt: skip
    assert proc.stdout is not None
    base_url = (await proc.stdout.readline()).decode().strip()
    try:
        yield ChildProcessHost(proc, base_url)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


class InLoopHost:
    """The fake server in the benchmark's own event loop."""

    def __init__(self, server: FakeTelegramServer) -> None:
        self.server = server
        self.base_url = server.base_url

    async def report(self) -> ServerReport:
        return _report_of(self.server)


@asynccontextmanager
async def loop_server(count: int, speed: float) -> AsyncIterator[Host]:
    """Start the fake server in this event loop."""
    async with FakeTelegramServer(TOKEN, rate_limit=rate_limit(speed)) as server:
        for n in range(count):
            server.user(FIRST_ID + n)
        yield InLoopHost(server)


def rate_limit(speed: float) -> RateLimit:
    """Telegram's limits on a clock ``speed`` times faster."""
    return RateLimit(per_second=30, per_chat_per_second=1.0, clock_speed=speed)


async def main(args: argparse.Namespace) -> None:
    count, speed = args.count, args.speed
    folder = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    url = args.database or f"sqlite+aiosqlite:///{folder}/b.db"
    db = Database(url)
    await migrate.upgrade(db.engine)
    started = time.perf_counter()
    async with db.session() as repo:
        users = [
            User(telegram_id=FIRST_ID + n, role=Role.RESERVIST, full_name=f"Резервист {n}")
            for n in range(count)
        ]
        repo.session.add_all(users)
        await repo.flush()
        user_ids = [u.id for u in users]
    print(f"setup: {count} users in {time.perf_counter() - started:.1f} s ({db.dialect})")

    limit = rate_limit(speed)
    cap = limit.per_second * speed
    host = loop_server if args.same_loop else child_server
    async with host(count, speed) as server:
        settings = load_settings(
            _env_file=None, bot_token=TOKEN, telegram_api_url=server.base_url, database_url=url
        )
        limiter = TimedLimiter(per_second=cap, chat_interval=1.0 / speed)
        bot = create_bot(settings, limiter)
        service = BroadcastService(db, TelegramBroadcastTransport(bot), limiter)
        parts = [
            ContentPart.of_text(f"<b>Объявление</b>: часть {n + 1}") for n in range(args.parts)
        ]
        broadcast = await service.create(
            created_by=None, parts=parts, user_ids=user_ids, audience={"label": "все"}
        )
        workers = service.concurrency_for(len(parts))

        async def show(p: BroadcastProgress) -> None:
            eta = f"{p.eta_seconds:.0f} s" if p.eta_seconds is not None else "?"
            print(f"  {p.processed}/{p.total}  {p.rate:.0f} recipients/s  eta {eta}")

        rss_before = _rss_mib()
        if args.memory:  # tracemalloc slows Python down: time and memory are separate runs
            tracemalloc.start()
        started = time.perf_counter()
        cpu = time.process_time()
        final = await service.run(broadcast.id, show)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        traced = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
        tracemalloc.stop()
        await bot.session.close()
        report = await server.report()
    await db.dispose()
    accepted, stats = [at for at, _ in report.accepted], report.stats

    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    rate = (len(accepted) - 1) / span if span else 0.0
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_after = _rss_mib()
    print(
        f"broadcast: {final.sent} sent, {final.blocked} blocked, {final.failed} failed, "
        f"status {final.status}, {workers} workers (in flight at most)"
    )
    print(f"elapsed: {elapsed:.1f} s for {len(accepted)} messages")
    where = "bot and fake server" if args.same_loop else "bot"
    per_message = cpu / max(1, len(accepted)) * 1e3
    print(f"CPU time of the {where} process: {cpu:.1f} s, {per_message:.2f} ms/message")
    print(
        f"sustained rate: {rate:.1f} messages/s of a cap of {cap:g}/s = {rate / cap:.3f} "
        f"(peak {stats.peak_per_second} in a server second of {limit.per_second})"
    )
    print(
        f"429 answers: {stats.too_many_requests} "
        f"(global {stats.rate_limited_global}, per chat {stats.rate_limited_chat})"
    )
    if args.parts == 1:
        _print_delays(report.accepted, limiter.slots)
    print(
        f"memory of the {where} process: RSS {rss_before:.0f} MiB before the broadcast, "
        f"{rss_after:.0f} MiB after, peak {maxrss:.0f} MiB (including setup)"
    )
    if traced:
        print(f"peak traced Python memory during the broadcast: {traced / 2**20:.1f} MiB")


def _print_delays(accepted: list[tuple[float, int]], slots: dict[int, Slot]) -> None:
    """Grant to arrival and arrival to answer of each accepted send (one a chat): min, median,
    99th percentile, max in ms."""
    outbound, inbound = [], []
    for at, chat in accepted:
        slot = slots.get(chat)
        if slot is not None and slot.answered_at is not None:
            outbound.append((at - slot.granted_at) * 1e3)
            inbound.append((slot.answered_at - at) * 1e3)
    if len(outbound) < 2:
        return
    for name, values in (("grant -> arrival", outbound), ("arrival -> answer", inbound)):
        p99 = statistics.quantiles(values, n=100)[98]
        print(
            f"{name}: min {min(values):.1f} / median {statistics.median(values):.1f} / "
            f"p99 {p99:.1f} / max {max(values):.1f} ms"
        )


def _rss_mib() -> float:
    """The resident set size of this process now, MiB (Linux /proc; 0 elsewhere)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.broadcast")
    parser.add_argument("count", nargs="?", type=int, default=10_000, help="recipients")
    parser.add_argument("--speed", type=float, default=10.0, help="server clock speed K")
    parser.add_argument("--parts", type=int, default=1, help="messages per recipient")
    parser.add_argument("--memory", action="store_true", help="trace Python allocations")
    parser.add_argument("--same-loop", action="store_true", help="fake server in this loop")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    asyncio.run(serve(arguments.count, arguments.speed) if arguments.serve else main(arguments))
