"""Malformed shapes at the edges (SPEC §10): deep nesting, huge numbers and booleans where
ids belong get a 4xx or are dropped, never a 5xx, never a stored message that can never be
answered; a web chat socket answers such a frame with an `error` frame and stays usable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.models import Message
from tests.conftest import TELEGRAM_SECRET
from tests.factories import count, messages_of, telegram_update
from tests.security.footprint import settled
from tests.support import RunningHub, eventually

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, "Content-Type": "application/json"}


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def with_id(where: str, value: Any) -> dict[str, Any]:
    update = telegram_update(6100, "who am I")
    if where == "update_id":
        update["update_id"] = value
    elif where == "message_id":
        update["message"]["message_id"] = value
    else:
        update["message"][where]["id"] = value
    return update


REFUSED_BODIES = {
    "nested 10,000 deep": deep(10_000).encode(),
    "an object nested 10,000 deep": ('{"a":' * 10_000 + "1" + "}" * 10_000).encode(),
    "nested 65 deep in a field": json.dumps(
        {**telegram_update(6101, "x"), "extra": json.loads(deep(64))}
    ).encode(),
    "a 5,000-digit update_id": b'{"update_id":' + b"7" * 5000 + b"}",
    "a 5,000-digit float": b'{"update_id":1,"x":1.' + b"5" * 5000 + b"}",
}


@pytest.mark.parametrize("name", list(REFUSED_BODIES))
async def test_deep_or_huge_json_webhooks_are_refused_with_400(hub: RunningHub, name: str) -> None:
    before = await settled(hub)
    url = f"{hub.url}/webhooks/telegram"
    async with hub.http.post(url, data=REFUSED_BODIES[name], headers=HEADERS) as response:
        assert response.status == 400, await response.text()
        assert (await response.json())["error"]["code"]
    assert await settled(hub) == before
    # The hub still takes a normal update right after.
    assert await hub.post_telegram(telegram_update(6102, "still here")) == 200
    await eventually(lambda: messages_of(hub.hub, address="6102"), what="next update stored")


BAD_IDS = [
    ("from", True),
    ("from", False),
    ("from", 2**70),
    ("from", 1.5),
    ("chat", True),
    ("chat", 2**64),
    ("message_id", True),
    ("update_id", True),
    ("update_id", -(2**64)),
]


@pytest.mark.parametrize(("where", "value"), BAD_IDS)
async def test_booleans_and_oversized_ints_are_no_ids(
    hub: RunningHub, where: str, value: Any
) -> None:
    """`"from":{"id":true}` was stored, and its reply raised in the sender forever."""
    before = await settled(hub)
    url = f"{hub.url}/webhooks/telegram"
    body = json.dumps(with_id(where, value))
    async with hub.http.post(url, data=body, headers=HEADERS) as response:
        assert response.status in (200, 400), await response.text()
    assert await settled(hub) == before
    assert await count(hub.hub, Message) == before[0]


FRAMES_REFUSED = [
    deep(10_000),
    '{"type":"message","text":' + '{"a":' * 9000 + "1" + "}" * 9001,
    '{"type":"message","client_id":"c","text":"x","n":' + "9" * 5000 + "}",
    '{"type":"message","client_id":"c","text":' + deep(100) + "}",
]


async def test_a_web_chat_frame_too_deep_or_too_big_a_number_gets_an_error_frame(
    hub: RunningHub,
) -> None:
    ws = await hub.http.ws_connect(f"{hub.url}/webchat/ws")
    await ws.send_json({"type": "hello"})
    assert (await ws.receive_json(timeout=10))["type"] == "welcome"
    for raw in FRAMES_REFUSED:
        await ws.send_str(raw)
        frame = await ws.receive_json(timeout=10)
        assert frame["type"] == "error" and frame["code"] == "invalid_json", frame
    # The same socket still works.
    await ws.send_json({"type": "message", "text": "after the bad frames", "client_id": "ok"})
    while (frame := await ws.receive_json(timeout=10))["type"] != "ack":
        assert frame["type"] != "error", frame
    assert frame["client_id"] == "ok"
    await ws.close()
