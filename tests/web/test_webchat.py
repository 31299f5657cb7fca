"""Web chat over a real WebSocket: frames of SPEC §4, tokens, history, identity rules."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import aiohttp
import pytest

from tests.conftest import make_settings
from tests.factories import customer_of, messages_of, telegram_update
from tests.support import (
    RunningHub,
    eventually,
    operator_reply,
    start_hub,
    stop_hub,
    tampered,
)
from tests.support.webchat import open_chat, receive


async def test_visitor_writes_gets_an_ack_and_the_operator_reply_live(hub: RunningHub) -> None:
    ws, welcome = await open_chat(hub)
    assert welcome["history"] == [] and welcome["visitor_token"]
    await ws.send_json({"type": "message", "text": "Do you ship to Riga?", "client_id": "c1"})
    ack = await receive(ws, "ack")
    assert ack["client_id"] == "c1" and isinstance(ack["id"], int)
    [stored] = await messages_of(hub.hub, channel="webchat")
    assert stored.id == ack["id"] and stored.text == "Do you ship to Riga?"

    await operator_reply(hub, stored.conversation_id, "Yes, in 3 days <b>free</b>")
    pushed = await receive(ws, "message")
    assert pushed["text"] == "Yes, in 3 days <b>free</b>" and pushed["sender_type"] == "operator"
    assert pushed["created_at"].endswith("+00:00")
    await ws.close()


async def test_resuming_with_the_token_shows_the_history_and_resends_are_stored_once(
    hub: RunningHub,
) -> None:
    ws, welcome = await open_chat(hub)
    token = welcome["visitor_token"]
    await ws.send_json({"type": "message", "text": "first", "client_id": "same"})
    first_ack = await receive(ws, "ack")
    await ws.close()

    ws, welcome = await open_chat(hub, token)
    assert [m["text"] for m in welcome["history"]] == ["first"]
    await ws.send_json({"type": "message", "text": "first", "client_id": "same"})  # a resend
    assert (await receive(ws, "ack"))["id"] == first_ack["id"]
    assert len(await messages_of(hub.hub, channel="webchat")) == 1
    await ws.close()


async def test_a_forged_token_is_refused_with_4401(hub: RunningHub) -> None:
    ws, welcome = await open_chat(hub)
    forged = tampered(welcome["visitor_token"])
    await ws.close()
    ws = await hub.http.ws_connect(f"{hub.url}/webchat/ws")
    await ws.send_json({"type": "hello", "visitor_token": forged})
    assert (await receive(ws, "error"))["code"] == "invalid_token"
    closing = await ws.receive(timeout=5)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 4401


async def test_bad_frames_get_an_error_frame_and_store_nothing(hub: RunningHub) -> None:
    ws, _ = await open_chat(hub)
    for raw in ("not json", "[1]", '{"type":"message","text":"","client_id":"x"}'):
        await ws.send_str(raw)
        assert (await receive(ws, "error"))["code"] in {"invalid_json", "invalid_message"}
    await ws.close()
    assert await messages_of(hub.hub, channel="webchat") == []


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_foreign_origin_is_refused(backend_urls: dict[str, Any]) -> None:
    settings = make_settings(**backend_urls, secret_key="k", webchat_origins="https://shop.example")
    running = await start_hub(settings)
    try:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await running.http.ws_connect(
                f"{running.url}/webchat/ws", headers={"Origin": "https://evil.example"}
            )
        assert refused.value.status == 403
        ws = await running.http.ws_connect(
            f"{running.url}/webchat/ws", headers={"Origin": "https://shop.example"}
        )
        await ws.close()
    finally:
        await stop_hub(running)


async def test_an_unverified_identify_joins_nothing_and_never_widens_history(
    hub: RunningHub,
) -> None:
    contact = {"phone_number": "+79161112233", "user_id": 901, "first_name": "Oleg"}
    await hub.post_telegram(telegram_update(901, "secret order talk"))
    await hub.post_telegram(telegram_update(901, None, contact=contact))
    await eventually(lambda: customer_of(hub.hub, "sms", "+79161112233"))

    ws, _ = await open_chat(hub)
    await ws.send_json({"type": "identify", "name": "Oleg", "phone": "+7 916 111-22-33"})
    await ws.send_json({"type": "message", "text": "hi from the site", "client_id": "a"})
    await receive(ws, "ack")
    await ws.send_json({"type": "hello", "visitor_token": None})
    welcome = await receive(ws, "welcome")
    assert [m["text"] for m in welcome["history"]] == ["hi from the site"]
    telegram_customer = await customer_of(hub.hub, "telegram", "901")
    [webchat] = await messages_of(hub.hub, channel="webchat")
    # A claim: the visitor stays their own customer (SPEC §6); operators see a suggestion.
    assert telegram_customer is not None and webchat.customer_id != telegram_customer.id
    await ws.close()


async def test_a_valid_identity_hash_shows_the_whole_thread(hub: RunningHub) -> None:
    contact = {"phone_number": "+79165550000", "user_id": 902, "first_name": "Vera"}
    await hub.post_telegram(telegram_update(902, "my telegram message"))
    await hub.post_telegram(telegram_update(902, None, contact=contact))
    await eventually(lambda: customer_of(hub.hub, "sms", "+79165550000"))

    ws, _ = await open_chat(hub)
    proof = hmac.new(b"shop-hmac-secret", b"+79165550000", hashlib.sha256).hexdigest()
    await ws.send_json({"type": "identify", "phone": "+79165550000", "identity_hash": proof})
    welcome = await receive(ws, "welcome")
    assert "my telegram message" in [m["text"] for m in welcome["history"]]
    await ws.close()
