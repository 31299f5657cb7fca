"""Fixtures for the Twilio and email channels: fake providers on loopback, a hub using them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.smtp_relay import SmtpRelay
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support import RunningHub, start_hub, stop_hub
from tests.support.mail import mail_settings
from tests.support.twilio import twilio_settings


@pytest.fixture
async def twilio_hub(
    backend_urls: dict[str, Any], fake_twilio: FakeTwilioAPI
) -> AsyncIterator[RunningHub]:
    settings = twilio_settings(backend_urls, fake_twilio.base_url)
    settings.check()
    running = await start_hub(settings)
    yield running
    await stop_hub(running)


@pytest.fixture
async def smtp_relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay() as relay:
        yield relay


@pytest.fixture
async def mail_hub(
    backend_urls: dict[str, Any], smtp_relay: SmtpRelay
) -> AsyncIterator[RunningHub]:
    settings = mail_settings(backend_urls, smtp_relay)
    running = await start_hub(settings)
    yield running
    await stop_hub(running)
