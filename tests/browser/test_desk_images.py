"""Threads with images (issue 16 bugs): the inbox and the web chat widget open at their
newest message once the images have loaded, and a visitor's own image shows at once."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Locator, Page, expect

from tests.conftest import make_settings
from tests.factories import messages_of
from tests.support import RunningHub, eventually, operator_reply, start_hub, stop_hub
from tests.support.attachments import operator
from tests.support.browser import sign_in


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real, decodable PNG (tall: it moves what follows it once drawn)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


TALL = png(160, 420, (20, 120, 60))
SMALL = png(60, 40, (220, 20, 20))

AT_END = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 4"


@pytest.fixture
async def shop(backend_urls: dict[str, Any], tmp_path: Path) -> AsyncIterator[RunningHub]:
    settings = make_settings(
        **backend_urls, secret_key="k", sandbox=True, media_dir=tmp_path / "media"
    )
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def drawn(image: Locator) -> None:
    await expect(image).to_be_visible()

    async def loaded() -> bool:
        return bool(await image.evaluate("img => img.complete && img.naturalWidth > 0"))

    await eventually(loaded, what="the image drawn")


async def operator_sends_image(running: RunningHub, conversation_id: int, text: str) -> None:
    agent = await operator(running, "olga@shop.test")
    try:
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("csrf", await agent.csrf())
        form.add_field("text", text)
        form.add_field("mode", "reply")
        form.add_field("file", TALL, filename="tall.png", content_type="image/png")
        path = f"{running.url}/inbox/conversations/{conversation_id}/reply"
        async with agent.http.post(path, data=form, headers={"Hub-Fetch": "1"}) as answer:
            assert answer.status == 200, await answer.text()
    finally:
        await agent.http.close()


async def at_end(scroller: Locator) -> bool:
    return bool(await scroller.evaluate(AT_END))


async def test_image_threads_open_at_the_newest_message_in_the_widget_and_the_inbox(
    shop: RunningHub, page: Page
) -> None:
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.goto(f"{shop.url}/demo/shop")
    await page.locator('[data-hubchat="launcher"]').click()
    await expect(page.locator('[data-hubchat="status"]')).to_have_text("connected")
    await page.locator('[data-hubchat="file-input"]').set_input_files(
        {"name": "mine.png", "mimeType": "image/png", "buffer": SMALL}
    )
    await page.locator('[data-hubchat="input"]').fill("a photo of the damage")
    await page.locator('[data-hubchat="send"]').click()
    # The visitor's own image shows as an image at once, not as its file name.
    mine = page.locator('[data-hubchat="message"][data-sender="customer"]')
    await drawn(mine.locator("img"))

    [stored] = await eventually(lambda: messages_of(shop.hub, channel="webchat"))
    for n in range(12):
        await operator_reply(shop, stored.conversation_id, f"Line {n} of a long answer")
    await operator_sends_image(shop, stored.conversation_id, "the label to print")
    await operator_reply(shop, stored.conversation_id, "The newest message")
    newest = page.locator('[data-hubchat="message"]', has_text="The newest message")
    await expect(newest).to_be_visible()

    await page.reload()
    await page.locator('[data-hubchat="launcher"]').click()
    await expect(page.locator('[data-hubchat="status"]')).to_have_text("connected")
    await drawn(page.locator('[data-hubchat="message"] img').last)
    await eventually(
        lambda: at_end(page.locator('[data-hubchat="messages"]')), what="widget at end"
    )
    await expect(newest).to_be_in_viewport()

    await sign_in(page, shop, "olga@shop.test")
    await page.goto(f"{shop.url}/inbox/conversations/{stored.conversation_id}")
    await drawn(page.locator('[data-part="messages"] img[data-thumb]').last)
    messages = page.locator('[data-part="messages"]')
    await eventually(lambda: at_end(messages), what="inbox thread at end")
    await expect(page.locator("[data-text]", has_text="The newest message")).to_be_in_viewport()
