"""Identity tests run the whole hub with every channel against its fake provider."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bots.conftest import every_channel_hub, fakes, smtp_relay  # noqa: F401 (fixtures)
from tests.support import RunningHub
from tests.support.api import Api, make_api
from tests.support.people import Person
from tests.support.webchat_visitor import Visitor


@pytest.fixture
async def api(every_channel_hub: RunningHub) -> Api:  # noqa: F811 (the bots' fixture's hub)
    return await make_api(every_channel_hub, "olga@shop.test", "Olga")


@pytest.fixture
async def closing() -> AsyncIterator[list[Person | Visitor]]:
    """Everyone a test makes; their sockets are closed at the end."""
    made: list[Person | Visitor] = []
    yield made
    for someone in made:
        await someone.close()
