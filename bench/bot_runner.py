"""The bot runner in process: statements and CPU per bot answer, by phase.

`bench/replies.py` measures the whole hub from outside (HTTP in, fake Bot API out). This
script isolates what the inbound consumer does with bots on, where the time of a bot
answer goes: it seeds `--customers` orders through `PUT /api/v1/orders` (each customer's
order number is their Telegram id), posts `--messages` webhook updates ("Where is my order
N?", each about the asker's own order) with no worker running, then plays the worker: it
claims the inbound jobs in the consumer's batches and lets `InboundConsumer.handle` route
and answer them, counting SQL statements (a `before_cursor_execute` listener: an
executemany is one) and the process CPU. Sending (the outbound consumer) is not part of it.

    .venv/bin/python bench/bot_runner.py --customers 1000 --messages 2000
    .venv/bin/python bench/bot_runner.py --profile /tmp/bots.prof   # cProfile of the batches

Prints the load average beside the figures: on a shared machine CPU per answer and
statement counts are the figures to read, not the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

# Run as a file, this script sees bench/ first on sys.path; hub and tests are beside it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr
from sqlalchemy import event, func, select

from hub.actions import bots as bot_runner
from hub.actions.bots import BotRunner
from hub.models.tables import MESSAGES
from hub.queue.consumers import InboundConsumer
from hub.queue.port import INBOUND
from hub.registry import build_bots
from hub.settings import Settings
from tests.factories import telegram_update
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.support import RunningHub, start_hub, stop_hub
from tests.support.api import make_api

SECRET = "test-secret"
FIRST_USER = 7_000_000


def _kind(statement: str) -> str:
    """A statement's verb and table: enough to see which step issued it."""
    words = statement.split()
    verb = words[0].upper() if words else "?"
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else ''}".strip()


async def seed(running: RunningHub, customers: int) -> None:
    api = await make_api(running, "bench@shop.test", "Bench", role="admin")
    users = iter(range(FIRST_USER, FIRST_USER + customers))

    async def putter() -> None:
        for user in users:
            body = {"customer": {"telegram_id": user, "name": "Owner"}, "status": "created"}
            code, data, _ = await api.call("PUT", f"/orders/{user}", body)
            assert code in (200, 201), data

    await asyncio.gather(*(putter() for _ in range(8)))


async def post(running: RunningHub, customers: int, messages: int) -> None:
    texts = iter(range(messages))

    async def poster() -> None:
        for i in texts:
            user = FIRST_USER + i % customers
            status = await running.post_telegram(
                telegram_update(user, f"Where is my order {user}?"), secret=SECRET
            )
            assert status == 200, status

    await asyncio.gather(*(poster() for _ in range(16)))


