"""A hub (web + worker in one process, like `hub run`) on a real loopback port, and an
operator's reply put in as the API puts it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from hub.actions.replies import do_reply
from hub.actions.unit import take_events
from hub.domain.types import SenderType
from hub.models import Conversation
from hub.queue.port import OUTBOUND
from hub.runtime.services import Hub
from hub.settings import Settings
from hub.web.app import create_app
from hub.web.keys import HUB


@dataclass
class RunningHub:
    """A hub (web + worker in one process, like `hub run`) on a real loopback port."""

    settings: Settings
    runner: web.AppRunner
    url: str
    http: aiohttp.ClientSession

    @property
    def hub(self) -> Hub:
        return self.runner.app[HUB]

    async def post_telegram(self, update: dict[str, Any], secret: str | None = None) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret or "test-secret"}
        async with self.http.post(
            f"{self.url}/webhooks/telegram", json=update, headers=headers
        ) as response:
            await response.read()
            return response.status


async def operator_reply(running: RunningHub | Hub, conversation_id: int, text: str) -> int:
    """An operator's reply as the API makes it: stored, then queued once committed.

    Takes a bare `Hub` too (hub.runtime.services.open_hub), for tests whose hub runs in
    other processes.
    """
    hub = running.hub if isinstance(running, RunningHub) else running
    async with hub.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        message, job = await do_reply(session, conversation, text, sender_type=SenderType.OPERATOR)
        await session.commit()
        take_events(session)
    assert job is not None and message.id is not None
    await hub.queue.enqueue(OUTBOUND, [job])
    return message.id


async def start_hub(settings: Settings, *, with_worker: bool = True) -> RunningHub:
    app = create_app(settings, with_worker=with_worker)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return RunningHub(settings, runner, f"http://127.0.0.1:{port}", aiohttp.ClientSession())


async def stop_hub(running: RunningHub) -> None:
    await running.http.close()
    await running.runner.cleanup()
