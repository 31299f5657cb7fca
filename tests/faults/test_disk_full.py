"""The SQLite file's disk fills up mid-stream: webhooks get a clear 503, nothing acknowledged
is lost, and once space is freed the flow resumes by itself.

The database lives on its own small tmpfs (mounted here; the test needs root, as in the
project's CI container), which a filler file then fills to the last byte.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from hub.settings import Settings
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.support import eventually, start_hub, stop_hub
from tests.support.disk import fill
from tests.support.faults import (
    TELEGRAM_SECRET,
    Provider,
    all_replies_final,
    all_stored_once,
    at_least,
    conversation_ids,
    reply_to_each,
    stream_of_updates,
)

# Long Cyrillic texts (4096 is Telegram's limit): each update costs tens of KB across the
# queue row, the message and its search index, so a full disk shows within a few updates.
TEXT = "ж" * 4000


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.usefixtures("fast_retries")
async def test_a_full_disk_refuses_webhooks_with_503_and_loses_nothing(
    settings: Settings, small_disk: Path, fake_telegram: FakeTelegramAPI
) -> None:
    settings = settings.model_copy(update={"database_url": f"sqlite:///{small_disk}/hub.db"})
    running = await start_hub(settings)
    filler = small_disk / "filler"
    try:
        updates = stream_of_updates(5, 40, 7500)
        for update in updates:
            update["message"]["text"] = f"{update['message']['text']} {TEXT}"
        provider = Provider(running.http, [running.url], concurrency=4, pace=0.05)
        sending = asyncio.create_task(provider.deliver(updates))
        await eventually(lambda: at_least(provider.acknowledged, 20), what="20 acknowledged")
        conversations = await eventually(lambda: conversation_ids(running.hub), what="routed")
        filled = await asyncio.to_thread(fill, filler)
        await eventually(lambda: at_least(lambda: provider.answers[503], 10), timeout=60,
                         what="webhooks refused on the full disk")  # fmt: skip
        # The refusal says why, for whoever reads the provider's delivery log.
        async with running.http.post(
            f"{running.url}/webhooks/telegram",
            json=updates[-1],
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        ) as answer:
            assert answer.status == 503
            assert "full" in await answer.text()
        acked_while_full = len(provider.acknowledged)
        filler.unlink()
        await sending
        await all_stored_once(settings.database_url, len(updates))
        replies = await reply_to_each(running.hub, conversations, "after the disk was freed")
        found = await all_replies_final(running.hub, replies)
        assert {o.status for o in found} == {"sent"}
        assert set(provider.answers) <= {200, 503}, provider.answers
        print(f"filled {filled} bytes; {acked_while_full} acked, answers {dict(provider.answers)}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            filler.unlink()
        await stop_hub(running)
