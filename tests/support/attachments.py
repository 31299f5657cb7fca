"""Files in tests: small valid images and a PDF, the stored attachments, a photo update,
and a file sent from the inbox as the browser sends it."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import select

from hub.models import Attachment, Message
from tests.factories import messages_of, telegram_update
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support.api import Api, Browser, make_api
from tests.support.running import RunningHub

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def files_of(running: RunningHub, message_id: int | None = None) -> list[Attachment]:
    async with running.hub.db.session() as session:
        query = select(Attachment).order_by(Attachment.id)  # type: ignore[arg-type]
        if message_id is not None:
            query = query.where(Attachment.message_id == message_id)  # type: ignore[arg-type]
        return list((await session.scalars(query)).all())


async def settled(running: RunningHub, n: int = 1) -> list[Attachment] | None:
    """The files once `n` of them exist and none is pending any more."""
    found = await files_of(running)
    done = len(found) >= n and all(a.status != "pending" for a in found)
    return found if done else None


async def operator(running: RunningHub, email: str = "anna@shop.test") -> Browser:
    api: Api = await make_api(running, email, "Anna")
    browser = Browser(running, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))
    assert await browser.sign_in(api.email) == 303
    return browser


async def inbound(running: RunningHub, channel: str) -> Message | None:
    found = await messages_of(running.hub, channel=channel, direction="inbound")
    return found[0] if found else None


def photo_update(fake: FakeTelegramAPI, caption: str, **fields: Any) -> dict[str, Any]:
    fake.add_file("small-photo", JPEG[:300], "photos/file_0.jpg")
    fake.add_file("big-photo", JPEG, "photos/file_1.jpg")
    sizes = [
        {"file_id": "small-photo", "file_unique_id": "s", "width": 90, "height": 60},
        {"file_id": "big-photo", "file_unique_id": "b", "width": 1280, "height": 853},
    ]
    return telegram_update(4242, None, caption=caption, photo=sizes, **fields)


async def send_file(
    running: RunningHub, conversation_id: int, data: bytes, filename: str, text: str = ""
) -> int:
    """The inbox's reply form as the browser posts it (multipart, via fetch)."""
    agent = await operator(running, f"op{conversation_id}@shop.test")
    try:
        form = aiohttp.FormData()
        form.add_field("csrf", await agent.csrf())
        form.add_field("text", text)
        form.add_field("mode", "reply")
        form.add_field("file", data, filename=filename, content_type="application/octet-stream")
        async with agent.http.post(
            f"{running.url}/inbox/conversations/{conversation_id}/reply",
            data=form,
            headers={"Hub-Fetch": "1"},
        ) as answer:
            assert answer.status == 200, await answer.text()
    finally:
        await agent.http.close()
    [sent] = [m for m in await messages_of(running.hub, sender_type="operator")][-1:]
    assert sent.id is not None
    return sent.id
