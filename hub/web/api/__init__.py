"""REST API /api/v1 (SPEC §5): every route declared once as an ApiRoute."""

from __future__ import annotations

import json

from aiohttp import web

from hub.web.api import (
    attachments,
    canned,
    conversations,
    customers,
    macros,
    orders,
    teams,
    webhooks,
)
from hub.web.api.calls import endpoint
from hub.web.api.login import login_route
from hub.web.api.spec import PREFIX, ApiRoute, openapi_document
from hub.web.api.webhook_schemas import PAYLOADS
from hub.web.keys import HUB
from hub.web.login_limits import LoginLimiter


def api_routes(limiter: LoginLimiter) -> list[ApiRoute]:
    return [
        login_route(limiter),
        *conversations.ROUTES,
        *customers.ROUTES,
        *orders.ROUTES,
        *canned.ROUTES,
        *teams.ROUTES,
        *attachments.ROUTES,
        *macros.ROUTES,
        *webhooks.ROUTES,
    ]


def _openapi_view(table: list[ApiRoute]) -> web.RouteDef:
    document: dict[str, str] = {}  # rendered once per application, on first request

    async def openapi(request: web.Request) -> web.Response:
        if not document:
            server = request.app[HUB].settings.base_url
            document["json"] = json.dumps(
                openapi_document(table, server_url=server, events=PAYLOADS)
            )
        return web.Response(text=document["json"], content_type="application/json")

    return web.get(PREFIX + "/openapi.json", openapi)


def routes(limiter: LoginLimiter | None = None) -> list[web.RouteDef]:
    """Called once per application: each app gets its own login limiter (shared with the
    inbox's login form when given)."""
    table = api_routes(limiter or LoginLimiter())
    return [*(endpoint(route) for route in table), _openapi_view(table)]
