"""Attachments over the REST API: listed on their message, bytes behind the bearer token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.models import Attachment
from tests.factories import messages_of, telegram_update
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import Api
from tests.support.attachments import JPEG, photo_update, settled


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"media_dir": tmp_path / "media", "max_attachment_bytes": 64 * 1024}


async def test_a_photo_is_listed_on_its_message_and_served_to_token_holders_only(
    hub: RunningHub, api: Api, fake_telegram: FakeTelegramAPI
) -> None:
    assert await hub.post_telegram(photo_update(fake_telegram, "the cup arrived broken")) == 200
    found = await eventually(lambda: settled(hub), what="photo fetched")
    assert found is not None
    [photo] = found
    [message] = await messages_of(hub.hub, channel="telegram")
    async with hub.hub.db.session() as session:  # a second file that never arrived
        session.add(
            Attachment(
                message_id=message.id or 0,
                kind="video",
                content_type="video/mp4",
                filename="clip.mp4",
                size=90_000_000,
                status="too_large",
                error="the file is larger than allowed",
            )
        )
        await session.commit()

    page = await api.get(f"/conversations/{message.conversation_id}/messages")
    [listed] = [m for m in page["items"] if m["id"] == message.id]
    stored, refused = listed["attachments"]
    assert stored == {
        "id": photo.id,
        "kind": "image",
        "content_type": "image/jpeg",
        "filename": None,
        "size": len(JPEG),
        "status": "stored",
        "error": None,
    }
    assert (refused["status"], refused["filename"], refused["error"]) == (
        "too_large",
        "clip.mp4",
        "the file is larger than allowed",
    )
    assert all(m["attachments"] == [] for m in page["items"] if m["id"] != message.id)

    url = f"{hub.url}/api/v1/attachments/{photo.id}"
    headers = {"Authorization": f"Bearer {api.token}"}
    async with hub.http.get(url, headers=headers) as answer:
        assert answer.status == 200 and await answer.read() == JPEG
        assert answer.headers["Content-Type"] == "image/jpeg"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert answer.headers["Content-Disposition"].startswith("inline")

    for token in (None, "hub_not-a-real-token"):
        status, data, _ = await api.call("GET", f"/attachments/{photo.id}", token=token)
        assert status == 401 and data["error"]["code"] == "unauthorized"
    for form in ("abc", "0", f"0{photo.id}", "2147483648", "2147483647", str(refused["id"])):
        status, data, _ = await api.call("GET", f"/attachments/{form}")
        assert status == 404 and data["error"]["code"] == "not_found", (form, data)


async def test_a_reply_answers_with_an_empty_attachment_list(hub: RunningHub, api: Api) -> None:
    assert await hub.post_telegram(telegram_update(77, "hi")) == 200
    [inbound] = await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    reply = await api.ok(
        "POST", f"/conversations/{inbound.conversation_id}/messages", {"text": "hello"}, 201
    )
    assert reply["attachments"] == []
