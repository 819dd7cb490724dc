"""The sandbox's page in a browser, for tests/test_sandbox_browser.py and
bench/sandbox_screenshots.py.

- Playwright drives Debian's Chromium (`apt-get install chromium`, done by `.ci/run`): no
  browser is downloaded, Playwright's Python package only brings its driver. A missing
  Chromium or Playwright fails the test with a clear message; the browser tests are skipped
  only when the environment says so explicitly (``SANDBOX_BROWSER=skip``), which CI never does.
- :func:`start_sandbox` runs ``python -m bot sandbox --fresh --port 0`` in a folder of its
  own (its database goes to ``data/sandbox`` below it), in a process group of its own.
- :class:`ChatPage` is the page as a person uses it, through the DOM contract listed at the top
  of ``bot/sandbox/static/app.js``. Every wait has a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.config import settings_env_names

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Locator, Page

ROOT = Path(__file__).resolve().parents[1]
#: One answer of the bot (the emulator lets a chat receive about one message a second).
WAIT = 30.0
#: The sandbox's start: the demo district is loaded, then the bot process starts (its imports
#: alone took 20-40 s on a loaded two-core machine); the same for a time machine's restart.
START_WAIT = 240.0

#: Debian's package installs its launcher here; `CHROMIUM` may name another binary.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: Without the background-networking flags Chromium keeps trying Google's services, whose
#: connections fail (slowly) on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=ru-RU",
]
SKIP_ENV = "SANDBOX_BROWSER"

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def require_browser() -> None:
    """Skip when asked to (``SANDBOX_BROWSER=skip``); otherwise fail, with how to fix it, when
    Chromium or Playwright is missing."""
    if os.environ.get(SKIP_ENV, "").lower() == "skip":
        pytest.skip(f"{SKIP_ENV}=skip: browser tests skipped on request")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's package "
            "(`apt-get install -y chromium fonts-dejavu-core`, as .ci/run does), point CHROMIUM "
            f"at another binary, or set {SKIP_ENV}=skip to skip the browser tests",
            pytrace=False,
        )
    try:
        import playwright.async_api  # noqa: F401, PLC0415
    except ImportError:
        pytest.fail(
            "the Python package playwright is missing: `pip install -e '.[dev]'` "
            "(never `playwright install`: the browser is Debian's)",
            pytrace=False,
        )


@asynccontextmanager
async def launch_chromium(
    user_data_dir: Path, viewport: dict[str, int] | None = None
) -> AsyncIterator[BrowserContext]:
    """Debian's Chromium under Playwright with a fresh profile in ``user_data_dir`` (a
    persistent context: Playwright refuses ``--user-data-dir`` among the arguments), at
    ``viewport`` (desktop by default), in Russian, accepting downloads."""
    from playwright.async_api import async_playwright  # noqa: PLC0415

    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            timeout=60_000,
            viewport=viewport or DESKTOP,  # type: ignore[arg-type]
            # the browser's own widgets (the date field) in Russian, where Debian's
            # chromium-l10n is installed; en-US without it
            env={**os.environ, "LANG": "ru_RU.UTF-8", "LANGUAGE": "ru"},
            accept_downloads=True,
            locale="ru-RU",
            # the page forbids eval; Playwright's wait_for_function evaluates a string
            bypass_csp=True,
        )
        try:
            yield context
        finally:
            await context.close()


# --------------------------------------------------------------------------- the process


@dataclass
class Sandbox:
    """The running ``python -m bot sandbox``: its page address and its folder."""

    proc: asyncio.subprocess.Process
    address: str
    home: Path
    log_path: Path

    @property
    def db_path(self) -> Path:
        return self.home / "data" / "sandbox" / "sandbox.db"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` from the sandbox's database (read-only; the bot keeps writing)."""
        with contextlib.closing(
            sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        ) as conn:
            return list(conn.execute(sql, params).fetchall())


def sandbox_env(home: Path) -> dict[str, str]:
    """The shell's environment without any of the bot's settings, in a folder of its own."""
    names = settings_env_names()
    return {
        **{k: v for k, v in os.environ.items() if k.upper() not in names},
        "HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "INFO",
    }


async def _address(proc: asyncio.subprocess.Process, out_path: Path, log_path: Path) -> str:
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        printed = await asyncio.to_thread(out_path.read_text, errors="replace")
        found = re.search(r"http://127\.0\.0\.1:\d+", printed)
        if found:
            return found.group(0)
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.2)
    tail = (await asyncio.to_thread(log_path.read_text, errors="replace"))[-3000:]
    raise AssertionError(f"the sandbox printed no address (exit {proc.returncode}):\n{tail}")


