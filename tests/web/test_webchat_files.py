"""Web chat files over a real WebSocket and HTTP: a visitor uploads and sends a file,
an operator sends one back, and no visitor ever reaches another visitor's file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.models import Attachment
from hub.web.webchat.limits import SlidingWindow, upload_budget
from tests.conftest import make_settings
from tests.factories import messages_of
from tests.support import RunningHub, eventually, start_hub, stop_hub, tampered
from tests.support.attachments import JPEG, PDF, PNG, files_of, send_file
from tests.support.webchat import fetch, open_chat, receive, stored_files, upload

LIMIT = 64 * 1024


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    return {"media_dir": tmp_path / "media", "max_attachment_bytes": LIMIT}


async def test_a_visitor_sends_a_photo_alone_and_sees_it_again_on_return(hub: RunningHub) -> None:
    ws, welcome = await open_chat(hub)
    token = welcome["visitor_token"]
    status, answer, _ = await upload(hub, token, PNG, "../../etc/broken cup.png")
    assert status == 201, answer
    assert (answer["content_type"], answer["size"]) == ("image/png", len(PNG))
    await ws.send_json(
        {"type": "message", "text": "", "client_id": "f1", "attachments": [answer["upload_id"]]}
    )
    ack = await receive(ws, "ack")
    [stored] = await messages_of(hub.hub, channel="webchat")
    assert stored.id == ack["id"] and stored.text == ""
    [photo] = await files_of(hub, stored.id)
    assert (photo.status, photo.content_type, photo.size) == ("stored", "image/png", len(PNG))
    assert photo.filename == "broken cup.png"  # no path parts survive
    await ws.close()

    ws, welcome = await open_chat(hub, token)
    [shown] = welcome["history"]
    [file] = shown["attachments"]
    assert (file["name"], file["content_type"], file["size"]) == (
        "broken cup.png",
        "image/png",
        len(PNG),
    )
    status, body, headers = await fetch(hub, file["url"])
    assert status == 200 and body == PNG
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    await ws.close()


async def test_an_operator_reply_with_a_file_reaches_the_widget_with_a_link(
    hub: RunningHub,
) -> None:
    ws, _ = await open_chat(hub)
    await ws.send_json({"type": "message", "text": "send me the invoice", "client_id": "q"})
    await receive(ws, "ack")
    [asked] = await messages_of(hub.hub, channel="webchat")
    message_id = await send_file(hub, asked.conversation_id, PDF, "invoice.pdf", "here it is")
    pushed = await receive(ws, "message")
    assert (pushed["id"], pushed["text"], pushed["sender_type"]) == (
        message_id,
        "here it is",
        "operator",
    )
    [file] = pushed["attachments"]
    assert (file["name"], file["content_type"], file["size"]) == (
        "invoice.pdf",
        "application/pdf",
        len(PDF),
    )
    status, body, headers = await fetch(hub, file["url"])
    assert status == 200 and body == PDF
    assert headers["Content-Disposition"].startswith("attachment;")
    await ws.close()


async def test_a_visitor_never_reaches_another_visitors_file(hub: RunningHub) -> None:
    alice, welcome = await open_chat(hub)
    alice_token = welcome["visitor_token"]
    status, answer, _ = await upload(hub, alice_token, JPEG, "passport.jpg")
    assert status == 201
    await alice.send_json(
        {"type": "message", "text": "my id", "client_id": "a", "attachments": [answer["upload_id"]]}
    )
    await receive(alice, "ack")
    _, alice_welcome = await open_chat(hub, alice_token)
    [alice_file] = alice_welcome["history"][0]["attachments"]

    mallory, welcome = await open_chat(hub)
    # Alice's upload id is hers alone: spent by another visitor it is refused.
    await mallory.send_json(
        {"type": "message", "text": "x", "client_id": "m", "attachments": [answer["upload_id"]]}
    )
    refused = await receive(mallory, "error")
    assert refused["code"] == "invalid_attachment"
    for forged in ("not-an-id", tampered(answer["upload_id"]), 7):
        await mallory.send_json(
            {"type": "message", "text": "x", "client_id": "m2", "attachments": [forged]}
        )
        assert (await receive(mallory, "error"))["code"] == "invalid_attachment"
    assert [m.text for m in await messages_of(hub.hub, channel="webchat")] == ["my id"]
    # Mallory's own history shows nothing of Alice's.
    await mallory.send_json({"type": "hello", "visitor_token": welcome["visitor_token"]})
    assert (await receive(mallory, "welcome"))["history"] == []
    # A link names one file: another id under Alice's signature is not served.
    [alice_attachment] = await files_of(hub)
    other_id = (alice_attachment.id or 0) + 1
    async with hub.hub.db.session() as session:
        session.add(
            Attachment(
                message_id=alice_attachment.message_id,
                kind="image",
                content_type="image/png",
                status="stored",
                storage_key=alice_attachment.storage_key,
            )
        )
        await session.commit()
    forged_url = alice_file["url"].replace(f"/media/{alice_attachment.id}/", f"/media/{other_id}/")
    assert (await fetch(hub, forged_url))[0] == 404
    expired = alice_file["url"].rsplit("/", 2)
    assert (await fetch(hub, f"{expired[0]}/1/{expired[2]}"))[0] == 404
    assert (await fetch(hub, alice_file["url"]))[0] == 200
    await alice.close()
    await mallory.close()


async def test_uploads_need_a_valid_token_a_small_file_and_an_accepted_type(
    hub: RunningHub,
) -> None:
    ws, welcome = await open_chat(hub)
    token = welcome["visitor_token"]
    for bad in (None, tampered(token), "v_nobody"):
        status, answer, _ = await upload(hub, bad, PNG, "a.png")
        assert status in (400, 401), answer
    status, answer, _ = await upload(hub, token, b"\xff\xd8\xff" + bytes(LIMIT), "big.jpg")
    assert status == 413 and answer["error"]["message"] == "the file is larger than 64 KB"
    status, answer, _ = await upload(hub, token, b"MZ\x90\x00" + bytes(100), "photo.png")
    assert status == 415 and "executable" in answer["error"]["message"]
    status, answer, _ = await upload(hub, token, b"", "empty.png")
    assert status == 400
    assert stored_files(hub) == []
    # A message without text needs a file; a file list that is not a list is refused.
    await ws.send_json({"type": "message", "text": "", "client_id": "e", "attachments": []})
    assert (await receive(ws, "error"))["code"] == "invalid_message"
    await ws.send_json({"type": "message", "text": "x", "client_id": "e", "attachments": "a"})
    assert (await receive(ws, "error"))["code"] == "invalid_attachment"
    await ws.close()
    assert await messages_of(hub.hub, channel="webchat") == []
    assert await files_of(hub) == []


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_uploads_follow_the_web_chat_origins(
    backend_urls: dict[str, Any], tmp_path: Path
) -> None:
    settings = make_settings(
        **backend_urls,
        secret_key="k",
        webchat_origins="https://shop.example",
        media_dir=tmp_path / "media",
    )
    running = await start_hub(settings)
    try:
        ws, welcome = await open_chat(running)
        token = welcome["visitor_token"]
        await ws.close()
        status, _, _ = await upload(
            running, token, PNG, "a.png", headers={"Origin": "https://evil.example"}
        )
        assert status == 403 and stored_files(running) == []
        status, answer, headers = await upload(
            running, token, PNG, "a.png", headers={"Origin": "https://shop.example"}
        )
        assert status == 201 and answer["upload_id"]
        assert headers["Access-Control-Allow-Origin"] == "https://shop.example"
        assert len(stored_files(running)) == 1
    finally:
        await stop_hub(running)


async def test_a_resent_file_message_is_stored_once(hub: RunningHub) -> None:
    ws, welcome = await open_chat(hub)
    _, answer, _ = await upload(hub, welcome["visitor_token"], PDF, "order.pdf")
    frame = {"type": "message", "text": "", "client_id": "r", "attachments": [answer["upload_id"]]}
    await ws.send_json(frame)
    first = await receive(ws, "ack")
    await ws.send_json(frame)
    assert (await receive(ws, "ack"))["id"] == first["id"]
    await eventually(lambda: files_of(hub), what="the file recorded")
    assert len(await files_of(hub)) == 1
    await ws.close()


async def test_uploads_are_rate_limited_per_visitor(hub: RunningHub) -> None:
    ws, welcome = await open_chat(hub)
    other, other_welcome = await open_chat(hub)
    for n in range(upload_budget().per_visitor.limit):
        status, _, _ = await upload(hub, welcome["visitor_token"], PNG + bytes([n]), "a.png")
        assert status == 201
    status, answer, headers = await upload(hub, welcome["visitor_token"], PNG, "a.png")
    assert status == 429 and answer["error"]["code"] == "rate_limited"
    assert int(headers["Retry-After"]) > 0
    status, _, _ = await upload(hub, other_welcome["visitor_token"], PNG, "a.png")
    assert status == 201  # another visitor has their own budget
    await ws.close()
    await other.close()


def test_the_upload_budget_frees_up_as_the_window_slides() -> None:
    limiter = upload_budget()
    limiter.per_visitor = SlidingWindow(2, 10.0)
    assert limiter.retry_after("v", "a", now=0.0) is None
    assert limiter.retry_after("v", "a", now=1.0) is None
    assert limiter.retry_after("v", "a", now=2.0) == 8
    assert limiter.retry_after("v", "a", now=10.5) is None  # the first one left the window
