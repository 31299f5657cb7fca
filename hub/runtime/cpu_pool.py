"""Stranger-sized CPU work in worker processes, each call under a time budget.

Why processes: a thread cannot be stopped, so a quadratic regex (mail-parser-reply on one
long quoted-printable line ran for minutes) would hold a thread and the GIL for as long as
it likes. A process is killed when its budget is spent and replaced by a fresh one.

Each slot is a one-process `ProcessPoolExecutor`, so killing one stuck call never breaks
another. Processes are spawned (not forked: the hub's event loop, threads and database
connections must not be copied) and only on first use, so a process that never needs the
pool never pays for it. Spawning and the first imports happen before a call's budget starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
START_SECONDS = 60.0  # spawning and importing, on a loaded machine


class BudgetExceeded(Exception):
    """The call did not finish within its budget (it was stopped), or its process died."""


def _ready() -> bool:
    return True


class _Slot:
    """One worker process; `warm` once it has answered, so a call's budget is its own."""

    def __init__(self, warm_up: Callable[[], object]) -> None:
        context = multiprocessing.get_context("spawn")
        self.executor = ProcessPoolExecutor(max_workers=1, mp_context=context)
        self.warm_up = warm_up
        self.warm = False

    def kill(self) -> None:
        """Stop the process now, whatever it is doing."""
        processes = getattr(self.executor, "_processes", None) or {}
        for process in list(processes.values()):
            with contextlib.suppress(Exception):
                process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)


class CpuPool:
    """`await pool.run(fn, *args, budget=s)`: fn(*args) in a worker process, or
    BudgetExceeded once `budget` seconds (waiting for a free slot included) are spent.

    `fn` and its arguments must pickle (module-level functions, `functools.partial`);
    `warm_up` runs once in each new process, before its first call (imports, say).
    """

    def __init__(self, workers: int = 1, warm_up: Callable[[], object] = _ready) -> None:
        self._size = workers
        self._warm_up = warm_up
        self._free: asyncio.Queue[_Slot] | None = None
        self._slots: list[_Slot] = []
        self._closed = False

    def _queue(self) -> asyncio.Queue[_Slot]:
        if self._free is None:
            self._free = asyncio.Queue()
            for _ in range(self._size):
                self._free.put_nowait(self._new_slot())
        return self._free

    def _new_slot(self) -> _Slot:
        slot = _Slot(self._warm_up)
        self._slots.append(slot)
        return slot

    def _replace(self, slot: _Slot) -> _Slot:
        slot.kill()
        with contextlib.suppress(ValueError):
            self._slots.remove(slot)
        return self._new_slot()

    async def _warm(self, slot: _Slot) -> None:
        """Start the process and run `warm_up` there; its own errors do not matter."""
        call = asyncio.get_running_loop().run_in_executor(slot.executor, slot.warm_up)
        try:
            await asyncio.wait_for(call, START_SECONDS)
        except (BrokenProcessPool, TimeoutError):
            raise
        except Exception:
            log.exception("warming a worker process up failed")
        slot.warm = True

    async def run(self, fn: Callable[..., T], *args: Any, budget: float) -> T:
        if self._closed:
            raise BudgetExceeded("the pool is closed")
        free = self._queue()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        try:
            slot = await asyncio.wait_for(free.get(), budget)
        except TimeoutError:
            raise BudgetExceeded(f"no worker free within {budget:.1f} s") from None
        try:
            if not slot.warm:
                await self._warm(slot)
                deadline = loop.time() + budget  # starting the process is not the call
            started = time.monotonic()
            future = loop.run_in_executor(slot.executor, fn, *args)
            try:
                result = await asyncio.wait_for(future, max(0.0, deadline - loop.time()))
            except TimeoutError:
                log.warning(
                    "%s stopped after %.1f s: over its budget",
                    getattr(fn, "__name__", repr(fn)),
                    time.monotonic() - started,
                )
                slot = self._replace(slot)
                raise BudgetExceeded(f"not done within {budget:.1f} s") from None
        except (BrokenProcessPool, TimeoutError) as exc:  # died, or never started
            slot = self._replace(slot)
            raise BudgetExceeded(f"the worker process failed: {exc!r}") from None
        except asyncio.CancelledError:
            slot = self._replace(slot)  # it may still be busy: never hand a busy one out
            raise
        finally:
            if self._closed:
                slot.kill()
            else:
                free.put_nowait(slot)
        return result

    def close(self) -> None:
        """Stop every worker process (a call still running ends with BudgetExceeded)."""
        self._closed = True
        for slot in self._slots:
            slot.kill()
        self._slots.clear()
