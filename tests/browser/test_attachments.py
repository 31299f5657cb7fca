"""Files in real headless Chromium: the inbox's reply box attaches one (sent on to fake
Telegram, shown as a thumbnail), a Telegram photo shows in the thread, and the web chat
widget on the demo shop uploads one and shows an operator's file."""

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
from tests.factories import messages_of, telegram_update
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.api import Api, customer_writes
from tests.support.attachments import files_of, operator
from tests.support.browser import sign_in

LIMIT = 256 * 1024


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real, decodable PNG: the browser must draw it, not just fetch it."""

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


RED = png(40, 30, (220, 20, 20))
BLUE = png(24, 24, (20, 40, 220))


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"media_dir": tmp_path / "media", "max_attachment_bytes": LIMIT}


async def drawn(image: Locator) -> None:
    """The image loaded and decoded: the hub served real bytes the browser could draw."""
    await expect(image).to_be_visible()

    async def loaded() -> bool:
        width = await image.evaluate("img => img.complete ? img.naturalWidth : 0")
        return bool(width)

    await eventually(loaded, what="the image drawn")


async def test_an_operator_attaches_an_image_to_a_telegram_reply(
    hub: RunningHub, anna: Api, page: Page, fake_telegram: FakeTelegramAPI
) -> None:
    asked = await customer_writes(hub, 7301, "Which colour is it?")
    await sign_in(page, hub, anna.email)
    await page.goto(f"{hub.url}/inbox/conversations/{asked.conversation_id}")
    await expect(page.locator("[data-file-limit]")).to_have_text("Files up to 256 KB")

    await page.locator("[data-reply-file]").set_input_files(
        {"name": "colour.png", "mimeType": "image/png", "buffer": RED}
    )
    await expect(page.locator("[data-file-name]")).to_have_text("colour.png")
    box = page.locator('textarea[name="text"]')
    await box.fill("This one")
    await box.press("Control+Enter")

    photo = await fake_telegram.wait_for_sent(lambda m: m.method == "sendPhoto")
    assert photo.chat_id == 7301 and photo.text == "This one"
    assert photo.files["photo"].content == RED
    await expect(page.locator("[data-file-name]")).to_have_text("")
    await expect(box).to_have_value("")
    [sent] = await messages_of(hub.hub, sender_type="operator")
    await drawn(page.locator(f'[data-message-id="{sent.id}"] img[data-thumb]'))

    # A file alone (no text) is sent too: the message is named after it.
    await page.locator("[data-reply-file]").set_input_files(
        {"name": "second.png", "mimeType": "image/png", "buffer": BLUE}
    )
    await box.press("Control+Enter")
    second = await fake_telegram.wait_for_sent(
        lambda m: m.method == "sendPhoto" and m.files["photo"].content == BLUE
    )
    assert second.text == "second.png"
    # And a plain text reply still goes out as before.
    await box.fill("Anything else?")
    await box.press("Control+Enter")
    await fake_telegram.wait_for_sent(lambda m: m.text == "Anything else?")


async def test_a_telegram_photo_shows_as_a_thumbnail_in_the_thread(
    hub: RunningHub, anna: Api, page: Page, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.add_file("photo-1", RED, "photos/file_1.png")
    sizes = [{"file_id": "photo-1", "file_unique_id": "p1", "width": 40, "height": 30}]
    await sign_in(page, hub, anna.email)
    update = telegram_update(7302, None, caption="scratched", photo=sizes)
    assert await hub.post_telegram(update) == 200
    found = await eventually(lambda: _stored(hub), what="the photo fetched and stored")
    assert found is not None
    [photo] = found
    [message] = await messages_of(hub.hub, channel="telegram")
    await page.goto(f"{hub.url}/inbox/conversations/{message.conversation_id}")
    shown = page.locator(f'[data-message-id="{message.id}"]')
    await expect(shown).to_contain_text("scratched")
    await drawn(shown.locator(f'[data-attachment-id="{photo.id}"] img[data-thumb]'))


async def _stored(hub: RunningHub) -> list[Any] | None:
    found = await files_of(hub)
    return found if found and all(f.status == "stored" for f in found) else None


async def operator_sends(
    running: RunningHub, conversation_id: int, data: bytes, filename: str, text: str, who: str
) -> None:
    """The inbox's reply form as the browser posts it, by operator `who`."""
    agent = await operator(running, f"{who}@shop.test")
    try:
        form = aiohttp.FormData(quote_fields=False)
        form.add_field("csrf", await agent.csrf())
        form.add_field("text", text)
        form.add_field("mode", "reply")
        form.add_field("file", data, filename=filename, content_type="application/octet-stream")
        path = f"{running.url}/inbox/conversations/{conversation_id}/reply"
        async with agent.http.post(path, data=form, headers={"Hub-Fetch": "1"}) as answer:
            assert answer.status == 200, await answer.text()
    finally:
        await agent.http.close()


