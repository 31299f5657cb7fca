"""Generated webhook bodies and web chat frames sent to a running hub over real HTTP.

Never a 5xx, never an `internal` error frame; whatever the hub refuses or drops leaves
nothing behind (no message row, no queued job, no inbound count); what it accepts is routed.
Inputs are generated up front by hypothesis (derandomized), then sent by the async test.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.telegram import TelegramWebhook
from adapters.twilio import FORM_TYPE, TwilioWebhook
from hub.domain.ports import WebhookRequest
from hub.errors import InvalidInput
from tests.conftest import TELEGRAM_SECRET
from tests.factories import messages_of, telegram_update
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI, sign
from tests.security.footprint import settled
from tests.security.fuzz import fuzz
from tests.security.strategies import ANY_TEXT, FORM_KEYS, JSON, deep_or_huge, telegram_like
from tests.support import RunningHub, eventually

PUBLIC_URL = "https://support.example.test"
MESSAGES_PATH = "/webhooks/twilio/messages"


def examples(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """`n` deterministic draws of `strategy` (hypothesis cannot drive an async test)."""
    drawn: list[Any] = []

    @fuzz(n)
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn


@pytest.fixture
def settings_overrides(fake_twilio: FakeTwilioAPI) -> dict[str, Any]:
    return {
        "public_url": PUBLIC_URL,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_sms_from": "+15550001111",
        "twilio_whatsapp_from": "whatsapp:+15550002222",
        "twilio_api_url": fake_twilio.base_url,
    }


def stored_by(parse: Any, request: WebhookRequest) -> int:
    try:
        return len(parse(request))
    except InvalidInput:
        return 0


TELEGRAM_BODIES = (
    st.binary(max_size=200)
    | (telegram_like() | JSON).map(lambda v: json.dumps(v).encode())
    | st.text(max_size=100).map(str.encode)
)


async def test_telegram_webhook_never_fails_and_refusals_store_nothing(hub: RunningHub) -> None:
    bodies = examples(TELEGRAM_BODIES, 250)
    parser = TelegramWebhook(TELEGRAM_SECRET)
    dropped = [b for b in bodies if stored_by(parser.parse, _json_request(b)) == 0]
    accepted = [b for b in bodies if b not in dropped]
    before = await settled(hub)
    headers = {
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
        "Content-Type": "application/json",
    }
    for body in dropped:
        async with hub.http.post(f"{hub.url}/webhooks/telegram", data=body, headers=headers) as r:
            assert r.status in (200, 400, 415), (r.status, body, await r.text())
    # A wrong or missing secret is refused whatever the body, valid ones included.
    for body in [json.dumps(telegram_update(7100, "forged")).encode(), *accepted[:20]]:
        for wrong in ({"X-Telegram-Bot-Api-Secret-Token": "nope"}, {}):
            async with hub.http.post(f"{hub.url}/webhooks/telegram", data=body, headers=wrong) as r:
                assert r.status == 403, body
    assert await settled(hub) == before
    for body in accepted:  # what the parser takes is stored and routed, never a 5xx
        async with hub.http.post(f"{hub.url}/webhooks/telegram", data=body, headers=headers) as r:
            assert r.status == 200, (r.status, body, await r.text())
    after = await settled(hub)
    assert (after[0] >= before[0] and after[2] > before[2]) or not accepted


def _json_request(body: bytes) -> WebhookRequest:
    return WebhookRequest(headers={}, body=body, content_type="application/json", full_url=str)


TWILIO_FORMS = st.lists(
    st.tuples(FORM_KEYS, st.text(max_size=30)), max_size=8, unique_by=lambda kv: kv[0]
)


async def test_twilio_webhook_never_fails_and_refusals_store_nothing(hub: RunningHub) -> None:
    forms = examples(TWILIO_FORMS, 150)
    raw_bodies = examples(st.binary(max_size=200), 60)
    url = PUBLIC_URL + MESSAGES_PATH
    parser = TwilioWebhook(AUTH_TOKEN)
    before = await settled(hub)
    # Unsigned, wrongly signed, or not a form at all: refused, nothing kept.
    for pairs in forms[:60]:
        body = urlencode(pairs)
        for signature in ({}, {"X-Twilio-Signature": sign(url + "?x=1", dict(pairs))}):
            headers = {"Content-Type": FORM_TYPE, **signature}
            async with hub.http.post(hub.url + MESSAGES_PATH, data=body, headers=headers) as r:
                assert r.status == 403, (r.status, pairs)
    for raw in raw_bodies:
        for content_type in (FORM_TYPE, "application/json"):
            headers = {"Content-Type": content_type, "X-Twilio-Signature": "c2lnbmF0dXJl"}
            async with hub.http.post(hub.url + MESSAGES_PATH, data=raw, headers=headers) as r:
                assert r.status in (400, 403, 415), (r.status, raw)
    # Signed forms the parser drops (no From or MessageSid) are acknowledged with TwiML.
    signed = [(pairs, sign(url, dict(pairs))) for pairs in forms]
    dropped = [
        (pairs, s)
        for pairs, s in signed
        if stored_by(parser.parse, _form_request(urlencode(pairs).encode(), url)) == 0
    ]
    for pairs, signature in dropped:
        headers = {"Content-Type": FORM_TYPE, "X-Twilio-Signature": signature}
        async with hub.http.post(
            hub.url + MESSAGES_PATH, data=urlencode(pairs), headers=headers
        ) as r:
            assert r.status == 200 and "<Response>" in await r.text(), (r.status, pairs)
    assert await settled(hub) == before
    for pairs, signature in signed:  # the rest: answered, never a 5xx
        headers = {"Content-Type": FORM_TYPE, "X-Twilio-Signature": signature}
        async with hub.http.post(
            hub.url + MESSAGES_PATH, data=urlencode(pairs), headers=headers
        ) as r:
            assert r.status < 500, (r.status, pairs, await r.text())
    await settled(hub)


def _form_request(body: bytes, url: str) -> WebhookRequest:
    return WebhookRequest(headers={}, body=body, content_type=FORM_TYPE, full_url=lambda: url)


# Signed values are `payload.signature`: dotted strings reach the signature checks.
DOTTED = st.builds(lambda a, b: f"{a}.{b}", st.text(max_size=12), st.text(max_size=12))
FRAME_VALUES = JSON | st.text(max_size=40) | DOTTED | ANY_TEXT
FRAMES = (
    st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "identify", "typing", "hello", "nope"]) | JSON},
        optional={
            "text": FRAME_VALUES,
            "client_id": FRAME_VALUES,
            "attachments": FRAME_VALUES | st.lists(DOTTED, max_size=3),
            "name": FRAME_VALUES,
            "email": FRAME_VALUES,
            "phone": FRAME_VALUES,
            "identity_hash": FRAME_VALUES,
            "visitor_token": FRAME_VALUES,
        },
    ).map(json.dumps)
    | JSON.map(json.dumps)
    | st.text(max_size=80)
    # Aimed at the signature checks: tokens, identity proofs and upload ids of any text.
    | st.fixed_dictionaries({"type": st.just("hello"), "visitor_token": DOTTED}).map(json.dumps)
    | st.fixed_dictionaries(
        {
            "type": st.just("identify"),
            "email": st.text(min_size=1, max_size=20),
            "identity_hash": DOTTED | st.text(max_size=64),
        }
    ).map(json.dumps)
    | st.fixed_dictionaries(
        {
            "type": st.just("message"),
            "text": st.text(max_size=20),
            "client_id": st.text(max_size=9),
            "attachments": st.lists(DOTTED, min_size=1, max_size=2),
        }
    ).map(json.dumps)
)


def refused_frame(raw: str) -> bool:
    """Frames that can never store a message: anything but a well-formed `message`."""
    try:
        frame = json.loads(raw)
    except ValueError:
        return True
    if not isinstance(frame, dict) or frame.get("type") != "message":
        return True
    text, client_id = frame.get("text"), frame.get("client_id")
    return not (
        isinstance(text, str)
        and text.strip()
        and isinstance(client_id, str)
        and client_id
        and "attachments" not in frame
    )


SENTINEL = json.dumps({"type": "sentinel-frame"})


async def answers_until_sentinel(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Every frame the hub sent back up to the sentinel's error (or to a deliberate close)."""
    frames: list[dict[str, Any]] = []
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type != aiohttp.WSMsgType.TEXT:
            # The only closes a visitor may cause: a bad token in a repeated hello (4401).
            assert ws.close_code == 4401, (msg, ws.close_code, frames[-3:])
            return frames
        frame = json.loads(msg.data)
        frames.append(frame)
        if frame.get("type") == "error" and "sentinel-frame" in frame.get("message", ""):
            return frames


