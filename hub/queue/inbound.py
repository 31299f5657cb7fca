"""Accepting inbound events: every webhook, listener and poller hands them over here."""

from __future__ import annotations

from collections import Counter

from hub import metrics
from hub.domain.messages import InboundMessage
from hub.domain.storable import storable_text
from hub.queue.port import INBOUND, NewJob, QueueBackend


def inbound_job(message: InboundMessage) -> NewJob:
    """Partitioned by address (one customer's messages in order), de-duplicated per channel.
    Keys are cleaned as the payload is (`InboundMessage.to_json`): a NUL in a Message-ID
    must not make the durable enqueue fail."""
    return NewJob(
        key=storable_text(message.address),
        payload=message.to_json(),
        dedupe_key=storable_text(f"{message.channel.value}:{message.dedupe_key}"),
    )


async def accept_inbound(queue: QueueBackend, messages: list[InboundMessage]) -> None:
    """Return once the events are durable (the caller may then acknowledge the provider)."""
    if not messages:
        return
    await queue.enqueue(INBOUND, [inbound_job(m) for m in messages])
    for channel, count in Counter(m.channel.value for m in messages).items():
        metrics.inbound_received.labels(channel).inc(count)
