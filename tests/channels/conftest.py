"""Fixtures for the Twilio and email channels: fake providers on loopback, a hub using them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.settings import Settings
from tests.conftest import make_settings
from tests.fakes.smtp_relay import SmtpRelay
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI
from tests.support import RunningHub, start_hub, stop_hub

PUBLIC_URL = "https://support.example.test"
SMS_FROM = "+15550001111"
WHATSAPP_FROM = "whatsapp:+15550002222"


def twilio_settings(backend_urls: dict[str, Any], api_url: str, **extra: Any) -> Settings:
    return make_settings(
        **backend_urls,
        port=0,
        secret_key="test-secret-key",
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_sms_from=SMS_FROM,
        twilio_whatsapp_from=WHATSAPP_FROM,
        twilio_api_url=api_url,
        **extra,
    )


@pytest.fixture
async def twilio_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI
) -> AsyncIterator[RunningHub]:
    settings = twilio_settings(backend_urls, fake_twilio.base_url)
    settings.check()
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


MAILBOX = "support@shop.test"


@pytest.fixture
async def smtp_relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay() as relay:
        yield relay


def mail_settings(backend_urls: dict[str, Any], relay: SmtpRelay, **extra: Any) -> Settings:
    """A hub with only the email channel: its own SMTP listener in, `relay` out."""
    settings = make_settings(
        **backend_urls,
        port=0,
        secret_key="test-secret-key",
        email_address=MAILBOX,
        smtp_url=relay.url,
        smtp_listen="127.0.0.1:0",
        **extra,
    )
    settings.check()
    return settings


@pytest.fixture
async def mail_hub(
    backend_urls: dict[str, Any], smtp_relay: SmtpRelay
) -> AsyncIterator[RunningHub]:
    settings = mail_settings(backend_urls, smtp_relay)
    running = await start_hub(settings)
    yield running
    await stop_hub(running)
