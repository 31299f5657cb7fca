"""Screenshots of the real inbox for the README.

Starts `hub demo` on a free loopback port with a throwaway SQLite file, writes to it as a
few web chat customers (one of them verified, so her card shows her orders), then drives
headless Debian Chromium (as tests/browser does) through the inbox at 1280×800 and saves
PNGs into docs/screenshots/: the list, a thread with the customer card, the same thread in
Russian, and the reports and sandbox pages when this hub has them; then the list and a
thread on a phone (390×844) and the thread in dark mode.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
HMAC_SECRET = "screenshots-only"
START_SECONDS = 90.0
ANSWER_SECONDS = 20.0

# (name, email or None, what they write): the first is a demo order's customer.
CUSTOMERS: list[tuple[str, str | None, list[str]]] = [
    ("Anna Petrova", "anna@demo.test", ["Hi! Where is my order 1042?"]),
    ("John Smith", "john@demo.test", ["Do you ship tea sets to Riga?"]),
    ("Мария", None, ["Здравствуйте! Можно оплатить заказ при получении?"]),
]
# Written through /sandbox when this hub has it (real webhooks, fake providers): Anna's
# WhatsApp joins her web chat thread (same phone as her order), two new customers.
SANDBOX_WRITES: list[dict[str, str]] = [
    {"channel": "whatsapp", "customer": "anna-petrova", "text": "It says shipped, but when?"},
    {
        "channel": "telegram",
        "customer": "new",
        "name": "Lukas Meyer",
        "address": "412345678",
        "text": "Hello, is the glass kettle dishwasher-safe?",
    },
    {
        "channel": "sms",
        "customer": "new",
        "name": "Sofia Rossi",
        "address": "+15555550199",
        "text": "Please call me about a return",
    },
]
REPLY = "The kettle is on its way: the tracking link is in the card. Anything else I can do?"
NOTE = "Asked twice about 1042: check the courier if it is late again."


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def demo_hub(workdir: Path) -> Iterator[str]:
    """`hub demo` in `workdir` (its own database, no .env of the repo); yields its URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=f"sqlite:///{workdir / 'hub.db'}",
        HUB_HOST="127.0.0.1",
        HUB_PORT=str(port),
        HUB_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HUB_WEBCHAT_HMAC_SECRET=HMAC_SECRET,
    )
    hub = Path(sys.executable).with_name("hub")
    command = [str(hub), "demo"] if hub.exists() else [sys.executable, "-m", "hub", "demo"]
    log = (workdir / "hub.log").open("wb")
    process = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def wait_healthy(http: aiohttp.ClientSession, base: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            async with http.get(f"{base}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    text = await asyncio.to_thread(log.read_text)
    raise SystemExit(f"hub demo did not become healthy; its log:\n{text[-3000:]}")


async def frame_of(ws: aiohttp.ClientWebSocketResponse, kind: str, **match: Any) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json(timeout=ANSWER_SECONDS)
        if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
            return dict(frame)


async def customer_writes(
    http: aiohttp.ClientSession, base: str, name: str, email: str | None, texts: list[str]
) -> None:
    """A web chat visitor, through the real socket; waits for the bot's answer when any."""
    async with http.ws_connect(f"{base}/webchat/ws") as ws:
        await ws.send_json({"type": "hello"})
        await frame_of(ws, "welcome")
        identify: dict[str, str] = {"type": "identify", "name": name}
        if email:
            digest = hmac.new(HMAC_SECRET.encode(), email.encode(), hashlib.sha256).hexdigest()
            identify.update(email=email, identity_hash=digest)
        await ws.send_json(identify)
        if email:
            await frame_of(ws, "welcome")  # verified: the whole thread is shown again
        for number, text in enumerate(texts):
            await ws.send_json({"type": "message", "text": text, "client_id": f"c{number}"})
            await frame_of(ws, "ack", client_id=f"c{number}")
            try:
                await frame_of(ws, "message", sender_type="bot")
            except TimeoutError:
                pass  # no bot answer for this one: an operator will


async def sandbox_writes(http: aiohttp.ClientSession, base: str) -> int:
    """Customers on Telegram, WhatsApp and SMS through the sandbox page's own form, as a
    signed-in operator; answers how many were written (0 without a sandbox)."""
    from hub.commands.demo_data import DEMO_EMAIL, DEMO_PASSWORD

    async with http.get(f"{base}/inbox/login") as response:
        await response.read()
    login_token = next((c.value for c in http.cookie_jar if c.key == "hub_login_csrf"), "")
    form = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "csrf": login_token}
    async with http.post(f"{base}/inbox/login", data=form, allow_redirects=False) as response:
        if response.status != 303:
            raise SystemExit(f"the demo login was refused ({response.status})")
    async with http.get(f"{base}/sandbox", allow_redirects=False) as response:
        page = await response.text()
        if response.status != 200:
            return 0
    csrf = re.search(r'data-csrf="([^"]+)"', page)
    if csrf is None:
        return 0
    written = 0
    for fields in SANDBOX_WRITES:
        data = {**fields, "csrf": csrf.group(1)}
        async with http.post(f"{base}/sandbox/send", data=data, allow_redirects=False) as sent:
            if sent.status != 303:
                print(f"sandbox refused {fields['channel']}: {sent.status} {await sent.text()}")
                continue
        written += 1
    return written


async def sign_in(page: Page, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/inbox/login?lang=en")
    await page.locator('input[name="email"]').fill(email)
    await page.locator('input[name="password"]').fill(password)
    await page.locator('input[name="password"]').press("Enter")
    await expect(page.locator("[data-live-state]")).to_have_attribute("data-state", "live")


async def shoot(page: Page, out: Path, name: str) -> Path:
    await page.mouse.move(0, 0)  # no hover highlight in the picture
    path = out / name
    await page.screenshot(path=str(path))
    print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


async def exists(http: aiohttp.ClientSession, url: str) -> bool:
    async with http.get(url, allow_redirects=False) as response:
        return response.status == 200


async def take(out: Path, workdir: Path) -> list[Path]:
    from hub.commands.demo_data import DEMO_EMAIL, DEMO_PASSWORD

    saved: list[Path] = []
    with demo_hub(workdir) as base:
        async with aiohttp.ClientSession() as http:
            await wait_healthy(http, base, workdir / "hub.log")
            for name, email, texts in CUSTOMERS:
                await customer_writes(http, base, name, email, texts)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            new_rows = await sandbox_writes(http, base)
            rows = len(CUSTOMERS) + new_rows - (1 if new_rows else 0)  # Anna's joins her thread
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=FLAGS
                )
                context = await browser.new_context(
                    viewport=VIEWPORT, locale="en-GB", timezone_id="Europe/Berlin"
                )
                page = await context.new_page()
                await sign_in(page, base, DEMO_EMAIL, DEMO_PASSWORD)
                await expect(page.locator(".row")).to_have_count(rows, timeout=30_000)
                saved.append(await shoot(page, out, "inbox-list.png"))

                await page.locator(".row", has_text="Anna Petrova").locator("a").click()
                await expect(page.locator("[data-order]").first).to_be_visible()
                box = page.locator('[data-reply] textarea[name="text"]')
                await box.fill(NOTE)
                await page.locator("[data-note]").click()
                await expect(page.locator('[data-private="true"]', has_text=NOTE)).to_have_count(1)
                await box.fill(REPLY)
                await box.press("Control+Enter")
                mine = page.locator('[data-sender="operator"]', has_text=REPLY[:20])
                await expect(mine.locator("[data-status]")).to_have_attribute(
                    "data-status", re.compile("sent|delivered|read")
                )
                await page.locator("[data-assign-me]").click()
                await expect(page.locator("[data-assign-me]")).to_have_count(0)
                await page.locator('[data-labels] input[name="labels"]').fill("delivery, vip")
                await page.locator("[data-labels] button").click()
                await expect(page.locator(".row.current")).to_contain_text("vip")
                saved.append(await shoot(page, out, "inbox-thread.png"))

                await page.locator('[data-lang-switch] [data-locale="ru"]').click()
                await expect(page.locator("html")).to_have_attribute("lang", "ru")
                await expect(page.locator("[data-live-state]")).to_have_attribute(
                    "data-state", "live"
                )
                saved.append(await shoot(page, out, "inbox-thread-ru.png"))
                await page.locator('[data-lang-switch] [data-locale="en"]').click()
                await expect(page.locator("html")).to_have_attribute("lang", "en")

                for path, name in (("/inbox/reports", "reports.png"), ("/sandbox", "sandbox.png")):
                    if await exists(http, base + path):
                        await page.goto(base + path)
                        await page.wait_for_load_state("networkidle")
                        saved.append(await shoot(page, out, name))
                    else:
                        print(f"skipped {path}: this hub does not serve it")
                saved += await phone_and_dark(browser, base, out)
                await browser.close()
    return saved


async def phone_and_dark(browser: Browser, base: str, out: Path) -> list[Path]:
    """The list and Anna's thread on a phone (two pictures), and the thread
    at 1280×800 with the browser asking for dark mode."""
    from hub.commands.demo_data import DEMO_EMAIL, DEMO_PASSWORD

    saved = []
    phone = await browser.new_context(
        viewport=PHONE, locale="en-GB", timezone_id="Europe/Berlin", has_touch=True
    )
    page = await phone.new_page()
    await sign_in(page, base, DEMO_EMAIL, DEMO_PASSWORD)
    await expect(page.locator(".row").first).to_be_visible()
    saved.append(await shoot(page, out, "inbox-phone-list.png"))
    await page.locator(".row", has_text="Anna Petrova").locator("a").click()
    await expect(page.locator('[data-sender="operator"]').last).to_be_visible()
    saved.append(await shoot(page, out, "inbox-phone.png"))
    thread_url = page.url
    await phone.close()

    dark = await browser.new_context(
        viewport=VIEWPORT, locale="en-GB", timezone_id="Europe/Berlin", color_scheme="dark"
    )
    page = await dark.new_page()
    await sign_in(page, base, DEMO_EMAIL, DEMO_PASSWORD)
    await page.goto(thread_url)
    await expect(page.locator("[data-live-state]")).to_have_attribute("data-state", "live")
    saved.append(await shoot(page, out, "inbox-dark.png"))
    await dark.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print("Debian's chromium is missing: apt-get install chromium", file=sys.stderr)
        return 1
    if not EMOJI_FONT.exists():
        print("note: emoji show as boxes; apt-get install fonts-noto-color-emoji", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="hub-screenshots-"))
    try:
        asyncio.run(take(args.out.resolve(), workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
