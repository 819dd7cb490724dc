"""Playwright driving Debian's Chromium (`apt-get install chromium`, done by `.ci/run`): no
browser is downloaded, Playwright's Python package only brings its driver.

A missing Chromium or Playwright fails the test with a clear message; the browser tests are
skipped only when the environment says so explicitly (``SANDBOX_BROWSER=skip``), which CI
never does."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

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
    "--lang=ru-RU",  # the browser's own widgets (the time machine's date field) in Russian
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
            accept_downloads=True,
            locale="ru-RU",
        )
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def browser_context(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Chromium with a fresh user-data dir under the test's temporary folder."""
    require_browser()
    async with launch_chromium(tmp_path / "chromium-profile") as context:
        yield context
