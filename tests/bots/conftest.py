"""Bot tests run a whole hub (webhooks, router, bots, fake Telegram) with an API client."""

from __future__ import annotations

from typing import Any

import pytest

from hub.settings import Settings
from tests.conftest import TELEGRAM_SECRET, make_settings
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.support import RunningHub
from tests.web.conftest import Api, make_api


@pytest.fixture
async def api(hub: RunningHub) -> Api:
    return await make_api(hub, "anna@shop.test", "Anna")


@pytest.fixture
def settings(backend_urls: dict[str, Any], fake_telegram: FakeTelegramAPI) -> Settings:
    return make_settings(
        **backend_urls,
        port=0,
        secret_key="test-secret-key",
        telegram_bot_token=DEFAULT_TOKEN,
        telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_url=fake_telegram.base_url,
        bots=True,
    )
