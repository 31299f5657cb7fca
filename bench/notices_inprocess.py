"""`PUT /orders` with notify, measured in one process: statements and CPU per PUT.

The hub (web + worker, like `hub run`, SQLite) and the tests' fake Bot API run in this
process; `--orders` orders are seeded without notify, then each gets `--rounds` status
changes with notify over `--connections` connections. A `before_cursor_execute` listener
counts the statements of the notice phase, `time.process_time` its CPU (the fake provider
and the client included: an upper bound for the hub's share), and `--profile FILE` writes a
cProfile of the phase. Run from the repository root:

    .venv/bin/python -m bench.notices_inprocess --orders 500 --rounds 2 --profile n.prof
    .venv/bin/python -m bench.notices_inprocess --direct   # the writer alone, no HTTP

`{0: n}` in the answer counts is the direct mode's n PUTs written.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import event

from hub.actions.order_puts import OrderPut, OrderPuts
from hub.actions.orders import OrderCustomer, OrderInput
from hub.metrics import REGISTRY
from hub.web.keys import ORDER_PUTS
from tests.conftest import make_settings
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.support.api import make_api
from tests.support.running import start_hub, stop_hub

STATUSES = ["processing", "shipped", "in_transit", "ready_for_pickup", "delivered"]
FIRST_USER = 700_000_000


def _kind(sql: str) -> str:
    """ "SELECT customers", "INSERT messages": the statement's verb and first table."""
    words = sql.split()
    verb = words[0].upper() if words else "?"
    for marker in ("FROM", "INTO", "UPDATE"):
        if marker in (w.upper() for w in words):
            at = [w.upper() for w in words].index(marker)
            if at + 1 < len(words):
                return f"{verb} {words[at + 1].strip('(')}"
    return verb


def _turns() -> tuple[float, float, float]:
    """The `PUT /orders` writer's batches, PUTs and seconds holding the write turn so far,
    from the process's metrics (hub.metrics)."""

    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"writer": "order_puts"}) or 0.0

    return (
        sample("hub_batch_size_count"),
        sample("hub_batch_size_sum"),
        sample("hub_write_turn_seconds_sum"),
    )


async def _put_all(
    url: str, token: str, bodies: list[tuple[str, dict[str, Any]]], connections: int
) -> dict[int, int]:
    codes: dict[int, int] = {}
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:

        async def worker() -> None:
            while not queue.empty():
                number, body = queue.get_nowait()
                async with http.put(f"{url}/api/v1/orders/{number}", json=body) as response:
                    await response.read()
                    codes[response.status] = codes.get(response.status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return codes


async def _put_direct(
    writer: OrderPuts, bodies: list[tuple[str, dict[str, Any]]], connections: int
) -> dict[int, int]:
    """The same PUTs handed to the batched writer without HTTP, auth or answer: what the
    write turns and the sends cost alone."""
    queue = list(reversed(bodies))
    done = 0

    async def worker() -> None:
        nonlocal done
        while queue:
            number, body = queue.pop()
            customer = OrderCustomer(telegram_id=str(body["customer"]["telegram_id"]))
            data = OrderInput(number, body["status"], customer)
            await writer.put(OrderPut(data, notify=bool(body.get("notify"))))
            done += 1

    await asyncio.gather(*(worker() for _ in range(connections)))
    return {0: done}


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="notices-"))
    async with FakeTelegramAPI() as fake:
        settings = make_settings(
            database_url=f"sqlite:///{tmp / 'hub.db'}",
            port=0,
            secret_key="bench-secret-key",
            telegram_bot_token=DEFAULT_TOKEN,
            telegram_webhook_secret="bench",
            telegram_api_url=fake.base_url,
        )
        running = await start_hub(settings, with_worker=not args.no_sends)
        try:
            api = await make_api(running, "bench@example.com", "Bench", role="admin")
            assert api.token is not None
            users = [FIRST_USER + i for i in range(args.orders)]
            seed = [(str(u), {"customer": {"telegram_id": u}, "status": "created"}) for u in users]
            print("seed", await _put_all(running.url, api.token, seed, args.connections))
            puts = [
                (str(u), {"customer": {"telegram_id": u}, "status": s, "notify": True})
                for s in STATUSES[: args.rounds]
                for u in users
            ]
            statements = 0
            kinds: Counter[str] = Counter()

            spent: Counter[str] = Counter()  # seconds inside the driver, by kind

            def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
                nonlocal statements
                statements += 1
                kinds[_kind(sql)] += 1
                _conn.info["bench.began"] = (_kind(sql), time.perf_counter())

            def done(_conn: Any, *_: Any) -> None:
                kind, began = _conn.info.pop("bench.began", ("?", time.perf_counter()))
                spent[kind] += time.perf_counter() - began

            writer = running.runner.app[ORDER_PUTS]
            batches, written, held = _turns()
            engine = running.hub.db.engine.sync_engine
            event.listen(engine, "before_cursor_execute", count)
            event.listen(engine, "after_cursor_execute", done)
            profile = cProfile.Profile() if args.profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profile:
                profile.enable()
            if args.direct:
                codes = await _put_direct(writer, puts, args.connections)
            else:
                codes = await _put_all(running.url, api.token, puts, args.connections)
            answered = time.perf_counter() - wall
            while not args.no_sends and sum(1 for s in fake.sent if "#" in (s.text or "")) < len(
                puts
            ):
                if time.perf_counter() - wall > args.timeout:
                    break
                await asyncio.sleep(0.05)
            if profile:
                profile.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            event.remove(engine, "before_cursor_execute", count)
            event.remove(engine, "after_cursor_execute", done)
            texts = [(s.chat_id, s.text) for s in fake.sent if "#" in (s.text or "")]
            n = len(puts)
            print(
                f"{n} notify PUTs {codes}: {statements / n:.1f} statements a PUT "
                f"(sends and their acks included), {cpu / n * 1000:.2f} ms CPU a notice "
                f"(process: hub, client, fake), PUTs answered in {answered:.2f} s "
                f"({n / answered:.0f}/s), {len(set(texts))} notices received "
                f"({len(texts) - len(set(texts))} twice) in {wall:.2f} s; "
                f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
            )
            after = _turns()
            batches, written, held = after[0] - batches, after[1] - written, after[2] - held
            print(
                f"{written:.0f} PUTs in {batches:.0f} write turns "
                f"({written / max(batches, 1):.1f} a "
                f"turn), the turn held {held / max(batches, 1) * 1000:.1f} ms a turn, "
                f"{held / max(written, 1) * 1000:.2f} ms a PUT"
            )
            for kind, times in kinds.most_common():
                each = spent[kind] / times * 1000
                print(f"  {times / n:6.2f} a PUT  {each:6.2f} ms in the driver each  {kind}")
            if profile:
                profile.dump_stats(args.profile)
                pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
        finally:
            await stop_hub(running)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2, choices=range(1, len(STATUSES) + 1))
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--direct", action="store_true", help="hand the notify PUTs to the writer, no HTTP"
    )
    parser.add_argument(
        "--no-sends", action="store_true", help="no consumers: the PUTs' own cost, nothing sent"
    )
    parser.add_argument("--profile", help="write a cProfile of the notice phase here")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime, cumulative")
    asyncio.run(main(parser.parse_args()))
