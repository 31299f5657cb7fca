"""A hub in sandbox mode (`HUB_SANDBOX=1`) on its own port, as `hub demo` runs it."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web

from hub.models import Message
from hub.sandbox.config import with_sandbox_channels
from hub.settings import Settings
from hub.web.app import create_app
from tests.conftest import make_settings
from tests.factories import messages_of
from tests.support.polling import eventually
from tests.support.running import RunningHub

ANNA = "anna-petrova"


def sandbox_settings(backend_urls: dict[str, Any], **values: Any) -> Settings:
    from hub.sandbox.config import free_loopback_port

    settings = with_sandbox_channels(
        make_settings(
            **backend_urls,
            port=free_loopback_port(),
            secret_key="test-secret-key",
            sandbox=True,
            **values,
        )
    )
    settings.check()
    return settings


async def start_sandbox(settings: Settings) -> RunningHub:
    """Like `hub run`: the fakes are routes of the hub, so it listens on its own port."""
    runner = web.AppRunner(create_app(settings, with_worker=True), shutdown_timeout=2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    url = f"http://127.0.0.1:{settings.port}"
    return RunningHub(settings, runner, url, aiohttp.ClientSession())


async def stored_inbound(running: RunningHub, text: str) -> Message:
    async def routed() -> Message | None:
        found = [m for m in await messages_of(running.hub, text=text) if m.direction == "inbound"]
        return found[-1] if found else None

    return await eventually(routed, what=f"{text!r} in the hub")