async def test_web_chat_frames_never_fail_and_refusals_store_nothing(hub: RunningHub) -> None:
    frames = examples(FRAMES, 300)
    refused = [f for f in frames if refused_frame(f)]
    before = await settled(hub)
    answered = 0
    for batch in (refused[i : i + 15] for i in range(0, len(refused), 15)):
        # A fresh socket per batch: a `hello` with a bad token rightly closes one, and
        # fifteen frames stay under the per-visitor message budget.
        ws = await hub.http.ws_connect(f"{hub.url}/webchat/ws")
        await ws.send_json({"type": "hello"})
        assert (await ws.receive_json(timeout=10))["type"] == "welcome"
        for raw in batch:
            await ws.send_str(raw)
        await ws.send_str(SENTINEL)
        got = await answers_until_sentinel(ws)
        assert all(f.get("code") != "internal" for f in got), got
        answered += len(got)
        await ws.close()
    assert await settled(hub) == before
    assert answered >= len(refused) // 2


UNSTORABLE = "a\x00b\ud800c"


async def test_text_no_database_can_hold_is_stored_as_replacement_characters(
    hub: RunningHub,
) -> None:
    """NUL and lone surrogates are legal in JSON and forms but not in PostgreSQL (or UTF-8):
    taken with a 200 they must still be stored, never retried forever."""
    update = telegram_update(7200, UNSTORABLE, first_name="N\x00ll")
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    assert await hub.post_telegram(update) == 200
    url = PUBLIC_URL + MESSAGES_PATH
    form = {
        "From": "+15557770000",
        "MessageSid": "SM" + "0" * 32,
        "Body": "x\x00y",
        "ProfileName": "P\x00",
    }
    headers = {"Content-Type": FORM_TYPE, "X-Twilio-Signature": sign(url, form)}
    async with hub.http.post(hub.url + MESSAGES_PATH, data=urlencode(form), headers=headers) as r:
        assert r.status == 200
    ws = await hub.http.ws_connect(f"{hub.url}/webchat/ws")
    await ws.send_json({"type": "hello"})
    await ws.receive_json(timeout=10)
    await ws.send_json({"type": "message", "text": UNSTORABLE, "client_id": "nul"})
    while (await ws.receive_json(timeout=10))["type"] != "ack":
        pass
    for refused in ({"client_id": "a\x00"}, {"client_id": "\udc80"}):
        await ws.send_json({"type": "message", "text": "x", **refused})
        assert (await ws.receive_json(timeout=10))["code"] == "invalid_message"
    await ws.send_json({"type": "identify", "name": "N\x00"})
    assert (await ws.receive_json(timeout=10))["code"] == "invalid_identify"
    await ws.close()

    async def all_stored() -> list[str]:
        texts = sorted(m.text for m in await messages_of(hub.hub))
        return texts if len(texts) == 3 else []

    texts = await eventually(all_stored, what="three messages stored")
    assert texts == sorted(["a\ufffdb\ufffdc", "x\ufffdy", "a\ufffdb\ufffdc"])
    # Any text at all from a visitor is acknowledged and stored (within the message budget).
    ws = await hub.http.ws_connect(f"{hub.url}/webchat/ws")
    await ws.send_json({"type": "hello"})
    await ws.receive_json(timeout=10)
    anything = examples(ANY_TEXT.filter(str.strip), 19)
    for n, text in enumerate(anything):
        await ws.send_json({"type": "message", "text": text, "client_id": f"any{n}"})
    acked = 0
    while acked < len(anything):
        frame = await ws.receive_json(timeout=10)
        assert frame["type"] != "error", frame
        acked += frame["type"] == "ack" and frame["id"] is not None
    await ws.close()
    assert len(await messages_of(hub.hub)) == 3 + len(anything)
    await settled(hub)


