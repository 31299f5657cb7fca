"""Work after commit: a reply's send is queued and its events are published only once the
reply is committed, by one `commit_and_publish`; outbound jobs an older version queued
still run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hub.actions.replies import do_add_note, do_reply
from hub.actions.unit import discard, unit_of_work
from hub.domain import events
from hub.domain.events import Event
from hub.domain.types import SenderType
from hub.models import Conversation, Customer, Identity
from hub.queue.outbound import OutboundJob
from hub.queue.port import OUTBOUND, NewJob
from hub.settings import Settings
from tests.factories import messages_of
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually, start_hub, stop_hub


class Undone(Exception):
    """Something fails after the action, inside the same unit of work."""


@pytest.fixture
async def web_only(settings: Settings) -> AsyncIterator[RunningHub]:
    """No worker: whatever is queued stays in the queue for the test to count."""
    running = await start_hub(settings, with_worker=False)
    yield running
    await stop_hub(running)


async def _customer_on_telegram(running: RunningHub, chat: int) -> int:
    """A customer with a proven Telegram chat and a conversation: its id (no worker needed)."""
    async with running.hub.db.session() as session:
        customer = Customer(name="After Commit", locale="en")
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        session.add(Identity(customer_id=customer.id, channel="telegram", address=str(chat)))
        conversation = Conversation(customer_id=customer.id, channel="telegram")
        session.add(conversation)
        await session.commit()
    assert conversation.id is not None
    return conversation.id


async def _next_named(heard: asyncio.Queue[Event], name: str) -> Event:
    """The next published event of this name; fails after 5 s (no sleeping)."""
    async with asyncio.timeout(5):
        while (event := await heard.get()).name != name:
            pass
    return event


def test_an_outbound_payload_of_an_older_version_is_read() -> None:
    assert OutboundJob.read('{"message_id": 42}') == OutboundJob(42)
    resumed = OutboundJob.read('{"message_id": 42, "progress": "2"}')
    assert resumed == OutboundJob(42, progress="2")
    assert OutboundJob.read(resumed.payload()) == resumed
    with pytest.raises(KeyError):
        OutboundJob.read('{"id": 42}')


async def test_a_reply_queued_by_an_older_version_is_sent(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    conversation_id = await _customer_on_telegram(hub, 9601)
    async with hub.hub.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        message = await do_reply(
            session, conversation, "from before", sender_type=SenderType.OPERATOR
        )
        await session.commit()
        discard(session)  # queued below the way an older version wrote its job
    old = NewJob(
        key=f"conversation:{conversation_id}",
        payload=f'{{"message_id": {message.id}}}',
        dedupe_key=f"message:{message.id}",
    )
    await hub.hub.queue.enqueue(OUTBOUND, [old])
    await eventually(
        lambda: messages_of(hub.hub, id=message.id, status="sent"), what="the old job sent"
    )
    assert [s.text for s in fake_telegram.sent if s.chat_id == 9601] == ["from before"]


async def test_a_send_in_a_unit_of_work_that_fails_is_never_queued_nor_told(
    web_only: RunningHub,
) -> None:
    hub = web_only.hub
    conversation_id = await _customer_on_telegram(web_only, 9602)
    async with hub.broker.subscribe() as heard:
        with pytest.raises(Undone):
            async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
                conversation = await session.get(Conversation, conversation_id)
                assert conversation is not None
                await do_reply(session, conversation, "never", sender_type=SenderType.OPERATOR)
                raise Undone
        assert await hub.queue.depth(OUTBOUND) == 0
        assert await messages_of(hub, text="never") == []
        assert heard.empty()

        async with unit_of_work(hub.db, hub.queue, hub.broker) as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            reply = await do_reply(session, conversation, "kept", sender_type=SenderType.OPERATOR)
            await do_add_note(session, conversation, "a note", operator_id=None)
        assert await hub.queue.depth(OUTBOUND) == 1  # the reply's send; a note is never sent
        told = await _next_named(heard, events.MESSAGE_CREATED)
    assert told.data["message_id"] == reply.id
