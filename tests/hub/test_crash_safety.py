"""SIGKILL the single `hub run` process while webhooks arrive: nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from hub.db import Database
from hub.models import Message
from hub.settings import Settings
from tests.factories import telegram_update
from tests.servers import free_port
from tests.support import eventually

HUB = Path(sys.executable).parent / "hub"
SECRET = "crash-secret"
UPDATES = 400


class HubProcess:
    """`hub run` as a real child process, as an operator would start it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{env['HUB_PORT']}"

    async def start(self, http: aiohttp.ClientSession) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                str(HUB), "run", env=self.env, stdout=log, stderr=log, cwd=self.log.parent
            )

        async def healthy() -> bool:
            try:
                async with http.get(f"{self.url}/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(healthy, timeout=30, what=f"hub run healthy (log: {self.log})")

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 10)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, update: dict[str, Any]) -> bool:
    try:
        async with http.post(
            f"{url}/webhooks/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        ) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def stored_keys(settings: Settings) -> list[str]:
    db = Database(settings)
    try:
        async with db.session() as session:
            # Customer messages only: the bots' answers are outbound and carry no key.
            rows = await session.scalars(
                select(Message.dedupe_key).where(Message.direction == "inbound")
            )
            return [str(k) for k in rows]
    finally:
        await db.close()


async def test_sigkill_mid_stream_then_provider_retries_every_message_stored_once(
    backend_urls: dict[str, Any], tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_DATABASE_URL": backend_urls["database_url"],
        "HUB_PORT": str(free_port()),
        "HUB_SECRET_KEY": "crash-test-key",
        "HUB_TELEGRAM_BOT_TOKEN": "123:crash",
        "HUB_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "HUB_TELEGRAM_API_URL": "http://127.0.0.1:9",
        "HUB_LOG_LEVEL": "WARNING",
        # Durability of acknowledged webhooks is the subject; a worker killed between
        # routing and the bots' answers is tested in tests/bots/test_bot_turn_once.py.
        "HUB_BOTS": "0",
    }
    if backend_urls["redis_url"]:
        env["HUB_REDIS_URL"] = backend_urls["redis_url"]
    hub = HubProcess(env, tmp_path / "hub.log")
    await hub.start(http)
    updates = [telegram_update(5000 + i % 50, f"message {i}") for i in range(UPDATES)]
    acknowledged: list[int] = []

    async def provider() -> None:
        for index, update in enumerate(updates):
            if await post(http, hub.url, update):
                acknowledged.append(index)

    sender = asyncio.create_task(provider())
    await eventually(lambda: _at_least(acknowledged, UPDATES // 4), what="some acknowledged")
    await hub.kill()
    await sender
    assert 0 < len(acknowledged) < UPDATES, "the kill should land mid-stream"

    await hub.start(http)
    for update in updates:  # the provider retries everything it is unsure of
        assert await post(http, hub.url, update)
    settings = Settings(_env_file=None, database_url=backend_urls["database_url"])  # type: ignore[call-arg]

    async def all_routed() -> list[str] | None:
        keys = await stored_keys(settings)
        return keys if len(keys) >= UPDATES else None

    keys = await eventually(all_routed, timeout=60, what="every update routed")
    assert len(keys) == len(set(keys)) == UPDATES
    assert await hub.terminate() == 0


async def _at_least(items: list[int], n: int) -> bool:
    return len(items) >= n
