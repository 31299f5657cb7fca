"""Self-checks for the test infrastructure: real servers and the fake Telegram Bot API.

If these fail, every integration test would fail in confusing ways, so they pin down the
basics (start, answer, restart, wire format, fault injection) in a few seconds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile, ReplyParameters

from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.servers import PostgresServer, RedisServer, start_postgres, start_redis


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("pg"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


def make_bot(base_url: str, token: str = DEFAULT_TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))


async def test_postgres_answers_and_survives_restart(postgres: PostgresServer) -> None:
    conn = await asyncpg.connect(postgres.url)
    try:
        assert await conn.fetchval("select 1") == 1
        await conn.execute("create table t (v int); insert into t values (42)")
    finally:
        await conn.close()

    postgres.restart()

    conn = await asyncpg.connect(postgres.url)
    try:
        assert await conn.fetchval("select v from t") == 42
    finally:
        await conn.close()


async def test_postgres_create_database_is_fresh(postgres: PostgresServer) -> None:
    url = postgres.create_database("fresh_one")
    assert url.endswith(f":{postgres.port}/fresh_one")
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetchval(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        )
        assert tables == 0
    finally:
        await conn.close()
    postgres.drop_database("fresh_one")


async def test_redis_answers_and_restart_keeps_aof_data(redis_server: RedisServer) -> None:
    client = aioredis.from_url(redis_server.url)
    try:
        assert await client.ping() is True
        await client.set("k", "v")
    finally:
        await client.aclose()

    redis_server.restart()

    client = aioredis.from_url(redis_server.url)
    try:
        assert await client.get("k") == b"v"
    finally:
        await client.aclose()


async def test_aiogram_send_message_is_recorded(telegram: FakeTelegramAPI) -> None:
    async with make_bot(telegram.base_url) as bot:
        me = await bot.get_me()
        assert me.is_bot
        msg = await bot.send_message(
            42, "héllo 👋 123", reply_parameters=ReplyParameters(message_id=7)
        )
        assert msg.message_id == 1
        assert msg.text == "héllo 👋 123"
        second = await bot.send_message(42, "second")
        assert second.message_id == 2

    sent = await telegram.wait_for_sent(lambda m: m.text == "héllo 👋 123")
    assert sent.method == "sendMessage"
    assert sent.chat_id == 42
    assert sent.reply_to_message_id == 7
    with pytest.raises(AssertionError, match="second"):
        await telegram.wait_for_sent(lambda m: m.text == "never", timeout=0.05)


async def test_fail_next_429_raises_retry_after(telegram: FakeTelegramAPI) -> None:
    telegram.fail_next("sendMessage", status=429, retry_after=1)
    telegram.fail_next("getMe", status=500)
    async with make_bot(telegram.base_url) as bot:
        with pytest.raises(TelegramRetryAfter) as exc_info:
            await bot.send_message(1, "x")
        assert exc_info.value.retry_after == 1
        with pytest.raises(TelegramServerError):
            await bot.get_me()
        await bot.send_message(1, "after the fault")
    assert [m.text for m in telegram.sent] == ["after the fault"]
    assert [c.status for c in telegram.calls_of("sendMessage")] == [429, 200]


async def test_wrong_token_dropped_connection_and_text_limit(telegram: FakeTelegramAPI) -> None:
    async with make_bot(telegram.base_url, token="999:wrong") as bot:
        with pytest.raises(TelegramUnauthorizedError):
            await bot.get_me()
    telegram.drop_connections(1)
    async with make_bot(telegram.base_url) as bot:
        with pytest.raises(TelegramNetworkError):
            await bot.get_me()
        assert (await bot.get_me()).username == telegram.bot_username
        with pytest.raises(Exception, match="message is too long"):
            await bot.send_message(1, "a" * 4097)


async def test_files_webhook_and_updates(telegram: FakeTelegramAPI, tmp_path: Path) -> None:
    telegram.add_file("FILE1", b"\x89PNG data", "photos/file_1.png")
    async with make_bot(telegram.base_url) as bot:
        file = await bot.get_file("FILE1")
        assert file.file_path == "photos/file_1.png"
        target = tmp_path / "out.png"
        await bot.download_file(file.file_path, target)
        assert target.read_bytes() == b"\x89PNG data"

        doc = BufferedInputFile(b"pdf bytes", filename="invoice.pdf")
        await bot.send_document(5, doc, caption="your invoice")
        sent = await telegram.wait_for_sent(lambda m: m.method == "sendDocument")
        assert sent.text == "your invoice"
        assert sent.files["document"].content == b"pdf bytes"
        assert sent.files["document"].filename == "invoice.pdf"

        await bot.set_webhook("https://hub.example/webhooks/telegram", secret_token="s3cr3t")
        assert telegram.webhook_url == "https://hub.example/webhooks/telegram"
        assert telegram.webhook_secret == "s3cr3t"
        assert (await bot.get_webhook_info()).url == telegram.webhook_url
        await bot.delete_webhook()

        first = telegram.push_update({"message": {"message_id": 1, "date": 0,
                                                  "chat": {"id": 5, "type": "private"},
                                                  "text": "hi"}})  # fmt: skip
        updates = await bot.get_updates(timeout=1)
        assert [u.update_id for u in updates] == [first]
        assert await bot.get_updates(offset=first + 1, timeout=0) == []
