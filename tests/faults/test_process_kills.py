"""SIGKILL of a `hub worker`, of a `hub web` and of the single `hub run`, with webhooks
streaming in and operator replies going out: after the killed process is restarted, every
acknowledged update is stored exactly once and every reply is sent (or failed, visibly).

Replies are at-least-once across a worker's SIGKILL: a reply the provider accepted just
before the kill, but whose status the worker had not recorded yet, is sent again by the
worker that takes the job over. The tests allow that (at most twice) and count it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from hub.db import Database
from hub.migrate import migrate
from hub.runtime.services import Hub, close_hub, open_hub
from hub.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.servers import free_port
from tests.support import eventually
from tests.support.faults import (
    HubProcess,
    Outcome,
    Provider,
    all_replies_final,
    all_stored_once,
    at_least,
    conversation_ids,
    hub_env,
    reply_to_each,
    stream_of_updates,
)

CUSTOMERS, PER_CUSTOMER = 20, 20


@pytest.fixture
async def control(settings: Settings) -> AsyncIterator[Hub]:
    """The test's own view of the storage: replies are made here, as the API makes them."""
    db = Database(settings)
    await migrate(db)
    await db.close()
    hub = await open_hub(settings, run_migrations=False)
    yield hub
    await close_hub(hub)


def check_sends(fake: FakeTelegramAPI, found: list[Outcome]) -> int:
    """Every reply reached the provider once, or twice after a kill; returns the repeats."""
    sent = Counter(m.text for m in fake.sent)
    counts = {o.text: sent[o.text] for o in found if o.status != "failed"}
    assert all(1 <= n <= 2 for n in counts.values()), counts
    return sum(n - 1 for n in counts.values())


async def kill_when(probe: Callable[[], Awaitable[bool]], process: HubProcess, what: str) -> float:
    await eventually(probe, timeout=30, what=what)
    await process.kill()
    return time.monotonic()


@pytest.mark.parametrize("backend", ["postgres_redis"])
async def test_sigkill_of_a_worker_and_of_a_web_process_in_scale_out(
    settings: Settings,
    control: Hub,
    fake_telegram: FakeTelegramAPI,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    env = hub_env(settings)
    webs = [HubProcess.of("web", env, tmp_path, free_port()) for _ in range(2)]
    workers = [HubProcess.of("worker", env, tmp_path, free_port()) for _ in range(2)]
    await asyncio.gather(*(p.start(http) for p in [*webs, *workers]))
    started = time.monotonic()
    try:
        provider = Provider(http, [w.url for w in webs], pace=0.1)  # ~80 a second
        updates = stream_of_updates(CUSTOMERS, 2 * PER_CUSTOMER, 7600)  # ~10 s of stream
        sending = asyncio.create_task(provider.deliver(updates))
        await eventually(lambda: at_least(provider.acknowledged, 40), what="40 acknowledged")
        conversations = await eventually(lambda: conversation_ids(control), what="routed")
        replies = await reply_to_each(control, conversations, "first")

        await kill_when(lambda: at_least(fake_telegram.sent, 1), workers[0], "replies going out")
        acked = len(provider.acknowledged)
        await kill_when(lambda: at_least(provider.acknowledged, acked + 20), webs[0], "more acked")
        assert not sending.done(), "the kills should land mid-stream"
        await asyncio.gather(webs[0].start(http), workers[0].start(http))
        replies += await reply_to_each(control, conversations, "second")

        await sending
        await all_stored_once(settings.database_url, len(updates), timeout=90)
        found = await all_replies_final(control, replies, timeout=90)
        repeats = check_sends(fake_telegram, found)
        took = time.monotonic() - started
        print(f"scale-out kills: {len(updates)} updates, {len(replies)} replies, "
              f"{repeats} re-sent, answers {dict(provider.answers)}, {took:.1f}s")  # fmt: skip
    finally:
        codes = await asyncio.gather(*(p.terminate() for p in [*webs, *workers]))
    assert codes == [0, 0, 0, 0]


async def test_sigkill_of_hub_run_with_replies_in_flight(
    settings: Settings,
    control: Hub,
    fake_telegram: FakeTelegramAPI,
    http: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    """The inbound half of this is tests/hub/test_crash_safety.py; here replies go out too."""
    hub = HubProcess.of("run", hub_env(settings), tmp_path, free_port())
    await hub.start(http)
    started = time.monotonic()
    try:
        # One reply out first, so replies go out while updates still stream in; the worker
        # is a fresh process on a possibly busy machine: its first send may take a while.
        warm_up = stream_of_updates(1, 1, 7600)
        await Provider(http, [hub.url]).deliver(warm_up)
        [first] = await eventually(
            lambda: conversation_ids(control), timeout=30, what="warm-up routed"
        )
        await reply_to_each(control, [first], "warm-up")
        await eventually(
            lambda: at_least(fake_telegram.sent, 1), timeout=30, what="warm-up reply sent"
        )
        provider = Provider(http, [hub.url], pace=0.02)
        updates = stream_of_updates(CUSTOMERS, PER_CUSTOMER, 7700)
        sending = asyncio.create_task(provider.deliver(updates))
        await eventually(lambda: at_least(provider.acknowledged, 40), what="40 acknowledged")
        conversations = await eventually(lambda: conversation_ids(control), what="routed")
        replies = await reply_to_each(control, conversations, "first")
        await kill_when(lambda: at_least(fake_telegram.sent, 4), hub, "replies going out")
        assert not sending.done(), "the kill should land mid-stream"
        await hub.start(http)
        replies += await reply_to_each(control, conversations, "second")
        await sending
        await all_stored_once(settings.database_url, len(warm_up) + len(updates), timeout=90)
        found = await all_replies_final(control, replies, timeout=90)
        repeats = check_sends(fake_telegram, found)
        took = time.monotonic() - started
        print(f"hub run kill: {len(updates)} updates, {len(replies)} replies, "
              f"{repeats} re-sent, answers {dict(provider.answers)}, {took:.1f}s")  # fmt: skip
    finally:
        code = await hub.terminate()
    assert code == 0
