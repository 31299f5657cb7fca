"""The group-commit batcher (hub.batcher): concurrent submissions share a write, each caller
hears only its own result or error, and no caller is left waiting when the hub stops."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from hub import metrics
from hub.batcher import Batcher, Stopped
from hub.errors import QueueUnavailable
from hub.queue.group_commit import Batch, GroupCommit
from hub.queue.port import NewJob, Wakeups


class Refused(Exception):
    """An error the fake write raises or answers."""


class Writer:
    """A fake `write`: answers item * 10, held at `gate` while it is set up, and refusing
    (as a whole) any batch of several that holds a bad item."""

    def __init__(self, bad: Sequence[int] = (), answer_error: Sequence[int] = ()) -> None:
        self.calls: list[list[int]] = []
        self.entered = asyncio.Event()
        self.gate: asyncio.Future[None] | None = None
        self.bad = set(bad)
        self.answer_error = set(answer_error)

    def hold(self) -> None:
        self.gate = asyncio.get_running_loop().create_future()

    def release(self) -> None:
        assert self.gate is not None
        self.gate.set_result(None)
        self.gate = None

    async def __call__(self, batch: list[int]) -> list[int | Exception]:
        self.calls.append(list(batch))
        self.entered.set()
        if self.gate is not None:
            await self.gate
        if self.bad & set(batch):
            raise Refused(f"refused {sorted(self.bad & set(batch))}")
        return [Refused(f"no {n}") if n in self.answer_error else n * 10 for n in batch]


async def _held(
    max_batch: int, items: int, **options: Any
) -> tuple[Writer, Batcher[int, int], list[asyncio.Future[int]]]:
    """`items` callers submitted, the first batch being written and held at the gate."""
    writer = Writer()
    writer.hold()
    batcher: Batcher[int, int] = Batcher("test", writer, max_batch=max_batch, **options)
    callers = [batcher.submit(n) for n in range(items)]
    await writer.entered.wait()
    return writer, batcher, callers


async def _yield() -> None:
    """Let the tasks just created run up to their first wait (no time passes)."""
    await asyncio.sleep(0)


async def test_concurrent_submissions_share_one_write_and_each_hears_its_own() -> None:
    writer = Writer()
    batcher: Batcher[int, int] = Batcher("test", writer, max_batch=10)
    batches = metrics.REGISTRY.get_sample_value("hub_batch_size_count", {"writer": "test"}) or 0
    assert await asyncio.gather(*(batcher.submit(n) for n in range(5))) == [0, 10, 20, 30, 40]
    assert writer.calls == [[0, 1, 2, 3, 4]]
    after = metrics.REGISTRY.get_sample_value("hub_batch_size_count", {"writer": "test"})
    assert after == batches + 1


async def test_batches_are_sliced_at_the_max_and_later_arrivals_wait_for_the_next() -> None:
    writer, batcher, [first] = await _held(2, 1)  # [0] is being written
    later = [batcher.submit(n) for n in range(1, 6)]
    writer.release()
    assert await asyncio.gather(first, *later) == [0, 10, 20, 30, 40, 50]
    assert writer.calls == [[0], [1, 2], [3, 4], [5]]


async def test_submit_all_answers_every_item_and_raises_only_after_all_were_answered() -> None:
    writer = Writer(answer_error=[2])
    batcher: Batcher[int, int] = Batcher("test", writer, max_batch=10)
    assert await batcher.submit_all([0, 1]) == [0, 10]
    others = batcher.submit(3)
    with pytest.raises(Refused, match="no 2"):
        await batcher.submit_all([1, 2])
    assert await others == 30
    assert writer.calls == [[0, 1], [3, 1, 2]]  # in the order they were handed over


async def test_a_batch_that_fails_as_a_whole_is_written_item_by_item() -> None:
    writer = Writer(bad=[2], answer_error=[4])
    wrapped: list[Exception] = []

    def failure(exc: Exception) -> Exception:
        wrapped.append(exc)
        return RuntimeError(f"wrapped: {exc}")

    batcher: Batcher[int, int] = Batcher("test", writer, max_batch=10, failure=failure)
    outcomes = await asyncio.gather(
        *(batcher.submit(n) for n in range(1, 5)), return_exceptions=True
    )
    assert writer.calls == [[1, 2, 3, 4], [1], [2], [3], [4]]
    one, two, three, four = outcomes
    assert (one, three) == (10, 30)
    # The item that fails alone hears the mapped failure; an answered error is its own.
    assert isinstance(two, RuntimeError) and str(two) == "wrapped: refused [2]"
    assert isinstance(four, Refused) and str(four) == "no 4"
    assert [str(e) for e in wrapped] == ["refused [2]"]


async def test_without_one_by_one_every_caller_of_a_failed_batch_hears_the_failure() -> None:
    writer = Writer(bad=[2])
    batcher: Batcher[int, int] = Batcher(
        "test", writer, max_batch=10, one_by_one=False, failure=lambda e: RuntimeError(str(e))
    )
    outcomes = await asyncio.gather(
        *(batcher.submit(n) for n in range(1, 4)), return_exceptions=True
    )
    assert writer.calls == [[1, 2, 3]]
    assert all(isinstance(o, RuntimeError) and str(o) == "refused [2]" for o in outcomes)
    assert await batcher.submit(5) == 50  # the batcher goes on with the next batch


async def test_a_write_answering_the_wrong_number_of_results_fails_its_callers() -> None:
    async def short(batch: list[int]) -> list[int | Exception]:
        return [n for n in batch if n != 1]

    batcher: Batcher[int, int] = Batcher("test", short, max_batch=10)
    outcomes = await asyncio.gather(*(batcher.submit(n) for n in range(3)), return_exceptions=True)
    # Alone, 0 and 2 are answered; 1 gets no result and is never reported written.
    assert outcomes[0] == 0 and outcomes[2] == 2
    assert isinstance(outcomes[1], RuntimeError) and "0 results" in str(outcomes[1])


async def test_a_cancelled_caller_does_not_break_the_batch_for_the_others() -> None:
    writer, _, callers = await _held(10, 3)
    callers[1].cancel()
    writer.release()
    assert await callers[0] == 0 and await callers[2] == 20
    assert callers[1].cancelled()
    assert writer.calls == [[0, 1, 2]]  # written all the same: the caller had handed it over


async def test_a_write_cancelled_under_the_flusher_fails_every_waiting_caller() -> None:
    """The OrderPuts bug: a cancelled writer left its batch's callers waiting forever."""
    writer, batcher, callers = await _held(1, 3)
    assert writer.gate is not None
    writer.gate.cancel()  # what the write awaited was cancelled: so is the flusher
    async with asyncio.timeout(5):  # a bound to fail by, not a wait: they are answered
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(o, Stopped) for o in outcomes), outcomes
    assert writer.calls == [[0]]  # 1 and 2 were never written, nor reported written
    writer.gate = None
    assert await batcher.submit(7) == 70  # a new flusher takes later items


