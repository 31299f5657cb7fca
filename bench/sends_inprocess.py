"""The send side alone, measured in one process: statements and CPU per outbound send.

`--replies` operator replies to as many Telegram conversations are stored and queued first
(not measured). Then one `OutboundConsumer` drains the queue, claiming `--batch` jobs at a
time, against the tests' fake Bot API running in a **separate process** (so this process's
CPU is the hub's alone: `time.process_time` counts the event loop and aiosqlite's threads).
A small `--batch` is what a consumer sees when replies stream in (each wake-up claims a few);
100 is the consumer's own batch size. `--sender-only` times `TelegramSender.send` alone,
`--concurrency` calls in flight, no database. Run from the repository root:

    .venv/bin/python -m bench.sends_inprocess --replies 2000 --batch 100
    .venv/bin/python -m bench.sends_inprocess --replies 2000 --batch 5
    .venv/bin/python -m bench.sends_inprocess --sender-only --replies 3000 --profile s.prof
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import pstats
import tempfile
import time
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select

from adapters.telegram import TelegramSender, parse_update
from hub.actions.replies import do_reply
from hub.actions.unit import commit_and_publish
from hub.domain.messages import OutboundMessage
from hub.domain.types import Channel, SenderType
from hub.models import Conversation
from hub.models.tables import MESSAGES
from hub.queue.consumers import OutboundConsumer
from hub.queue.port import OUTBOUND
from hub.routing import plan_batch, store_batch
from hub.runtime.services import close_hub, open_hub
from tests.conftest import make_settings
from tests.factories import telegram_update
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI

FIRST_USER = 800_000_000


def _fake_provider(pipe: Connection) -> None:
    """The fake Bot API in its own process: sends its base URL, serves until killed."""

    async def serve() -> None:
        async with FakeTelegramAPI() as fake:
            pipe.send(fake.base_url)
            await asyncio.Event().wait()

    asyncio.run(serve())


def _kind(sql: str) -> str:
    """ "SELECT messages", "DELETE queue_jobs": the statement's verb and first table."""
    words = sql.split()
    upper = [w.upper() for w in words]
    for marker in ("FROM", "INTO", "UPDATE"):
        if marker in upper:
            at = upper.index(marker)
            if at + 1 < len(words):
                return f"{upper[0]} {words[at + 1].strip('(')}"
    return upper[0] if upper else "?"


async def _sender_only(args: argparse.Namespace, base_url: str) -> None:
    sender = TelegramSender(DEFAULT_TOKEN, base_url)
    messages = [
        OutboundMessage(
            message_id=i,
            conversation_id=i,
            channel=Channel.TELEGRAM,
            address=str(FIRST_USER + i),
            text=f"reply {i}: your order has shipped",
        )
        for i in range(args.replies + args.warmup)
    ]
    queue = list(reversed(messages))

    async def worker() -> None:
        while queue:
            await sender.send(queue.pop())

    warm, queue = queue[-args.warmup :], queue[: -args.warmup]
    for message in warm:
        await sender.send(message)
    profile = cProfile.Profile() if args.profile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    if profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await sender.close()
    n = args.replies
    print(
        f"{n} sendMessage calls, {args.concurrency} in flight: {cpu / n * 1000:.3f} ms CPU a "
        f"send, {n / wall:.0f}/s; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    _print_profile(args, profile)


def _print_profile(args: argparse.Namespace, profile: cProfile.Profile | None) -> None:
    if profile:
        profile.dump_stats(args.profile)
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


async def _seed(hub: Any, n: int) -> None:
    """n customers write in (routed as the router does), then one operator reply to each."""
    updates = [telegram_update(FIRST_USER + i, f"where is order {i}?") for i in range(n)]
    inbound = [m for u in updates for m in parse_update(u)]
    for start in range(0, n, 500):
        async with hub.db.session() as session:
            plan = await plan_batch(session, inbound[start : start + 500])
            assert plan is not None
            await store_batch(session, plan)
            await commit_and_publish(session, hub.queue, hub.broker)
    async with hub.db.session() as session:
        conversations = list(await session.scalars(select(Conversation)))
        for conversation in conversations:
            await do_reply(
                session, conversation, "your order has shipped", sender_type=SenderType.OPERATOR
            )
        await commit_and_publish(session, hub.queue, hub.broker)


async def _statuses(hub: Any) -> dict[str, int]:
    async with hub.db.session() as session:
        rows = await session.execute(
            select(MESSAGES.c.status, func.count())
            .where(MESSAGES.c.direction == "outbound")
            .group_by(MESSAGES.c.status)
        )
        return {str(status): int(n) for status, n in rows}


async def _drain(args: argparse.Namespace, base_url: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="sends-"))
    settings = make_settings(
        database_url=args.database_url or f"sqlite:///{tmp / 'hub.db'}",
        redis_url=args.redis_url,
        port=0,
        secret_key="bench-secret-key",
        telegram_bot_token=DEFAULT_TOKEN,
        telegram_webhook_secret="bench",
        telegram_api_url=base_url,
    )
    hub = await open_hub(settings)
    try:
        await _seed(hub, args.replies)
        consumer = OutboundConsumer(
            hub.queue, "bench-sends", hub.db, hub.broker, hub.channels.senders
        )
        await hub.queue.rebalance(OUTBOUND, consumer.name)
        statements = 0
        kinds: Counter[str] = Counter()

        def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
            nonlocal statements
            statements += 1
            kinds[_kind(sql)] += 1

        engine = hub.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        profile = cProfile.Profile() if args.profile else None
        batches = 0
        cpu, wall = time.process_time(), time.perf_counter()
        if profile:
            profile.enable()
        while jobs := await hub.queue.claim(OUTBOUND, consumer.name, args.batch):
            await consumer.handle(jobs)
            batches += 1
        if profile:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        event.remove(engine, "before_cursor_execute", count)
        n = args.replies
        print(
            f"{n} sends in {batches} batches of up to {args.batch} ({hub.queue.name} queue): "
            f"{cpu / n * 1000:.3f} ms CPU a send (process: hub only), {statements / n:.2f} "
            f"statements a send, {n / wall:.0f} sends/s; final {await _statuses(hub)}; "
            f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        for kind, times in kinds.most_common():
            print(f"  {times / n:6.3f} a send  {times / max(batches, 1):6.2f} a batch  {kind}")
        _print_profile(args, profile)
    finally:
        await close_hub(hub)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100, help="jobs claimed at a time")
    parser.add_argument("--sender-only", action="store_true", help="TelegramSender.send alone")
    parser.add_argument("--concurrency", type=int, default=32, help="with --sender-only")
    parser.add_argument("--warmup", type=int, default=50, help="with --sender-only")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--redis-url", help="the queue and broker on Redis")
    parser.add_argument("--profile", help="write a cProfile of the measured phase here")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime, cumulative")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    provider = ctx.Process(target=_fake_provider, args=(child,), daemon=True)
    provider.start()
    try:
        base_url = parent.recv()
        run = _sender_only if args.sender_only else _drain
        asyncio.run(run(args, base_url))
    finally:
        provider.terminate()
        provider.join(5)


if __name__ == "__main__":
    main()
