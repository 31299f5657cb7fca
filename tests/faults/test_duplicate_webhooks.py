"""The same webhook 10 times, concurrently, and out of order: stored once each, in order.

The order the hub promises (SPEC §2): one customer's messages are routed in the order they
*arrived* (were acknowledged), not by the provider's ids or timestamps. A provider that
delivers out of order gets its messages stored in that delivery order; `update_id` and
`message_id` are used for de-duplication only.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from hub.models import Message
from tests.factories import count, messages_of, telegram_update
from tests.support import RunningHub, eventually
from tests.support.twilio import post_form, sms

COPIES = 10


async def test_ten_identical_telegram_updates_at_once_are_stored_once(hub: RunningHub) -> None:
    update = telegram_update(7201, "said once, delivered ten times")
    answers = await asyncio.gather(*(hub.post_telegram(update) for _ in range(COPIES)))
    assert answers == [200] * COPIES  # a repeat is answered like the first delivery
    [stored] = await eventually(lambda: messages_of(hub.hub, channel="telegram"))
    await _drained(hub)
    assert await count(hub.hub, Message) == 1
    assert stored.text == "said once, delivered ten times"


async def test_ten_identical_twilio_forms_at_once_are_stored_once(hub: RunningHub) -> None:
    form = sms("+14155550721", "texted once, delivered ten times")
    answers = await asyncio.gather(
        *(post_form(hub, "/webhooks/twilio/messages", form) for _ in range(COPIES))
    )
    assert {status for status, _, _ in answers} == {200}
    assert len({text for _, text, _ in answers}) == 1  # the same empty TwiML each time
    await eventually(lambda: messages_of(hub.hub, channel="sms"))
    await _drained(hub)
    assert len(await messages_of(hub.hub, channel="sms")) == 1


async def test_a_shuffled_burst_is_stored_once_each_in_the_order_it_arrived(
    hub: RunningHub,
) -> None:
    """20 updates of one customer, delivered shuffled one after another and then all again
    ten times over, concurrently: 20 messages, in the order of the first deliveries."""
    updates = [telegram_update(7202, f"part {n}") for n in range(20)]
    rng = random.Random(7202)
    arrival = rng.sample(updates, len(updates))
    for update in arrival:  # one at a time: each is acknowledged before the next is sent
        assert await hub.post_telegram(update) == 200
    storm = [u for u in updates for _ in range(COPIES)]
    rng.shuffle(storm)
    answers = await asyncio.gather(*(hub.post_telegram(u) for u in storm))
    assert Counter(answers) == {200: len(storm)}

    async def all_stored() -> list[Message] | None:
        found = await messages_of(hub.hub, channel="telegram")
        return found if len(found) >= len(updates) else None

    stored = await eventually(all_stored, what="20 messages stored")
    await _drained(hub)
    stored = await messages_of(hub.hub, channel="telegram")
    assert [m.text for m in stored] == [u["message"]["text"] for u in arrival]
    assert len({m.conversation_id for m in stored}) == 1


async def _drained(hub: RunningHub) -> bool:
    async def empty() -> bool:
        return await hub.hub.queue.depth("inbound") == 0

    return await eventually(empty, what="inbound queue drained")
