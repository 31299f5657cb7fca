"""The aiohttp application factory: one app, shared objects under typed keys."""

from __future__ import annotations

from collections.abc import AsyncIterator

import jinja2
from aiohttp import web

from hub.actions.reply_writer import ReplyWriter
from hub.resources import static_dir, templates_dir
from hub.runtime.services import Hub, close_hub, open_hub
from hub.runtime.worker import start_consumers
from hub.settings import Settings
from hub.web import demo, feeds, i18n, inbox, ops, security_headers, webhooks
from hub.web.api import routes as api_routes
from hub.web.api.orders import order_puts
from hub.web.inbox import attachments
from hub.web.keys import (
    HUB,
    LOGIN_LIMITER,
    ORDER_PUTS,
    REPLIES,
    TEMPLATES,
    TOKEN_LOOKUPS,
    WEBCHAT_LIMITS,
)
from hub.web.login_limits import LoginLimiter
from hub.web.middlewares import errors
from hub.web.token_lookups import TokenLookups
from hub.web.webchat import socket as webchat
from hub.web.webchat.limits import WebchatLimits


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        # Pages call nothing async and render in one go: async mode awaited every
        # expression and chunk (a 50-row list took 5 ms of CPU instead of 3).
        enable_async=False,
    )
    i18n.install(env)
    return env


async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for /favicon.ico whatever the page says; the icon is one SVG."""
    raise web.HTTPMovedPermanently("/static/favicon.svg")


def create_app(
    settings: Settings, *, with_worker: bool = False, role: str = "web", migrate: bool = True
) -> web.Application:
    """`with_worker` runs the consumers in this process too (`hub run`)."""
    app = web.Application(middlewares=[errors], client_max_size=settings.max_body_bytes)
    app[TEMPLATES] = templates()
    app[WEBCHAT_LIMITS] = WebchatLimits()  # one set of web chat budgets per application
    app[TOKEN_LOOKUPS] = TokenLookups()  # API token lookups in flight, shared by requests
    security_headers.install(app)

    async def hub_context(app: web.Application) -> AsyncIterator[None]:
        hub: Hub = await open_hub(settings, run_migrations=migrate)
        app[HUB] = hub
        app[ORDER_PUTS] = order_puts(hub)
        replies = app[REPLIES] = ReplyWriter(hub.db, hub.queue, hub.broker)
        if with_worker:
            start_consumers(hub, role)
        yield
        await app[ORDER_PUTS].close()
        await replies.close()
        await close_hub(hub)

    app.cleanup_ctx.append(hub_context)
    app.add_routes(ops.routes())
    app.add_routes(webhooks.routes())
    app.add_routes(feeds.routes())
    app.add_routes(webchat.routes())
    app.add_routes(attachments.routes())
    limiter = app[LOGIN_LIMITER] = LoginLimiter()  # one budget for API and inbox logins
    app.add_routes(api_routes(limiter))
    inbox.install(app, limiter)
    if settings.sandbox:
        from hub.sandbox.web import install as install_sandbox

        app.add_routes(demo.routes())
        install_sandbox(app, settings)
    app.router.add_static("/static", static_dir())
    app.router.add_get("/favicon.ico", favicon)
    return app
