"""Secrets never reach a log line or an answer: a hub with known secret values is driven
through failed logins, failing providers, bad webhooks and validation errors, and every log
record (as the JSON log handler writes it) and every answer body is searched for them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from hub.runtime.logs import JsonFormatter
from tests.factories import messages_of, telegram_update
from tests.fakes.smtp_relay import SmtpRelay
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import ACCOUNT_SID, FakeTwilioAPI, sign
from tests.support import RunningHub, eventually, operator_reply
from tests.support.api import PASSWORD, Api

PUBLIC_URL = "https://support.example.test"
TELEGRAM_TOKEN = "987654321:TG-secret-token-Zq8"
TWILIO_TOKEN = "twilio-auth-token-secret-77"
SMTP_PASSWORD = "smtp-password-secret-55"
SECRET_KEY = "hub-secret-key-secret-33"
WEBHOOK_SECRET = "tg-webhook-secret-44"
HMAC_SECRET = "shop-hmac-secret-66"


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilioAPI]:
    async with FakeTwilioAPI(auth_token=TWILIO_TOKEN) as fake:
        yield fake


@pytest.fixture
async def relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay() as server:
        yield server


@pytest.fixture
def settings_overrides(
    fake_telegram: FakeTelegramAPI, fake_twilio: FakeTwilioAPI, relay: SmtpRelay
) -> dict[str, Any]:
    return {
        "public_url": PUBLIC_URL,
        "secret_key": SECRET_KEY,
        "telegram_bot_token": TELEGRAM_TOKEN,
        "telegram_webhook_secret": WEBHOOK_SECRET,
        "webchat_hmac_secret": HMAC_SECRET,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": TWILIO_TOKEN,
        "twilio_sms_from": "+15550001111",
        "twilio_api_url": fake_twilio.base_url,
        "email_address": "support@shop.test",
        # The relay offers no AUTH: every send with these credentials fails and is logged.
        "smtp_url": f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{relay.port}",
    }


class Answers:
    """Every answer body the test saw."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def post(self, http: aiohttp.ClientSession, url: str, **kwargs: Any) -> int:
        async with http.post(url, allow_redirects=False, **kwargs) as response:
            self.bodies.append(await response.text())
            self.bodies.append(str(response.headers))
            return response.status


async def test_no_secret_in_any_log_record_or_answer(
    hub: RunningHub,
    api: Api,
    fake_telegram: FakeTelegramAPI,
    fake_twilio: FakeTwilioAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # what `hub` logs (hub/runtime/logs.py)
    answers = Answers()
    http = hub.http
    secrets = [
        TELEGRAM_TOKEN,
        TWILIO_TOKEN,
        SMTP_PASSWORD,
        SECRET_KEY,
        WEBHOOK_SECRET,
        HMAC_SECRET,
        PASSWORD,
        api.token or "?",
    ]

    # Failed logins, on both doors, with the real password in the wrong field.
    for body in (
        {"email": api.email, "password": "wrong"},
        {"email": PASSWORD, "password": PASSWORD},
        {"email": api.email, "password": 12345},
        {"email": [api.token], "password": {"x": PASSWORD}},
    ):
        await answers.post(http, f"{hub.url}/api/v1/auth/login", json=body)
    await answers.post(
        http, f"{hub.url}/inbox/login", data={"email": api.email, "password": PASSWORD}
    )
    # Validation errors and bad tokens on the API (the token as a value, too).
    auth = {"Authorization": f"Bearer {api.token}"}
    for path, body in (
        ("/api/v1/conversations/1/messages", {"text": api.token, "channel": api.token}),
        ("/api/v1/conversations/1/status", {"status": PASSWORD}),
        ("/api/v1/canned-responses", {"shortcut": PASSWORD * 20, "text": 1}),
    ):
        await answers.post(http, hub.url + path, json=body, headers=auth)
    await answers.post(
        http,
        hub.url + "/api/v1/canned-responses",
        json={},
        headers={"Authorization": f"Bearer {api.token}x"},
    )
    # Bad webhooks: a near-miss secret, a wrong signature, a body that is not JSON.
    await answers.post(
        http,
        hub.url + "/webhooks/telegram",
        data=b"{",
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    await answers.post(
        http,
        hub.url + "/webhooks/telegram",
        json={"update_id": 1},
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET + "x"},
    )
    form = {"From": "+15557770001", "MessageSid": "SM" + "1" * 32, "Body": "hi"}
    await answers.post(
        http,
        hub.url + "/webhooks/twilio/messages",
        data=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "bad"},
    )

    # Providers that refuse: Telegram 401 and 500, Twilio 401 and 500, SMTP without AUTH.
    update = telegram_update(9301, "telegram customer")
    assert await hub.post_telegram(update, secret=WEBHOOK_SECRET) == 200
    message = (await eventually(lambda: messages_of(hub.hub, channel="telegram")))[0]
    fake_telegram.fail_next("sendMessage", status=401)
    await operator_reply(hub, message.conversation_id, "reply one")
    fake_telegram.fail_next("sendMessage", status=500, count=10)
    await operator_reply(hub, message.conversation_id, "reply two")
    signed = sign(PUBLIC_URL + "/webhooks/twilio/messages", form, TWILIO_TOKEN)
    assert (
        await answers.post(
            http,
            hub.url + "/webhooks/twilio/messages",
            data=urlencode(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signed,
            },
        )
        == 200
    )

    async def sms_conversation() -> int | None:
        found = await messages_of(hub.hub, channel="sms")
        return found[0].conversation_id if found else None

    sms = await eventually(sms_conversation, what="the SMS stored")
    fake_twilio.fail_next(401, 20003, "Authenticate")
    await operator_reply(hub, sms, "sms reply one")
    status, _, _ = await api.call(
        "PUT", "/orders/77", {"customer": {"email": "mail@shop.test"}, "status": "created"}
    )
    assert status == 201
    status, _, _ = await api.call(
        "PUT",
        "/orders/77",
        {"customer": {"email": "mail@shop.test"}, "status": "shipped", "notify": True},
    )
    assert status == 200
    # A dropped connection to the Bot API (whose URLs carry the token), and a photo
    # whose file the Bot API does not know (the download URL carries it too).
    fake_telegram.drop_connections(1, "sendMessage")
    await operator_reply(hub, message.conversation_id, "reply three")
    photo = [{"file_id": "missing", "file_unique_id": "m", "width": 9, "height": 9}]
    assert (
        await hub.post_telegram(telegram_update(9301, None, photo=photo), secret=WEBHOOK_SECRET)
        == 200
    )

    def logged_failures() -> bool:
        text = " ".join(r.getMessage() for r in caplog.records)
        return all(
            f in text for f in ("Unauthorized", "Internal Server Error", "Twilio error", "SMTP")
        )

    async def all_logged() -> bool:
        return logged_failures()

    await eventually(all_logged, what="every refused send logged", timeout=30)

    formatter = JsonFormatter()
    logged = [formatter.format(record) for record in caplog.records]
    assert logged, "nothing was logged: the test would prove nothing"
    for secret in secrets:
        leaks = [line for line in logged if secret in line]
        assert not leaks, (secret, leaks[:3])
        assert not [b for b in answers.bodies if secret in b], secret
