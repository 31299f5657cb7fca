"""Group commit of enqueues: concurrent webhooks share one durable write.

Both queue backends use it, so a webhook's acknowledgement waits for durability without
paying one fsync or round trip per request. A failed write fails its whole batch (the
backend is down, most likely: writing each job alone would only wait longer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hub.batcher import Batcher
from hub.queue.port import NewJob, Wakeups

Batch = list[tuple[str, NewJob]]
FLUSH_BATCH = 500


class GroupCommit:
    def __init__(
        self,
        write: Callable[[Batch], Awaitable[None]],
        wakeups: Wakeups,
        failure: Callable[[Exception], Exception],
    ) -> None:
        self._write = write
        self._wakeups = wakeups
        self._batcher: Batcher[tuple[str, NewJob], None] = Batcher(
            "enqueue", self._write_batch, max_batch=FLUSH_BATCH, one_by_one=False, failure=failure
        )

    async def enqueue(self, queue: str, jobs: list[NewJob]) -> None:
        if len(jobs) == 1:  # a webhook's usual case: no gather task per request
            await self._batcher.submit((queue, jobs[0]))
        elif jobs:
            await self._batcher.submit_all([(queue, job) for job in jobs])

    async def close(self) -> None:
        """Let waiting webhooks hear whether their batch was written; refuse later ones."""
        await self._batcher.close()

    async def _write_batch(self, batch: Batch) -> list[None]:
        await self._write(batch)
        for queue in {queue for queue, _ in batch}:
            self._wakeups.notify(queue)
        return [None] * len(batch)
