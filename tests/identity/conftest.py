"""Identity tests run the whole hub with every channel against its fake provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.bots.conftest import every_channel_hub, fakes, smtp_relay  # noqa: F401 (fixtures)
from tests.bots.people import Person
from tests.support import RunningHub
from tests.web.conftest import Api, make_api
from tests.webchat_visitor import Visitor


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


async def put_order(
    api: Api, number: str, customer: dict[str, Any], status: str, **more: Any
) -> Any:
    code, data, _ = await api.call(
        "PUT", f"/orders/{number}", {"customer": customer, "status": status, **more}
    )
    assert code in (200, 201), data
    return data


async def customer_card(api: Api, customer_id: int) -> dict[str, Any]:
    return dict(await api.get(f"/customers/{customer_id}"))