@pytest.fixture
async def shop(backend_urls: dict[str, Any], tmp_path: Path) -> AsyncIterator[RunningHub]:
    settings = make_settings(
        **backend_urls,
        secret_key="k",
        sandbox=True,
        media_dir=tmp_path / "media",
        max_attachment_bytes=LIMIT,
    )
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


async def test_a_shopper_sends_a_file_from_the_widget_and_sees_the_operators_file(
    shop: RunningHub, page: Page
) -> None:
    await page.goto(f"{shop.url}/demo/shop")
    await page.locator('[data-hubchat="launcher"]').click()
    await expect(page.locator('[data-hubchat="status"]')).to_have_text("connected")
    await page.locator('[data-hubchat="file-input"]').set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": RED}
    )
    await expect(page.locator('[data-hubchat="chosen"]')).to_contain_text("receipt.png")
    await page.locator('[data-hubchat="input"]').fill("my receipt")
    await page.locator('[data-hubchat="send"]').click()

    [stored] = await eventually(lambda: messages_of(shop.hub, channel="webchat"))
    assert stored.text == "my receipt"
    [receipt] = await eventually(lambda: files_of(shop))
    assert (receipt.filename, receipt.content_type, receipt.size) == (
        "receipt.png",
        "image/png",
        len(RED),
    )
    mine = page.locator(f'[data-hubchat="message"][data-id="{stored.id}"]')
    await drawn(mine.locator("img"))  # the shopper's own image, shown at once
    await expect(page.locator('[data-hubchat="chosen"]')).to_be_hidden()

    # Too large: the shopper is told why, nothing is sent.
    await page.locator('[data-hubchat="file-input"]').set_input_files(
        {"name": "huge.png", "mimeType": "image/png", "buffer": RED + bytes(LIMIT)}
    )
    await page.locator('[data-hubchat="send"]').click()
    await expect(page.locator('[data-hubchat="error"]')).to_have_text(
        "the file is larger than 256 KB"
    )

    await operator_sends(shop, stored.conversation_id, BLUE, "label.png", "here is your label", "a")
    theirs = page.locator('[data-hubchat="message"][data-sender="operator"]')
    await expect(theirs).to_contain_text("here is your label")
    await drawn(theirs.locator('[data-hubchat="image"]'))
    pdf = b"%PDF-1.4\n%%EOF\n"
    await operator_sends(shop, stored.conversation_id, pdf, "invoice.pdf", "", "b")
    await expect(page.locator('[data-hubchat="file-link"]')).to_have_text("invoice.pdf")

    await page.reload()  # history brings the files back, the shopper's own one included
    await page.locator('[data-hubchat="launcher"]').click()
    await drawn(page.locator(f'[data-hubchat="message"][data-id="{stored.id}"] img'))
    await expect(page.locator('[data-hubchat="message"]')).to_have_count(3)
    assert len(await files_of(shop)) == 3
