"""Redis restarted and PostgreSQL restarted mid-stream: the hub reconnects by itself.

Webhooks during an outage of the store they are written to get 503 (the provider retries);
never 200 without durability. Afterwards every acknowledged update is stored exactly once
and every reply, queued before the outage, is sent. The hub runs as a web half and a worker
half (two apps, like `hub web` + `hub worker`) against the suite's real servers.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest

from hub.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.servers import PostgresServer, RedisServer
from tests.support import RunningHub, eventually, start_hub, stop_hub
from tests.support.faults import (
    Outcome,
    Provider,
    all_replies_final,
    all_stored_once,
    at_least,
    conversation_ids,
    reply_to_each,
    stream_of_updates,
)

CUSTOMERS, PER_CUSTOMER = 10, 40  # 400 updates at about 80 a second: ~5 s of stream
PACE = 0.1


def assert_sent_once(fake: FakeTelegramAPI, found: list[Outcome]) -> None:
    sent = Counter(m.text for m in fake.sent)
    twice = {o.text: sent[o.text] for o in found if sent[o.text] != 1}
    assert not twice, f"replies not sent exactly once: {twice}"


@pytest.fixture
async def halves(settings: Settings) -> AsyncIterator[tuple[RunningHub, RunningHub]]:
    worker = await start_hub(settings, with_worker=True)
    web = await start_hub(settings, with_worker=False)
    yield web, worker
    await stop_hub(web)
    await stop_hub(worker)


async def outage(
    provider: Provider,
    down: Callable[[], None],
    up: Callable[[], None],
    enough: Callable[[], bool],
) -> tuple[float, dict[int, int]]:
    """Take a server down while the provider keeps sending, until `enough`; bring it back.
    Returns the outage's length and the answers given from the first refusal until `up`."""
    started = time.monotonic()
    await asyncio.to_thread(down)

    async def seen() -> bool:
        return enough()

    try:
        await eventually(seen, timeout=30, what="webhooks during the outage")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; answers so far: {dict(provider.answers)}") from None
    first_refusal = min((at for at, s in provider.log if at >= started and s != 200), default=None)
    ended = time.monotonic()
    await asyncio.to_thread(up)
    window = {} if first_refusal is None else dict(provider.refused(first_refusal, ended))
    return time.monotonic() - started, window


@pytest.mark.parametrize("backend", ["postgres_redis"])
@pytest.mark.usefixtures("fast_retries")
async def test_redis_restart_mid_stream(
    halves: tuple[RunningHub, RunningHub],
    settings: Settings,
    redis_server: RedisServer,
    fake_telegram: FakeTelegramAPI,
) -> None:
    web, worker = halves
    provider = Provider(web.http, [web.url], pace=PACE)
    updates = stream_of_updates(CUSTOMERS, PER_CUSTOMER, 7300)
    sending = asyncio.create_task(provider.deliver(updates))
    await eventually(lambda: at_least(provider.acknowledged, 50), what="50 acknowledged")
    conversations = await eventually(lambda: conversation_ids(worker.hub), what="routed")
    replies = await reply_to_each(worker.hub, conversations, "before the outage")
    try:
        took, window = await outage(
            provider, redis_server.down, redis_server.up, lambda: provider.answers[503] >= 20
        )
    finally:
        redis_server.up()  # never leave the suite's Redis down
    assert window.get(503, 0) >= 20 and set(window) <= {503}, window
    await sending
    await all_stored_once(settings.database_url, len(updates))
    replies += await reply_to_each(worker.hub, conversations, "after the outage")
    found = await all_replies_final(worker.hub, replies)
    assert {o.status for o in found} == {"sent"}
    assert_sent_once(fake_telegram, found)
    print(f"redis outage {took:.2f}s, answers {dict(provider.answers)}")


@pytest.mark.parametrize("backend", ["postgres_redis"])
@pytest.mark.parametrize("queue", ["redis", "database"])
@pytest.mark.usefixtures("fast_retries")
async def test_postgres_restart_mid_stream(
    queue: str,
    settings: Settings,
    postgres: PostgresServer,
    fake_telegram: FakeTelegramAPI,
) -> None:
    """With the queue in Redis, webhooks keep being accepted while PostgreSQL is away and
    routed once it is back; with the queue in PostgreSQL they get 503 meanwhile."""
    if queue == "database":
        settings = settings.model_copy(update={"redis_url": None})
    worker = await start_hub(settings, with_worker=True)
    web = await start_hub(settings, with_worker=False)
    try:
        provider = Provider(web.http, [web.url], pace=PACE)
        updates = stream_of_updates(CUSTOMERS, PER_CUSTOMER, 7400)
        sending = asyncio.create_task(provider.deliver(updates))
        await eventually(lambda: at_least(provider.acknowledged, 50), what="50 acknowledged")
        conversations = await eventually(lambda: conversation_ids(worker.hub), what="routed")
        replies = await reply_to_each(worker.hub, conversations, "before the outage")
        acked_before = len(provider.acknowledged)

        def enough() -> bool:
            if queue == "database":
                return provider.answers[503] >= 20
            return len(provider.acknowledged) >= acked_before + 50 or sending.done()

        try:
            took, window = await outage(provider, postgres.down, postgres.up, enough)
        finally:
            postgres.up()
        if queue == "database":
            assert window.get(503, 0) >= 20 and set(window) <= {503}, window
        await sending
        await all_stored_once(settings.database_url, len(updates))
        replies += await reply_to_each(worker.hub, conversations, "after the outage")
        found = await all_replies_final(worker.hub, replies)
        assert {o.status for o in found} == {"sent"}
        assert_sent_once(fake_telegram, found)
        print(f"postgres outage ({queue} queue) {took:.2f}s, answers {dict(provider.answers)}")
    finally:
        await stop_hub(web)
        await stop_hub(worker)
