"""What an accepted hostile request leaves behind (message rows, queued jobs, the inbound
counter), read once the worker has drained the queue: the fuzz tests compare it before and after."""

from __future__ import annotations

from hub import metrics
from hub.models import Message
from hub.queue.port import INBOUND
from tests.factories import count
from tests.support import RunningHub, eventually


async def footprint(running: RunningHub) -> tuple[int, int, float]:
    """What an accepted event leaves: message rows, queued jobs, the inbound counter."""
    received = sum(
        metrics.inbound_received.labels(channel)._value.get()  # type: ignore[attr-defined]
        for channel in ("telegram", "sms", "whatsapp", "webchat")
    )
    return await count(running.hub, Message), await running.hub.queue.depth(INBOUND), received


async def settled(running: RunningHub) -> tuple[int, int, float]:
    """The footprint once the worker has routed everything queued."""

    async def empty_queue() -> bool:
        return await running.hub.queue.depth(INBOUND) == 0

    await eventually(empty_queue, what="the inbound queue drained", timeout=30)
    return await footprint(running)
