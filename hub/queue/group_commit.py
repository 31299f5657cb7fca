"""Group commit: concurrent enqueues share one durable write, each caller waits for its own.

Both queue backends use it, so a webhook's acknowledgement waits for durability without
paying one fsync or round trip per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

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
        self._failure = failure  # the error every waiting caller of a failed write gets
        self._pending: list[tuple[str, NewJob, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def enqueue(self, queue: str, jobs: list[NewJob]) -> None:
        loop = asyncio.get_running_loop()
        futures = []
        for job in jobs:
            future: asyncio.Future[None] = loop.create_future()
            self._pending.append((queue, job, future))
            futures.append(future)
        if futures and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.create_task(self._flush())
        if len(futures) == 1:  # a webhook's usual case: no gather task per request
            await futures[0]
            return
        # Wait for all, then raise: no failed future is left with its exception unretrieved.
        for outcome in await asyncio.gather(*futures, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome

    async def drain(self) -> None:
        """Let waiting webhooks hear whether their batch was written."""
        if self._flusher is not None:
            await self._flusher

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:FLUSH_BATCH], self._pending[FLUSH_BATCH:]
            try:
                await self._write([(queue, job) for queue, job, _ in batch])
            except Exception as exc:  # every waiting webhook must hear of the failure
                error = self._failure(exc)
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for _, _, future in batch:
                if not future.done():
                    future.set_result(None)
            for queue in {queue for queue, _, _ in batch}:
                self._wakeups.notify(queue)
