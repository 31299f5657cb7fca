"""Mounting the sandbox on the hub's app (only with `HUB_SANDBOX=1`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hub.sandbox import telegram_api, twilio_api, views
from hub.sandbox.config import PROVIDERS_PATH, sandboxed_channels
from hub.sandbox.mail_capture import start_capture
from hub.sandbox.state import SANDBOX, SandboxState
from hub.settings import Settings


def install(app: web.Application, settings: Settings) -> None:
    state = SandboxState(settings, sandboxed_channels(settings))
    app[SANDBOX] = state

    async def running(app: web.Application) -> AsyncIterator[None]:
        relay = None
        if "email" in state.channels and settings.smtp_url is not None:
            relay = await start_capture(settings.smtp_url.get_secret_value(), state.exchange)
        yield
        if relay is not None:
            relay.close()
            await relay.wait_closed()
        await state.close()

    app.cleanup_ctx.append(running)
    app.add_routes(views.routes())
    app.add_routes(telegram_api.routes(PROVIDERS_PATH))
    app.add_routes(twilio_api.routes(PROVIDERS_PATH))
