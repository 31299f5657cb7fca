"""The worker half: inbound routing and outbound delivery consumers, started and stopped."""

from __future__ import annotations

import asyncio

from hub.queue.consumers import InboundConsumer, OutboundConsumer
from hub.services import Hub, consumer_name


def start_consumers(hub: Hub, role: str = "worker") -> None:
    """Run both consumers as tasks of this process; close_hub stops them."""
    name = consumer_name(role, hub.settings)
    inbound = InboundConsumer(hub.queue, name, hub.db, hub.broker)
    outbound = OutboundConsumer(hub.queue, name, hub.db, hub.broker, hub.channels.senders)
    for consumer in (inbound, outbound):
        hub.tasks.append(asyncio.create_task(consumer.run(hub.stopping)))
