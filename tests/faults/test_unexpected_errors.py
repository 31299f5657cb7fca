"""Any exception in a consumer is a failed try: counted, retried with backoff, then the
job dead-lettered and its message `failed` with the error; the jobs behind it go out.

The faults are injected at the provider edge the consumers hold (a sender, a media source
that raises what no one foresaw), and the hub is driven through its webhooks.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.chores.attachment_fetcher import MAX_FETCH_ATTEMPTS
from hub.domain.media import FetchedFile, MediaSource
from hub.domain.messages import DeliveryReceipt, OutboundMessage
from hub.domain.ports import SendingAdapter
from hub.domain.types import Channel
from hub.models import Attachment, Message
from hub.queue.consumers import MAX_SEND_ATTEMPTS
from hub.queue.port import INBOUND, OUTBOUND, NewJob
from tests.factories import messages_of, telegram_update
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import RunningHub, eventually, operator_reply
from tests.support.api import make_api
from tests.support.faults import all_replies_final

pytestmark = pytest.mark.usefixtures("fast_retries")


class ExplodingSender:
    """The real sender, except that a text with "explode" raises what no provider error is."""

    def __init__(self, real: SendingAdapter) -> None:
        self.real = real
        self.channel = real.channel
        self.max_text_length = real.max_text_length
        self.tries = 0

    async def send(self, message: OutboundMessage) -> DeliveryReceipt:
        if "explode" in message.text:
            self.tries += 1
            raise ValueError("invalid literal for int() with base 10: 'True'")
        return await self.real.send(message)

    async def close(self) -> None:
        await self.real.close()


async def _conversation_of(hub: RunningHub, user_id: int) -> int:
    await hub.post_telegram(telegram_update(user_id, "hello"))

    async def stored() -> list[Message]:
        return await messages_of(hub.hub, address=str(user_id), direction="inbound")

    [message] = await eventually(stored, what="the customer's message stored")
    return message.conversation_id


async def test_a_reply_whose_sender_raises_fails_and_the_partition_moves_on(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    sender = ExplodingSender(hub.hub.channels.senders[Channel.TELEGRAM])
    hub.hub.channels.senders[Channel.TELEGRAM] = sender
    conversation = await _conversation_of(hub, 5101)
    # One conversation's replies share a partition and go out in order.
    bad = await operator_reply(hub, conversation, "explode")
    good = [await operator_reply(hub, conversation, f"fine {n}") for n in range(3)]
    outcomes = await all_replies_final(hub.hub, [bad, *good], timeout=30)
    by_id = {o.message_id: o for o in outcomes}
    assert by_id[bad].status == "failed" and "ValueError" in (by_id[bad].error or "")
    assert all(by_id[m].status == "sent" for m in good), outcomes
    assert sender.tries == MAX_SEND_ATTEMPTS  # counted and retried, then given up
    assert [c.fields["text"] for c in fake_telegram.calls_of("sendMessage")] == [
        f"fine {n}" for n in range(3)
    ]

    async def queue_empty() -> bool:
        return await hub.hub.queue.depth(OUTBOUND) == 0

    await eventually(queue_empty, what="the failed job gone from the outbound queue")


async def test_a_broken_inbound_event_is_dead_lettered_and_the_customers_next_one_routed(
    hub: RunningHub,
) -> None:
    # The job of a customer's partition holds what no router can read.
    await hub.hub.queue.enqueue(INBOUND, [NewJob(key="5102", payload='{"channel": "nope"}')])
    assert await hub.post_telegram(telegram_update(5102, "after the broken one")) == 200

    async def routed() -> list[Message]:
        return await messages_of(hub.hub, address="5102")

    [message] = await eventually(routed, what="the later message routed", timeout=30)
    assert message.text == "after the broken one"

    async def queue_empty() -> bool:
        return await hub.hub.queue.depth(INBOUND) == 0

    await eventually(queue_empty, what="the broken job dead-lettered", timeout=30)


class ExplodingMedia:
    """A media source that raises what no provider error is, `failures` times."""

    def __init__(self, real: MediaSource, failures: int) -> None:
        self.real = real
        self.failures = failures
        self.tries = 0

    async def fetch(self, ref: str, limit: int) -> FetchedFile:
        self.tries += 1
        if self.tries <= self.failures:
            raise KeyError("file_path")
        return await self.real.fetch(ref, limit)

    async def close(self) -> None:
        await self.real.close()


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4


def _photo_update(fake: FakeTelegramAPI, user_id: int, file_id: str) -> dict[str, Any]:
    fake.add_file(file_id, JPEG, f"photos/{file_id}.jpg")
    photo = [{"file_id": file_id, "file_unique_id": file_id, "width": 90, "height": 60}]
    return telegram_update(user_id, None, caption="a photo", photo=photo)


async def _final_files(hub: RunningHub, n: int) -> list[Attachment] | None:
    async with hub.hub.db.session() as session:
        found = list((await session.scalars(select(Attachment).order_by("id"))).all())
    return found if len(found) >= n and all(a.status != "pending" for a in found) else None


@pytest.mark.parametrize("failures", [2, 99])
async def test_an_attachment_fetch_that_raises_is_retried_then_given_up_visibly(
    hub: RunningHub, fake_telegram: FakeTelegramAPI, failures: int
) -> None:
    media = ExplodingMedia(hub.hub.channels.media[Channel.TELEGRAM], failures)
    hub.hub.channels.media[Channel.TELEGRAM] = media
    assert await hub.post_telegram(_photo_update(fake_telegram, 5103, "photo-a")) == 200
    [file] = await eventually(lambda: _final_files(hub, 1), what="the file final", timeout=30)
    if failures < MAX_FETCH_ATTEMPTS:
        assert file.status == "stored" and media.tries == failures + 1
    else:
        assert file.status == "unavailable" and "KeyError" in (file.error or "")
        assert media.tries == MAX_FETCH_ATTEMPTS


async def test_a_notification_whose_sender_raises_fails_and_the_next_one_goes_out(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    """Order-status notifications ride the outbound queue: the same rule holds."""
    sender = ExplodingSender(hub.hub.channels.senders[Channel.TELEGRAM])
    hub.hub.channels.senders[Channel.TELEGRAM] = sender
    api = await make_api(hub, "ops@shop.test", "Ops")
    await _conversation_of(hub, 5104)
    for status, notify in (("processing", False), ("explode", True), ("shipped", True)):
        body = {"customer": {"telegram_id": 5104}, "status": status, "notify": notify}
        code, data, _ = await api.call("PUT", "/orders/7301", body)
        assert code in (200, 201), data

    async def both_final() -> list[Message] | None:
        told = await messages_of(hub.hub, sender_type="system", address="5104")
        done = len(told) == 2 and all(m.status in ("sent", "failed") for m in told)
        return told if done else None

    told = await eventually(both_final, what="both notifications final", timeout=30)
    by_status = {m.status: m for m in told}
    assert "explode" in by_status["failed"].text and "ValueError" in (
        by_status["failed"].error or ""
    )
    assert "7301" in by_status["sent"].text
    assert sender.tries == MAX_SEND_ATTEMPTS


class LongIdSender(ExplodingSender):
    """Sends for real, then reports a provider id longer than any id column."""

    async def send(self, message: OutboundMessage) -> DeliveryReceipt:
        await self.real.send(message)
        return DeliveryReceipt(external_id="9" * 300)


async def test_a_send_that_cannot_be_recorded_as_given_is_not_sent_again(
    hub: RunningHub, fake_telegram: FakeTelegramAPI
) -> None:
    """The provider has the reply: an error recording it must not hand the job back (on
    PostgreSQL a 300-character id was a DataError, re-raised: the reply went out again at
    every claim, and its partition stalled)."""
    hub.hub.channels.senders[Channel.TELEGRAM] = LongIdSender(
        hub.hub.channels.senders[Channel.TELEGRAM]
    )
    conversation = await _conversation_of(hub, 5105)
    first = await operator_reply(hub, conversation, "long id")
    second = await operator_reply(hub, conversation, "after it")
    outcomes = await all_replies_final(hub.hub, [first, second], timeout=30)
    assert [o.status for o in outcomes] == ["sent", "sent"], outcomes
    assert all(len(o.external_id or "") <= 255 for o in outcomes)
    assert [c.fields["text"] for c in fake_telegram.calls_of("sendMessage")] == [
        "long id",
        "after it",
    ]
