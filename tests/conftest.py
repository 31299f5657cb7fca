"""Fixtures: every hub test runs on the embedded default and on PostgreSQL + Redis."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiogram.client.session.aiohttp  # noqa: F401  (the hub loads it on first send: pay once)
import pytest

from hub.settings import Settings
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.servers import PostgresServer, RedisServer, start_postgres, start_redis
from tests.support import RunningHub, start_hub, stop_hub

# Fixtures shared across folders: `small_disk`, the tmpfs the full-disk tests fill.
pytest_plugins = ("tests.support.disk",)

BACKENDS = ["sqlite", "postgres_redis"]
TELEGRAM_SECRET = "test-secret"
_db_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def backend_urls(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> dict[str, Any]:
    """Fresh, empty storage for one test: a SQLite file, or a new PG database + empty Redis."""
    if backend == "sqlite":
        return {"database_url": f"sqlite:///{tmp_path}/hub.db", "redis_url": None}
    postgres: PostgresServer = request.getfixturevalue("postgres")
    redis_server: RedisServer = request.getfixturevalue("redis_server")
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_server.url)
    await client.flushall()
    await client.aclose()
    url = postgres.create_database(f"hub_test_{next(_db_numbers)}")
    return {"database_url": url, "redis_url": redis_server.url}


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


def make_settings(**values: Any) -> Settings:
    # Channel and core tests count every message they cause: the bots, which answer each
    # new conversation, are on only where a test asks for them (tests/bots).
    values.setdefault("bots", False)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """What a test folder changes in the `settings` below (tests/bots turns the bots on)."""
    return {}


@pytest.fixture
def settings(
    backend_urls: dict[str, Any],
    fake_telegram: FakeTelegramAPI,
    settings_overrides: dict[str, Any],
) -> Settings:
    values: dict[str, Any] = {
        **backend_urls,
        "port": 0,
        "secret_key": "test-secret-key",
        "telegram_bot_token": DEFAULT_TOKEN,
        "telegram_webhook_secret": TELEGRAM_SECRET,
        "telegram_api_url": fake_telegram.base_url,
        "webchat_hmac_secret": "shop-hmac-secret",
    }
    return make_settings(**{**values, **settings_overrides})


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilioAPI]:
    async with FakeTwilioAPI() as fake:
        yield fake


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[RunningHub]:
    running = await start_hub(settings)
    yield running
    await stop_hub(running)
