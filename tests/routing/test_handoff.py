"""With the bots on, a conversation is auto-assigned only once the bot hands it to a person."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import pytest

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually
from tests.support.api import customer_writes
from tests.support.routing import auto_assign, conversation, online


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"bots": True, "routing_check_seconds": 0.05, "routing_settle_seconds": 0.0}


async def test_the_bots_handoff_is_what_assigns(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    async with AsyncExitStack() as stack:
        anna = await online(hub, stack, "anna@shop.test", "Anna")
        await auto_assign(hub)
        first = await customer_writes(hub, 9950, "hello", language_code="en")
        # With the bot, it is not waiting for a person: nobody is assigned.
        assert (await conversation(hub, first.conversation_id)).assignee_id is None
        second = await customer_writes(hub, 9950, "operator please")
        assert second.conversation_id == first.conversation_id
        await fake_telegram.wait_for_sent(lambda m: "colleague" in (m.text or ""))

        async def assigned() -> int | None:
            return (await conversation(hub, first.conversation_id)).assignee_id

        assert await eventually(assigned, what="assigned after the handoff") == anna.operator_id
        thread = await anna.get(f"/conversations/{first.conversation_id}/messages")
        kinds = [(m["sender_type"], m["text"][:14]) for m in thread["items"]]
        handoff = next(
            i
            for i, k in enumerate(kinds)
            if k[0] == "bot" and "colleague" in k[1] + thread["items"][i]["text"]
        )
        note = next(i for i, k in enumerate(kinds) if k[1].startswith("Auto-assigned"))
        assert handoff < note, kinds
