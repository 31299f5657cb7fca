"""The inbox's live feed says who wrote and whose thread it is, so the page can notify the
assignee of a customer's message without asking the hub (notify.js)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.support import RunningHub, eventually, operator_reply
from tests.support.api import Api, Browser, customer_writes


async def notices(agent: Browser, into: asyncio.Queue[dict[str, Any]]) -> None:
    """Read the inbox's live stream as the page does, one JSON notice per `data:` line
    (and `{"name": "connected"}` once the hub has subscribed the stream)."""
    async with agent.http.get(agent.url + "/inbox/events") as response:
        assert response.status == 200
        async for line in response.content:
            if line.startswith(b": connected"):
                await into.put({"name": "connected"})
            elif line.startswith(b"data: "):
                await into.put(json.loads(line[len(b"data: ") :]))


async def test_a_customers_message_names_its_sender_and_the_threads_assignee(
    hub: RunningHub, api: Api, agent: Browser
) -> None:
    first = await customer_writes(hub, 7601, "Hello")
    conversation_id = first.conversation_id
    path = f"/conversations/{conversation_id}/assign"
    await api.ok("POST", path, {"operator_id": api.operator_id})
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    seen: list[dict[str, Any]] = []
    reader = asyncio.create_task(notices(agent, received))
    try:
        assert (await asyncio.wait_for(received.get(), timeout=10))["name"] == "connected"
        await customer_writes(hub, 7601, "Any news?")
        await operator_reply(hub, conversation_id, "Tomorrow.")

        async def both() -> bool:
            while not received.empty():
                notice = received.get_nowait()
                if notice["name"] == "message.created":
                    seen.append(notice)
            return len(seen) >= 2

        await eventually(both, what="two message notices")
    finally:
        reader.cancel()
    customer, operator = seen[:2]
    assert (customer["sender"], customer["assignee_id"]) == ("customer", api.operator_id)
    assert customer["conversation_id"] == conversation_id
    assert (operator["sender"], operator["assignee_id"]) == (None, None)  # not told
