"""Group commit: what callers hand over together is written together, each hears its own.

The webhook enqueue (hub.queue.group_commit), operator replies (hub.actions.reply_writer)
and `PUT /orders` (hub.actions.order_puts) pay one write turn and one transaction per batch
instead of one per request. Each supplies only how a batch is written; the waiting, the
slicing, the fallback and the shutdown are here, once, so none of them can leave a caller
waiting forever or tell it "written" for something that was not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from hub import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class Stopped(RuntimeError):
    """The hub stopped (closed or cancelled) before the item was written."""


def _same(exc: Exception) -> Exception:
    return exc


class Batcher(Generic[T, R]):
    """One flusher per process and use; `write` gets up to `max_batch` items and returns
    one result or exception per item, in order. If it raises for a batch of several and
    `one_by_one` is set, each item is written alone, so that one bad item fails only
    itself; whatever still fails reaches its caller as `failure(exc)`."""

    def __init__(
        self,
        name: str,
        write: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        *,
        max_batch: int,
        one_by_one: bool = True,
        failure: Callable[[Exception], Exception] = _same,
    ) -> None:
        self._name = name
        self._write = write
        self._max = max_batch
        self._one_by_one = one_by_one
        self._failure = failure
        self._sizes = metrics.batch_size.labels(name)
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    def submit(self, item: T) -> asyncio.Future[R]:
        """The item's result once its batch is committed (its error if it failed); a
        future, not a coroutine: one frame less on the webhook's path."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_exception(self._failure(Stopped(f"the hub is stopping ({self._name})")))
            return future
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return future

    async def submit_all(self, items: Sequence[T]) -> list[R]:
        """Every item's result; if any failed, its error once all have been answered."""
        futures = [self.submit(item) for item in items]
        # Wait for all, then raise: no failed future is left with its exception unretrieved.
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return outcomes  # type: ignore[return-value]

    async def close(self) -> None:
        """Refuse new items and let those taken hear whether they were written; if the
        close is cancelled, so is the write, and its callers hear `Stopped`."""
        self._closed = True
        flusher = self._flusher
        if flusher is None:
            return
        try:
            await asyncio.wait({flusher})
        finally:
            if not flusher.done():
                flusher.cancel()
        await asyncio.gather(flusher, return_exceptions=True)

    async def _flush(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending[: self._max], self._pending[self._max :]
                await self._run(batch)
        except BaseException:  # cancelled at shutdown (or a bug): nobody waits in vain
            left, self._pending = batch + self._pending, []
            error = self._failure(
                Stopped(f"the hub stopped before the write was confirmed ({self._name})")
            )
            for _, future in left:
                if not future.done():
                    future.set_exception(error)
            raise

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        except Exception as exc:
            if self._one_by_one and len(batch) > 1:
                log.warning(
                    "a batch of %d %s failed (%r); writing them one by one",
                    len(batch),
                    self._name,
                    exc,
                )
                for one in batch:
                    await self._run([one])
                return
            error = self._failure(exc)
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self._sizes.observe(len(batch))
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue  # its caller has gone; the item is written all the same
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
