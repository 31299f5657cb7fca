"""Machinery the fault tests share: hub processes, a provider that retries, the final checks.

Every fault test ends with the same two questions: is every acknowledged inbound message
stored exactly once, and did every reply end `sent`/`delivered`, or `failed` with an error?
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from hub.db import Database
from hub.models import Message
from hub.runtime.services import Hub
from hub.sandbox.telegram_updates import telegram_update
from hub.settings import Settings
from tests.support.polling import eventually
from tests.support.running import operator_reply

HUB_BIN = Path(sys.executable).parent / "hub"
TELEGRAM_SECRET = "test-secret"
FINAL = ("sent", "delivered", "read", "failed")


def hub_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a `hub` process needs to act like `settings` (plus `extra`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=settings.database_url,
        HUB_SECRET_KEY="fault-test-key",
        HUB_LOG_LEVEL="WARNING",
        HUB_BOTS="0",
    )
    if settings.redis_url:
        env["HUB_REDIS_URL"] = settings.redis_url
    if settings.telegram_bot_token is not None and settings.telegram_webhook_secret is not None:
        env["HUB_TELEGRAM_BOT_TOKEN"] = settings.telegram_bot_token.get_secret_value()
        env["HUB_TELEGRAM_WEBHOOK_SECRET"] = settings.telegram_webhook_secret.get_secret_value()
        env["HUB_TELEGRAM_API_URL"] = settings.telegram_api_url
    env.update(extra)
    return env


class HubProcess:
    """One `hub run|web|worker` child process, healthy once its /healthz answers 200."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log: Path, port: int) -> None:
        self.args, self.env, self.log = list(args), env, log
        self.url = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None

    @classmethod
    def of(cls, role: str, env: dict[str, str], log_dir: Path, port: int) -> HubProcess:
        """`hub run`/`hub web` serve on HUB_PORT; `hub worker` serves /healthz on its
        metrics port."""
        if role == "worker":
            return cls(
                [role, "--metrics-port", str(port)], env, log_dir / f"worker-{port}.log", port
            )
        return cls([role], {**env, "HUB_PORT": str(port)}, log_dir / f"{role}-{port}.log", port)

    async def start(self, http: aiohttp.ClientSession) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(HUB_BIN), *self.args, env=self.env, stdout=log, stderr=log, cwd=self.log.parent
            )

        async def healthy() -> bool:
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"hub {self.args[0]} exited; see {self.log}")
            try:
                async with http.get(f"{self.url}/healthz") as response:
                    return response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        await eventually(healthy, timeout=30, what=f"hub {self.args[0]} healthy ({self.log})")

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, in-flight requests and batches are cut off."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self) -> int:
        if self.process is None:
            return 0
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
            raise


_update_ids = itertools.count(900_000)
_message_ids = itertools.count(900_000)


def stream_of_updates(customers: int, per_customer: int, first_user: int) -> list[dict[str, Any]]:
    """Telegram updates of `customers` chats interleaved, each chat's texts numbered in order."""
    updates = []
    for n in range(per_customer):
        for c in range(customers):
            user = first_user + c
            updates.append(
                telegram_update(
                    next(_update_ids),
                    user,
                    f"{user}#{n}",
                    first_name=f"C{user}",
                    message_id=next(_message_ids),
                    date=1_790_000_000 + n,
                )
            )
    return updates


