"""Telegram webhook load: unique private-chat updates from many customers, posted over
keep-alive connections as fast as they are answered or at a fixed offered rate."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bench.lib.metrics import percentile
from bench.lib.processes import HOST, in_own_process
from hub.sandbox.telegram_updates import telegram_update

SECRET = "bench"  # HUB_TELEGRAM_WEBHOOK_SECRET of every hub a benchmark starts
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/webhooks/telegram"
CUSTOMER_BASE = 7_000_000


def update_body(seq: int, customers: int) -> bytes:
    """Update `seq` as the bytes Telegram posts: a text from one of `customers` customers."""
    user_id = CUSTOMER_BASE + seq % customers
    update = telegram_update(
        seq,
        user_id,
        f"Where is my order? (bench message {seq})",
        first_name=f"Customer{user_id}",
        last_name="Bench",
        language_code="en",
        date=1_790_000_000,
    )
    return json.dumps(update, separators=(",", ":")).encode()


@dataclass
class LoadSpec:
    url: str
    first_seq: int
    count: int
    connections: int = 32
    customers: int = 500
    rate: float | None = None  # requests/s offered; None: as fast as the connections go
    client: str = "aiohttp"  # or "raw": a minimal HTTP/1.1 keep-alive client on asyncio streams


class RawConnection:
    """The cheapest keep-alive HTTP/1.1 POST on asyncio streams: shows whether the aiohttp
    client, rather than the server, limits a measurement."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or HOST, parts.port or 80
        self.head = (
            f"POST {parts.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"{SECRET_HEADER}: {SECRET}\r\nContent-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def post(self, body: bytes) -> str:
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            assert self.reader is not None
            self.writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            status_line = await self.reader.readline()
            length, keep = 0, True
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    keep = False
            if length:
                await self.reader.readexactly(length)
            if not status_line:
                raise ConnectionResetError("connection closed")
        except (OSError, asyncio.IncompleteReadError) as exc:
            await self.close()
            return type(exc).__name__
        if not keep:
            await self.close()
        return status_line.split()[1].decode()


async def generate_load(spec: LoadSpec) -> dict[str, Any]:
    """POST `count` unique updates over `connections` keep-alive connections."""
    bodies = [update_body(spec.first_seq + i, spec.customers) for i in range(spec.count)]
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    next_index = 0
    first_post = math.inf
    last_answer = 0.0
    connector = aiohttp.TCPConnector(limit=spec.connections, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def post_aiohttp(body: bytes) -> str:
            try:
                async with session.post(spec.url, data=body, headers=headers) as resp:
                    await resp.read()
                    return str(resp.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                return type(exc).__name__

        start = time.monotonic()
        cpu_start = time.process_time()

        async def worker() -> None:
            nonlocal next_index, first_post, last_answer
            raw = RawConnection(spec.url) if spec.client == "raw" else None
            post = raw.post if raw is not None else post_aiohttp
            try:
                while next_index < spec.count:
                    index = next_index
                    next_index += 1
                    if spec.rate:
                        delay = start + index / spec.rate - time.monotonic()
                        if delay > 0:
                            await asyncio.sleep(delay)
                    sent = time.monotonic()
                    first_post = min(first_post, sent)
                    status = await post(bodies[index])
                    done = time.monotonic()
                    last_answer = max(last_answer, done)
                    statuses[status] += 1
                    latencies.append(done - sent)
            finally:
                if raw is not None:
                    await raw.close()

        await asyncio.gather(*(worker() for _ in range(spec.connections)))
        wall = time.monotonic() - start
        cpu = time.process_time() - cpu_start
    latencies.sort()
    accepted = statuses.get("200", 0)
    elapsed = max(1e-9, last_answer - first_post) if latencies else 0.0
    return {
        "requests": spec.count,
        "accepted": accepted,
        "errors": spec.count - accepted,
        "statuses": dict(statuses),
        "first_post": first_post,  # time.monotonic(): system-wide on Linux, comparable here
        "last_answer": last_answer,
        "elapsed": elapsed,
        "accepted_per_s": accepted / elapsed if elapsed else 0.0,
        "offered_per_s": spec.rate,
        "http_p50": percentile(latencies, 0.50),
        "http_p99": percentile(latencies, 0.99),
        "loader_cpu": cpu / wall if wall else 0.0,
    }


async def run_load(spec: LoadSpec, inline: bool) -> dict[str, Any]:
    """The load, in its own process unless `inline` (then its CPU is this process's)."""
    if inline:
        result = await generate_load(spec)
        result["loader_process_cpu"] = 0.0  # already in this process's CPU time
        return result
    return await in_own_process(generate_load, spec, "loader_process_cpu", "load generator")
