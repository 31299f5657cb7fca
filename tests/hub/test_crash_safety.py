"""SIGKILL the single `hub run` process while webhooks arrive: nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from hub.settings import Settings
from tests.factories import telegram_update
from tests.servers import free_port
from tests.support import eventually
from tests.support.faults import (
    TELEGRAM_SECRET,
    HubProcess,
    Provider,
    all_stored_once,
    at_least,
    hub_env,
)

UPDATES = 400


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


async def test_sigkill_mid_stream_then_provider_retries_every_message_stored_once(
    backend_urls: dict[str, Any], tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=backend_urls["database_url"],
        redis_url=backend_urls["redis_url"],
        telegram_bot_token=SecretStr("123:crash"),
        telegram_webhook_secret=SecretStr(TELEGRAM_SECRET),
        telegram_api_url="http://127.0.0.1:9",
    )
    # Durability of acknowledged webhooks is the subject (hub_env turns the bots off); a
    # worker killed between routing and the bots' answers is tests/bots/test_bot_turn_once.py.
    hub = HubProcess.of("run", hub_env(settings), tmp_path, free_port())
    await hub.start(http)
    updates = [telegram_update(5000 + i % 50, f"message {i}") for i in range(UPDATES)]
    first_try = Provider(http, [hub.url], concurrency=1)

    async def until_killed() -> None:
        for update in updates:  # one try each: a refused post is the provider's to redo
            await first_try.post(update)

    sender = asyncio.create_task(until_killed())

    def acknowledged() -> int:
        return first_try.answers[200]

    await eventually(lambda: at_least(acknowledged, UPDATES // 4), what="some acknowledged")
    await hub.kill()
    await sender
    assert 0 < acknowledged() < UPDATES, "the kill should land mid-stream"

    await hub.start(http)
    await Provider(http, [hub.url]).deliver(updates)  # retries everything it is unsure of
    await all_stored_once(settings.database_url, UPDATES)
    assert await hub.terminate() == 0
