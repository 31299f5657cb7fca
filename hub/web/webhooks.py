"""Provider webhooks: verify, parse, durably enqueue, answer. Nothing else on this path."""

from __future__ import annotations

import time

from aiohttp import web

from hub import metrics
from hub.domain.ports import WebhookRequest
from hub.errors import BadRequest, InvalidInput, NotFound
from hub.queue.port import INBOUND, NewJob
from hub.web.keys import HUB


async def read_body(request: web.Request, limit: int) -> bytes:
    """413 before reading when the declared length is too big; aiohttp caps the rest."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    return await request.read()


async def telegram(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    adapter = hub.channels.telegram_webhook
    if adapter is None:
        raise NotFound("the Telegram channel is not configured", code="unknown_channel")
    body = await read_body(request, hub.settings.max_body_bytes)
    incoming = WebhookRequest(
        headers=request.headers,
        body=body,
        content_type=request.content_type,
        full_url=lambda: str(request.url),
    )
    if not adapter.verify(incoming):
        return web.json_response(
            {"error": {"code": "forbidden", "message": "wrong secret token"}}, status=403
        )
    try:
        messages = adapter.parse(incoming, received_at=time.time())
    except InvalidInput as exc:
        raise BadRequest(exc.message) from None
    if messages:
        await hub.queue.enqueue(
            INBOUND,
            [
                NewJob(key=m.address, payload=m.to_json(), dedupe_key=f"{m.channel}:{m.dedupe_key}")
                for m in messages
            ],
        )
        metrics.inbound_received.labels("telegram").inc(len(messages))
    return web.Response(status=200)


def routes() -> list[web.RouteDef]:
    return [web.post("/webhooks/telegram", telegram)]