async def _watch_loop(lags: list[float]) -> None:
    """How late a 5 ms sleep wakes: how long the loop was held by one stretch of work,
    which a webhook arriving meanwhile waits for."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(0.005)
        lags.append(max(0.0, time.perf_counter() - started - 0.005))


async def play_worker(
    running: RunningHub, profile: str | None, batch: int | None = None
) -> dict[str, Any]:
    hub = running.hub
    bots = BotRunner(build_bots(running.settings))
    preparing: list[float] = []
    prepare = bot_runner._prepare

    def timed_prepare(bot: Any, texts: list[str]) -> None:
        started = time.thread_time()
        prepare(bot, texts)
        preparing.append(time.thread_time() - started)

    bot_runner._prepare = timed_prepare
    consumer = InboundConsumer(hub.queue, "bench-worker", hub.db, hub.broker, bots=bots)
    statements: Counter[str] = Counter()
    spent: dict[str, float] = {}
    began: dict[int, float] = {}

    def count(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements[_kind(statement)] += 1
        began[id(cursor)] = time.perf_counter()

    def done(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        kind, now = _kind(statement), time.perf_counter()
        spent[kind] = spent.get(kind, 0.0) + now - began.pop(id(cursor), now)

    engine = hub.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "after_cursor_execute", done)
    holds: list[float] = []
    writing = hub.db.writing

    @contextlib.asynccontextmanager
    async def timed_writing(*, urgent: bool = False) -> AsyncIterator[None]:
        async with writing(urgent=urgent):
            started = time.perf_counter()
            try:
                yield
            finally:
                holds.append(time.perf_counter() - started)

    hub.db.writing = timed_writing  # type: ignore[method-assign]
    profiler = cProfile.Profile(time.thread_time) if profile else None
    batches = 0
    await hub.queue.rebalance(INBOUND, "bench-worker")
    lags: list[float] = []
    lag_task = asyncio.create_task(_watch_loop(lags))
    cpu0, main0, wall0 = time.process_time(), time.thread_time(), time.perf_counter()
    try:
        while True:
            jobs = await hub.queue.claim(INBOUND, "bench-worker", batch or consumer.batch_size)
            if not jobs:
                break
            batches += 1
            if profiler:
                profiler.enable()
            await consumer.handle(jobs)
            if profiler:
                profiler.disable()
    finally:
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        main = time.thread_time() - main0
        lag_task.cancel()
        hub.db.writing = writing  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "after_cursor_execute", done)
    async with hub.db.session() as session:
        answered = await session.scalar(
            select(func.count()).where(
                MESSAGES.c.sender_type == "bot", MESSAGES.c.private.is_(False)
            )
        )
    if profiler and profile:
        profiler.dump_stats(profile)
    return {
        "batches": batches,
        "cpu": cpu,
        "main": main,
        "holds": holds,
        "lags": lags,
        "preparing": sum(preparing),
        "wall": wall,
        "answered": int(answered or 0),
        "statements": statements,
        "spent": spent,
    }


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeTelegramAPI() as fake:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                database_url=f"sqlite:///{tmp}/hub.db",
                redis_url=None,
                port=0,
                secret_key=SecretStr("bench-secret-key"),
                telegram_bot_token=SecretStr(DEFAULT_TOKEN),
                telegram_webhook_secret=SecretStr(SECRET),
                telegram_api_url=fake.base_url,
                bots=True,
            )
            running = await start_hub(settings, with_worker=False)
            try:
                await seed(running, args.customers)
                await post(running, args.customers, args.messages)
                load = os.getloadavg()
                result = await play_worker(running, args.profile, args.batch)
            finally:
                await stop_hub(running)
    n = max(1, result["answered"])
    total = sum(result["statements"].values())
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {args.messages:,} questions "
        f"from {args.customers:,} customers in {result['batches']} batches"
    )
    print(
        f"answered {result['answered']:,}; CPU {result['cpu']:.2f} s = "
        f"{1000 * result['cpu'] / n:.2f} ms an answer (routing included, sending not); "
        f"wall {result['wall']:.2f} s"
    )
    lags = sorted(result["lags"])
    if lags:
        print(
            f"event loop late by (a 5 ms tick): p50 {1000 * lags[len(lags) // 2]:.1f} ms, "
            f"p99 {1000 * lags[int(len(lags) * 0.99)]:.1f} ms, worst {1000 * lags[-1]:.1f} ms"
        )
    holds = sorted(result["holds"])
    print(
        f"  event-loop thread {1000 * result['main'] / n:.2f} ms an answer, other threads "
        f"{1000 * (result['cpu'] - result['main']) / n:.2f} ms (of which the bots' preparing "
        f"{1000 * result['preparing'] / n:.2f} ms, the rest mostly aiosqlite's thread)"
    )
    print(
        f"write turns {len(holds)}: {1000 * sum(holds):.0f} ms held in all, longest "
        f"{1000 * holds[-1] if holds else 0:.1f} ms: "
        + ", ".join(f"{1000 * h:.0f}" for h in result["holds"])
    )
    print(
        f"statements {total:,} = {total / n:.2f} an answer, "
        f"{total / max(1, result['batches']):.1f} a batch"
    )
    print("  count  ms in the driver (aiosqlite's thread, wall)  statement")
    for kind, times in result["statements"].most_common():
        print(f"  {times:5d}  {1000 * result['spent'].get(kind, 0.0):8.0f}  {kind}")
    if args.profile:
        stats = pstats.Stats(args.profile)
        stats.sort_stats("cumulative").print_stats(args.top)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument(
        "--batch",
        type=int,
        help="jobs claimed a batch (default: the consumer's); under a live load batches are "
        "as big as what arrived while the last one was handled",
    )
    p.add_argument("--profile", help="write a cProfile of the consumer's batches to this file")
    p.add_argument("--top", type=int, default=40, help="profile rows printed (%(default)s)")
    return p


if __name__ == "__main__":
    asyncio.run(main(parser().parse_args()))
