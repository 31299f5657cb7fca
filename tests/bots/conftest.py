"""Bot tests run a whole hub (webhooks, router, bots, fake Telegram) with an API client."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import RunningHub
from tests.web.conftest import Api, make_api


@pytest.fixture
async def api(hub: RunningHub) -> Api:
    return await make_api(hub, "anna@shop.test", "Anna")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"bots": True}
