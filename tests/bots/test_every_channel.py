"""Order status on every channel, end to end through the real endpoints and fake providers:
the owner asks and gets the status; a stranger asking for the same number learns nothing;
asking for a person silences the bot. Operators see, beside each bot message, why it spoke."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.factories import messages_of
from tests.support import RunningHub, eventually
from tests.support.api import Api, make_api
from tests.support.orders import put_order
from tests.support.people import CHANNELS, Fakes, Person, person, settled, stranger_of

TRACKING = "https://track.example/4242?lang=en&x=1"
PICKUP = "Parcel locker 17, 5 Market Street"


@pytest.fixture(params=CHANNELS)
def channel(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def api(every_channel_hub: RunningHub) -> Api:
    return await make_api(every_channel_hub, "anna@shop.test", "Anna")


@pytest.fixture
async def people(every_channel_hub: RunningHub, fakes: Fakes) -> AsyncIterator[list[Person]]:
    """Everyone a test creates on a channel; their sockets are closed at the end."""
    made: list[Person] = []
    yield made
    for someone in made:
        await someone.close()


async def answers(someone: Person, n: int = 1) -> list[str]:
    """The first `n` messages the provider delivered to this person."""

    async def delivered() -> list[str] | None:
        found = someone.answers()
        return found if len(found) >= n else None

    return (await eventually(delivered, what=f"{n} answer(s) on {someone.channel}"))[:n]


async def thread_of(running: RunningHub, api: Api, someone: Person) -> list[dict[str, Any]]:
    [asked, *_] = [
        m
        for m in await messages_of(running.hub, channel=someone.channel, direction="inbound")
        if m.address == someone.address
    ]
    page = await api.get(f"/conversations/{asked.conversation_id}/messages")
    return list(page["items"])


async def test_the_owner_asking_gets_status_tracking_and_pickup_point(
    every_channel_hub: RunningHub,
    fakes: Fakes,
    api: Api,
    people: list[Person],
    channel: str,
) -> None:
    owner = person(channel, every_channel_hub, fakes)
    people.append(owner)
    await put_order(api, "4242", owner, "shipped")
    await put_order(
        api, "4242", owner, "ready_for_pickup", tracking_url=TRACKING, pickup_point=PICKUP
    )
    await owner.ask("where is my order 4242?")
    [answer] = await answers(owner)
    assert "4242" in answer and "ready for pickup" in answer
    assert TRACKING in answer and PICKUP in answer
    await settled(every_channel_hub)
    assert len(owner.answers()) == 1  # the operators' note never leaves the hub
    if channel == "email":
        [mail] = owner.mails()  # type: ignore[attr-defined]
        assert mail["In-Reply-To"] == owner.asked[0]  # type: ignore[attr-defined]
        assert mail["Subject"] == "Re: My order"
    bots = [m for m in await thread_of(every_channel_hub, api, owner) if m["sender_type"] == "bot"]
    assert [m["private"] for m in bots] == [False, True]
    assert bots[0]["channel"] == channel and "4242" in bots[0]["text"]
    assert "matched" in bots[1]["text"] and "order 4242" in bots[1]["text"]


async def test_a_stranger_asking_for_the_same_number_learns_nothing(
    every_channel_hub: RunningHub,
    fakes: Fakes,
    api: Api,
    people: list[Person],
    channel: str,
) -> None:
    owner = person(channel, every_channel_hub, fakes)
    await put_order(
        api, "4242", owner, "ready_for_pickup", tracking_url=TRACKING, pickup_point=PICKUP
    )
    stranger = stranger_of(owner, every_channel_hub, fakes)
    nobody = person(channel, every_channel_hub, fakes)
    people.extend([owner, stranger, nobody])
    await stranger.ask("where is my order 4242?")
    await nobody.ask("where is my order 5555?")
    [foreign] = await answers(stranger)
    [missing] = await answers(nobody)
    assert foreign.replace("4242", "N") == missing.replace("5555", "N")
    for secret in (TRACKING, PICKUP, "ready for pickup", "Parcel"):
        assert secret not in foreign


@pytest.mark.parametrize("channel", ["sms", "email", "webchat"])
async def test_asking_for_a_person_silences_the_bot_and_says_why(
    every_channel_hub: RunningHub,
    fakes: Fakes,
    api: Api,
    people: list[Person],
    channel: str,
) -> None:
    someone = person(channel, every_channel_hub, fakes)
    people.append(someone)
    await put_order(api, "4343", someone, "shipped", tracking_url=TRACKING)
    await someone.ask("can I talk to a human please")
    [handoff] = await answers(someone)
    assert "a person will answer" in handoff
    await settled(every_channel_hub)
    await someone.ask("where is my order 4343?")
    await eventually(
        lambda: _inbound(every_channel_hub, someone, 2), what="the second question routed"
    )
    await settled(every_channel_hub)
    assert len(someone.answers()) == 1
    thread = await thread_of(every_channel_hub, api, someone)
    conversation = await api.get(f"/conversations/{thread[0]['conversation_id']}")
    assert conversation["bot_active"] is False
    assert conversation["status"] == "open" and conversation["assignee_id"] is None
    notes = [m["text"] for m in thread if m["sender_type"] == "bot" and m["private"]]
    assert len(notes) == 1 and "handoff" in notes[0] and "human" in notes[0]


async def _inbound(running: RunningHub, someone: Person, n: int) -> bool:
    found = [
        m
        for m in await messages_of(running.hub, channel=someone.channel, direction="inbound")
        if m.address == someone.address
    ]
    return len(found) >= n