async def _stop(proc: asyncio.subprocess.Process) -> int | None:
    """SIGTERM to the sandbox's process group (the sandbox and its bot), SIGKILL after 30 s."""
    if proc.returncode is not None:
        return proc.returncode
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        return await asyncio.wait_for(proc.wait(), 30)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        return None


@asynccontextmanager
async def start_sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    """``python -m bot sandbox --fresh --port 0`` in ``tmp_path/home`` (its database goes to
    ``data/sandbox`` below it; its output to ``tmp_path/sandbox.log``), in a process group of
    its own, stopped at the end (SIGTERM; it must exit 0)."""
    home = tmp_path / "home"
    home.mkdir()
    out_path, log_path = tmp_path / "sandbox.out", tmp_path / "sandbox.log"
    with out_path.open("wb") as out, log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "sandbox", "--fresh", "--port", "0",
            env=sandbox_env(home), cwd=home, stdin=asyncio.subprocess.DEVNULL,
            stdout=out, stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        address = await _address(proc, out_path, log_path)
        yield Sandbox(proc, address, home, log_path)
    finally:
        code = await _stop(proc)
    assert code == 0, f"the sandbox exited with {code}:\n{log_path.read_text()[-3000:]}"


# --------------------------------------------------------------------------- the page


class ChatPage:
    """The sandbox's page as a person uses it (the selectors of the DOM contract)."""

    def __init__(self, page: Page) -> None:
        self.page = page

    async def wait_running(self, timeout: float = START_WAIT) -> None:
        await self.page.wait_for_function(
            "() => (document.querySelector('#bot-status')?.textContent || '')"
            ".includes('работает')",
            timeout=timeout * 1000,
        )

    async def open_tab(self, user_id: int) -> None:
        tab = self.page.locator(f'button.tab[data-user-id="{user_id}"]')
        await tab.click(timeout=WAIT * 1000)
        await self.page.wait_for_function(
            '(id) => document.querySelector(`button.tab[data-user-id="${id}"]`)'
            "?.classList.contains('active')",
            arg=user_id,
            timeout=WAIT * 1000,
        )

    async def last_id(self) -> int:
        """The newest message id shown in the active chat (0 when it is empty)."""
        ids: list[str] = await self.page.eval_on_selector_all(
            "#messages .msg", "nodes => nodes.map(n => n.dataset.messageId)"
        )
        return max((int(i) for i in ids), default=0)

    async def send(self, text: str) -> int:
        """Type ``text`` and send it; returns the newest message id before it."""
        before = await self.last_id()
        await self.page.fill("#composer-input", text)
        await self.page.click("#composer-send")
        return before

    async def bot_says(
        self, needle: str, after: int, *, button: str | None = None, timeout: float = WAIT
    ) -> Locator:
        """The first bot message newer than ``after`` whose text contains ``needle`` (and, if
        given, that has an inline button containing ``button``)."""
        handle = await self.page.wait_for_function(
            """([after, needle, button]) => {
                for (const m of document.querySelectorAll('#messages .msg.from-bot')) {
                    if (Number(m.dataset.messageId) <= after) continue;
                    const text = m.querySelector('.msg-text')?.textContent || '';
                    if (!text.includes(needle)) continue;
                    if (button !== null && ![...m.querySelectorAll('button.inline-btn')]
                        .some(b => b.textContent.includes(button))) continue;
                    return m.dataset.messageId;
                }
                return false;
            }""",
            arg=[after, needle, button],
            timeout=timeout * 1000,
        )
        message_id = await handle.json_value()
        return self.message(int(message_id))

    def message(self, message_id: int) -> Locator:
        return self.page.locator(f'#messages .msg[data-message-id="{message_id}"]')

    async def press(self, message: Locator, button: str) -> int:
        """Press the inline button containing ``button`` under ``message``; returns the newest
        message id before it."""
        before = await self.last_id()
        await message.locator("button.inline-btn", has_text=button).first.click(
            timeout=WAIT * 1000
        )
        return before

    async def text_of(self, message: Locator) -> str:
        return await message.locator(".msg-text").inner_text(timeout=WAIT * 1000)

    async def toast(self, needle: str, timeout: float = WAIT) -> str:
        toast = self.page.locator("#toast")
        await toast.filter(has_text=needle).wait_for(state="visible", timeout=timeout * 1000)
        return await toast.inner_text()
