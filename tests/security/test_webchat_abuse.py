"""Web chat abuse (beyond tests/web/test_webchat*.py): forged and replayed visitor tokens,
one visitor reaching for another's history, message floods and oversized frames."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import aiohttp
import pytest

from adapters.webchat import MAX_TEXT_CHARS
from hub.models import Message
from hub.web.webchat.files import issue_upload_id
from hub.web.webchat.limits import SlidingWindow, message_budget
from hub.web.webchat.socket import MAX_FRAME_BYTES, issue_token
from tests.factories import count, messages_of
from tests.support import RunningHub, operator_reply
from tests.support.webchat import open_chat, receive


async def refused_hello(running: RunningHub, token: Any) -> None:
    ws = await running.http.ws_connect(f"{running.url}/webchat/ws")
    await ws.send_json({"type": "hello", "visitor_token": token})
    error = await receive(ws, "error")
    assert error["code"] == "invalid_token", (token, error)
    closing = await ws.receive(timeout=5)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), token
    assert ws.close_code == 4401, token


async def test_forged_and_replayed_visitor_tokens_are_refused(hub: RunningHub) -> None:
    ws, welcome = await open_chat(hub)
    token = welcome["visitor_token"]
    visitor_id, _, signature = token.rpartition(".")
    await ws.send_json({"type": "message", "text": "mine", "client_id": "m1"})
    await receive(ws, "ack")
    await ws.close()
    other_key = issue_token(b"another hub's secret key", visitor_id)
    upload = issue_upload_id(
        hub.hub.secret_key,
        visitor_id,
        storage_key="k",
        content_type="image/png",
        filename="a.png",
        size=1,
    )
    forged = [
        other_key,  # replayed from a hub with another key
        f"v_someone_else.{signature}",  # another visitor id under this signature
        f"{visitor_id}.{signature.upper()}",
        f"{visitor_id}.",
        f".{signature}",
        visitor_id,
        upload,  # a signed value of another purpose, replayed as a visitor token
        f"{visitor_id}.{signature[:-1]}é",  # non-ASCII: refused, not a crash
        "é." + "0" * 40,
        f"{visitor_id}.\ud800",  # a lone surrogate, as JSON may carry
        "",
        "x" * 5000,
        123,
        ["a"],
        {"visitor_token": token},
        True,
    ]
    for bad in forged:
        await refused_hello(hub, bad)
    # The real token still resumes: refusals changed nothing.
    ws, welcome = await open_chat(hub, token)
    assert [m["text"] for m in welcome["history"]] == ["mine"]
    await ws.close()


async def test_a_visitor_never_sees_another_visitors_history_or_replies(hub: RunningHub) -> None:
    alice, _ = await open_chat(hub)
    await alice.send_json({"type": "identify", "email": "alice@shop.test"})
    await alice.send_json({"type": "message", "text": "alice's secret", "client_id": "a"})
    await receive(alice, "ack")
    [stored] = await messages_of(hub.hub, text="alice's secret")

    mallory, welcome = await open_chat(hub)
    assert welcome["history"] == []
    # Claiming Alice's email, with no proof or a wrong one, widens nothing.
    wrong = hmac.new(b"not the shop secret", b"alice@shop.test", hashlib.sha256).hexdigest()
    for proof in (None, wrong, "é" * 64, "\udc80", ""):
        frame = {"type": "identify", "email": "alice@shop.test", "identity_hash": proof}
        await mallory.send_json(frame)
    await mallory.send_json({"type": "hello", "visitor_token": None})
    welcome = await receive(mallory, "welcome")
    assert welcome["history"] == []
    # An operator's reply to Alice reaches Alice's socket only.
    await operator_reply(hub, stored.conversation_id, "only for alice")
    assert (await receive(alice, "message"))["text"] == "only for alice"
    await mallory.send_json({"type": "sentinel"})
    frames = []
    while (frame := await mallory.receive_json(timeout=10))["type"] != "error" or (
        "sentinel" not in frame["message"]
    ):
        frames.append(frame)
    assert all("only for alice" not in str(f) and "alice's secret" not in str(f) for f in frames)
    await alice.close()
    await mallory.close()


async def test_a_message_flood_is_refused_with_a_clear_frame_and_nothing_stored(
    hub: RunningHub,
) -> None:
    budget = message_budget().per_visitor.limit
    ws, welcome = await open_chat(hub)
    for n in range(budget):
        await ws.send_json({"type": "message", "text": f"msg {n}", "client_id": f"c{n}"})
    acks = {(await receive(ws, "ack"))["client_id"] for _ in range(budget)}
    assert len(acks) == budget
    await ws.send_json({"type": "message", "text": "one too many", "client_id": "over"})
    limited = await receive(ws, "error")
    assert limited["code"] == "rate_limited" and "wait" in limited["message"]
    assert 1 <= limited["retry_after"] <= 10
    # A second socket with the same token shares the budget.
    second, _ = await open_chat(hub, welcome["visitor_token"])
    await second.send_json({"type": "message", "text": "via another socket", "client_id": "s"})
    assert (await receive(second, "error"))["code"] == "rate_limited"
    # The socket stays open and usable; another visitor is not limited.
    await ws.send_json({"type": "hello", "visitor_token": welcome["visitor_token"]})
    assert len((await receive(ws, "welcome"))["history"]) == budget
    other, _ = await open_chat(hub)
    await other.send_json({"type": "message", "text": "someone else", "client_id": "x"})
    await receive(other, "ack")
    texts = [m.text for m in await messages_of(hub.hub, channel="webchat")]
    assert "one too many" not in texts and "via another socket" not in texts
    assert len(texts) == budget + 1
    for socket in (ws, second, other):
        await socket.close()


def test_the_message_budget_frees_up_as_the_window_slides() -> None:
    limiter = message_budget()
    limiter.per_visitor = SlidingWindow(3, 10.0)
    assert [limiter.retry_after("v", "a", now=t) for t in (0.0, 1.0, 2.0)] == [None] * 3
    assert limiter.retry_after("v", "a", now=3.0) == 7
    assert limiter.retry_after("w", "a", now=3.0) is None  # per visitor
    assert limiter.retry_after("v", "a", now=10.0) is None  # the first one left the window
    assert limiter.retry_after("v", "a", now=10.5) == 1


async def test_oversized_frames_close_the_socket_and_store_nothing(hub: RunningHub) -> None:
    ws, _ = await open_chat(hub)
    await ws.send_json({"type": "message", "text": "x" * (MAX_TEXT_CHARS + 1), "client_id": "l"})
    assert (await receive(ws, "error"))["code"] == "too_long"  # under the frame limit: answered
    padding = "y" * MAX_FRAME_BYTES
    await ws.send_str(f'{{"type":"message","text":"{padding}","client_id":"big"}}')
    closing = await ws.receive(timeout=10)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    assert await count(hub.hub, Message) == 0
    # A binary frame is ignored, not stored.
    ws, _ = await open_chat(hub)
    await ws.send_bytes(b'{"type":"message","text":"bin","client_id":"b"}')
    await ws.send_json({"type": "sentinel"})
    assert (await receive(ws, "error"))["code"] == "unknown_type"
    await ws.close()
    assert await count(hub.hub, Message) == 0


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_non_ascii_upload_ids_are_refused_not_a_crash(hub: RunningHub) -> None:
    ws, _ = await open_chat(hub)
    for upload_id in ("abc.é", "é.é", "." + "é" * 40, "abc.\ud800"):
        frame = {"type": "message", "text": "x", "client_id": "u", "attachments": [upload_id]}
        await ws.send_json(frame)
        assert (await receive(ws, "error"))["code"] == "invalid_attachment"
    await ws.close()
    assert await count(hub.hub, Message) == 0


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_non_ascii_media_link_signature_is_404_not_500(hub: RunningHub) -> None:
    async with hub.http.get(f"{hub.url}/media/1/99999999999/%C3%A9") as response:
        assert response.status == 404
