"""For tests that play the worker themselves (with the `web_only` hub of conftest.py): its
claimed inbound jobs, and an inbound consumer of their own making."""

from __future__ import annotations

from hub.actions.bots import BotRunner
from hub.queue.consumers import InboundConsumer
from hub.queue.port import INBOUND, Job
from tests.support import RunningHub, eventually


async def claim_all(running: RunningHub, n: int) -> list[Job]:
    queue = running.hub.queue
    await queue.rebalance(INBOUND, "test-worker")

    async def claimed() -> list[Job] | None:
        jobs = await queue.claim(INBOUND, "test-worker", 100)
        return jobs if len(jobs) >= n else None

    return await eventually(claimed, what=f"{n} inbound jobs")


def consumer(running: RunningHub, bots: BotRunner) -> InboundConsumer:
    hub = running.hub
    return InboundConsumer(hub.queue, "test-worker", hub.db, hub.broker, bots=bots)
