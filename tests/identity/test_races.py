"""One thread per customer under concurrency (SPEC §6), with two hubs (web + worker each)
on one database and queue, so routing really runs in two workers at once: messages of one
customer on two channels at the same moment, a merge racing inbound messages, a merge
submitted twice at once, a claim for an address that is mid-merge. Each ends with one
unresolved conversation per customer and nothing lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from hub.models import Conversation
from hub.models.base import utcnow
from tests.factories import conversations_of, customer_of, messages_of
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.api import Api, make_api
from tests.support.people import Fakes, PhonePerson, TelegramPerson, every_channel_settings
from tests.support.webchat_visitor import Visitor

PAIRS = 12
# Two workers share the partitions only after a rebalance (a few seconds): wait longer.
ROUTED_WITHIN = 30.0


@pytest.fixture
async def two_hubs(
    backend_urls: dict[str, Any], fakes: Fakes
) -> AsyncIterator[tuple[RunningHub, RunningHub]]:
    settings = every_channel_settings(backend_urls, fakes)
    first = await start_hub(settings)
    second = await start_hub(settings)
    yield first, second
    await stop_hub(second)
    await stop_hub(first)


async def unresolved_of(running: RunningHub, customer_id: int) -> list[int]:
    return [
        c.id or 0
        for c in await conversations_of(running.hub, customer_id)
        if c.status != "resolved"
    ]


async def routed(running: RunningHub, n: int) -> bool:
    return len(await messages_of(running.hub, direction="inbound")) >= n


async def test_the_database_itself_refuses_a_second_unresolved_conversation(
    two_hubs: tuple[RunningHub, RunningHub], fakes: Fakes
) -> None:
    first, _ = two_hubs
    someone = TelegramPerson(first, fakes)
    await someone.ask("hello")
    [message] = await eventually(lambda: messages_of(first.hub, direction="inbound"))
    with pytest.raises(IntegrityError):
        async with first.hub.db.session() as session:
            await session.execute(
                insert(Conversation).values(
                    customer_id=message.customer_id,
                    status="pending",
                    channel="telegram",
                    bot_active=True,
                    last_message_at=utcnow(),
                    created_at=utcnow(),
                )
            )
            await session.commit()


async def test_one_customer_writing_on_two_channels_at_once_gets_one_thread(
    two_hubs: tuple[RunningHub, RunningHub], fakes: Fakes
) -> None:
    first, second = two_hubs
    api = await make_api(first, "olga@shop.test", "Olga")
    people = []
    for n in range(PAIRS):
        telegram = TelegramPerson(first, fakes)
        phone = PhonePerson(second, fakes, channel="sms")
        customer = {"telegram_id": telegram.user_id, "phone": phone.phone}
        await api.ok("PUT", f"/orders/R{n}", {"customer": customer, "status": "created"}, 201)
        people.append((telegram, phone))
    await asyncio.gather(*(p.ask(f"at once {n}") for n, pair in enumerate(people) for p in pair))
    await eventually(
        lambda: routed(first, 2 * PAIRS), what="every message routed", timeout=ROUTED_WITHIN
    )
    for telegram, phone in people:
        customer = await customer_of(first.hub, "telegram", str(telegram.user_id))
        assert customer is not None
        assert customer.id == (await customer_of(first.hub, "sms", phone.phone)).id  # type: ignore[union-attr]
        [thread] = await unresolved_of(first, customer.id or 0)
        theirs = [m for m in await messages_of(first.hub, customer_id=customer.id)]
        assert {m.conversation_id for m in theirs if m.direction == "inbound"} == {thread}


async def merge(api: Api, survivor: int, other: int) -> tuple[int, Any]:
    status, data, _ = await api.call("POST", f"/customers/{survivor}/merge", {"other_id": other})
    return status, data


async def test_merges_racing_inbound_messages_lose_nothing(
    two_hubs: tuple[RunningHub, RunningHub], fakes: Fakes
) -> None:
    first, second = two_hubs
    api = await make_api(first, "olga@shop.test", "Olga")
    pairs = [(TelegramPerson(first, fakes), TelegramPerson(second, fakes)) for _ in range(PAIRS)]
    for older, newer in pairs:
        await older.ask("before")
        await newer.ask("before")
    await eventually(
        lambda: routed(first, 2 * PAIRS), what="first messages routed", timeout=ROUTED_WITHIN
    )
    ids = []
    for older, newer in pairs:
        a = await customer_of(first.hub, "telegram", older.address)
        b = await customer_of(first.hub, "telegram", newer.address)
        assert a is not None and b is not None
        ids.append((a.id or 0, b.id or 0))

    results = await asyncio.gather(
        *(merge(api, a, b) for a, b in ids),
        *(newer.ask(f"during {i}") for i, (_, newer) in enumerate(pairs)),
        *(older.ask(f"during {i}") for i, (older, _) in enumerate(pairs)),
    )
    assert all(r[0] == 200 for r in results[:PAIRS]), results[:PAIRS]
    await eventually(
        lambda: routed(first, 4 * PAIRS), what="every message routed", timeout=ROUTED_WITHIN
    )
    for a, _ in ids:
        [thread] = await unresolved_of(first, a)
        theirs = [m for m in await messages_of(first.hub, customer_id=a, direction="inbound")]
        assert len(theirs) == 4
        assert {m.conversation_id for m in theirs} == {thread}


async def customers_writing(running: RunningHub, *people: TelegramPerson) -> list[int]:
    """Each person writes once; their customers' ids once every message is routed."""
    for someone in people:
        await someone.ask(f"hello from {someone.user_id}")
    await eventually(lambda: routed(running, len(people)), what="routed", timeout=ROUTED_WITHIN)
    ids = []
    for someone in people:
        customer = await customer_of(running.hub, "telegram", someone.address)
        assert customer is not None and customer.id is not None
        ids.append(customer.id)
    return ids


