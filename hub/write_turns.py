"""Turns at SQLite's single write lock inside one process, with webhooks served first.

A webhook's acknowledgement waits for its durable enqueue; queued in plain arrival order
it waited behind every router, bot and outbound turn asked for before it (hundreds of ms
under a bots-on load). Here an urgent turn (the webhook flush) goes before the ordinary
ones already waiting, and since the flush asks again only after its turn ends, ordinary
writers still get every other turn: webhooks cannot starve them.
"""

from __future__ import annotations

import asyncio
from collections import deque


class WriteTurns:
    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._ordinary: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._held

    async def acquire(self, *, urgent: bool = False) -> None:
        if not self._held and not self._urgent and not self._ordinary:
            self._held = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._ordinary).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        """Hand the turn to the next waiter, urgent ones first (cancelled ones skipped)."""
        for waiting in (self._urgent, self._ordinary):
            while waiting:
                turn = waiting.popleft()
                if not turn.done():
                    turn.set_result(None)  # stays held: handed over
                    return
        self._held = False
