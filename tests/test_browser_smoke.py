"""Temporary smoke test: Playwright + Debian's Chromium against a trivial aiohttp page."""

from __future__ import annotations

import pytest
from aiohttp import web

from tests.browser_support import browser_context  # noqa: F401

pytestmark = pytest.mark.e2e


async def test_page_renders_cyrillic(browser_context, unused_tcp_port: int) -> None:  # noqa: F811
    app = web.Application()

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body><p id='t'>Кадровый резерв</p><button id='b'>Жми</button>"
            "<script>document.getElementById('b').onclick=()=>{document.getElementById('t')"
            ".textContent='нажато'}</script></body></html>",
            content_type="text/html",
        )

    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", unused_tcp_port).start()
    try:
        page = await browser_context.new_page()
        await page.goto(f"http://127.0.0.1:{unused_tcp_port}/")
        assert await page.text_content("#t") == "Кадровый резерв"
        await page.click("#b")
        await page.wait_for_function("document.getElementById('t').textContent === 'нажато'")
    finally:
        await runner.cleanup()
