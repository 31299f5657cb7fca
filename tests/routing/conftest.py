"""Routing tests: the worker routes every few milliseconds, with no bot to wait for."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import RunningHub
from tests.support.api import Api, make_api


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"routing_check_seconds": 0.05, "routing_settle_seconds": 0.0}


@pytest.fixture
async def api(hub: RunningHub) -> Api:
    return await make_api(hub, "anna@shop.test", "Anna")
