"""Telegram webhook load: unique private-chat updates from many customers, posted over
keep-alive connections as fast as they are answered or at a fixed offered rate."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bench.lib.posting import PostOne, answer_status, post_each, shared
from bench.lib.processes import HOST, in_own_process
from hub.sandbox.telegram_updates import telegram_update

SECRET = "bench"  # HUB_TELEGRAM_WEBHOOK_SECRET of every hub a benchmark starts
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/webhooks/telegram"
CUSTOMER_BASE = 7_000_000
DEFAULT_TEXT = "Where is my order? (bench message {seq})"


def customer_of(seq: int, customers: int) -> int:
    """The Telegram user id that sends update `seq` when `customers` take turns."""
    return CUSTOMER_BASE + seq % customers


def update_body(seq: int, customers: int, text: str = DEFAULT_TEXT) -> bytes:
    """Update `seq` as the bytes Telegram posts: a text from one of `customers` customers;
    `text` is formatted with the update's `seq` and the sender's `user` id."""
    user_id = customer_of(seq, customers)
    update = telegram_update(
        seq,
        user_id,
        text.format(seq=seq, user=user_id),
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
    text: str = DEFAULT_TEXT  # what each customer writes, see update_body


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
    bodies = [update_body(spec.first_seq + i, spec.customers, spec.text) for i in range(spec.count)]
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=spec.connections, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        def post_aiohttp(index: int) -> Awaitable[str]:
            return answer_status(session.post(spec.url, data=bodies[index], headers=headers))

        @asynccontextmanager
        async def raw_connection() -> AsyncIterator[PostOne]:
            raw = RawConnection(spec.url)
            try:
                yield lambda index: raw.post(bodies[index])
            finally:
                await raw.close()

        poster = raw_connection if spec.client == "raw" else shared(post_aiohttp)
        tally = await post_each(spec.count, spec.connections, poster, spec.rate)
    figures = tally.figures("200")
    return {
        "requests": spec.count,
        **{k: figures[k] for k in ("accepted", "errors", "statuses", "first_post")},
        **{k: figures[k] for k in ("last_answer", "elapsed", "accepted_per_s")},
        "offered_per_s": spec.rate,
        "http_p50": figures["p50"],
        "http_p99": figures["p99"],
        "loader_cpu": figures["cpu"],
    }


async def run_load(spec: LoadSpec, inline: bool) -> dict[str, Any]:
    """The load, in its own process unless `inline` (then its CPU is this process's)."""
    if inline:
        result = await generate_load(spec)
        result["loader_process_cpu"] = 0.0  # already in this process's CPU time
        return result
    return await in_own_process(generate_load, spec, "loader_process_cpu", "load generator")