async def test_deep_and_huge_json_is_a_400_or_an_error_frame_never_a_500(hub: RunningHub) -> None:
    """Nesting past the limit and numbers past their size: refused before any work, by the
    webhook with a 400 and by the web chat with an `error` frame on a socket that stays."""
    bodies = examples(deep_or_huge(), 40)
    headers = {
        "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
        "Content-Type": "application/json",
    }
    before = await settled(hub)
    for body in bodies:
        async with hub.http.post(f"{hub.url}/webhooks/telegram", data=body, headers=headers) as r:
            assert r.status == 400, (r.status, body[:80])
    ws = await hub.http.ws_connect(f"{hub.url}/webchat/ws")
    await ws.send_json({"type": "hello"})
    assert (await ws.receive_json(timeout=10))["type"] == "welcome"
    for body in bodies:
        if len(body) > 60_000:
            continue  # past the frame size limit: a close, tested elsewhere
        frame = body.decode().replace('"update_id":1', '"type":"message","client_id":"c"')
        await ws.send_str(frame)
        answer = await ws.receive_json(timeout=10)
        assert answer["type"] == "error" and answer["code"] == "invalid_json", answer
    await ws.send_str(SENTINEL)
    got = await answers_until_sentinel(ws)
    assert got and got[-1]["type"] == "error"
    await ws.close()
    assert await settled(hub) == before