async def test_close_lets_taken_items_be_written_then_refuses_new_ones() -> None:
    writer, batcher, callers = await _held(1, 2, failure=lambda e: RuntimeError(f"mapped {e}"))
    closing = asyncio.ensure_future(batcher.close())
    await _yield()
    assert not closing.done()  # waits for the batch in flight
    writer.release()
    await closing
    assert [await c for c in callers] == [0, 10]
    with pytest.raises(RuntimeError, match="mapped the hub is stopping"):
        await batcher.submit(3)
    assert writer.calls == [[0], [1]]


async def test_a_cancelled_close_cancels_the_write_and_fails_its_callers() -> None:
    writer, batcher, callers = await _held(1, 2)
    closing = asyncio.ensure_future(batcher.close())
    await _yield()
    closing.cancel()  # the shutdown gave up waiting
    with pytest.raises(asyncio.CancelledError):
        await closing
    async with asyncio.timeout(5):  # a bound to fail by, not a wait: they are answered
        outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(o, Stopped) for o in outcomes), outcomes
    assert writer.calls == [[0]]


async def test_the_enqueue_group_commit_wakes_its_queues_and_fails_whole_batches() -> None:
    """Its one use without the fallback: a failed write (the backend down) fails every
    webhook of the batch with the backend's error; after close, enqueues are refused."""
    written: list[Batch] = []
    down = False

    async def write(batch: Batch) -> None:
        written.append(batch)
        if down:
            raise ConnectionError("backend down")

    wakeups = Wakeups()
    commits = GroupCommit(write, wakeups, lambda e: QueueUnavailable(f"unavailable: {e}"))
    a, b, c = (NewJob(key=k, payload=k, dedupe_key=k) for k in "abc")
    await asyncio.gather(commits.enqueue("inbound", [a]), commits.enqueue("outbound", [b, c]))
    assert written == [[("inbound", a), ("outbound", b), ("outbound", c)]]
    assert wakeups._event("inbound").is_set() and wakeups._event("outbound").is_set()
    down = True
    outcomes = await asyncio.gather(
        commits.enqueue("inbound", [a]), commits.enqueue("inbound", [b]), return_exceptions=True
    )
    assert len(written) == 2  # one write for both, not one each after it failed
    assert all(isinstance(o, QueueUnavailable) and "backend down" in o.message for o in outcomes)
    await commits.close()
    with pytest.raises(QueueUnavailable, match="stopping"):
        await commits.enqueue("inbound", [c])
    assert len(written) == 2