async def test_a_merge_submitted_twice_at_once_merges_once(
    two_hubs: tuple[RunningHub, RunningHub], fakes: Fakes
) -> None:
    first, second = two_hubs
    api_one = await make_api(first, "olga@shop.test", "Olga")
    api_two = await make_api(second, "petr@shop.test", "Petr")
    older, newer = TelegramPerson(first, fakes), TelegramPerson(second, fakes)
    a, b = await customers_writing(first, older, newer)
    (s1, d1), (s2, d2) = await asyncio.gather(merge(api_one, a, b), merge(api_two, a, b))
    assert (s1, s2) == (200, 200) and d1["id"] == d2["id"] == a
    assert len(await unresolved_of(first, a)) == 1
    assert len([e for e in d2["timeline"] if e["kind"] == "merge"]) == 1


async def test_a_claim_for_an_address_mid_merge_ends_as_one_suggestion(
    two_hubs: tuple[RunningHub, RunningHub], fakes: Fakes
) -> None:
    first, second = two_hubs
    api = await make_api(first, "olga@shop.test", "Olga")
    older, newer = TelegramPerson(first, fakes), TelegramPerson(first, fakes)
    await api.ok(
        "PUT", "/orders/M1", {"customer": {"telegram_id": newer.user_id,
                                           "email": "mid@customer.test"}, "status": "created"}, 201,
    )  # fmt: skip
    a, b = await customers_writing(first, older, newer)
    visitor = await Visitor(second).open()
    try:
        await asyncio.gather(merge(api, a, b), visitor.identify(email="mid@customer.test"))
        await visitor.say("claiming")
    finally:
        await visitor.close()
    await eventually(
        lambda: routed(first, 3), what="the visitor's message routed", timeout=ROUTED_WITHIN
    )
    card = await api.get(f"/customers/{a}")
    owners = {s["owner_id"] for s in card["suggestions"]}
    assert owners == {a}, card["suggestions"]
    assert len(await unresolved_of(first, a)) == 1
    [claimed] = [m for m in await messages_of(first.hub, text="claiming")]
    assert claimed.customer_id != a