@dataclass
class Provider:
    """Delivers webhooks like Telegram does: anything not answered 200 is sent again (after
    a short pause, as a provider backs off) until it is; a failed try moves on to the next
    URL, as a load balancer would."""

    http: aiohttp.ClientSession
    urls: list[str]
    path: str = "/webhooks/telegram"
    concurrency: int = 8
    retry_pause: float = 0.05
    pace: float = 0.0  # seconds between a lane's updates: a steady stream, not a burst
    answers: Counter[int] = field(default_factory=Counter)  # status -> count; 0 = no answer
    acknowledged: list[int] = field(default_factory=list)  # indexes answered 200
    log: list[tuple[float, int]] = field(default_factory=list)  # (monotonic time, status)
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def post(self, update: dict[str, Any]) -> int:
        url = self.urls[next(self._turn) % len(self.urls)]
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        try:
            async with self.http.post(f"{url}{self.path}", json=update, headers=headers) as r:
                await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.answers[status] += 1
        self.log.append((time.monotonic(), status))
        return status

    async def deliver(self, updates: list[dict[str, Any]]) -> None:
        """Every update until it is acknowledged; returns when all are."""
        pending: asyncio.Queue[int] = asyncio.Queue()
        for index in range(len(updates)):
            pending.put_nowait(index)

        async def lane() -> None:
            while not pending.empty():
                index = pending.get_nowait()
                for _ in itertools.count():  # a provider's own backoff between its tries
                    if await self.post(updates[index]) == 200:
                        break
                    await asyncio.sleep(self.retry_pause)
                self.acknowledged.append(index)
                if self.pace:
                    await asyncio.sleep(self.pace)

        await asyncio.gather(*(lane() for _ in range(self.concurrency)))

    def refused(self, since: float, until: float) -> Counter[int]:
        """Statuses answered between two monotonic times (an outage window)."""
        return Counter(status for at, status in self.log if since <= at <= until)


async def at_least(items: Sequence[Any] | Callable[[], int], n: int) -> bool:
    return (items() if callable(items) else len(items)) >= n


async def inbound_keys(database_url: str) -> list[str]:
    """Dedupe keys of every stored customer message (a repeat would show up twice)."""
    db = Database(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    try:
        async with db.session() as session:
            rows = await session.scalars(
                select(Message.dedupe_key).where(Message.direction == "inbound")
            )
            return [str(k) for k in rows]
    finally:
        await db.close()


async def all_stored_once(database_url: str, expected: int, timeout: float = 60) -> list[str]:
    """Wait until `expected` inbound messages are stored, then check none is stored twice."""

    async def stored() -> list[str] | None:
        keys = await inbound_keys(database_url)
        return keys if len(keys) >= expected else None

    keys = await eventually(stored, timeout=timeout, what=f"{expected} inbound messages stored")
    duplicates = [k for k, n in Counter(keys).items() if n > 1]
    assert not duplicates, f"stored more than once: {duplicates[:10]}"
    assert len(keys) == expected, f"{len(keys)} stored, {expected} acknowledged"
    return keys


@dataclass(frozen=True)
class Outcome:
    message_id: int
    text: str
    status: str
    error: str | None
    external_id: str | None


async def outcomes(hub: Hub, message_ids: list[int]) -> list[Outcome]:
    async with hub.db.session() as session:
        rows = await session.scalars(select(Message).where(Message.id.in_(message_ids)))  # type: ignore[union-attr]
        return [Outcome(m.id or 0, m.text, m.status, m.error, m.external_id) for m in rows]


async def all_replies_final(hub: Hub, message_ids: list[int], timeout: float = 60) -> list[Outcome]:
    """Every reply ends delivered (`sent` or later) or visibly `failed` with an error."""

    async def final() -> list[Outcome] | None:
        found = await outcomes(hub, message_ids)
        done = len(found) == len(message_ids) and all(o.status in FINAL for o in found)
        return found if done else None

    try:
        found = await eventually(final, timeout=timeout, what="every reply sent or failed")
    except AssertionError:
        stuck = [o for o in await outcomes(hub, message_ids) if o.status not in FINAL]
        raise AssertionError(f"{len(stuck)} replies never ended: {stuck[:5]}") from None
    for outcome in found:
        if outcome.status == "failed":
            assert outcome.error, f"failed without an error: {outcome}"
        else:
            assert outcome.external_id, f"sent without the provider's id: {outcome}"
    return found


async def reply_to_each(hub: Hub, conversation_ids: list[int], tag: str) -> list[int]:
    """One operator reply per conversation, as the API makes them."""
    return [await operator_reply(hub, c, f"{tag} reply to {c}") for c in conversation_ids]


async def conversation_ids(hub: Hub) -> list[int]:
    async with hub.db.session() as session:
        rows = await session.scalars(
            select(Message.conversation_id).where(Message.direction == "inbound").distinct()
        )
        return sorted(int(c) for c in rows)
