"""`hub web` and `hub worker` as separate processes' halves, sharing PostgreSQL and Redis."""

from __future__ import annotations

from typing import Any

import pytest

from hub.settings import Settings
from tests.conftest import make_settings
from tests.factories import messages_of, telegram_update
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramAPI
from tests.support import eventually, operator_reply, start_hub, stop_hub
from tests.support.webchat import receive


def split_settings(urls: dict[str, Any], fake: FakeTelegramAPI) -> Settings:
    return make_settings(
        **urls,
        secret_key="shared-key",
        telegram_bot_token=DEFAULT_TOKEN,
        telegram_webhook_secret="test-secret",
        telegram_api_url=fake.base_url,
    )


@pytest.mark.parametrize("backend", ["postgres_redis"])
async def test_web_and_worker_halves_see_each_others_work(
    backend_urls: dict[str, Any], fake_telegram: FakeTelegramAPI
) -> None:
    settings = split_settings(backend_urls, fake_telegram)
    worker = await start_hub(settings, with_worker=True)  # migrates, then consumes
    web = await start_hub(settings, with_worker=False)
    try:
        assert await web.post_telegram(telegram_update(6001, "via the web half")) == 200
        [routed] = await eventually(lambda: messages_of(worker.hub, channel="telegram"))
        assert routed.text == "via the web half"

        # A visitor on the web half gets its ack and the reply through Redis pub/sub.
        ws = await web.http.ws_connect(f"{web.url}/webchat/ws")
        await ws.send_json({"type": "hello"})
        await receive(ws, "welcome")
        await ws.send_json({"type": "message", "text": "split", "client_id": "s1"})
        ack = await receive(ws, "ack")
        [stored] = await messages_of(web.hub, channel="webchat")
        assert ack["id"] == stored.id
        await operator_reply(web, stored.conversation_id, "from the worker half")
        assert (await receive(ws, "message"))["text"] == "from the worker half"
        await ws.close()
    finally:
        await stop_hub(web)
        await stop_hub(worker)
