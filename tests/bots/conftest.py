"""Bot tests run a whole hub (webhooks, router, bots, fake providers) with an API client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.settings import Settings
from tests.bots.people import Fakes
from tests.channels.conftest import MAILBOX, twilio_settings
from tests.conftest import TELEGRAM_SECRET
from tests.fakes.smtp_relay import SmtpRelay
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support import RunningHub, start_hub, stop_hub
from tests.web.conftest import Api, make_api
from tests.webchat_visitor import HMAC_SECRET


@pytest.fixture
async def api(hub: RunningHub) -> Api:
    return await make_api(hub, "anna@shop.test", "Anna")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"bots": True}


@pytest.fixture
async def smtp_relay() -> AsyncIterator[SmtpRelay]:
    async with SmtpRelay() as relay:
        yield relay


@pytest.fixture
def fakes(
    fake_telegram: FakeTelegramAPI, fake_twilio: FakeTwilioAPI, smtp_relay: SmtpRelay
) -> Fakes:
    return Fakes(fake_telegram, fake_twilio, smtp_relay)


def every_channel_settings(backend_urls: dict[str, Any], fakes: Fakes) -> Settings:
    """Telegram, SMS, WhatsApp, email and web chat on, each against its fake provider."""
    settings = twilio_settings(
        backend_urls,
        fakes.twilio.base_url,
        bots=True,
        telegram_bot_token=DEFAULT_TOKEN,
        telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_url=fakes.telegram.base_url,
        webchat_hmac_secret=HMAC_SECRET,
        email_address=MAILBOX,
        smtp_url=fakes.relay.url,
        smtp_listen="127.0.0.1:0",
    )
    settings.check()
    return settings


@pytest.fixture
async def every_channel_hub(
    backend_urls: dict[str, Any], fakes: Fakes
) -> AsyncIterator[RunningHub]:
    running = await start_hub(every_channel_settings(backend_urls, fakes))
    yield running
    await stop_hub(running)
