"""Screenshots of the sandbox's page for the README: ``python -m bench.sandbox_screenshots``.

Starts ``python -m bot sandbox --fresh`` in a temporary folder, plays a short, realistic
conversation in Debian's Chromium (Playwright; see tests/browser_support.py) and saves:

- ``docs/sandbox-desktop.png`` (1280×800): the officer's tab — an invite link, a broadcast
  whose progress message reached 100 % and the /export workbook;
- ``docs/sandbox-phone.png`` (390×844): reservist A's tab — a consultation recorded with
  /consult, the mentor's confirmation and the officer's announcement.

Needs ``apt-get install chromium fonts-dejavu-core`` (Cyrillic); for the emoji of the bot's
messages ``fonts-noto-color-emoji``, and ``chromium-l10n`` for the date field in Russian.
The PNGs are palette-quantised with Pillow when it is installed (matplotlib brings it) to stay
well under 300 KB each.

Options: ``--out DIR`` (default ``docs``).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

from bot.sandbox.demo import cast
from tests.browser_support import (
    DESKTOP,
    PHONE,
    ChatPage,
    launch_chromium,
    require_browser,
    start_sandbox,
)

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 300 * 1024
ANNOUNCEMENT = (
    "Коллеги, в пятницу в 15:00 — совещание резерва в актовом зале Центра оценки качества "
    "образования. Возьмите, пожалуйста, индивидуальные планы."
)
TOPIC = "Подготовка публичного доклада школы"


async def conversation(chat: ChatPage, officer: int, reservist: int, mentor: int) -> None:
    """What the screenshots show: the officer invites, reservist A records a consultation
    that the mentor confirms, the officer broadcasts an announcement and exports."""
    page = chat.page
    await chat.open_tab(officer)
    before = await chat.send("/invite reservist")
    await chat.bot_says("start=", before)

    await chat.open_tab(reservist)
    before = await chat.send("/consult")
    step = await chat.bot_says("", before, button="Сегодня")
    before = await chat.press(step, "Сегодня")
    step = await chat.bot_says("", before, button="очно")
    before = await chat.press(step, "очно")
    await chat.bot_says("", before)
    before = await chat.send(TOPIC)
    await chat.bot_says("", before)
    before = await chat.send("60")
    step = await chat.bot_says("", before, button="Пропустить")
    before = await chat.press(step, "Пропустить")
    step = await chat.bot_says("", before, button="Без привязки")
    before = await chat.press(step, "Без привязки к плану")
    await chat.bot_says("на подтверждение", before)
    await chat.open_tab(mentor)
    request = await chat.bot_says(TOPIC, 0, button="Подтвердить")
    await chat.press(request, "Подтвердить")
    await chat.bot_says("Консультация подтверждена", 0)

    await chat.open_tab(officer)
    before = await chat.send("/broadcast")
    await chat.bot_says("", before)
    before = await chat.send(ANNOUNCEMENT)
    step = await chat.bot_says("", before, button="Готово")
    for button, offered in (
        ("Готово", "Всем"),
        ("Всем", "Без кнопок"),
        ("Без кнопок", "Отправить"),
    ):
        before = await chat.press(step, button)
        step = await chat.bot_says("", before, button=offered)
    await page.wait_for_timeout(1500)  # read the preview (see the browser test)
    before = await chat.press(step, "Отправить")
    progress = await chat.bot_says("Рассылка №", before)
    message_id = int(await progress.get_attribute("data-message-id") or 0)
    await chat.bot_says("100%", message_id - 1, timeout=120)
    before = await chat.send("/export")
    await chat.bot_says("", before, timeout=120)

    await chat.open_tab(reservist)
    await chat.bot_says("совещание резерва", 0)


async def shoot(page_out: Path, width_height: dict[str, int], chat: ChatPage, tab: int) -> None:
    """The page at ``width_height`` with ``tab`` open, saved to ``page_out``."""
    page = chat.page
    await page.set_viewport_size(width_height)  # type: ignore[arg-type]
    await chat.open_tab(tab)
    await page.locator("#toast").evaluate("node => { node.hidden = true; }")
    await page.evaluate(
        "() => { const m = document.querySelector('#messages'); m.scrollTop = m.scrollHeight; }"
    )
    await page.wait_for_timeout(500)
    png = await page.screenshot(type="png")
    await asyncio.to_thread(save, page_out, png, width_height)


def save(path: Path, png: bytes, width_height: dict[str, int]) -> None:
    """Write the shrunk PNG; refuse one over :data:`LIMIT`."""
    path.write_bytes(shrink(png))
    size = path.stat().st_size
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"{shown}: {width_height['width']}×{width_height['height']}, {size // 1024} KB")
    if size > LIMIT:
        raise SystemExit(f"{path} is {size // 1024} KB, over {LIMIT // 1024} KB")


def shrink(png: bytes) -> bytes:
    """The PNG with a 256-colour palette (a screenshot of flat colours and text loses nothing
    visible); unchanged without Pillow."""
    try:
        from PIL import Image  # noqa: PLC0415
    except ImportError:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue() if out.tell() < len(png) else png


async def main(out: Path) -> None:
    officer, reservist, _newcomer, mentor = (p.user_id for p in cast().tabs)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sandbox-shots-") as folder:
        tmp = Path(folder)
        async with (
            start_sandbox(tmp) as sandbox,
            launch_chromium(tmp / "chromium-profile", DESKTOP) as context,
        ):
            page = await context.new_page()
            page.set_default_timeout(30_000)
            chat = ChatPage(page)
            await page.goto(sandbox.address, wait_until="domcontentloaded")
            await chat.wait_running()
            await conversation(chat, officer, reservist, mentor)
            await shoot(out / "sandbox-desktop.png", DESKTOP, chat, officer)
            await shoot(out / "sandbox-phone.png", PHONE, chat, reservist)
    print(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder of the PNGs")
    args = parser.parse_args()
    try:
        require_browser()
    except BaseException as exc:  # pytest's fail/skip outcomes carry the message
        sys.exit(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(args.out.resolve()))
