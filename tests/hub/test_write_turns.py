"""SQLite write turns: webhooks' enqueue goes before ordinary writers, who still get every
other turn, and a cancelled waiter never keeps or loses the turn."""

from __future__ import annotations

import asyncio

from hub.write_turns import WriteTurns


async def test_an_urgent_turn_goes_before_ordinary_ones_waiting_but_never_starves_them() -> None:
    turns = WriteTurns()
    order: list[str] = []
    await turns.acquire()  # someone is writing

    async def writer(name: str, urgent: bool) -> None:
        await turns.acquire(urgent=urgent)
        order.append(name)
        await asyncio.sleep(0)
        turns.release()

    ordinary = [asyncio.create_task(writer(f"bot{n}", False)) for n in range(2)]
    await asyncio.sleep(0)
    webhook = asyncio.create_task(writer("webhook", True))
    await asyncio.sleep(0)
    turns.release()
    await asyncio.gather(*ordinary, webhook)
    assert order == ["webhook", "bot0", "bot1"]
    assert not turns.locked()


async def test_a_writer_asking_again_after_its_turn_lets_a_waiting_one_in_first() -> None:
    turns = WriteTurns()
    order: list[str] = []

    async def flusher() -> None:
        for n in range(3):
            await turns.acquire(urgent=True)
            order.append(f"flush{n}")
            await asyncio.sleep(0)
            turns.release()

    async def router() -> None:
        await turns.acquire()
        order.append("router")
        turns.release()

    await turns.acquire()
    tasks = [asyncio.create_task(flusher()), asyncio.create_task(router())]
    await asyncio.sleep(0)
    turns.release()
    await asyncio.gather(*tasks)
    assert order == ["flush0", "router", "flush1", "flush2"]  # not after every flush


async def test_a_cancelled_waiter_neither_keeps_nor_loses_the_turn() -> None:
    turns = WriteTurns()
    await turns.acquire()
    gone = asyncio.create_task(turns.acquire())
    handed = asyncio.create_task(turns.acquire(urgent=True))
    await asyncio.sleep(0)
    gone.cancel()
    turns.release()  # handed to the urgent one, then cancelled before it ran
    handed.cancel()
    for task in (gone, handed):
        try:
            await task
        except asyncio.CancelledError:
            pass
    assert not turns.locked()
    await asyncio.wait_for(turns.acquire(), 1)
    assert turns.locked()
