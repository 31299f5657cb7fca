"""Shop platforms' order feeds: `POST /webhooks/shopify`, `POST /webhooks/woocommerce`.

Verify the signature over the raw body (401 when it fails: nothing is read further and
nothing stored), translate, queue durably, answer 200. A delivery that carries nothing to
store (WooCommerce's set-up ping, a topic the hub does not follow) is answered 200 too, and
a repeat is queued again harmlessly: the consumer applies a delivery id once
(hub.queue.feeds), so a retry is answered exactly like the first delivery.
"""

from __future__ import annotations

import re

from aiohttp import web

from hub.domain.ports import WebhookRequest
from hub.errors import BadRequest, InvalidInput, NotFound, Unauthorized
from hub.queue.feeds import accept_feed
from hub.registry import FEEDS
from hub.web.keys import HUB
from hub.web.webhooks import read_body


async def feed(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    name = request.match_info["name"]
    adapter = hub.channels.feeds.get(name)
    if adapter is None:
        raise NotFound(FEEDS[name], code="unknown_feed")
    if adapter.content_type is not None and request.content_type != adapter.content_type:
        raise web.HTTPUnsupportedMediaType(text=f"this webhook takes {adapter.content_type}")
    body = await read_body(request, hub.settings.max_body_bytes)
    base = hub.settings.base_url
    incoming = WebhookRequest(
        headers=request.headers,
        body=body,
        content_type=request.content_type,
        full_url=lambda: base + request.raw_path,
    )
    if not adapter.verify(incoming):
        raise Unauthorized(f"the {name} signature does not match the configured secret")
    try:
        delivery = adapter.parse(incoming)
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    if delivery is not None:
        await accept_feed(hub.queue, delivery)
    return web.Response(status=200)


def routes() -> list[web.RouteDef]:
    names = "|".join(re.escape(name) for name in FEEDS)
    return [web.post(f"/webhooks/{{name:{names}}}", feed)]
