"""Fan events out to the inbox and web chat sockets: in-process, or across processes via Redis.

Subscribers get an asyncio.Queue; a slow socket drops its oldest events rather than
holding back everyone else (the inbox reloads what it missed on reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from hub.domain.events import Event

log = logging.getLogger(__name__)
CHANNEL = "hub:events"
SUBSCRIBER_BUFFER = 1000


class Broker(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, events: list[Event]) -> None: ...

    def subscribe(self) -> contextlib.AbstractAsyncContextManager[asyncio.Queue[Event]]: ...


class LocalFanout:
    """Delivers to this process's subscribers."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()

    def deliver(self, event: Event) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


class InProcessBroker(LocalFanout):
    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def publish(self, events: list[Event]) -> None:
        for event in events:
            self.deliver(event)


class RedisBroker(LocalFanout):
    """Redis pub/sub so `hub web` and `hub worker` processes see each other's events."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(url)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._ready.set()
                    async for message in pubsub.listen():
                        # Decoded only for someone listening here: a process without
                        # an open inbox or web chat gets every event of the hub.
                        if message.get("type") == "message" and self._subscribers:
                            self.deliver(Event.from_json(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("realtime: lost the Redis subscription, reconnecting", exc_info=True)
                await asyncio.sleep(0.5)

    async def publish(self, events: list[Event]) -> None:
        if not events:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.publish(CHANNEL, event.to_json())
            await pipe.execute()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
