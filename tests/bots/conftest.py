"""Bot tests run a whole hub (webhooks, router, bots, fake providers) with an API client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.settings import Settings
from tests.fakes.smtp_relay import SmtpRelay
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.support import RunningHub, start_hub, stop_hub
from tests.support.api import Api, make_api
from tests.support.people import Fakes, every_channel_settings


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


@pytest.fixture
async def every_channel_hub(
    backend_urls: dict[str, Any], fakes: Fakes
) -> AsyncIterator[RunningHub]:
    running = await start_hub(every_channel_settings(backend_urls, fakes))
    yield running
    await stop_hub(running)


@pytest.fixture
async def web_only(settings: Settings) -> AsyncIterator[RunningHub]:
    """The webhooks and the queue, without a worker: the test plays the worker."""
    running = await start_hub(settings, with_worker=False)
    yield running
    await stop_hub(running)
